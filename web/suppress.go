package web

import (
	"net/http"
	"strconv"

	"casescope/engine"
	"casescope/store"
)

// False-positive suppressions of Sigma rules per case (engine/suppress.go):
// listing them and their suppressed hits is read-only; adding one or
// switching one on or off is an analyst's audited action that re-runs
// Sigma over the case.

// maxSuppressedListed bounds the suppressed hits one answer lists.
const maxSuppressedListed = 1000

// suppressionChange is the answer to an add or a switch: the stored
// suppression and the Sigma re-run that applies it.
type suppressionChange struct {
	Suppression store.Suppression `json:"suppression"`
	Job         engine.Job        `json:"job"`
}

func (s *Server) handleSuppressions(w http.ResponseWriter, r *http.Request) {
	serveCaseList(s, w, r, s.eng.Suppressions)
}

func (s *Server) handleSuppressed(w http.ResponseWriter, r *http.Request) {
	serveCaseList(s, w, r, func(caseID uint64) ([]store.EventHits, error) {
		return s.eng.SuppressedHits(caseID, maxSuppressedListed)
	})
}

func (s *Server) handleAddSuppression(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		RuleID string `json:"rule_id"`
		Title  string `json:"title"`
		Field  string `json:"field"`
		Value  string `json:"value"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(req.Reason) > 4000 || len(req.Value) > 4000 || len(req.Field) > 256 || len(req.Title) > 1000 {
		s.writeError(w, r, badRequest("reason or value longer than 4000 characters, or field longer than 256"))
		return
	}
	p, _ := principalOf(r)
	noteAudit(r, "case "+strconv.FormatUint(c.ID, 10)+" ("+c.Name+")",
		"rule "+req.RuleID+" field "+strconv.Quote(req.Field)+" value "+strconv.Quote(req.Value)+" reason "+strconv.Quote(req.Reason))
	sup, job, err := s.eng.AddSuppression(c.ID, store.Suppression{RuleID: req.RuleID, Title: req.Title, Field: req.Field,
		Value: req.Value, Reason: req.Reason, Author: p.User})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, suppressionChange{Suppression: sup, Job: job})
}

func (s *Server) handleUpdateSuppression(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := idParam(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Active *bool `json:"active"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Active == nil {
		s.writeError(w, r, badRequest("send active: true or false"))
		return
	}
	p, _ := principalOf(r)
	noteAudit(r, "case "+strconv.FormatUint(c.ID, 10)+" ("+c.Name+")",
		"suppression "+strconv.FormatUint(id, 10)+" active "+strconv.FormatBool(*req.Active))
	sup, job, err := s.eng.SetSuppressionActive(c.ID, id, *req.Active, p.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, suppressionChange{Suppression: sup, Job: job})
}
