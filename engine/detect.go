package engine

import (
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	"casescope/engine/ioc"
	"casescope/engine/sigma"
	"casescope/evtx"
	"casescope/store"
)

// Detection runs the Sigma rule set and each case's IOC matcher over
// events. The rule set and matchers are swapped atomically, so a reload
// never disturbs events being matched.
type Detection struct {
	rules atomic.Pointer[sigma.Ruleset]

	mu   sync.RWMutex
	iocs map[uint64]*ioc.Matcher
}

// NewDetection returns a detector with no rules and no IOCs.
func NewDetection() *Detection {
	return &Detection{iocs: map[uint64]*ioc.Matcher{}}
}

// RuleOptions selects which Sigma rules load.
type RuleOptions struct {
	Dir       string // extra rules directory; adds to or replaces embedded rules by id
	NoBuiltin bool   // do not load the embedded SigmaHQ rules
	MinLevel  string
	Statuses  []string
}

// LoadRules compiles the embedded SigmaHQ rules plus opts.Dir and installs
// them. Rules that cannot compile are skipped with reasons (Ruleset.Skipped).
func LoadRules(opts RuleOptions) (*sigma.Ruleset, error) {
	var sources []fs.FS
	if !opts.NoBuiltin {
		sources = append(sources, sigma.Embedded())
	}
	if opts.Dir != "" {
		if st, err := os.Stat(opts.Dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("rules dir %s: not a readable directory", opts.Dir)
		}
		sources = append(sources, os.DirFS(opts.Dir))
	}
	rs, err := sigma.Load(sigma.Options{MinLevel: opts.MinLevel, Statuses: opts.Statuses}, sources...)
	if err != nil {
		return nil, fmt.Errorf("load sigma rules: %w", err)
	}
	return rs, nil
}

// SetRules installs a compiled rule set (nil disables Sigma).
func (d *Detection) SetRules(rs *sigma.Ruleset) { d.rules.Store(rs) }

// Rules returns the installed rule set (may be nil).
func (d *Detection) Rules() *sigma.Ruleset { return d.rules.Load() }

// SetIOCs compiles and installs a case's enabled IOCs.
func (d *Detection) SetIOCs(caseID uint64, iocs []store.IOC) error {
	in := make([]ioc.IOC, 0, len(iocs))
	for _, i := range iocs {
		if !i.Enabled {
			continue
		}
		in = append(in, ioc.IOC{ID: i.Key(), Type: ioc.Type(i.Type), Value: i.Value, Enabled: true})
	}
	m, err := ioc.Compile(in)
	if err != nil {
		return fmt.Errorf("compile IOCs: %w", err)
	}
	d.mu.Lock()
	d.iocs[caseID] = m
	d.mu.Unlock()
	return nil
}

func (d *Detection) matcher(caseID uint64) *ioc.Matcher {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.iocs[caseID]
}

// sigmaHits matches ev against the rules of the packs in set.
func (d *Detection) sigmaHits(ev *evtx.Event, set sigma.PackSet, dst []store.SigmaHit) []store.SigmaHit {
	rs := d.rules.Load()
	if rs == nil {
		return dst
	}
	var buf [8]sigma.Hit
	for _, h := range rs.MatchPacks(ev, set, buf[:0]) {
		dst = append(dst, store.SigmaHit{RuleID: h.RuleID, Title: h.Title, Level: h.Level, Tags: h.Tags, Pack: h.Pack})
	}
	return dst
}

func (d *Detection) iocHits(caseID uint64, ev *evtx.Event, dst []store.IOCHit) []store.IOCHit {
	m := d.matcher(caseID)
	if m == nil || m.Len() == 0 {
		return dst
	}
	var buf [8]ioc.Hit
	for _, h := range m.Match(ev, buf[:0]) {
		dst = append(dst, store.IOCHit{IOCID: h.IOCID, Type: string(h.Type), Field: h.Field, Value: h.Value})
	}
	return dst
}

// corrInputs takes from hits the inputs of correlation rules (with the
// event's values of the fields they need) and drops the hits of rules
// that only feed correlations. hits is returned as is when the rule set
// has no correlation.
func (d *Detection) corrInputs(ev *evtx.Event, hits []store.SigmaHit) (kept []store.SigmaHit, in []store.CorrInput) {
	rs := d.rules.Load()
	if !rs.HasCorrelations() || len(hits) == 0 {
		return hits, nil
	}
	kept = hits[:0:0]
	for _, h := range hits {
		if fields, ok := rs.CorrelationFields(h.RuleID); ok {
			ci := store.CorrInput{RuleID: h.RuleID}
			for _, f := range fields {
				if v, ok := sigma.FieldValue(ev, f); ok {
					if ci.Fields == nil {
						ci.Fields = map[string]string{}
					}
					ci.Fields[f] = v
				}
			}
			in = append(in, ci)
		}
		if !rs.CorrelationOnly(h.RuleID) {
			kept = append(kept, h)
		}
	}
	return kept, in
}
