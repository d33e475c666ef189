package sigma

// The rule prefilter skips a rule without evaluating it when none of the
// literals it needs occurs anywhere in the event. Every string a rule can
// only match through a literal (equals, startswith, endswith, contains, a
// wildcard pattern's longest literal run, a regular expression's required
// literal) makes that literal a necessary substring of some lower-cased
// event value. For each variant, required computes a set of literal ids
// one of which must occur for the rule to match: a field's values or a
// list give the union of their literals, an and takes its most selective
// child, a negation or a test without literals (exists, null, numbers,
// cidr, fieldref) gives no set, and the rule is then always evaluated.
// At Match time, when enough candidate rules carry a set, every value of
// the event is scanned once with the literal index and each such rule
// costs a few array loads.

// prefilterMin is the number of candidate rules with a literal set from
// which scanning the whole event pays off.
const prefilterMin = 24

// maxReq bounds a rule's literal set; larger sets are not worth checking.
const maxReq = 64

// required returns literal ids one of which must occur in the event for n
// to match, or ok=false when no such set is known.
func (b *litIndexBuilder) required(n node) (ids []int32, ok bool) {
	switch x := n.(type) {
	case *fieldNode:
		if x.null {
			return nil, false
		}
		return b.matcherSet(x.matchers, x.all)
	case *keywordNode:
		return b.matcherSet(x.matchers, x.all)
	case andNode:
		var best []int32
		found := false
		for _, k := range x {
			if s, ok := b.required(k); ok && (!found || betterReq(b, s, best)) {
				best, found = s, true
			}
		}
		return best, found
	case orNode:
		var all []int32
		for _, k := range x {
			s, ok := b.required(k)
			if !ok {
				return nil, false
			}
			all = append(all, s...)
		}
		if len(all) > maxReq {
			return nil, false
		}
		return all, true
	}
	return nil, false
}

// matcherSet is the literal set of a field's or keyword's matchers: any
// one matcher can decide (union), or with all, the best single matcher.
func (b *litIndexBuilder) matcherSet(ms []matcher, all bool) ([]int32, bool) {
	if len(ms) == 0 {
		return nil, false
	}
	if all {
		var best []int32
		found := false
		for i := range ms {
			if s, ok := b.matcherLits(&ms[i]); ok && (!found || betterReq(b, s, best)) {
				best, found = s, true
			}
		}
		return best, found
	}
	var out []int32
	for i := range ms {
		s, ok := b.matcherLits(&ms[i])
		if !ok {
			return nil, false
		}
		out = append(out, s...)
	}
	if len(out) > maxReq {
		return nil, false
	}
	return out, true
}

// matcherLits returns the literal ids a single matcher needs.
func (b *litIndexBuilder) matcherLits(m *matcher) ([]int32, bool) {
	switch m.kind {
	case kEquals, kPrefix, kSuffix, kContains:
		lit := m.lit
		if m.cased {
			lit = lowerString(lit)
		}
		if id := b.id(lit); id >= 0 {
			return []int32{id}, true
		}
	case kGlob:
		best := ""
		for _, seg := range m.g.segs {
			for _, p := range seg {
				if p.wild == 0 && len(p.lit) > len(best) {
					best = p.lit
				}
			}
		}
		if m.cased {
			best = lowerString(best)
		}
		if id := b.id(best); id >= 0 {
			return []int32{id}, true
		}
	case kRegex:
		if len(m.pre) == 0 {
			return nil, false
		}
		out := make([]int32, 0, len(m.pre))
		for _, pl := range m.pre {
			id := b.id(pl.lit)
			if id < 0 {
				return nil, false
			}
			out = append(out, id)
		}
		return out, true
	}
	return nil, false
}

// betterReq reports whether set a is more selective than set b: fewer
// alternatives, then longer literals.
func betterReq(bl *litIndexBuilder, a, b []int32) bool {
	sa, sb := reqScore(bl, a), reqScore(bl, b)
	return sa > sb
}

func reqScore(bl *litIndexBuilder, s []int32) int {
	if len(s) == 0 {
		return 1 << 20 // never matches: the best filter of all
	}
	short := 1 << 20
	for _, id := range s {
		short = min(short, len(bl.lits[id]))
	}
	return min(short, 12)*16 - len(s)
}
