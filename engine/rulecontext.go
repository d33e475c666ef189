package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"casescope/engine/sigma"
	"casescope/store"
)

// RuleContext is a Sigma rule seen from one of its hits: the rule's
// metadata and full YAML, and why it matched the event.
type RuleContext struct {
	Rule sigma.Rule `json:"rule"`
	YAML string     `json:"yaml"`
	// Hit is the stored hit of the rule on the event; nil when the event
	// has none (the rule is explained all the same).
	Hit         *store.SigmaHit    `json:"hit,omitempty"`
	Explanation *sigma.Explanation `json:"explanation,omitempty"`
	// Loaded is false when the rule is not in the current rule set (it
	// was removed or filtered out after the hit was stored): only the
	// hit's title and level are known then.
	Loaded bool `json:"loaded"`
	// Computer is the event's computer (a suppression may be scoped to
	// it).
	Computer string `json:"computer"`
	// Fields, for a correlation (Rule.Correlation set), are the event's
	// values of the fields the correlations read (group-by, value
	// field), as recorded at detection: what grouped it with the match's
	// other events.
	Fields map[string]string `json:"fields,omitempty"`
}

// ruleSources are the rule sources in load order (see LoadRules).
func (e *Engine) ruleSources() []fs.FS {
	e.jobs.mu.Lock()
	opts := e.ruleOpts
	e.jobs.mu.Unlock()
	var out []fs.FS
	if !opts.NoBuiltin {
		out = append(out, sigma.Embedded())
	}
	if opts.Dir != "" {
		out = append(out, os.DirFS(opts.Dir))
	}
	return out
}

// RuleContext returns the context of rule ruleID on the event docID of a
// case.
func (e *Engine) RuleContext(ctx context.Context, caseID uint64, docID, ruleID string) (RuleContext, error) {
	v, err := e.Event(ctx, caseID, docID)
	if err != nil {
		return RuleContext{}, err
	}
	rc := RuleContext{Computer: v.Event.Computer}
	for _, h := range v.Sigma {
		if h.RuleID == ruleID {
			rc.Hit = &h
			break
		}
	}
	rs := e.det.Rules()
	if rs != nil {
		for _, r := range rs.Rules() {
			if r.ID == ruleID {
				rc.Rule, rc.Loaded = r, true
				break
			}
		}
	}
	if !rc.Loaded {
		if rc.Hit == nil {
			return RuleContext{}, fmt.Errorf("rule %s: %w", ruleID, store.ErrNotFound)
		}
		rc.Rule = sigma.Rule{ID: rc.Hit.RuleID, Title: rc.Hit.Title, Level: rc.Hit.Level, Tags: rc.Hit.Tags}
		return rc, nil
	}
	if rc.Rule.Correlation != nil {
		// A correlation matches groups of events, not one: its context
		// is its definition and this event's values of the fields it
		// groups by.
		h, err := e.ledger.EventHitsOf(caseID, v.FileID, store.DocID(v.FileID, v.Event))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return RuleContext{}, err
		}
		for _, c := range h.Corr {
			for k, val := range c.Fields {
				if rc.Fields == nil {
					rc.Fields = map[string]string{}
				}
				rc.Fields[k] = val
			}
		}
	}
	data, err := sigma.RuleSource(ruleID, rc.Rule.Path, e.ruleSources()...)
	if errors.Is(err, sigma.ErrRuleNotFound) {
		// The rule file changed on disk since the rules were loaded.
		return rc, nil
	}
	if err != nil {
		return RuleContext{}, err
	}
	rc.YAML = string(data)
	if rc.Rule.Correlation != nil {
		return rc, nil
	}
	ex, err := sigma.Explain(data, ruleID, v.Event)
	if err != nil {
		return RuleContext{}, fmt.Errorf("explain rule %s: %w", ruleID, err)
	}
	rc.Explanation = &ex
	return rc, nil
}
