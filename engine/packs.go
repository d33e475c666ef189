package engine

import (
	"fmt"
	"slices"

	"casescope/engine/sigma"
	"casescope/store"
)

// casePacks is the set of Sigma rule packs a case runs: its chosen packs,
// or the default ones (every pack but threat-hunting).
func (e *Engine) casePacks(caseID uint64) (sigma.PackSet, error) {
	c, err := e.ledger.Case(caseID)
	if err != nil {
		return 0, err
	}
	set, err := sigma.PackSetOf(c.RulePacks)
	if err != nil {
		// A name this version does not know (a newer archive): run the
		// packs it does know rather than none.
		known := []string{}
		for _, n := range c.RulePacks {
			if _, err := sigma.PackSetOf([]string{n}); err == nil {
				known = append(known, n)
			}
		}
		return sigma.PackSetOf(known)
	}
	return set, nil
}

// RulePacks is a case's choice of Sigma rule packs.
type RulePacks struct {
	// Packs are every pack with whether this case runs it.
	Packs []PackChoice `json:"packs"`
	// Default is true while the case runs the default packs (it never
	// chose).
	Default bool `json:"default"`
}

// PackChoice is one pack and whether a case runs it, with the rules the
// current rule set has loaded from it.
type PackChoice struct {
	sigma.PackInfo
	Enabled bool `json:"enabled"`
	Rules   int  `json:"rules"`
}

// CaseRulePacks returns the packs a case runs.
func (e *Engine) CaseRulePacks(caseID uint64) (RulePacks, error) {
	c, err := e.ledger.Case(caseID)
	if err != nil {
		return RulePacks{}, err
	}
	set, err := e.casePacks(caseID)
	if err != nil {
		return RulePacks{}, err
	}
	count := map[string]int{}
	if rs := e.det.Rules(); rs != nil {
		for _, r := range rs.Rules() {
			count[r.Pack]++
		}
	}
	out := RulePacks{Default: c.RulePacks == nil}
	for _, p := range sigma.Packs() {
		out.Packs = append(out.Packs, PackChoice{PackInfo: p, Enabled: set.Has(p.Name), Rules: count[p.Name]})
	}
	return out, nil
}

// SetRulePacks chooses the Sigma rule packs a case runs (the custom pack
// always runs) and, when the choice changes, re-runs Sigma over the case
// so hits of dropped packs leave and those of added packs come in. The
// returned job is zero when nothing changed.
func (e *Engine) SetRulePacks(caseID uint64, packs []string) (store.Case, Job, error) {
	if packs == nil {
		packs = []string{}
	}
	set, err := sigma.PackSetOf(packs)
	if err != nil {
		return store.Case{}, Job{}, fmt.Errorf("%w: %w", err, store.ErrInvalid)
	}
	before, err := e.casePacks(caseID)
	if err != nil {
		return store.Case{}, Job{}, err
	}
	// Stored in the packs' order, optional packs only.
	names := []string{}
	for _, p := range sigma.Packs() {
		if p.Optional && set.Has(p.Name) {
			names = append(names, p.Name)
		}
	}
	c, err := e.ledger.Case(caseID)
	if err != nil {
		return store.Case{}, Job{}, err
	}
	if err := c.CheckWritable(); err != nil {
		return store.Case{}, Job{}, err
	}
	if c.RulePacks != nil && slices.Equal(c.RulePacks, names) {
		return c, Job{}, nil
	}
	c, err = e.ledger.SetCaseRulePacks(caseID, names)
	if err != nil {
		return store.Case{}, Job{}, err
	}
	if set == before {
		return c, Job{}, nil
	}
	j, err := e.Rescan(caseID, RescanSigma)
	return c, j, err
}
