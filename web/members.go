package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"casescope/engine"
	"casescope/store"
)

// roleOwner is the least role of the routes that manage a case's
// members: an owner of the case (or an admin).
const roleOwner = "case-owner"

// caseRole is the role p acts with on a case: admin for admins; for
// anyone else the lesser of the global role and the membership (an
// owner ranks as an analyst), and owner reports an owner membership.
// A user who is no member gets store.ErrNotFound, so a case they may not
// see answers exactly like one that does not exist.
func (s *Server) caseRole(p principal, caseID uint64) (role string, owner bool, err error) {
	if p.Role == store.RoleAdmin {
		return store.RoleAdmin, true, nil
	}
	m, err := s.ledger.Membership(caseID, p.User)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, fmt.Errorf("case %d: %w", caseID, store.ErrNotFound)
	}
	if err != nil {
		return "", false, err
	}
	role = store.RoleAnalyst
	if m.Role == store.MemberReadOnly {
		role = store.RoleReadOnly
	}
	if roleLevel(p.Role) < roleLevel(role) {
		role = p.Role
	}
	return role, m.Role == store.MemberOwner, nil
}

// checkCase refuses a request on the {case} of its URL when p is no
// member of it (404, as for a case that does not exist) or acts on it
// below role (403). An unknown case passes: the handler answers 404.
func (s *Server) checkCase(r *http.Request, p principal, role string) error {
	c, err := s.caseFrom(r)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	got, owner, err := s.caseRole(p, c.ID)
	if err != nil {
		return err
	}
	if role == roleOwner {
		if !owner || roleLevel(got) < roleLevel(store.RoleAnalyst) {
			return refuse(errForbidden, "only the case's owners and admins manage its members")
		}
		return nil
	}
	if roleLevel(got) < roleLevel(role) {
		return refuse(errForbidden, "your access to case %s is %s; this needs %s", c.Name, got, role)
	}
	return nil
}

// visibleCases returns the IDs of the cases p may see; all is true for
// admins (every case).
func (s *Server) visibleCases(p principal) (ids map[uint64]string, all bool, err error) {
	if p.Role == store.RoleAdmin {
		return nil, true, nil
	}
	ids, err = s.ledger.MemberCases(p.User)
	return ids, false, err
}

// memberView is one member in GET /api/cases/{case}/members.
type memberView struct {
	store.Member
	GlobalRole string `json:"global_role"`
	Disabled   bool   `json:"disabled,omitempty"`
}

// handleMembers lists the case's members with their global roles.
func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ms, err := s.ledger.Members(c.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]memberView, 0, len(ms))
	for _, m := range ms {
		v := memberView{Member: m}
		if u, err := s.ledger.User(m.User); err == nil {
			v.GlobalRole, v.Disabled = u.Role, u.Disabled
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

// handleSetMember adds a user to the case or changes their membership:
// {"role": "owner"|"analyst"|"read-only"}.
func (s *Server) handleSetMember(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Role string `json:"role"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	name := chi.URLParam(r, "name")
	noteAudit(r, caseTarget(c), "member "+auditName(name)+" role "+auditName(req.Role))
	p, _ := principalOf(r)
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	if err := s.keepOwner(c.ID, name, req.Role); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.ledger.SetMember(c.ID, name, req.Role, p.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// handleRemoveMember ends a user's membership of the case.
func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	name := chi.URLParam(r, "name")
	noteAudit(r, caseTarget(c), "member "+auditName(name)+" removed")
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	if err := s.keepOwner(c.ID, name, ""); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.ledger.RemoveMember(c.ID, name); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// keepOwner refuses a change that would leave a case that has an owner
// without one (giving user role; "" removes them): someone must be able
// to manage it besides the admins.
func (s *Server) keepOwner(caseID uint64, user, role string) error {
	if role == store.MemberOwner {
		return nil
	}
	ms, err := s.ledger.Members(caseID)
	if err != nil {
		return err
	}
	owners, isOwner := 0, false
	for _, m := range ms {
		if m.Role == store.MemberOwner {
			owners++
			isOwner = isOwner || strings.EqualFold(m.User, user)
		}
	}
	if isOwner && owners == 1 {
		return refuse(errConflict, "%s is the case's only owner: make someone else owner first", user)
	}
	return nil
}

// ownCase makes the caller the owner of a case they just created or
// imported (admins too, so the case has someone to manage it).
func (s *Server) ownCase(r *http.Request, caseID uint64) error {
	p, _ := principalOf(r)
	if p.Local || p.User == "" {
		return nil
	}
	_, err := s.ledger.SetMember(caseID, p.User, store.MemberOwner, p.User)
	return err
}

// visibleJobs keeps the jobs of the cases p may see.
func (s *Server) visibleJobs(p principal, jobs []engine.Job) ([]engine.Job, error) {
	ids, all, err := s.visibleCases(p)
	if err != nil || all {
		return jobs, err
	}
	out := jobs[:0:0]
	for _, j := range jobs {
		if _, ok := ids[j.CaseID]; ok || j.CaseID == 0 {
			out = append(out, j)
		}
	}
	return out, nil
}
