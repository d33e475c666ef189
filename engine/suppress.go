package engine

import (
	"fmt"
	"strings"

	"casescope/evtx"
	"casescope/store"
)

// suppressor applies a case's active false-positive suppressions to the
// Sigma hits of its events. It is read from the ledger once per file
// pass (ingest or Sigma re-run), so a pass sees one consistent set.
type suppressor struct {
	byRule map[string][]store.Suppression // active suppressions by rule id
}

func (e *Engine) suppressor(caseID uint64) (*suppressor, error) {
	all, err := e.ledger.Suppressions(caseID)
	if err != nil {
		return nil, err
	}
	s := &suppressor{byRule: map[string][]store.Suppression{}}
	for _, x := range all {
		if x.Active {
			s.byRule[x.RuleID] = append(s.byRule[x.RuleID], x)
		}
	}
	return s, nil
}

// split separates the suppressed hits from hits. hits is returned as is
// when nothing is suppressed.
func (s *suppressor) split(ev *evtx.Event, hits []store.SigmaHit) (kept, suppressed []store.SigmaHit) {
	if s == nil || len(s.byRule) == 0 || len(hits) == 0 {
		return hits, nil
	}
	for i, h := range hits {
		if !s.suppresses(ev, h.RuleID) {
			if suppressed != nil {
				kept = append(kept, h)
			}
			continue
		}
		if suppressed == nil {
			kept = append(make([]store.SigmaHit, 0, len(hits)), hits[:i]...)
		}
		suppressed = append(suppressed, h)
	}
	if suppressed == nil {
		return hits, nil
	}
	return kept, suppressed
}

func (s *suppressor) suppresses(ev *evtx.Event, ruleID string) bool {
	for _, x := range s.byRule[ruleID] {
		if x.Applies(ruleID, suppressionValue(ev, x.Field)) {
			return true
		}
	}
	return false
}

// suppressionValue is the value of a suppression's field in ev: a data
// field by its exact name, else Computer, Channel or Provider.
func suppressionValue(ev *evtx.Event, field string) string {
	if field == "" {
		return ""
	}
	if v, ok := ev.Get(field); ok {
		return v
	}
	switch strings.ToLower(field) {
	case "computer":
		return ev.Computer
	case "channel":
		return ev.Channel
	case "provider", "provider_name":
		return ev.Provider
	}
	return "\x00absent" // matches no value a user can type
}

// SuppressionView is a suppression with the events whose hits of its
// rule are suppressed (shared by the suppressions of one rule).
type SuppressionView struct {
	store.Suppression
	Events int `json:"events"`
}

// Suppressions lists a case's suppressions, oldest first.
func (e *Engine) Suppressions(caseID uint64) ([]SuppressionView, error) {
	all, err := e.ledger.Suppressions(caseID)
	if err != nil {
		return nil, err
	}
	byRule := map[string]int{}
	err = e.ledger.Hits(caseID, 0, func(h *store.EventHits) error {
		for _, s := range h.Suppressed {
			byRule[s.RuleID]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]SuppressionView, len(all))
	for i, s := range all {
		out[i] = SuppressionView{Suppression: s, Events: byRule[s.RuleID]}
	}
	return out, nil
}

// SuppressedHits lists up to limit events with suppressed hits, so
// suppressed detections stay reviewable.
func (e *Engine) SuppressedHits(caseID uint64, limit int) ([]store.EventHits, error) {
	if _, err := e.ledger.Case(caseID); err != nil {
		return nil, err
	}
	out := []store.EventHits{}
	errFull := fmt.Errorf("full")
	err := e.ledger.Hits(caseID, 0, func(h *store.EventHits) error {
		if len(h.Suppressed) == 0 {
			return nil
		}
		if len(out) >= limit {
			return errFull
		}
		out = append(out, *h)
		return nil
	})
	if err != nil && err != errFull {
		return nil, err
	}
	return out, nil
}

// AddSuppression stores a suppression and re-runs Sigma over the case so
// it applies to the events already indexed.
func (e *Engine) AddSuppression(caseID uint64, s store.Suppression) (store.Suppression, Job, error) {
	s.CaseID = caseID
	s, err := e.ledger.AddSuppression(s)
	if err != nil {
		return store.Suppression{}, Job{}, err
	}
	j, err := e.Rescan(caseID, RescanSigma)
	return s, j, err
}

// SetSuppressionActive switches a suppression on or off and re-runs Sigma
// over the case, so its hits leave or come back.
func (e *Engine) SetSuppressionActive(caseID, id uint64, active bool, by string) (store.Suppression, Job, error) {
	s, err := e.ledger.SetSuppressionActive(caseID, id, active, by)
	if err != nil {
		return store.Suppression{}, Job{}, err
	}
	j, err := e.Rescan(caseID, RescanSigma)
	return s, j, err
}
