package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// SearchRequest is a query over one case's index.
type SearchRequest struct {
	Query        string // analyst query language ("" = all events)
	QueryOptions QueryOptions
	From         time.Time // optional time range, inclusive
	To           time.Time // optional, exclusive
	Size         int       // hits per page (default 50, max 10,000)
	Asc          bool      // oldest first; default newest first
	Cursor       string    // from a previous SearchResult.Next (search-after)
	Facets       bool      // top channels, event IDs, computers, providers
	// Histogram asks for an events-per-interval histogram of the result.
	Histogram bool
	// SortField orders the results by a field's values instead of time
	// (any name the query language takes; see searchByField). Asc gives
	// the direction; cursors are then offsets.
	SortField string
	// Any asks for up to Size matches in no particular order and no total
	// (0), for a lookup that needs one example of a value: the embedded
	// index stops at the Size-th match instead of ranking every match.
	// Stores without the shortcut answer it like an ordinary search.
	Any bool
}

// FacetCount is one facet value and how many results carry it.
type FacetCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Bucket is one histogram interval.
type Bucket struct {
	Start time.Time `json:"start"`
	Count int       `json:"count"`
}

// SearchHit is one matching document.
type SearchHit struct {
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Summary Summary   `json:"summary"`
	// Stored is the whole event when the store keeps it and it belongs to
	// another data directory (a cluster case ingested by several): this
	// one has no evidence to read it from.
	Stored *StoredEvent `json:"-"`
}

// SearchResult is one page of results.
type SearchResult struct {
	Total     uint64                  `json:"total"`
	Hits      []SearchHit             `json:"hits"`
	Next      string                  `json:"next,omitempty"`
	Facets    map[string][]FacetCount `json:"facets,omitempty"`
	Histogram []Bucket                `json:"histogram,omitempty"`
	Took      time.Duration           `json:"took_ns"`
}

// ErrBadCursor reports a cursor that was not produced by Search.
var ErrBadCursor = fmt.Errorf("bad cursor: %w", ErrInvalid)

// histBuckets is about how many intervals a histogram has.
const histBuckets = 60

// Search runs req. Results are ordered by FieldSortKey (time, then file,
// then record ID), a total order, so search-after paging visits every
// match exactly once. Facets and the histogram are counted over every
// match in a parallel pass (see collect).
func (x *Index) Search(ctx context.Context, req SearchRequest) (SearchResult, error) {
	q, err := parseQuery(req.Query, req.QueryOptions)
	if err != nil {
		return SearchResult{}, err
	}
	rq, err := timeFilter(req.From, req.To)
	if err != nil {
		return SearchResult{}, err
	}
	if rq != nil {
		q = bleve.NewConjunctionQuery(q, rq)
	}
	size := req.Size
	if size <= 0 {
		size = 50
	}
	if size > 10000 {
		size = 10000
	}
	if req.Any {
		return x.searchAny(ctx, q, size)
	}
	if req.SortField != "" {
		return x.searchSortedByField(ctx, req, size)
	}
	var after []string
	if req.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(req.Cursor)
		if err != nil {
			return SearchResult{}, ErrBadCursor
		}
		if err := json.Unmarshal(raw, &after); err != nil || len(after) != 1 {
			return SearchResult{}, ErrBadCursor
		}
		if _, ok := KeyTime(after[0]); !ok {
			return SearchResult{}, ErrBadCursor
		}
	}
	_, all := q.(*query.MatchAllQuery)
	// The whole case's facets and histogram are the same until the index
	// changes: answered from the overview cache when it is current.
	mut := x.mutations.Load()
	cached, hasCached := x.overview.get(mut, all && (req.Facets || req.Histogram))
	var facets *facetBuilder
	if req.Facets && !hasCached {
		facets = newFacetBuilder()
	}
	var hist *histBuilder
	if req.Histogram && !hasCached {
		hist = newHistBuilder()
	}
	start := time.Now()
	// The unfiltered newest-first first page also tells the newest event:
	// remember it if nothing is deleted meanwhile (see latestCache).
	seeds := all && !req.Asc && after == nil
	epoch := x.latest.epoch()
	out := SearchResult{}
	err = x.collect(ctx, q, size, !req.Asc, after, facets, hist, func(total uint64, hits search.DocumentMatchCollection, r index.IndexReader) error {
		out.Total = total
		out.Hits = make([]SearchHit, 0, len(hits))
		for _, h := range hits {
			sh := SearchHit{ID: h.ID}
			if len(h.Sort) > 0 {
				sh.Time, _ = KeyTime(h.Sort[0])
			}
			summary, err := storedSummary(r, h.ID)
			if err != nil {
				return err
			}
			sh.Summary = summary
			out.Hits = append(out.Hits, sh)
		}
		if len(hits) == size && uint64(size) < total+1 {
			if raw, err := json.Marshal(hits[len(hits)-1].Sort); err == nil {
				out.Next = base64.RawURLEncoding.EncodeToString(raw)
			}
		}
		return nil
	})
	if err != nil {
		return SearchResult{}, err
	}
	out.Took = time.Since(start)
	if seeds && len(out.Hits) > 0 {
		x.latest.set(out.Hits[0].Time, epoch)
	}
	if hasCached {
		out.Facets, out.Histogram = cached.facets(req.Facets), cached.histogram(req.Histogram)
		return out, nil
	}
	var ov overview
	if facets != nil {
		ov.facetCounts = facets.top()
	}
	if hist != nil && out.Total > 0 {
		ov.buckets = hist.buckets()
	}
	// The caller gets copies: it may rewrite values (the engine restores
	// names' case), which must not reach the cached overview.
	out.Facets, out.Histogram = ov.facets(facets != nil), ov.histogram(hist != nil && out.Total > 0)
	if all && facets != nil && hist != nil {
		x.overview.put(mut, x.mutations.Load(), ov)
	}
	return out, nil
}

// searchAny returns the first size matches of q in document order, with
// their summaries and no total (see SearchRequest.Any).
func (x *Index) searchAny(ctx context.Context, q query.Query, size int) (SearchResult, error) {
	start := time.Now()
	adv, err := x.idx.Advanced()
	if err != nil {
		return SearchResult{}, fmt.Errorf("search: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return SearchResult{}, fmt.Errorf("search: open reader: %w", err)
	}
	defer r.Close()
	s, err := indexTimeQueries(q).Searcher(search.ContextWithTermSearchersCounter(ctx), r, x.idx.Mapping(), search.SearcherOptions{Score: "none"})
	if err != nil {
		return SearchResult{}, fmt.Errorf("search: %w", err)
	}
	defer s.Close()
	dvr, err := r.DocValueReader([]string{FieldSortKey})
	if err != nil {
		return SearchResult{}, fmt.Errorf("search: %w", err)
	}
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0)}
	out := SearchResult{Hits: []SearchHit{}}
	for len(out.Hits) < size {
		m, err := s.Next(sctx)
		if err != nil {
			return SearchResult{}, fmt.Errorf("search: %w", err)
		}
		if m == nil {
			break
		}
		id, err := r.ExternalID(m.IndexInternalID)
		if err != nil {
			return SearchResult{}, fmt.Errorf("search: %w", err)
		}
		h := SearchHit{ID: id}
		if err := dvr.VisitDocValues(m.IndexInternalID, func(field string, term []byte) {
			if field == FieldSortKey {
				h.Time, _ = KeyTime(string(term))
			}
		}); err != nil {
			return SearchResult{}, fmt.Errorf("search: %w", err)
		}
		if h.Summary, err = storedSummary(r, id); err != nil {
			return SearchResult{}, err
		}
		out.Hits = append(out.Hits, h)
		sctx.DocumentMatchPool.Put(m)
	}
	out.Took = time.Since(start)
	return out, nil
}

// searchSortedByField is Search ordered by req.SortField: the page from
// searchByField, the facets and histogram from the time-ordered search.
func (x *Index) searchSortedByField(ctx context.Context, req SearchRequest, size int) (SearchResult, error) {
	start := time.Now()
	out, err := x.searchByField(ctx, req, size)
	if err != nil {
		return SearchResult{}, err
	}
	if req.Facets || req.Histogram {
		o := req
		o.SortField, o.Cursor, o.Size = "", "", 1
		res, err := x.Search(ctx, o)
		if err != nil {
			return SearchResult{}, err
		}
		out.Facets, out.Histogram = res.Facets, res.Histogram
	}
	out.Took = time.Since(start)
	return out, nil
}

// Bleve stores times as int64 nanoseconds: a date range bound must lie
// within these (a bound outside makes the search fail).
var (
	minIndexTime = time.Date(1677, 12, 1, 0, 0, 0, 0, time.UTC)
	maxIndexTime = time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC)
)

// timeFilter is the query for SearchRequest.From/To (nil when neither is
// set). A reversed range is ErrInvalid; a bound beyond what the index can
// hold is open on that side (every stored time lies within), and a range
// wholly outside matches nothing.
func timeFilter(from, to time.Time) (query.Query, error) {
	if from.IsZero() && to.IsZero() {
		return nil, nil
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return nil, fmt.Errorf("time range from %s to %s is empty (from must be before to): %w",
			from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano), ErrInvalid)
	}
	if (!from.IsZero() && !from.Before(maxIndexTime)) || (!to.IsZero() && !to.After(minIndexTime)) {
		return bleve.NewMatchNoneQuery(), nil
	}
	if from.Before(minIndexTime) {
		from = time.Time{}
	}
	if to.After(maxIndexTime) {
		to = time.Time{}
	}
	if from.IsZero() && to.IsZero() {
		return nil, nil
	}
	yes, no := true, false
	r := bleve.NewDateRangeInclusiveQuery(from, to, &yes, &no)
	r.SetField(FieldTime)
	return r, nil
}

// overview is the facets and histogram of a whole case.
type overview struct {
	facetCounts map[string][]FacetCount
	buckets     []Bucket
}

func (o overview) facets(want bool) map[string][]FacetCount {
	if !want {
		return nil
	}
	out := make(map[string][]FacetCount, len(o.facetCounts))
	for k, v := range o.facetCounts {
		out[k] = slices.Clone(v)
	}
	return out
}

func (o overview) histogram(want bool) []Bucket {
	if !want {
		return nil
	}
	return slices.Clone(o.buckets)
}

// overviewCache holds the overview computed at one index mutation count.
type overviewCache struct {
	mu  sync.Mutex
	gen uint64
	ok  bool
	ov  overview
}

// get returns the overview if it was computed at mutation count gen.
func (c *overviewCache) get(gen uint64, want bool) (overview, bool) {
	if !want {
		return overview{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ov, c.ok && c.gen == gen
}

// put keeps ov if the index did not change while it was computed.
func (c *overviewCache) put(before, after uint64, ov overview) {
	if before != after {
		return
	}
	c.mu.Lock()
	c.gen, c.ov, c.ok = before, ov, true
	c.mu.Unlock()
}

// collect runs q on a snapshot of the index: the top size matches by sort
// key (newest first when desc) after the cursor key; then fn reads the
// page from the same snapshot. Facets and the histogram count every match
// in a second pass over the same snapshot, run on another core (see
// tally: segments counted before are not counted again).
func (x *Index) collect(ctx context.Context, q query.Query, size int, desc bool, after []string,
	facets *facetBuilder, hist *histBuilder,
	fn func(total uint64, hits search.DocumentMatchCollection, r index.IndexReader) error) (err error) {
	adv, err := x.idx.Advanced()
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return fmt.Errorf("search: open reader: %w", err)
	}
	defer func() {
		if cerr := r.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("search: close reader: %w", cerr)
		}
	}()
	var wg sync.WaitGroup
	var facetErr error
	var counted uint64
	defer wg.Wait() // before the reader closes
	tallied := facets != nil || hist != nil
	if tallied {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counted, facetErr = x.tally(ctx, r, q, facets, hist)
		}()
	}
	total, hits, err := x.sorted(ctx, r, q, size, desc, after, tallied)
	if err != nil {
		return err
	}
	wg.Wait()
	if facetErr != nil {
		return facetErr
	}
	if tallied {
		total = counted // every match, counted by tally
	}
	return fn(total, hits, r)
}

// sorted returns the total and the top size matches of q by sort key
// after the cursor. For every event newest first (the unfiltered list),
// it looks only at a window of recent time: [newest − w, ∞) on the first
// page, [cursor − w, cursor] after; when the window holds a full page,
// every event outside it is older than the whole page, so the page is
// exact. The window grows 32× until it does (1 h, 32 h, 43 days, 3.7 and
// 120 years), and the full pass is the fallback. The total is the
// document count. Each pass runs on every core (see topSorted).
//
// With counted (the caller counts every match anyway, for facets or the
// histogram) any query newest first is windowed alike, q within the
// window's time range: a page of a channel's millions of events reads the
// recent ones only. Its total is then not known here (0).
func (x *Index) sorted(ctx context.Context, r index.IndexReader, q query.Query, size int, desc bool, after []string, counted bool) (uint64, search.DocumentMatchCollection, error) {
	var afterKey []byte
	if after != nil {
		afterKey = []byte(after[0])
	}
	top := func(q query.Query) (uint64, search.DocumentMatchCollection, error) {
		return x.topSorted(ctx, r, q, size, desc, afterKey)
	}
	if _, all := q.(*query.MatchAllQuery); (all || counted) && desc {
		bound, upper, ok := time.Time{}, false, false
		if after != nil {
			bound, ok = KeyTime(after[0])
			upper = true
		} else {
			bound, ok = x.cachedLatest()
		}
		var total uint64
		if all {
			var err error
			if total, err = r.DocCount(); err != nil {
				return 0, nil, fmt.Errorf("search: %w", err)
			}
		}
		// Bleve's date ranges hold 1677–2262 (int64 nanoseconds).
		const maxWindow = 150 * 365 * 24 * time.Hour
		ok = ok && bound.Year() < 2262
		for w := time.Hour; ok && w <= maxWindow && bound.Add(-w).Year() >= 1700; w *= 32 {
			if w > maxWindow/32 {
				ok = false // the last window; the next would overflow
			}
			yes := true
			var hi time.Time
			if upper {
				hi = bound
			}
			rq := bleve.NewDateRangeInclusiveQuery(bound.Add(-w), hi, &yes, &yes)
			rq.SetField(FieldTime)
			var wq query.Query = rq
			if !all {
				wq = bleve.NewConjunctionQuery(q, rq)
			}
			_, hits, err := top(wq)
			if err != nil {
				return 0, nil, err
			}
			if len(hits) == size {
				x.windowed.Add(1)
				return total, hits, nil
			}
		}
	}
	return top(q)
}

// storedSummary reads a document's stored summary field.
func storedSummary(r index.IndexReader, id string) (Summary, error) {
	doc, err := r.Document(id)
	if err != nil {
		return Summary{}, fmt.Errorf("load %s: %w", id, err)
	}
	var s Summary
	if doc != nil {
		doc.VisitFields(func(f index.Field) {
			if f.Name() == FieldSummary {
				s = DecodeSummary(string(f.Value()))
			}
		})
	}
	return s, nil
}

// LatestTime returns the time of the case's newest event (zero when the
// index is empty), for ranges relative to it. It is cached: batches raise
// it, deletions recompute it.
func (x *Index) LatestTime(ctx context.Context) (time.Time, error) {
	if t, ok := x.cachedLatest(); ok {
		return t, nil
	}
	epoch := x.latest.epoch()
	res, err := x.Search(ctx, SearchRequest{Query: "", Size: 1})
	if err != nil {
		return time.Time{}, err
	}
	var t time.Time
	if len(res.Hits) > 0 {
		t = res.Hits[0].Time
	}
	x.latest.set(t, epoch)
	return t, nil
}

// cachedLatest returns the cached LatestTime, if there is one.
func (x *Index) cachedLatest() (time.Time, bool) {
	x.latest.mu.Lock()
	defer x.latest.mu.Unlock()
	return x.latest.t, x.latest.ok && !x.latest.t.IsZero()
}

// latestCache caches LatestTime: once set, batches raise it and deletes
// drop it. Batches alone never spoil a computation in flight: the newest
// time of every batch since the last delete is kept apart (batchMax) and
// joins what the computation's snapshot saw, so the cache fills while an
// import runs.
type latestCache struct {
	mu       sync.Mutex
	t        time.Time
	ok       bool
	batchMax time.Time // newest event of the batches since the last delete
	deletes  uint64    // deletes seen
}

// epoch returns the deletes seen so far, to hand to set.
func (c *latestCache) epoch() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deletes
}

// set caches t, the newest time in a snapshot taken after epoch returned
// deletes, joined with the batches since, unless a delete came in
// between or a value is cached already.
func (c *latestCache) set(t time.Time, deletes uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ok && c.deletes == deletes {
		if c.batchMax.After(t) {
			t = c.batchMax
		}
		c.t, c.ok = t, true
	}
}

// sawBatch raises the cached latest time to the newest of docs.
func (x *Index) sawBatch(docs []Doc) {
	x.mutations.Add(1) // a computation in flight may have missed these docs
	x.latest.mu.Lock()
	defer x.latest.mu.Unlock()
	for i := range docs {
		if t := docs[i].Event.TimeCreated; t.After(x.latest.batchMax) {
			x.latest.batchMax = t
		}
	}
	if x.latest.ok && x.latest.batchMax.After(x.latest.t) {
		x.latest.t = x.latest.batchMax
	}
}

// sawDelete drops the cached latest time.
func (x *Index) sawDelete() {
	x.mutations.Add(1)
	x.latest.mu.Lock()
	x.latest.ok = false
	x.latest.batchMax = time.Time{}
	x.latest.deletes++
	x.latest.mu.Unlock()
}

// DocKeys returns the DocRef keys of every document matching req (its
// Query, From, To), for streaming one file's matches: eight bytes per
// match.
func (x *Index) DocKeys(ctx context.Context, req SearchRequest) ([]uint64, error) {
	var out []uint64
	req.Size, req.Asc, req.Facets, req.Histogram = 10000, true, false, false
	for {
		res, err := x.Search(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, h := range res.Hits {
			if ref, ok := ParseDocID(h.ID); ok {
				out = append(out, ref.Key())
			}
		}
		if res.Next == "" {
			return out, nil
		}
		req.Cursor = res.Next
	}
}

// MatchIDs calls fn with the document ID of every event matching query
// (the analyst's language), in index order, in one pass over a snapshot:
// no sorting or paging, for jobs that visit every match (bulk tagging).
// It stops at fn's first error, and checks ctx every 1,024 matches.
func (x *Index) MatchIDs(ctx context.Context, q string, opts QueryOptions, fn func(id string) error) (err error) {
	bq, err := parseQuery(q, opts)
	if err != nil {
		return err
	}
	adv, err := x.idx.Advanced()
	if err != nil {
		return fmt.Errorf("match: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return fmt.Errorf("match: open reader: %w", err)
	}
	defer func() {
		if cerr := r.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("match: close reader: %w", cerr)
		}
	}()
	s, err := indexTimeQueries(bq).Searcher(search.ContextWithTermSearchersCounter(ctx), r, x.idx.Mapping(), search.SearcherOptions{Score: "none"})
	if err != nil {
		return fmt.Errorf("match: %w", err)
	}
	defer s.Close()
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0)}
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		m, err := s.Next(sctx)
		if err != nil {
			return fmt.Errorf("match: %w", err)
		}
		if m == nil {
			return nil
		}
		id, err := r.ExternalID(m.IndexInternalID)
		sctx.DocumentMatchPool.Put(m)
		if err != nil {
			return fmt.Errorf("match: %w", err)
		}
		if err := fn(id); err != nil {
			return err
		}
	}
}
