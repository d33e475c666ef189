package sigma

import "strings"

// node is a compiled predicate over a prepared event. Nodes are immutable
// after compilation and shared by every goroutine.
type node interface {
	eval(p *prepared) bool
}

type andNode []node

func (n andNode) eval(p *prepared) bool {
	for _, k := range n {
		if !k.eval(p) {
			return false
		}
	}
	return true
}

type orNode []node

func (n orNode) eval(p *prepared) bool {
	for _, k := range n {
		if k.eval(p) {
			return true
		}
	}
	return false
}

type notNode struct{ n node }

func (n notNode) eval(p *prepared) bool { return !n.n.eval(p) }

type constNode bool

func (n constNode) eval(*prepared) bool { return bool(n) }

// fieldNode tests the values of one field slot. A field with several
// values (a name used by EventData and UserData, or the unnamed Data
// elements) matches when any of its values does; with all, each matcher
// must match some value.
type fieldNode struct {
	slot     int32
	matchers []matcher
	all      bool
	null     bool // also true when the field is absent or a value is empty
}

func newFieldNode(slot int32, spec fieldSpec) *fieldNode {
	return &fieldNode{slot: slot, matchers: spec.matchers, all: spec.all, null: spec.null}
}

func (f *fieldNode) eval(p *prepared) bool {
	e := p.head[f.slot]
	if e == 0 {
		return f.null
	}
	if f.all {
		for i := range f.matchers {
			m := &f.matchers[i]
			found := false
			for e := p.head[f.slot]; e != 0; e = p.ents[e-1].next {
				if m.matchVal(p, p.ents[e-1].val) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return len(f.matchers) > 0 || f.null
	}
	for ; e != 0; e = p.ents[e-1].next {
		vi := p.ents[e-1].val
		if f.null && p.vals[vi].raw == "" {
			return true
		}
		for i := range f.matchers {
			if f.matchers[i].matchVal(p, vi) {
				return true
			}
		}
	}
	return false
}

// existsNode is the exists modifier.
type existsNode struct {
	slot int32
	want bool
}

func (n existsNode) eval(p *prepared) bool { return (p.head[n.slot] != 0) == n.want }

// fieldrefNode is the fieldref modifier: some value of the field compares
// to some value of the referenced field (equal, or contains/starts/ends
// with it), case-insensitively unless cased.
type fieldrefNode struct {
	slot  int32
	ref   int32
	kind  matchKind
	cased bool
}

func (n fieldrefNode) eval(p *prepared) bool {
	for e := p.head[n.slot]; e != 0; e = p.ents[e-1].next {
		a := p.ents[e-1].val
		for r := p.head[n.ref]; r != 0; r = p.ents[r-1].next {
			b := p.ents[r-1].val
			var x, y string
			if n.cased {
				x, y = p.vals[a].raw, p.vals[b].raw
			} else {
				x, y = p.low(a), p.low(b)
			}
			var ok bool
			switch n.kind {
			case kContains:
				ok = strings.Contains(x, y)
			case kPrefix:
				ok = strings.HasPrefix(x, y)
			case kSuffix:
				ok = strings.HasSuffix(x, y)
			default:
				ok = x == y
			}
			if ok {
				return true
			}
		}
	}
	return false
}

// keywordNode is a field-less selection: its values are searched in every
// EventData/UserData value of the event.
type keywordNode struct {
	matchers []matcher
	all      bool
}

func (k *keywordNode) eval(p *prepared) bool {
	if k.all {
		for i := range k.matchers {
			if !k.any(p, &k.matchers[i]) {
				return false
			}
		}
		return len(k.matchers) > 0
	}
	for vi := int32(p.dataStart); vi < int32(len(p.vals)); vi++ {
		for i := range k.matchers {
			if k.matchers[i].matchVal(p, vi) {
				return true
			}
		}
	}
	return false
}

func (k *keywordNode) any(p *prepared, m *matcher) bool {
	for vi := int32(p.dataStart); vi < int32(len(p.vals)); vi++ {
		if m.matchVal(p, vi) {
			return true
		}
	}
	return false
}
