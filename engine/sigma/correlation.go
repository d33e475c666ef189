package sigma

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"casescope/evtx"
)

// Sigma correlation rules (Sigma specification, "Sigma Correlation
// Rules", v2): a YAML document with a correlation section instead of a
// detection, referring by id or name to other rules (detection rules or
// correlations, so correlations chain). Load compiles them beside the
// detection rules; they match no event by themselves. The caller records,
// for every event that a referred rule hits, the event's values of the
// fields the correlations need (CorrelationFields), then asks Correlate
// over all such inputs of a case.
//
// Semantics, per group (the values of the group-by fields; an input that
// lacks one of them is left out, as an aggregation backend drops events
// with a null group key), with inputs in time order:
//
//   - A window is the inputs within timespan (inclusive) up to and
//     including one input. The condition (gt, gte, lt, lte, eq, several
//     meaning AND) is tested on every window: on its number of inputs
//     (event_count), its number of distinct values of the condition's
//     field (value_count; inputs without the field are left out), or its
//     number of distinct referred rules (temporal; without a condition,
//     all of them). temporal_ordered holds on a window ending with an
//     input of the last referred rule that holds an input of each
//     referred rule in the given order (strictly later in time, or the
//     same time in rule order).
//   - Each window where the condition holds marks its inputs (for
//     temporal_ordered, the ordered chain found); overlapping windows
//     make one match: its events are the marked inputs' events, At is
//     the end of its first window (when the condition first held).
//   - A correlation referred to by another is an input of it, once per
//     match, at the match's At, with the match's group values as fields
//     (by the inner correlation's group-by names) and its events.
//
// Generate (default false) as in the specification: the rules a
// correlation refers to are not output by themselves unless it sets
// generate: true; their hits only feed correlations (Hit.CorrelationOnly).

// CorrelationInfo describes a correlation rule as written.
type CorrelationInfo struct {
	Type      string                       `json:"type"`
	Rules     []string                     `json:"rules"`
	GroupBy   []string                     `json:"group_by,omitempty"`
	Timespan  string                       `json:"timespan"`
	Field     string                       `json:"field,omitempty"`
	Condition map[string]int64             `json:"condition,omitempty"`
	Aliases   map[string]map[string]string `json:"aliases,omitempty"`
	Generate  bool                         `json:"generate,omitempty"`
}

// Correlation types.
const (
	CorrEventCount      = "event_count"
	CorrValueCount      = "value_count"
	CorrTemporal        = "temporal"
	CorrTemporalOrdered = "temporal_ordered"
)

// parsedCorrelation is a correlation section, checked.
type parsedCorrelation struct {
	info CorrelationInfo
	span time.Duration
}

// maxCorrelationSpan bounds a timespan (a year): larger is a typo.
const maxCorrelationSpan = 366 * 24 * time.Hour

func parseCorrelation(n *yaml.Node) (*parsedCorrelation, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errors.New("not a mapping")
	}
	c := &parsedCorrelation{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		switch k {
		case "type":
			c.info.Type = strings.ToLower(scalar(v))
		case "rules":
			c.info.Rules = stringList(v)
		case "group-by":
			c.info.GroupBy = stringList(v)
		case "timespan", "timeframe":
			c.info.Timespan = scalar(v)
		case "generate":
			c.info.Generate = strings.EqualFold(scalar(v), "true")
		case "condition":
			if v.Kind != yaml.MappingNode {
				return nil, errors.New("condition is not a mapping")
			}
			c.info.Condition = map[string]int64{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				op, val := v.Content[j].Value, scalar(v.Content[j+1])
				if op == "field" {
					c.info.Field = val
					continue
				}
				switch op {
				case "gt", "gte", "lt", "lte", "eq":
				default:
					return nil, fmt.Errorf("condition operator %q (want gt, gte, lt, lte, eq or field)", op)
				}
				x, err := strconv.ParseInt(val, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("condition %s: %q is not an integer", op, val)
				}
				c.info.Condition[op] = x
			}
		case "aliases":
			if v.Kind != yaml.MappingNode {
				return nil, errors.New("aliases is not a mapping")
			}
			c.info.Aliases = map[string]map[string]string{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				alias, m := v.Content[j].Value, v.Content[j+1]
				if m.Kind != yaml.MappingNode {
					return nil, fmt.Errorf("alias %s is not a mapping", alias)
				}
				c.info.Aliases[alias] = map[string]string{}
				for x := 0; x+1 < len(m.Content); x += 2 {
					c.info.Aliases[alias][m.Content[x].Value] = scalar(m.Content[x+1])
				}
			}
		}
	}
	switch c.info.Type {
	case CorrEventCount, CorrValueCount, CorrTemporal, CorrTemporalOrdered:
	case "":
		return nil, errors.New("no type")
	default:
		return nil, fmt.Errorf("type %q is not event_count, value_count, temporal or temporal_ordered", c.info.Type)
	}
	if len(c.info.Rules) == 0 {
		return nil, errors.New("no rules")
	}
	span, err := parseTimespan(c.info.Timespan)
	if err != nil {
		return nil, err
	}
	c.span = span
	switch c.info.Type {
	case CorrEventCount, CorrValueCount:
		if len(c.info.Condition) == 0 {
			return nil, errors.New("no condition")
		}
		if c.info.Type == CorrValueCount && c.info.Field == "" {
			return nil, errors.New("value_count needs a condition field")
		}
	case CorrTemporalOrdered:
		if len(c.info.Rules) < 2 {
			return nil, errors.New("temporal_ordered needs two rules or more")
		}
	}
	return c, nil
}

// parseTimespan reads a number and a unit: s, m, h, d (also w, y; M for
// months of 30 days).
func parseTimespan(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("timespan %q: want a number and s, m, h or d", s)
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("timespan %q: want a positive number and s, m, h or d", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour,
		'w': 7 * 24 * time.Hour, 'M': 30 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("timespan %q: unknown unit (s, m, h, d)", s)
	}
	if n > int64(maxCorrelationSpan/unit) {
		return 0, fmt.Errorf("timespan %q is longer than a year", s)
	}
	return time.Duration(n) * unit, nil
}

// corrRule is a loaded correlation.
type corrRule struct {
	meta   Rule
	c      *parsedCorrelation
	refs   []string // referred rule ids, resolved, in the correlation's order
	hit    Hit
	hidden bool // referred to by a correlation that does not generate it
}

// field is the field a group-by (or value) name stands for in the inputs
// of referred rule ref: its alias for that rule (by id or name), or
// itself.
func (c *corrRule) field(name, ref, refName string) string {
	if m, ok := c.c.info.Aliases[name]; ok {
		if f, ok := m[ref]; ok {
			return f
		}
		if f, ok := m[refName]; ok && refName != "" {
			return f
		}
	}
	return name
}

// resolveCorrelations links the correlations to the rules they refer to,
// in an order where every correlation comes after those it refers to.
// A correlation that refers to a rule not loaded (or to itself through a
// chain) is skipped with the reason.
func (b *builder) resolveCorrelations(pending []parsedRule) []Skipped {
	rs := b.rs
	var skipped []Skipped
	byName := map[string]string{} // name -> id
	base := map[string]*loadedRule{}
	for _, r := range rs.rules {
		base[r.meta.ID] = r
		if r.meta.Name != "" {
			byName[r.meta.Name] = r.meta.ID
		}
	}
	cands := map[string]*corrRule{}
	for _, pr := range pending {
		cr := &corrRule{meta: pr.meta, c: pr.corr}
		cr.hit = Hit{RuleID: pr.meta.ID, Title: pr.meta.Title, Level: pr.meta.Level, Tags: pr.meta.Tags, Pack: pr.meta.Pack,
			Correlation: pr.corr.info.Type}
		cands[pr.meta.ID] = cr
		if pr.meta.Name != "" {
			if _, taken := byName[pr.meta.Name]; !taken {
				byName[pr.meta.Name] = pr.meta.ID
			}
		}
	}
	skip := func(cr *corrRule, reason string) {
		skipped = append(skipped, Skipped{Path: cr.meta.Path, ID: cr.meta.ID, Title: cr.meta.Title, Reason: reason,
			Logsource: cr.meta.Logsource, Pack: cr.meta.Pack})
		delete(cands, cr.meta.ID)
	}
	// Resolve names to ids; drop correlations whose rules are missing,
	// until none is dropped (a dropped one may be referred to).
	ids := make([]string, 0, len(cands))
	for id := range cands {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for changed := true; changed; {
		changed = false
		for _, id := range ids {
			cr := cands[id]
			if cr == nil {
				continue
			}
			cr.refs = cr.refs[:0]
			for _, ref := range cr.c.info.Rules {
				rid := ref
				if _, ok := base[rid]; !ok && cands[rid] == nil {
					rid = byName[ref]
				}
				if _, ok := base[rid]; !ok && cands[rid] == nil {
					skip(cr, fmt.Sprintf("correlation refers to rule %q, which is not loaded", ref))
					changed = true
					break
				}
				cr.refs = append(cr.refs, rid)
			}
		}
	}
	// Order: depth-first, refusing cycles.
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(id string) bool
	visit = func(id string) bool {
		cr := cands[id]
		if cr == nil {
			return true // a detection rule
		}
		switch state[id] {
		case 1:
			return false
		case 2:
			return true
		}
		state[id] = 1
		for _, r := range cr.refs {
			if !visit(r) {
				return false
			}
		}
		state[id] = 2
		rs.corrs = append(rs.corrs, cr)
		return true
	}
	for _, id := range ids {
		if cr := cands[id]; cr != nil && state[id] == 0 && !visit(id) {
			skip(cr, "correlation refers to itself through a chain of correlations")
		}
	}
	// Drop what a skipped cycle left half-visited.
	kept := rs.corrs[:0]
	for _, cr := range rs.corrs {
		if cands[cr.meta.ID] != nil {
			kept = append(kept, cr)
		}
	}
	rs.corrs = kept
	rs.corrByID = map[string]*corrRule{}
	rs.corrFields = map[string][]string{}
	rs.corrOnly = map[string]bool{}
	for _, cr := range rs.corrs {
		rs.corrByID[cr.meta.ID] = cr
	}
	for _, cr := range rs.corrs {
		for _, ref := range cr.refs {
			if !cr.c.info.Generate {
				if inner := rs.corrByID[ref]; inner != nil {
					inner.hidden = true
				} else if lr := base[ref]; lr != nil {
					lr.hit.CorrelationOnly = true
					rs.corrOnly[ref] = true
				}
			}
			lr := base[ref]
			if lr == nil {
				continue
			}
			// The fields this correlation needs of the rule's events.
			need := rs.corrFields[ref]
			names := append([]string(nil), cr.c.info.GroupBy...)
			if cr.c.info.Field != "" {
				names = append(names, cr.c.info.Field)
			}
			for _, n := range names {
				f := cr.field(n, ref, lr.meta.Name)
				if !containsString(need, f) {
					need = append(need, f)
				}
			}
			rs.corrFields[ref] = need
		}
	}
	return skipped
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// HasCorrelations reports whether the rule set holds a correlation.
func (rs *Ruleset) HasCorrelations() bool { return rs != nil && len(rs.corrs) > 0 }

// CorrelationFields returns the fields whose values the correlations
// referring to rule id need of its events, and ok false when no
// correlation refers to it.
func (rs *Ruleset) CorrelationFields(id string) (fields []string, ok bool) {
	if rs == nil || rs.corrFields == nil {
		return nil, false
	}
	fields, ok = rs.corrFields[id]
	return fields, ok
}

// CorrelationOnly reports whether rule id only feeds correlations: its
// hits are no detections by themselves (see Hit.CorrelationOnly).
func (rs *Ruleset) CorrelationOnly(id string) bool { return rs != nil && rs.corrOnly[id] }

// FieldValue is the value of a field as correlations read it: an event
// data field by name (exact, else case-insensitive), else a System field
// (Computer, Channel, EventID, Provider, EventRecordID, UserID).
func FieldValue(ev *evtx.Event, name string) (string, bool) {
	if v, ok := ev.Get(name); ok {
		return v, true
	}
	for i := range ev.Data {
		if strings.EqualFold(ev.Data[i].Name, name) {
			return ev.Data[i].Value, true
		}
	}
	switch strings.ToLower(name) {
	case "computer", "computername", "hostname":
		return ev.Computer, true
	case "channel":
		return ev.Channel, true
	case "eventid":
		return strconv.FormatUint(uint64(ev.EventID), 10), true
	case "provider", "provider_name", "providername":
		return ev.Provider, true
	case "eventrecordid":
		return strconv.FormatUint(ev.RecordID, 10), true
	case "userid", "security_userid":
		return ev.UserID, ev.UserID != ""
	}
	return "", false
}

// CorrelationInput is an event that a rule referred to by a correlation
// hit.
type CorrelationInput struct {
	Rule   string            // the rule's id
	Time   time.Time         // the event's time
	Ref    int               // the caller's handle of the event
	Fields map[string]string // the event's values of CorrelationFields(Rule)
}

// CorrelationMatch is one match of a correlation: a group's events that
// satisfy it.
type CorrelationMatch struct {
	Hit   Hit               // the correlation's hit
	Group map[string]string // group-by name -> value
	At    time.Time         // when the condition first held
	First time.Time         // the first and last of its events
	Last  time.Time
	Refs  []int // the events (CorrelationInput.Ref), sorted, each once
}

// corrItem is one input of one correlation.
type corrItem struct {
	t     time.Time
	typ   int // index of the referred rule
	refs  []int
	value string
	first time.Time
	last  time.Time
}

// Correlate evaluates every correlation over the inputs (in any order)
// and returns the matches of the correlations that are generated (not
// only referred to by another), by correlation in load order, then by
// group and time. ctxErr, when not nil, is polled between correlations
// to stop early.
func (rs *Ruleset) Correlate(inputs []CorrelationInput, ctxErr func() error) ([]CorrelationMatch, error) {
	if !rs.HasCorrelations() {
		return nil, nil
	}
	byRule := map[string][]int{}
	for i := range inputs {
		byRule[inputs[i].Rule] = append(byRule[inputs[i].Rule], i)
	}
	names := map[string]string{}
	for _, r := range rs.rules {
		if r.meta.Name != "" {
			names[r.meta.ID] = r.meta.Name
		}
	}
	for _, cr := range rs.corrs {
		if cr.meta.Name != "" {
			names[cr.meta.ID] = cr.meta.Name
		}
	}
	done := map[string][]CorrelationMatch{}
	var out []CorrelationMatch
	for _, cr := range rs.corrs {
		if ctxErr != nil {
			if err := ctxErr(); err != nil {
				return nil, err
			}
		}
		groups := map[string][]corrItem{}
		groupVals := map[string]map[string]string{}
		add := func(typ int, ref string, t time.Time, refs []int, fields map[string]string, first, last time.Time) {
			vals := make(map[string]string, len(cr.c.info.GroupBy))
			key := make([]string, 0, len(cr.c.info.GroupBy))
			for _, g := range cr.c.info.GroupBy {
				v, ok := fields[cr.field(g, ref, names[ref])]
				if !ok {
					return
				}
				vals[g] = v
				key = append(key, v)
			}
			it := corrItem{t: t, typ: typ, refs: refs, first: first, last: last}
			if cr.c.info.Type == CorrValueCount {
				v, ok := fields[cr.field(cr.c.info.Field, ref, names[ref])]
				if !ok {
					return
				}
				it.value = v
			}
			k := strings.Join(key, "\x00")
			if _, ok := groupVals[k]; !ok {
				groupVals[k] = vals
			}
			groups[k] = append(groups[k], it)
		}
		for typ, ref := range cr.refs {
			if _, inner := rs.corrByID[ref]; inner {
				for _, m := range done[ref] {
					add(typ, ref, m.At, m.Refs, m.Group, m.First, m.Last)
				}
				continue
			}
			for _, i := range byRule[ref] {
				in := &inputs[i]
				add(typ, ref, in.Time, []int{in.Ref}, in.Fields, in.Time, in.Time)
			}
		}
		keys := make([]string, 0, len(groups))
		for k := range groups {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var ms []CorrelationMatch
		for _, k := range keys {
			for _, m := range cr.evalGroup(groups[k]) {
				m.Hit, m.Group = cr.hit, groupVals[k]
				ms = append(ms, m)
			}
		}
		done[cr.meta.ID] = ms
		if !cr.hidden {
			out = append(out, ms...)
		}
	}
	return out, nil
}

// evalGroup finds the matches among one group's items.
func (cr *corrRule) evalGroup(items []corrItem) []CorrelationMatch {
	sort.SliceStable(items, func(a, b int) bool {
		if !items[a].t.Equal(items[b].t) {
			return items[a].t.Before(items[b].t)
		}
		return items[a].typ < items[b].typ
	})
	info := &cr.c.info
	nTypes := len(cr.refs)
	cond := info.Condition
	if (info.Type == CorrTemporal) && len(cond) == 0 {
		cond = map[string]int64{"gte": int64(nTypes)}
	}
	marked := make([]bool, len(items))
	markedUpTo := -1
	type seg struct {
		start, end int
		at         time.Time
	}
	var segs []seg
	values := map[string]int{}
	types := make([]int, nTypes)
	distinctTypes := 0
	lo := 0
	for i := range items {
		// Grow the window by item i, shrink it to the timespan.
		if info.Type == CorrValueCount {
			values[items[i].value]++
		}
		if types[items[i].typ] == 0 {
			distinctTypes++
		}
		types[items[i].typ]++
		start := items[i].t.Add(-cr.c.span)
		for items[lo].t.Before(start) {
			if info.Type == CorrValueCount {
				values[items[lo].value]--
				if values[items[lo].value] == 0 {
					delete(values, items[lo].value)
				}
			}
			types[items[lo].typ]--
			if types[items[lo].typ] == 0 {
				distinctTypes--
			}
			lo++
		}
		first := lo
		var chain []int
		switch info.Type {
		case CorrEventCount:
			if !condHolds(cond, int64(i-lo+1)) {
				continue
			}
		case CorrValueCount:
			if !condHolds(cond, int64(len(values))) {
				continue
			}
		case CorrTemporal:
			if !condHolds(cond, int64(distinctTypes)) {
				continue
			}
		case CorrTemporalOrdered:
			if items[i].typ != nTypes-1 || distinctTypes < nTypes {
				continue
			}
			// The latest chain ending at i: walk back for each earlier
			// rule in turn.
			chain = append(chain, i)
			want := nTypes - 2
			for j := i - 1; j >= lo && want >= 0; j-- {
				if items[j].typ == want && items[j].t.Before(items[chain[len(chain)-1]].t) ||
					items[j].typ == want && items[j].t.Equal(items[chain[len(chain)-1]].t) && want < items[chain[len(chain)-1]].typ {
					chain = append(chain, j)
					want--
				}
			}
			if want >= 0 {
				continue
			}
			first = chain[len(chain)-1]
		}
		if chain != nil {
			for _, j := range chain {
				marked[j] = true
			}
		} else {
			for j := max(lo, markedUpTo+1); j <= i; j++ {
				marked[j] = true
			}
			markedUpTo = i
		}
		if n := len(segs); n > 0 && first <= segs[n-1].end {
			segs[n-1].end = i
		} else {
			segs = append(segs, seg{start: first, end: i, at: items[i].t})
		}
	}
	out := make([]CorrelationMatch, 0, len(segs))
	for _, s := range segs {
		m := CorrelationMatch{At: s.at}
		seen := map[int]bool{}
		for j := s.start; j <= s.end; j++ {
			if !marked[j] {
				continue
			}
			it := &items[j]
			if m.First.IsZero() || it.first.Before(m.First) {
				m.First = it.first
			}
			if it.last.After(m.Last) {
				m.Last = it.last
			}
			for _, r := range it.refs {
				if !seen[r] {
					seen[r] = true
					m.Refs = append(m.Refs, r)
				}
			}
		}
		sort.Ints(m.Refs)
		out = append(out, m)
	}
	return out
}

// condHolds tests a count against every criterion of a condition.
func condHolds(cond map[string]int64, n int64) bool {
	for op, x := range cond {
		var ok bool
		switch op {
		case "gt":
			ok = n > x
		case "gte":
			ok = n >= x
		case "lt":
			ok = n < x
		case "lte":
			ok = n <= x
		case "eq":
			ok = n == x
		}
		if !ok {
			return false
		}
	}
	return true
}
