package sigma

import (
	"encoding/binary"
	"math/bits"
	"sort"
)

// The literal index makes "contains" cheap on long values. Every distinct
// lower-cased contains literal of at least gramLen bytes, across all rules,
// gets an id and is anchored at one of its 4-byte grams (the one shared
// with the fewest other literals). A long event value is scanned once: at
// each byte offset its 4-byte gram is looked up (a bitmap rejects almost
// every offset), candidate literals are verified in place, and each found
// literal is stamped with the value's scan number and listed (sorted) with
// the value. After that a contains test on the value is one array load
// (for the value scanned last) or a binary search in its short list,
// whatever the number of rules. Short values keep using strings.Contains,
// which is faster than a scan there.

const (
	gramLen = 4
	// indexMinLen is the value length from which a contains test scans
	// the value with the index instead of calling strings.Contains.
	indexMinLen = 16
	filterBits  = 18 // bitmap of 2^18 bits (32 KiB)
)

// litRef is one literal anchored at a gram: the literal's id and the
// offset of the gram inside it.
type litRef struct {
	id  int32
	off int32
}

// litIndex is immutable after build and shared by all goroutines.
type litIndex struct {
	lits   []string
	filter []uint64 // bit per hashed gram
	// Open-addressed table from gram to refs[start:end].
	keys  []uint32
	spans []span
	refs  []litRef
	mask  uint32
	shift uint32 // table slot: top bits of gramHash
}

type span struct{ start, end int32 }

// gramHash and filterHash are multiplicative hashes; only their top bits
// are used (the low bits of a product depend only on the low bits of g,
// that is on the gram's first characters).
func gramHash(g uint32) uint32 { return g * 0x9E3779B1 }

func filterHash(g uint32) uint32 { return (g * 0x85EBCA6B) >> (32 - filterBits) }

// litIndexBuilder collects literals before the index is frozen.
type litIndexBuilder struct {
	ids  map[string]int32
	lits []string
}

// id returns the literal's id, or -1 when it is too short to index.
func (b *litIndexBuilder) id(lit string) int32 {
	if len(lit) < gramLen {
		return -1
	}
	if id, ok := b.ids[lit]; ok {
		return id
	}
	id := int32(len(b.lits))
	b.ids[lit] = id
	b.lits = append(b.lits, lit)
	return id
}

func (b *litIndexBuilder) build() *litIndex {
	ix := &litIndex{lits: b.lits, filter: make([]uint64, (1<<filterBits)/64)}
	if len(b.lits) == 0 {
		return ix
	}
	// Anchor each literal at its least shared gram, longest literals
	// first so that short ones (with few grams to choose from) see the
	// final counts of the long ones' choices.
	count := map[uint32]int{}
	for _, lit := range b.lits {
		for i := 0; i+gramLen <= len(lit); i++ {
			count[binary.LittleEndian.Uint32([]byte(lit[i:]))]++
		}
	}
	order := make([]int, len(b.lits))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return len(b.lits[order[i]]) > len(b.lits[order[j]]) })
	byGram := map[uint32][]litRef{}
	for _, id := range order {
		lit := b.lits[id]
		best, bestOff := -1, 0
		for i := 0; i+gramLen <= len(lit); i++ {
			g := binary.LittleEndian.Uint32([]byte(lit[i:]))
			c := count[g]*4 + len(byGram[g])*64
			if best < 0 || c < best {
				best, bestOff = c, i
			}
		}
		g := binary.LittleEndian.Uint32([]byte(lit[bestOff:]))
		byGram[g] = append(byGram[g], litRef{id: int32(id), off: int32(bestOff)})
	}
	tableBits := bits.Len(uint(len(byGram) * 2))
	size := 1 << tableBits
	ix.keys = make([]uint32, size)
	ix.spans = make([]span, size)
	ix.mask = uint32(size - 1)
	ix.shift = uint32(32 - tableBits)
	for g, refs := range byGram {
		fb := filterHash(g)
		ix.filter[fb/64] |= 1 << (fb % 64)
		slot := gramHash(g) >> ix.shift
		for ix.spans[slot].end != 0 {
			slot = (slot + 1) & ix.mask
		}
		ix.keys[slot] = g
		ix.spans[slot] = span{start: int32(len(ix.refs)), end: int32(len(ix.refs) + len(refs))}
		ix.refs = append(ix.refs, refs...)
	}
	return ix
}

// scan stamps, in seen, every indexed literal found in text, and appends
// each one's id once to found.
func (ix *litIndex) scan(text string, seen []uint32, stamp uint32, found []int32) []int32 {
	if len(ix.refs) == 0 {
		return found
	}
	filter := ix.filter
	for i := 0; i+gramLen <= len(text); i++ {
		g := uint32(text[i]) | uint32(text[i+1])<<8 | uint32(text[i+2])<<16 | uint32(text[i+3])<<24
		fb := filterHash(g)
		if filter[fb/64]&(1<<(fb%64)) == 0 {
			continue
		}
		slot := gramHash(g) >> ix.shift
		for {
			sp := ix.spans[slot]
			if sp.end == 0 {
				break
			}
			if ix.keys[slot] == g {
				for _, r := range ix.refs[sp.start:sp.end] {
					lit := ix.lits[r.id]
					start := i - int(r.off)
					if seen[r.id] != stamp && start >= 0 && start+len(lit) <= len(text) && text[start:start+len(lit)] == lit {
						seen[r.id] = stamp
						found = append(found, r.id)
					}
				}
				break
			}
			slot = (slot + 1) & ix.mask
		}
	}
	return found
}

// indexLiterals gives every indexable contains literal of the rule set an
// id and builds the index. It runs once, at the end of Load.
func (rs *Ruleset) indexLiterals() {
	b := &litIndexBuilder{ids: map[string]int32{}}
	seen := map[node]bool{}
	var walk func(n node)
	assign := func(ms []matcher) {
		for i := range ms {
			m := &ms[i]
			for j := range m.pre {
				if id := b.id(m.pre[j].lit); id >= 0 {
					m.pre[j].id1 = id + 1
				}
			}
			if m.kind != kContains || m.cased {
				continue
			}
			if id := b.id(m.lit); id >= 0 {
				m.lit1 = id + 1
			}
		}
	}
	walk = func(n node) {
		switch x := n.(type) {
		case andNode:
			for _, k := range x {
				walk(k)
			}
		case orNode:
			for _, k := range x {
				walk(k)
			}
		case notNode:
			walk(x.n)
		case *fieldNode:
			if !seen[x] {
				seen[x] = true
				assign(x.matchers)
			}
		case *keywordNode:
			if !seen[x] {
				seen[x] = true
				assign(x.matchers)
			}
		}
	}
	done := map[*variant]bool{}
	each := func(l *ruleList) {
		for _, v := range l.vs {
			if !done[v] {
				done[v] = true
				walk(v.root)
				v.req, v.pre = b.required(v.root)
			}
			if v.pre {
				l.nPre++
			}
		}
	}
	each(rs.catchAll)
	for _, r := range rs.routes {
		each(r.any)
		for _, l := range r.byEID {
			each(l)
		}
	}
	rs.lix = b.build()
}
