package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"casescope/engine"
	"casescope/engine/ioc"
	"casescope/store"
)

// systemView is GET /api/system: the engine's live status for the
// dashboard plus what the UI needs to know about the server.
type systemView struct {
	Version        string     `json:"version"`
	MaxUploadBytes int64      `json:"max_upload_bytes"`
	IOCTypes       []ioc.Type `json:"ioc_types"`
	engine.Status
}

func (s *Server) handleSystem(w http.ResponseWriter, r *http.Request) {
	st, err := s.eng.Status()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalOf(r)
	if st.Jobs, err = s.visibleJobs(p, st.Jobs); err != nil {
		s.writeError(w, r, err)
		return
	}
	if st.Jobs == nil {
		st.Jobs = []engine.Job{}
	}
	writeJSON(w, http.StatusOK, systemView{Version: s.cfg.Version, MaxUploadBytes: s.cfg.MaxUploadBytes,
		IOCTypes: ioc.Types(), Status: st})
}

func (s *Server) handleJob(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	j, err := s.eng.Job(id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if j.CaseID != 0 {
		p, _ := principalOf(r)
		if _, _, err := s.caseRole(p, j.CaseID); err != nil {
			s.writeError(w, r, fmt.Errorf("job %d: %w", id, store.ErrNotFound))
			return
		}
	}
	writeJSON(w, http.StatusOK, j)
}

// caseListItem is one case of GET /api/cases: its counts and the
// caller's access to it (admin, analyst or read-only) and whether they
// own it.
type caseListItem struct {
	engine.CaseStats
	Access string `json:"access"`
	Owner  bool   `json:"owner,omitempty"`
}

// handleCases lists the cases the caller may see (every case for admins,
// the cases they are a member of for anyone else) with their counts.
func (s *Server) handleCases(w http.ResponseWriter, r *http.Request) {
	cases, err := s.ledger.Cases()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalOf(r)
	ids, all, err := s.visibleCases(p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]caseListItem, 0, len(cases))
	for _, c := range cases {
		if _, ok := ids[c.ID]; !all && !ok {
			continue
		}
		access, owner, err := s.caseRole(p, c.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		st, err := s.eng.Stats(c.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out = append(out, caseListItem{CaseStats: st, Access: access, Owner: owner})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateCase(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(req.Description) > 4000 {
		s.writeError(w, r, badRequest("description longer than 4000 characters"))
		return
	}
	noteAudit(r, "case "+strconv.Quote(req.Name), "")
	p, _ := principalOf(r)
	c, err := s.ledger.CreateCaseFor(req.Name, req.Description, p.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	noteAudit(r, caseTarget(c), "")
	s.log.Info("case created", "case_id", c.ID)
	writeJSON(w, http.StatusCreated, c)
}

// caseView is GET /api/cases/{case}: the counts plus the time of the
// case's newest event, which relative time filters count back from.
type caseView struct {
	engine.CaseStats
	LatestEvent time.Time `json:"latest_event,omitzero"`
	// Access is the role the caller acts with on this case (the lesser
	// of their global role and their membership); Owner says they may
	// manage its members.
	Access string `json:"access"`
	Owner  bool   `json:"owner,omitempty"`
}

func (s *Server) handleCase(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.eng.Stats(c.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	latest, err := s.latest(r, c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalOf(r)
	access, owner, err := s.caseRole(p, c.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, caseView{CaseStats: st, LatestEvent: latest, Access: access, Owner: owner})
}

// latest returns the time of the case's newest indexed event (zero when
// the case has none).
func (s *Server) latest(r *http.Request, c store.Case) (time.Time, error) {
	idx, err := s.eng.Index(c.ID)
	if err != nil {
		return time.Time{}, err
	}
	return idx.LatestTime(r.Context())
}

// caseTarget names a case in the audit log.
func caseTarget(c store.Case) string {
	return "case " + strconv.FormatUint(c.ID, 10) + " (" + c.Name + ")"
}
