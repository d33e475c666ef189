package web

import (
	"net/http"
	"strings"

	"casescope/engine"
	"casescope/store"
)

// rulePacksChange is the answer to a pack choice: the packs the case now
// runs and the Sigma re-run that applies the change (ID 0: no change).
type rulePacksChange struct {
	engine.RulePacks
	Case store.Case `json:"case"`
	Job  engine.Job `json:"job"`
}

// handleRulePacks lists the Sigma rule packs and which the case runs.
func (s *Server) handleRulePacks(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rp, err := s.eng.CaseRulePacks(c.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rp)
}

// handleSetRulePacks chooses the packs a case runs ({"packs":[...]}); a
// change re-runs Sigma over the case.
func (s *Server) handleSetRulePacks(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Packs []string `json:"packs"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(req.Packs) > 16 {
		s.writeError(w, r, badRequest("%d packs named; there are 4", len(req.Packs)))
		return
	}
	noteAudit(r, caseTarget(c), "packs "+strings.Join(req.Packs, ","))
	cs, job, err := s.eng.SetRulePacks(c.ID, req.Packs)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rp, err := s.eng.CaseRulePacks(c.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if job.ID != 0 {
		s.log.Info("rule packs changed", "case_id", c.ID, "packs", cs.RulePacks, "job_id", job.ID)
	}
	writeJSON(w, http.StatusOK, rulePacksChange{RulePacks: rp, Case: cs, Job: job})
}
