package store

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// The top of a query's matches by sort key, counted on every core.
//
// A query's matches are split by document number into a few contiguous
// groups of segments of about equal size, one per core (at most
// maxSortWorkers); each group runs its own searcher from the group's
// first document (Advance) to its last, keeping its own top size keys,
// and the groups' tops are merged. A search therefore takes about its
// single-core time divided by the cores, whatever the case's size. A
// query with few matches (by the searcher's estimate) runs in one group:
// building a searcher again (a wildcard's dictionary walk) would cost
// more than it saves.

// maxSortWorkers caps the groups of one sorted pass.
const maxSortWorkers = 4

// parallelMinMatches is the estimated match count from which a sorted
// pass is split into groups.
const parallelMinMatches = 20_000

// docGroups splits r's documents into at most k contiguous ranges on
// segment bounds, of about equal size.
func docGroups(r index.IndexReader, k int) []docRange {
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok || k <= 1 {
		return []docRange{{0, ^uint64(0), -1}}
	}
	segs := snap.Segments()
	var total uint64
	for _, ss := range segs {
		total += ss.Segment().Count()
	}
	var out []docRange
	var start, end uint64
	for _, ss := range segs {
		end += ss.Segment().Count()
		if end-start >= total/uint64(k) && len(out) < k-1 {
			out = append(out, docRange{start, end, -1})
			start = end
		}
	}
	out = append(out, docRange{start, ^uint64(0), -1})
	return out
}

// workers is how many groups a pass is split into: the cores, at most
// maxSortWorkers.
func (x *Index) workers() int {
	if x.sortWorkers > 0 {
		return x.sortWorkers
	}
	return min(runtime.GOMAXPROCS(0), maxSortWorkers)
}

// keyHit is a match's sort key and internal document number.
type keyHit struct {
	key []byte
	num uint64
}

// keyHeap holds the best size keys seen, the worst on top.
type keyHeap struct {
	hits []keyHit
	desc bool // best = largest key
}

func (h *keyHeap) Len() int { return len(h.hits) }

// Less puts the worst key on top: the smallest when desc.
func (h *keyHeap) Less(i, j int) bool {
	c := bytes.Compare(h.hits[i].key, h.hits[j].key)
	if h.desc {
		return c < 0
	}
	return c > 0
}
func (h *keyHeap) Swap(i, j int) { h.hits[i], h.hits[j] = h.hits[j], h.hits[i] }
func (h *keyHeap) Push(v any)    { h.hits = append(h.hits, v.(keyHit)) }
func (h *keyHeap) Pop() any {
	v := h.hits[len(h.hits)-1]
	h.hits = h.hits[:len(h.hits)-1]
	return v
}

// better reports whether key a comes before key b in the result order.
func better(a, b []byte, desc bool) bool {
	c := bytes.Compare(a, b)
	if desc {
		return c > 0
	}
	return c < 0
}

// topSorted returns how many documents of r match q and the first size
// of them in sort-key order (newest first when desc) after the cursor
// key (nil: from the start), as Bleve document matches carrying their ID
// and key.
func (x *Index) topSorted(ctx context.Context, r index.IndexReader, q query.Query, size int, desc bool, after []byte) (uint64, search.DocumentMatchCollection, error) {
	sctx := search.ContextWithTermSearchersCounter(ctx)
	first, err := indexTimeQueries(q).Searcher(sctx, r, x.idx.Mapping(), search.SearcherOptions{Score: "none"})
	if err != nil {
		return 0, nil, fmt.Errorf("search: %w", err)
	}
	groups := []docRange{{0, ^uint64(0), -1}}
	if first.Count() >= x.sortParallelMin {
		groups = docGroups(r, x.workers())
	}
	type part struct {
		total uint64
		top   keyHeap
		err   error
	}
	parts := make([]part, len(groups))
	cols := x.colView(r)
	defer cols.release()
	var wg sync.WaitGroup
	for i, g := range groups {
		s := first
		if i > 0 {
			if s, err = indexTimeQueries(q).Searcher(sctx, r, x.idx.Mapping(), search.SearcherOptions{Score: "none"}); err != nil {
				first.Close()
				wg.Wait()
				return 0, nil, fmt.Errorf("search: %w", err)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.Close()
			p := &parts[i]
			p.top.desc = desc
			p.total, p.err = scanTop(ctx, r, s, cols, g, size, desc, after, &p.top)
		}()
	}
	wg.Wait()
	var total uint64
	var all []keyHit
	for _, p := range parts {
		if p.err != nil {
			return 0, nil, p.err
		}
		total += p.total
		all = append(all, p.top.hits...)
	}
	slices.SortFunc(all, func(a, b keyHit) int {
		c := bytes.Compare(a.key, b.key)
		if desc {
			return -c
		}
		return c
	})
	if len(all) > size {
		all = all[:size]
	}
	hits := make(search.DocumentMatchCollection, 0, len(all))
	for _, h := range all {
		id := make(index.IndexInternalID, 8)
		id.SetValue(h.num)
		ext, err := r.ExternalID(id)
		if err != nil {
			return 0, nil, fmt.Errorf("search: %w", err)
		}
		hits = append(hits, &search.DocumentMatch{ID: ext, IndexInternalID: id, Sort: []string{string(h.key)}})
	}
	return total, hits, nil
}

// scanTop feeds s's matches within g to top (keeping size), and returns
// how many there were. Matches without a sort key are counted, not
// listed (every event has one). Where cols has a match's time, the sort
// key is read only if that time can place it on the page.
func scanTop(ctx context.Context, r index.IndexReader, s search.Searcher, cols *colView, g docRange, size int, desc bool, after []byte, top *keyHeap) (uint64, error) {
	dvr, err := r.DocValueReader([]string{FieldSortKey})
	if err != nil {
		return 0, fmt.Errorf("search: %w", err)
	}
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0)}
	var m *search.DocumentMatch
	if g.from > 0 {
		id := make(index.IndexInternalID, 8)
		id.SetValue(g.from)
		m, err = s.Advance(sctx, id)
	} else {
		m, err = s.Next(sctx)
	}
	if err != nil {
		return 0, fmt.Errorf("search: %w", err)
	}
	var n uint64
	var key, buf []byte
	visit := func(field string, term []byte) {
		if field == FieldSortKey {
			buf = append(buf[:0], term...)
			key = buf
		}
	}
	// A time strictly behind the cursor's or the page's last entry's
	// cannot place a match; an equal one may (the file and record decide).
	afterTicks, hasAfter := keyTicks(after)
	var worst uint64 // the time of top.hits[0] once top is full
	seg := 0
	for m != nil && m.IndexInternalID.Value() < g.to {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		if cols != nil {
			if c, local := cols.at(m.IndexInternalID.Value(), &seg); c != nil {
				if t := c.ticks(local); t != noTicks {
					skip := hasAfter && (desc && t > afterTicks || !desc && t < afterTicks)
					if !skip && size > 0 && top.Len() == size {
						skip = desc && t < worst || !desc && t > worst
					}
					if skip {
						sctx.DocumentMatchPool.Put(m)
						if m, err = s.Next(sctx); err != nil {
							return 0, fmt.Errorf("search: %w", err)
						}
						continue
					}
				}
			}
		}
		key = nil
		if err := dvr.VisitDocValues(m.IndexInternalID, visit); err != nil {
			return 0, fmt.Errorf("search: %w", err)
		}
		if key != nil && (after == nil || better(after, key, desc)) { // after the cursor
			switch {
			case top.Len() < size:
				heap.Push(top, keyHit{key: bytes.Clone(key), num: m.IndexInternalID.Value()})
			case better(key, top.hits[0].key, desc):
				w := &top.hits[0]
				w.key, w.num = append(w.key[:0], key...), m.IndexInternalID.Value()
				heap.Fix(top, 0)
			}
			if top.Len() == size {
				worst, _ = keyTicks(top.hits[0].key)
			}
		}
		sctx.DocumentMatchPool.Put(m)
		if m, err = s.Next(sctx); err != nil {
			return 0, fmt.Errorf("search: %w", err)
		}
	}
	return n, nil
}
