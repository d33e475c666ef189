package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
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

// Search runs req. Results are ordered by time, then record ID, then
// document ID, so the order is total and search-after paging visits every
// match exactly once.
func (x *Index) Search(ctx context.Context, req SearchRequest) (SearchResult, error) {
	q, err := parseQuery(req.Query, req.QueryOptions)
	if err != nil {
		return SearchResult{}, err
	}
	if !req.From.IsZero() || !req.To.IsZero() {
		var from, to *time.Time
		if !req.From.IsZero() {
			from = &req.From
		}
		if !req.To.IsZero() {
			to = &req.To
		}
		yes, no := true, false
		_ = no
		r := bleve.NewDateRangeInclusiveQuery(deref(from), deref(to), &yes, &no)
		r.SetField(FieldTime)
		q = bleve.NewConjunctionQuery(q, r)
	}
	size := req.Size
	if size <= 0 {
		size = 50
	}
	if size > 10000 {
		size = 10000
	}
	sr := bleve.NewSearchRequestOptions(q, size, 0, false)
	sr.Fields = []string{FieldSummary}
	if req.Asc {
		sr.SortBy([]string{FieldTime, FieldRecordID, "_id"})
	} else {
		sr.SortBy([]string{"-" + FieldTime, "-" + FieldRecordID, "-_id"})
	}
	if req.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(req.Cursor)
		if err != nil {
			return SearchResult{}, ErrBadCursor
		}
		var after []string
		if err := json.Unmarshal(raw, &after); err != nil || len(after) != 3 {
			return SearchResult{}, ErrBadCursor
		}
		sr.SearchAfter = after
	}
	if req.Facets {
		sr.AddFacet(FieldChannel, bleve.NewFacetRequest(FieldChannel, 10))
		sr.AddFacet(FieldEventID, bleve.NewFacetRequest(FieldEventID, 15))
		sr.AddFacet(FieldComputer, bleve.NewFacetRequest(FieldComputer, 10))
		sr.AddFacet(FieldProvider, bleve.NewFacetRequest(FieldProvider, 10))
	}
	res, err := x.idx.SearchInContext(ctx, sr)
	if err != nil {
		return SearchResult{}, fmt.Errorf("search: %w", err)
	}
	out := SearchResult{Total: res.Total, Took: res.Took, Hits: make([]SearchHit, 0, len(res.Hits))}
	for _, h := range res.Hits {
		sh := SearchHit{ID: h.ID}
		if raw, ok := h.Fields[FieldSummary].(string); ok {
			sh.Summary = DecodeSummary(raw)
		}
		if len(h.Sort) > 0 {
			sh.Time = decodeSortTime(h.Sort[0])
		}
		out.Hits = append(out.Hits, sh)
	}
	if len(res.Hits) == size && uint64(size) < res.Total+1 {
		last := res.Hits[len(res.Hits)-1]
		if raw, err := json.Marshal(last.Sort); err == nil {
			out.Next = base64.RawURLEncoding.EncodeToString(raw)
		}
	}
	if req.Facets {
		out.Facets = map[string][]FacetCount{}
		for name, fr := range res.Facets {
			var fc []FacetCount
			if fr.Terms != nil {
				for _, t := range fr.Terms.Terms() {
					fc = append(fc, FacetCount{Value: numericTerm(name, t.Term), Count: t.Count})
				}
			}
			out.Facets[name] = fc
		}
	}
	if req.Histogram && res.Total > 0 {
		h, err := x.histogram(ctx, q)
		if err != nil {
			return SearchResult{}, err
		}
		out.Histogram = h
	}
	return out, nil
}

// numericTerm turns a numeric facet's prefix-coded term into its number.
func numericTerm(field, term string) string {
	if field != FieldEventID {
		return term
	}
	if n, err := strconv.ParseUint(term, 10, 64); err == nil {
		return strconv.FormatUint(n, 10) // zero-padded keyword
	}
	return term
}

func decodeSortTime(s string) time.Time {
	v, err := prefixCodedToInt(s)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

// histogram splits the result's time span into about 60 intervals.
func (x *Index) histogram(ctx context.Context, q query.Query) ([]Bucket, error) {
	first, err := x.edge(ctx, q, true)
	if err != nil {
		return nil, err
	}
	last, err := x.edge(ctx, q, false)
	if err != nil {
		return nil, err
	}
	span := last.Sub(first)
	step := niceStep(span / 60)
	start := first.Truncate(step)
	n := int(last.Sub(start)/step) + 1
	if n > 400 {
		n = 400
	}
	sr := bleve.NewSearchRequestOptions(q, 0, 0, false)
	fr := bleve.NewFacetRequest(FieldTime, n)
	for i := 0; i < n; i++ {
		s := start.Add(time.Duration(i) * step)
		e := s.Add(step)
		fr.AddDateTimeRange(strconv.Itoa(i), s, e)
	}
	sr.AddFacet("hist", fr)
	res, err := x.idx.SearchInContext(ctx, sr)
	if err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	counts := map[int]int{}
	if f := res.Facets["hist"]; f != nil {
		for _, dr := range f.DateRanges {
			i, _ := strconv.Atoi(dr.Name)
			counts[i] = dr.Count
		}
	}
	out := make([]Bucket, n)
	for i := range out {
		out[i] = Bucket{Start: start.Add(time.Duration(i) * step), Count: counts[i]}
	}
	return out, nil
}

func (x *Index) edge(ctx context.Context, q query.Query, oldest bool) (time.Time, error) {
	sr := bleve.NewSearchRequestOptions(q, 1, 0, false)
	if oldest {
		sr.SortBy([]string{FieldTime})
	} else {
		sr.SortBy([]string{"-" + FieldTime})
	}
	res, err := x.idx.SearchInContext(ctx, sr)
	if err != nil {
		return time.Time{}, fmt.Errorf("time edge: %w", err)
	}
	if len(res.Hits) == 0 || len(res.Hits[0].Sort) == 0 {
		return time.Time{}, nil
	}
	return decodeSortTime(res.Hits[0].Sort[0]), nil
}

func niceStep(d time.Duration) time.Duration {
	steps := []time.Duration{time.Second, 10 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute,
		time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}
	i := sort.Search(len(steps), func(i int) bool { return steps[i] >= d })
	if i == len(steps) {
		return steps[len(steps)-1] * time.Duration(1+d/steps[len(steps)-1])
	}
	return steps[i]
}

// LatestTime returns the time of the newest event matching q (zero when
// none), for ranges relative to the case's latest event.
func (x *Index) LatestTime(ctx context.Context) (time.Time, error) {
	return x.edge(ctx, bleve.NewMatchAllQuery(), false)
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// RecordIDs returns the record IDs of every document matching req (its
// Query, From, To), ascending; for streaming one file's matches.
func (x *Index) RecordIDs(ctx context.Context, req SearchRequest) ([]uint64, error) {
	var out []uint64
	req.Size, req.Asc, req.Facets, req.Histogram = 10000, true, false, false
	for {
		res, err := x.Search(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, h := range res.Hits {
			if _, _, rec, ok := ParseDocID(h.ID); ok {
				out = append(out, rec)
			}
		}
		if res.Next == "" {
			break
		}
		req.Cursor = res.Next
	}
	slices.Sort(out)
	return out, nil
}
