package store

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2/search"
)

// FieldFacet holds one term per event joining its lower-cased channel,
// zero-padded event ID, computer and provider (see facetTerm). Facets
// count these combinations, a few thousand even in a large case, and
// split them afterwards: one doc-value column and one map update per
// match instead of four.
const FieldFacet = "f"

// facetFields are the fields a facet term joins, in order, and how many
// top values each facet shows.
var facetFields = []struct {
	name string
	size int
}{{FieldChannel, 10}, {FieldEventID, 15}, {FieldComputer, 10}, {FieldProvider, 10}}

// facetSep separates the parts of a facet term.
const facetSep = "\x1f"

// facetTerm is an event's FieldFacet term from its lower-cased field
// terms, in facetFields order.
func facetTerm(channel, eventID, computer, provider string) string {
	var b strings.Builder
	b.Grow(len(channel) + len(eventID) + len(computer) + len(provider) + 3)
	for i, v := range [...]string{channel, eventID, computer, provider} {
		if i > 0 {
			b.WriteString(facetSep)
		}
		b.WriteString(strings.ReplaceAll(v, facetSep, " "))
	}
	return b.String()
}

// facetBuilder counts FieldFacet terms over the matches; it is a Bleve
// facet builder, fed by the collector's doc-value visit.
type facetBuilder struct {
	counts map[string]*int
	// last is the previous match's term and counter: matches come in
	// document order, and neighbours (events of one log) often share
	// their term.
	last  []byte
	lastN *int
}

func newFacetBuilder() *facetBuilder { return &facetBuilder{counts: map[string]*int{}} }

func (f *facetBuilder) StartDoc() {}
func (f *facetBuilder) EndDoc()   {}

func (f *facetBuilder) UpdateVisitor(term []byte) {
	if f.lastN != nil && bytes.Equal(term, f.last) {
		*f.lastN++
		return
	}
	n, ok := f.counts[string(term)] // no allocation on a hit
	if !ok {
		n = new(int)
		f.counts[string(term)] = n
	}
	*n++
	f.last, f.lastN = append(f.last[:0], term...), n
}

func (f *facetBuilder) Result() *search.FacetResult { return &search.FacetResult{Field: FieldFacet} }
func (f *facetBuilder) Field() string               { return FieldFacet }
func (f *facetBuilder) Size() int                   { return 64 + 80*len(f.counts) }

// top splits the counted combinations into per-field counts and returns
// each field's most frequent values (ties by value), without empty values.
func (f *facetBuilder) top() map[string][]FacetCount {
	per := make([]map[string]int, len(facetFields))
	for i := range per {
		per[i] = map[string]int{}
	}
	for term, n := range f.counts {
		for i, v := range strings.SplitN(term, facetSep, len(facetFields)) {
			if v != "" {
				per[i][v] += *n
			}
		}
	}
	out := make(map[string][]FacetCount, len(facetFields))
	for i, ff := range facetFields {
		fc := make([]FacetCount, 0, len(per[i]))
		for v, n := range per[i] {
			if ff.name == FieldEventID {
				if id, err := strconv.ParseUint(v, 10, 64); err == nil {
					v = strconv.FormatUint(id, 10) // zero-padded keyword
				}
			}
			fc = append(fc, FacetCount{Value: v, Count: n})
		}
		slices.SortFunc(fc, func(a, b FacetCount) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Value, b.Value)
		})
		if len(fc) > ff.size {
			fc = fc[:ff.size]
		}
		out[ff.name] = fc
	}
	return out
}

// histSteps are the histogram intervals; each divides the next, so counts
// kept at one step add up exactly into any later one.
var histSteps = []time.Duration{time.Second, 10 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute,
	time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 28 * 24 * time.Hour}

// histMaxFine bounds the intervals the histogram keeps while it counts.
const histMaxFine = 4096

// histMaxStep is the coarsest step: 28 days × 2^20, beyond any span an
// EVTX time (a 64-bit FILETIME) can have.
const histMaxStep = 12 + 20

// histBuilder counts matches per time interval in the same pass as the
// search, from the sort key's time: it counts at the finest step of
// histSteps that keeps at most histMaxFine intervals (coarsening as the
// span grows), then sums those into about histBuckets intervals. Times are
// FILETIME ticks (100 ns since 1601, a Monday at midnight UTC), which
// cover every time an event can carry, and intervals are aligned to that
// epoch. It is a Bleve facet builder on FieldSortKey.
type histBuilder struct {
	step     int // index into histSteps; beyond it, 28 days doubled
	counts   map[int64]int
	min, max int64 // ticks of the oldest and newest match
	seen     bool
	cur      int64
	has      bool
}

func newHistBuilder() *histBuilder {
	return &histBuilder{counts: map[int64]int{}}
}

// stepTicks is the length of step i in ticks.
func stepTicks(i int) int64 {
	if i < len(histSteps) {
		return int64(histSteps[i] / 100)
	}
	return int64(histSteps[len(histSteps)-1]/100) << (i - len(histSteps) + 1) // 56 days, 112 days, …
}

func (h *histBuilder) StartDoc() { h.has = false }

func (h *histBuilder) UpdateVisitor(term []byte) {
	if ticks, ok := keyTicks(term); ok {
		h.cur, h.has = int64(min(ticks, math.MaxInt64)), true
	}
}

// addTicks counts one match at time t (FILETIME ticks).
func (h *histBuilder) addTicks(t uint64) {
	h.cur, h.has = int64(min(t, math.MaxInt64)), true
	h.EndDoc()
}

func (h *histBuilder) EndDoc() {
	if !h.has {
		return
	}
	t := h.cur
	if !h.seen || t < h.min {
		h.min = t
	}
	if !h.seen || t > h.max {
		h.max = t
	}
	h.seen = true
	h.counts[t/stepTicks(h.step)]++
	for len(h.counts) > histMaxFine && h.step < histMaxStep {
		h.coarsen(h.step + 1)
	}
}

// coarsen re-counts at step i.
func (h *histBuilder) coarsen(i int) {
	from, to := stepTicks(h.step), stepTicks(i)
	next := make(map[int64]int, len(h.counts)/2)
	for k, n := range h.counts {
		next[k*from/to] += n // k*from ≤ a tick count: no overflow
	}
	h.step, h.counts = i, next
}

func (h *histBuilder) Result() *search.FacetResult { return &search.FacetResult{Field: FieldSortKey} }
func (h *histBuilder) Field() string               { return FieldSortKey }
func (h *histBuilder) Size() int                   { return 64 + 16*len(h.counts) }

// buckets returns the histogram: about histBuckets intervals from the
// oldest to the newest match.
func (h *histBuilder) buckets() []Bucket {
	if !h.seen {
		return nil
	}
	target := (h.max - h.min) / histBuckets
	i := h.step
	for stepTicks(i) < target && i < histMaxStep {
		i++
	}
	if i != h.step {
		h.coarsen(i)
	}
	d := stepTicks(i)
	first, last := h.min/d, h.max/d
	out := make([]Bucket, 0, last-first+1)
	for k := first; k <= last; k++ {
		out = append(out, Bucket{Start: ticksTime(uint64(k * d)), Count: h.counts[k]})
	}
	return out
}

// mergeCounts adds kept per-combination counts (nil f: nothing asked).
func (f *facetBuilder) mergeCounts(counts map[string]int) {
	if f == nil {
		return
	}
	for t, n := range counts {
		f.add(t, n)
	}
}

// mergeFacets adds o's counts (nil f: nothing asked).
func (f *facetBuilder) mergeFacets(o *facetBuilder) {
	if f == nil || o == nil {
		return
	}
	for t, n := range o.counts {
		f.add(t, *n)
	}
}

func (f *facetBuilder) add(term string, n int) {
	c, ok := f.counts[term]
	if !ok {
		c = new(int)
		f.counts[term] = c
	}
	*c += n
}

// merge adds o's counts to h, at the coarser of their steps; o is not
// changed (it may be a kept segment's). Steps divide each other, so the
// sum is exact, and it ends at the step one pass over both would have
// reached: the finest that keeps histMaxFine intervals.
func (h *histBuilder) merge(o *histBuilder) {
	if h == nil || o == nil || !o.seen {
		return
	}
	if o.step > h.step {
		h.coarsen(o.step)
	}
	from, to := stepTicks(o.step), stepTicks(h.step)
	for k, n := range o.counts {
		h.counts[k*from/to] += n
	}
	if !h.seen || o.min < h.min {
		h.min = o.min
	}
	if !h.seen || o.max > h.max {
		h.max = o.max
	}
	h.seen = true
	for len(h.counts) > histMaxFine && h.step < histMaxStep {
		h.coarsen(h.step + 1)
	}
}
