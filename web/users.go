package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"casescope/store"
)

// userView is an account as the API shows it: never the password hash.
type userView struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	LastLogin time.Time `json:"last_login,omitzero"`
}

func viewUser(u store.User) userView {
	return userView{Name: u.Name, Role: u.Role, Disabled: u.Disabled, Created: u.Created, Updated: u.Updated, LastLogin: u.LastLogin}
}

// userChange is the answer to an account change; Password is set only
// when the server generated one, which is shown this once.
type userChange struct {
	User     userView `json:"user"`
	Password string   `json:"password,omitempty"`
}

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) {
	users, err := s.ledger.Users()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]userView, 0, len(users))
	for _, u := range users {
		out = append(out, viewUser(u))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleCreateUser adds an account: {"name", "role", "password"}; without
// a password a random one is generated and returned once.
func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string `json:"name"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	noteAudit(r, auditName(req.Name), "role "+req.Role)
	pw, generated := req.Password, false
	if pw == "" {
		pw, generated = store.RandomPassword(), true
	}
	s.usersMu.Lock()
	u, err := s.ledger.CreateUser(req.Name, req.Role, pw)
	s.usersMu.Unlock()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := userChange{User: viewUser(u)}
	if generated {
		out.Password = pw
	}
	writeJSON(w, http.StatusCreated, out)
}

// handleUpdateUser changes an account's role or disables/enables it:
// {"role", "disabled"}. At least one enabled admin always remains. The
// account's sessions end at their next request (the ledger drops a
// session whose user is disabled or changed role).
func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	var req struct {
		Role     *string `json:"role"`
		Disabled *bool   `json:"disabled"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	var changes []string
	if req.Role != nil {
		changes = append(changes, "role "+*req.Role)
	}
	if req.Disabled != nil {
		changes = append(changes, fmt.Sprintf("disabled %t", *req.Disabled))
	}
	noteAudit(r, auditName(name), strings.Join(changes, ", "))
	if len(changes) == 0 {
		s.writeError(w, r, badRequest(`nothing to change: give "role" or "disabled"`))
		return
	}
	if req.Role != nil && !store.ValidRole(*req.Role) {
		s.writeError(w, r, badRequest("role %q (want admin, analyst or read-only)", *req.Role))
		return
	}
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	cur, err := s.ledger.User(name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	stillAdmin := (req.Role == nil || *req.Role == store.RoleAdmin) && (req.Disabled == nil || !*req.Disabled)
	if cur.Role == store.RoleAdmin && !cur.Disabled && !stillAdmin {
		n, err := s.enabledAdmins()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if n <= 1 {
			s.writeError(w, r, refuse(errConflict, "%s is the last enabled admin; make another admin first", cur.Name))
			return
		}
	}
	u, err := s.ledger.UpdateUser(name, func(u *store.User) error {
		if req.Role != nil {
			u.Role = *req.Role
		}
		if req.Disabled != nil {
			u.Disabled = *req.Disabled
		}
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if u.Disabled {
		// Sessions would end at a request made while disabled; this
		// ends them even if the account is enabled again first.
		s.revokeSessions(u.Name)
	}
	writeJSON(w, http.StatusOK, userChange{User: viewUser(u)})
}

func (s *Server) enabledAdmins() (int, error) {
	users, err := s.ledger.Users()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range users {
		if u.Role == store.RoleAdmin && !u.Disabled {
			n++
		}
	}
	return n, nil
}

// handleResetPassword sets another account's password: {"password"}, or
// an empty body (or password) for a random one, returned once. The
// account's sessions end.
func (s *Server) handleResetPassword(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	noteAudit(r, auditName(name), "")
	var req struct {
		Password string `json:"password"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	pw, generated := req.Password, false
	if pw == "" {
		pw, generated = store.RandomPassword(), true
	}
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	if err := s.ledger.SetPassword(name, pw); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.revokeSessions(name) // whoever knew the old password is out
	u, err := s.ledger.User(name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := userChange{User: viewUser(u)}
	if generated {
		out.Password = pw
		noteAudit(r, "", "generated password")
	}
	writeJSON(w, http.StatusOK, out)
}
