package store

import (
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// Facet and histogram counts per segment.
//
// A Scorch index is a list of segments: each batch adds one, merges
// replace several with one, and a segment's documents never change (a
// re-indexed or deleted document is only marked deleted in it). So the
// counts of a query's matches in a segment stay true for as long as the
// segment lives and none of its documents is deleted. tally keeps them,
// per query and segment, for segments of at least segCacheMinDocs
// documents (Index.countMinDocs): while an import adds batches, a facet view recounts only
// the segments made since it last ran (the new batches and merges), not
// the whole case.

// segCacheMinDocs is the smallest segment whose counts are kept: every
// one. Small segments come and go with every batch and merge while an
// import runs, but recounting them each time is not cheap when several
// clients open the same view: they take turns (countCache.turns), so
// each would recount the import's new segments after the other (8
// clients opening a 10M-event case's first view during an import: p95
// 3.8 s against 0.75 s idle, when only large segments were kept).
const segCacheMinDocs = 1

// defaultCountCacheBytes bounds the memory the kept counts take, about:
// a segment's facet counts hold its distinct (channel, event ID,
// computer, provider) combinations, a few thousand, and its histogram at
// most histMaxFine intervals.
const defaultCountCacheBytes = 32 << 20

// segCounts are one query's facet and histogram counts in one segment.
type segCounts struct {
	deleted uint64 // the segment's deleted documents when counted
	matches uint64 // the query's matches in the segment
	facets  map[string]int
	hist    *histBuilder // nil when not counted
	bytes   int
}

// countCache keeps segCounts by query and segment ID, least recently
// used query first out. Safe for concurrent use.
type countCache struct {
	// turns serialises the counting of one query (striped by its key's
	// hash): eight clients opening the same view at once count it once,
	// the others then find the segments counted.
	turns    [64]sync.Mutex
	seed     maphash.Seed // hashes a key to its turn
	mu       sync.Mutex
	maxBytes int
	bytes    int
	lru      *list.List // of *countEntry, most recent at the front
	byQuery  map[string]*list.Element
}

// countEntry is one query's counts, by segment ID.
type countEntry struct {
	query string
	segs  map[uint64]*segCounts
	bytes int
}

func newCountCache(maxBytes int) *countCache {
	return &countCache{seed: maphash.MakeSeed(), maxBytes: maxBytes, lru: list.New(), byQuery: map[string]*list.Element{}}
}

// get returns the counts of query in segment id if they were taken with
// deleted documents deleted and hold what is asked.
func (c *countCache) get(query string, id, deleted uint64, facets, hist bool) *segCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byQuery[query]
	if !ok {
		return nil
	}
	sc := el.Value.(*countEntry).segs[id]
	if sc == nil || sc.deleted != deleted || (facets && sc.facets == nil) || (hist && sc.hist == nil) {
		return nil
	}
	c.lru.MoveToFront(el)
	return sc
}

// put replaces query's counts with those of the live segments: counts
// of segments gone from the index (merged away) are dropped.
func (c *countCache) put(query string, segs map[uint64]*segCounts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byQuery[query]; ok {
		c.bytes -= el.Value.(*countEntry).bytes
		c.lru.Remove(el)
		delete(c.byQuery, query)
	}
	if len(segs) == 0 {
		return
	}
	e := &countEntry{query: query, segs: segs, bytes: len(query) + 64}
	for _, sc := range segs {
		e.bytes += sc.bytes
	}
	if e.bytes > c.maxBytes {
		return
	}
	c.byQuery[query] = c.lru.PushFront(e)
	c.bytes += e.bytes
	for c.bytes > c.maxBytes {
		old := c.lru.Back()
		oe := old.Value.(*countEntry)
		c.bytes -= oe.bytes
		c.lru.Remove(old)
		delete(c.byQuery, oe.query)
	}
}

// countKey is the cache key of a query: its Bleve form as JSON (relative
// times already resolved), or "" when it has none (then nothing is kept).
func countKey(q query.Query) string {
	b, err := json.Marshal(q)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%T%s", q, b)
}

// tally counts q's matches in r into facets and hist (either may be
// nil), reusing the kept counts of unchanged segments and keeping those
// of the segments it counts. It reads each match's facet and time once
// (columns, or doc values). It returns how many documents match q.
func (x *Index) tally(ctx context.Context, r index.IndexReader, q query.Query, facets *facetBuilder, hist *histBuilder) (uint64, error) {
	snap, ok := r.(*scorch.IndexSnapshot)
	key := ""
	if ok {
		key = countKey(q)
	}
	if key == "" {
		return x.tallyGroups(ctx, r, q, [][]docRange{docGroups(r, 1)}, facets, hist, nil)
	}
	var total uint64
	turn := &x.counts.turns[maphash.String(x.counts.seed, key)%uint64(len(x.counts.turns))]
	turn.Lock()
	defer turn.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, err // gone while waiting its turn
	}
	// A segment's documents are numbered from the sum of the full counts
	// (deleted documents included) of the segments before it.
	segs := snap.Segments()
	var todo []docRange
	keep := map[uint64]*segCounts{}
	var start uint64
	for i, ss := range segs {
		n := ss.Segment().Count()
		var deleted uint64
		if d := ss.Deleted(); d != nil {
			deleted = d.GetCardinality()
		}
		if sc := x.counts.get(key, ss.Id(), deleted, facets != nil, hist != nil); sc != nil {
			facets.mergeCounts(sc.facets)
			hist.merge(sc.hist)
			keep[ss.Id()] = sc
			total += sc.matches
		} else {
			todo = append(todo, docRange{start, start + n, i})
		}
		start += n
	}
	x.segsCounted.Add(int64(len(todo)))
	counted := map[int]*segCounts{}
	var mu sync.Mutex
	counts, err := x.tallyGroups(ctx, r, q, splitRanges(todo, x.workers(), x.tallyParallelMin), facets, hist, func(seg int, f *facetBuilder, h *histBuilder, matches uint64) {
		if segs[seg].Segment().Count() < x.countMinDocs {
			return
		}
		sc := &segCounts{bytes: 64, matches: matches}
		if d := segs[seg].Deleted(); d != nil {
			sc.deleted = d.GetCardinality()
		}
		if f != nil {
			sc.facets = make(map[string]int, len(f.counts))
			for t, n := range f.counts {
				sc.facets[t] = *n
				sc.bytes += len(t) + 48
			}
		}
		if h != nil {
			sc.hist = h
			sc.bytes += h.Size()
		}
		mu.Lock()
		counted[seg] = sc
		mu.Unlock()
	})
	if err != nil {
		return 0, err
	}
	for seg, sc := range counted {
		keep[segs[seg].Id()] = sc
	}
	x.counts.put(key, keep)
	return total + counts, nil
}

// parallelMinDocs is the size of recount from which tally splits its
// work over the cores.
const parallelMinDocs = 200_000

// splitRanges deals ranges (ascending) into at most k contiguous groups
// of about equal documents; one group under minDocs documents in all.
func splitRanges(ranges []docRange, k int, minDocs uint64) [][]docRange {
	var total uint64
	for _, rg := range ranges {
		total += rg.to - rg.from
	}
	if k <= 1 || total < minDocs {
		return [][]docRange{ranges}
	}
	var out [][]docRange
	var cur []docRange
	var n uint64
	for _, rg := range ranges {
		cur = append(cur, rg)
		n += rg.to - rg.from
		if n >= total/uint64(k) && len(out) < k-1 {
			out, cur, n = append(out, cur), nil, 0
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// tallyGroups runs tallyRange on each group of ranges at once, each on
// builders of its own, and adds them up into facets and hist. done may
// be called from several goroutines.
func (x *Index) tallyGroups(ctx context.Context, r index.IndexReader, q query.Query, groups [][]docRange,
	facets *facetBuilder, hist *histBuilder, done func(seg int, f *facetBuilder, h *histBuilder, matches uint64)) (uint64, error) {
	if len(groups) == 1 {
		return x.tallyRange(ctx, r, q, groups[0], facets, hist, done)
	}
	type part struct {
		f   *facetBuilder
		h   *histBuilder
		n   uint64
		err error
	}
	parts := make([]part, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		p := &parts[i]
		if facets != nil {
			p.f = newFacetBuilder()
		}
		if hist != nil {
			p.h = newHistBuilder()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.n, p.err = x.tallyRange(ctx, r, q, g, p.f, p.h, done)
		}()
	}
	wg.Wait()
	var total uint64
	for _, p := range parts {
		if p.err != nil {
			return 0, p.err
		}
		facets.mergeFacets(p.f)
		hist.merge(p.h)
		total += p.n
	}
	return total, nil
}

// docRange is a span of internal document numbers, [from, to), and the
// index of the segment it covers (-1: the whole index).
type docRange struct {
	from, to uint64
	seg      int
}

// tallyRange counts q's matches within ranges (ascending) into facets
// and hist, and returns how many there were; with done set, each range is
// counted on its own builders first, handed to done, then merged. Where
// a segment has columns, its matches are counted by facet ordinal and
// from its time column. When q matches everything, a range of one
// segment is counted from its live documents directly (columns or doc
// values), without a searcher.
func (x *Index) tallyRange(ctx context.Context, r index.IndexReader, q query.Query, ranges []docRange,
	facets *facetBuilder, hist *histBuilder, done func(seg int, f *facetBuilder, h *histBuilder, matches uint64)) (uint64, error) {
	if len(ranges) == 0 {
		return 0, nil
	}
	var fields []string
	if facets != nil {
		fields = append(fields, FieldFacet)
	}
	if hist != nil {
		fields = append(fields, FieldSortKey)
	}
	dvr, err := r.DocValueReader(fields)
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	s, err := indexTimeQueries(q).Searcher(search.ContextWithTermSearchersCounter(ctx), r, x.idx.Mapping(), search.SearcherOptions{Score: "none"})
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	defer s.Close()
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0)}
	var f *facetBuilder
	var h *histBuilder
	visit := func(field string, term []byte) {
		if field == FieldFacet {
			f.UpdateVisitor(term)
		} else {
			h.UpdateVisitor(term)
		}
	}
	// fromDocValues counts a document that has no columns.
	fromDocValues := func(id index.IndexInternalID) error {
		if h != nil {
			h.StartDoc()
		}
		if err := dvr.VisitDocValues(id, visit); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		if h != nil {
			h.EndDoc()
		}
		return nil
	}
	_, all := q.(*query.MatchAllQuery)
	var segs []*scorch.SegmentSnapshot
	if snap, ok := r.(*scorch.IndexSnapshot); ok {
		segs = snap.Segments()
	}
	id := make(index.IndexInternalID, 8)
	var cur *search.DocumentMatch // the next match not yet counted
	spent := false                // the searcher has no more matches
	var n, total uint64
	// Where a segment has columns, its matches are counted by facet
	// ordinal (ords, of segment oc) and from its time column.
	cols := x.colView(r)
	defer cols.release()
	seg := 0
	var oc *segCols
	var ords []int
	flush := func() {
		if oc != nil && f != nil {
			for o, k := range ords {
				if k > 0 {
					f.add(oc.terms[o], k)
					ords[o] = 0
				}
			}
		}
		oc = nil
	}
	count := func(c *segCols, local, t uint64) {
		if o := c.facet(local); f != nil && o != noFacet {
			if c != oc {
				flush()
				oc = c
				if len(ords) < len(c.terms) {
					ords = make([]int, len(c.terms))
				}
			}
			ords[o]++
		}
		if h != nil {
			h.addTicks(t)
		}
	}
	for _, rg := range ranges {
		f, h = facets, hist
		if done != nil {
			f, h = nil, nil
			if facets != nil {
				f = newFacetBuilder()
			}
			if hist != nil {
				h = newHistBuilder()
			}
		}
		var matches uint64
		if all && rg.seg >= 0 && rg.seg < len(segs) {
			// Every live document of the segment, without a searcher: the
			// match-all searcher's Advance steps through every document
			// before the target, so reaching a segment after others counted
			// from their columns would walk the whole case.
			var c *segCols
			if cols != nil && rg.seg < len(cols.cols) {
				c = cols.cols[rg.seg]
			}
			del := segs[rg.seg].Deleted()
			for local := range rg.to - rg.from {
				if local%65536 == 0 {
					if err := ctx.Err(); err != nil {
						return 0, err
					}
				}
				if del != nil && del.Contains(uint32(local)) {
					continue
				}
				matches++
				if c != nil {
					if t := c.ticks(local); t != noTicks {
						count(c, local, t)
						continue
					}
				}
				id.SetValue(rg.from + local)
				if err := fromDocValues(id); err != nil {
					return 0, err
				}
			}
		} else if !spent {
			if cur == nil || cur.IndexInternalID.Value() < rg.from {
				if cur != nil {
					sctx.DocumentMatchPool.Put(cur)
				}
				id.SetValue(rg.from)
				if cur, err = s.Advance(sctx, id); err != nil {
					return 0, fmt.Errorf("count: %w", err)
				}
				spent = cur == nil
			}
			for cur != nil && cur.IndexInternalID.Value() < rg.to {
				if n++; n%4096 == 0 {
					if err := ctx.Err(); err != nil {
						return 0, err
					}
				}
				matches++
				if cols != nil {
					if c, local := cols.at(cur.IndexInternalID.Value(), &seg); c != nil {
						if t := c.ticks(local); t != noTicks {
							count(c, local, t)
							sctx.DocumentMatchPool.Put(cur)
							if cur, err = s.Next(sctx); err != nil {
								return 0, fmt.Errorf("count: %w", err)
							}
							continue
						}
					}
				}
				if err := fromDocValues(cur.IndexInternalID); err != nil {
					return 0, err
				}
				sctx.DocumentMatchPool.Put(cur)
				if cur, err = s.Next(sctx); err != nil {
					return 0, fmt.Errorf("count: %w", err)
				}
			}
			spent = cur == nil
		}
		flush()
		total += matches
		if done != nil {
			done(rg.seg, f, h, matches)
			facets.mergeFacets(f)
			hist.merge(h)
		}
	}
	return total, nil
}
