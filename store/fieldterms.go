package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	qparse "casescope/store/query"
)

// Aggregations and sorting on any field read the field's terms from the
// inverted index: every term of a field is one value, and its postings
// are the events carrying it. Intersected with the query's matches (a
// bitmap of internal document numbers) they give exact counts per value
// without doc values, which only the sort key and the facet term have.

// Aggregation is the top values of one field over a query's matches.
type Aggregation struct {
	Field string `json:"field"` // canonical name
	// Total is the events matching the query; Missing those without a
	// value for the field.
	Total   uint64 `json:"total"`
	Missing uint64 `json:"missing"`
	// Values are the most frequent values, lower-cased as indexed (the
	// engine restores their case), with the events carrying each; an
	// event with several values (Data) counts once under each.
	Values []AggValue `json:"values"`
	// Other is the events carrying values beyond the top; Distinct the
	// number of distinct values.
	Other    uint64 `json:"other"`
	Distinct int    `json:"distinct"`
	// Partial is set when the field has more than exactTerms distinct
	// values in the case: the top values and their counts are exact, but
	// Missing and Other are not counted and Distinct is the case's.
	Partial bool `json:"partial,omitempty"`
}

// AggValue is one value of an aggregation.
type AggValue struct {
	Value string `json:"value"`
	Count uint64 `json:"count"`
	// Example is one matching event carrying the value, for reading the
	// value's original case back.
	Example string `json:"-"`
}

// matchSet runs req's query (with its time range) on r and returns the
// internal numbers of every match (nil for match-all: every live
// document) and their count.
func (x *Index) matchSet(ctx context.Context, r index.IndexReader, req SearchRequest) (*roaring64.Bitmap, uint64, error) {
	q, err := x.requestQuery(req)
	if err != nil {
		return nil, 0, err
	}
	if _, all := q.(*query.MatchAllQuery); all {
		n, err := r.DocCount()
		if err != nil {
			return nil, 0, fmt.Errorf("count: %w", err)
		}
		return nil, n, nil
	}
	s, err := indexTimeQueries(q).Searcher(search.ContextWithTermSearchersCounter(ctx), r, x.idx.Mapping(), search.SearcherOptions{Score: "none"})
	if err != nil {
		return nil, 0, fmt.Errorf("match: %w", err)
	}
	defer s.Close()
	set := roaring64.New()
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0)}
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
		}
		m, err := s.Next(sctx)
		if err != nil {
			return nil, 0, fmt.Errorf("match: %w", err)
		}
		if m == nil {
			break
		}
		set.Add(m.IndexInternalID.Value())
		sctx.DocumentMatchPool.Put(m)
	}
	return set, set.GetCardinality(), nil
}

// requestQuery is req's query with its time range.
func (x *Index) requestQuery(req SearchRequest) (query.Query, error) {
	q, err := parseQuery(req.Query, req.QueryOptions)
	if err != nil {
		return nil, err
	}
	rq, err := timeFilter(req.From, req.To)
	if err != nil {
		return nil, err
	}
	if rq != nil {
		q = bleve.NewConjunctionQuery(q, rq)
	}
	return q, nil
}

// reader opens a snapshot of the index; close it with the returned func.
func (x *Index) reader() (index.IndexReader, func() error, error) {
	adv, err := x.idx.Advanced()
	if err != nil {
		return nil, nil, fmt.Errorf("index: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, nil, fmt.Errorf("open reader: %w", err)
	}
	return r, r.Close, nil
}

// maxFieldTerms bounds the distinct values a cluster aggregation reads
// back (see clusteragg.go); beyond it the answer is marked partial.
const maxFieldTerms = 200_000

// termDocs appends to docs the matches (set; nil = every live document)
// carrying term.
func termDocs(ctx context.Context, r index.IndexReader, t qparse.Terms, term string, set *roaring64.Bitmap, docs []uint64) ([]uint64, error) {
	tr, err := r.TermFieldReader(ctx, []byte(term), t.Field, false, false, false)
	if err != nil {
		return nil, fmt.Errorf("postings of %s: %w", t.Name, err)
	}
	defer tr.Close()
	var tfd index.TermFieldDoc
	for {
		d, err := tr.Next(&tfd)
		if err != nil {
			return nil, fmt.Errorf("postings of %s: %w", t.Name, err)
		}
		if d == nil {
			return docs, nil
		}
		if id := d.ID.Value(); set == nil || set.Contains(id) {
			docs = append(docs, id)
		}
	}
}

// termValue is the value a term of t holds.
func termValue(t qparse.Terms, term string) string {
	v := strings.TrimPrefix(term, t.Prefix)
	if t.Int {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			v = strconv.FormatUint(n, 10)
		}
	}
	return v
}

// exactTerms is the most distinct values an aggregation counts one by
// one; a field with more (a command line, a script block) has only its
// top values counted (see topOnly).
const exactTerms = 20_000

// Aggregate counts the values of field (any name the query language
// takes: TargetUserName, Computer, EventID, …) over the events matching
// req's query and time range, and returns the size most frequent (ties by
// value).
func (x *Index) Aggregate(ctx context.Context, req SearchRequest, field string, size int) (Aggregation, error) {
	t, err := qparse.TermsOf(field)
	if err != nil {
		return Aggregation{}, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	if size <= 0 {
		size = 10
	}
	r, done, err := x.reader()
	if err != nil {
		return Aggregation{}, err
	}
	defer done()
	set, total, err := x.matchSet(ctx, r, req)
	if err != nil {
		return Aggregation{}, err
	}
	out := Aggregation{Field: t.Name, Total: total, Values: []AggValue{}}
	entries, err := dictEntries(ctx, r, t)
	if err != nil {
		return Aggregation{}, err
	}
	if len(entries) > exactTerms {
		return x.topOnly(ctx, r, t, set, entries, size, out)
	}
	var vals []AggValue
	carriers := roaring64.New()
	var docs []uint64
	for n, e := range entries {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return Aggregation{}, err
			}
		}
		if docs, err = termDocs(ctx, r, t, e.Term, set, docs[:0]); err != nil {
			return Aggregation{}, err
		}
		if len(docs) == 0 {
			continue
		}
		carriers.AddMany(docs)
		id, err := r.ExternalID(index.NewIndexInternalID(nil, docs[0]))
		if err != nil {
			return Aggregation{}, fmt.Errorf("aggregate: %w", err)
		}
		vals = append(vals, AggValue{Value: termValue(t, e.Term), Count: uint64(len(docs)), Example: id})
	}
	out.Distinct = len(vals)
	out.Missing = total - min(total, carriers.GetCardinality())
	slices.SortFunc(vals, func(a, b AggValue) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return strings.Compare(a.Value, b.Value)
	})
	for i, v := range vals {
		if i < size {
			out.Values = append(out.Values, v)
		} else {
			out.Other += v.Count
		}
	}
	return out, nil
}

// fieldCursorPrefix marks a cursor of a field-sorted search: an offset.
const fieldCursorPrefix = "o"

// fieldCursor is the cursor of a field-sorted page that ends at offset.
func fieldCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fieldCursorPrefix + strconv.Itoa(offset)))
}

// fieldCursorOffset is the offset a field-sorted cursor holds: 0 for no
// cursor, ErrBadCursor for anything fieldCursor did not make.
func fieldCursorOffset(cursor string) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	s, ok := strings.CutPrefix(string(raw), fieldCursorPrefix)
	if err != nil || !ok {
		return 0, ErrBadCursor
	}
	offset, err := strconv.Atoi(s)
	if err != nil || offset < 0 {
		return 0, ErrBadCursor
	}
	return offset, nil
}

// searchByField runs req ordered by the values of req.SortField: numbers
// numerically when every value is one (decimal or 0x hex), else as text;
// events without the field last; within a value by time (in req's
// direction). An event with several values sorts by its first in that
// order. Cursors are offsets into that order.
func (x *Index) searchByField(ctx context.Context, req SearchRequest, size int) (SearchResult, error) {
	t, err := qparse.TermsOf(req.SortField)
	if err != nil {
		return SearchResult{}, fmt.Errorf("sort: %w: %w", ErrInvalid, err)
	}
	offset, err := fieldCursorOffset(req.Cursor)
	if err != nil {
		return SearchResult{}, err
	}
	r, done, err := x.reader()
	if err != nil {
		return SearchResult{}, err
	}
	defer done()
	set, total, err := x.matchSet(ctx, r, req)
	if err != nil {
		return SearchResult{}, err
	}
	// The field's values come from its dictionary alone (no postings):
	// sorted, they give the groups in order, and only the groups up to
	// the page's end have their postings read.
	entries, err := dictEntries(ctx, r, t)
	if err != nil {
		return SearchResult{}, err
	}
	type term struct {
		term, value string
		num         float64
	}
	terms := make([]term, 0, len(entries))
	numeric := true
	for _, e := range entries {
		v := termValue(t, e.Term)
		n, ok := sortNumber(v)
		numeric = numeric && ok
		terms = append(terms, term{e.Term, v, n})
	}
	desc := !req.Asc
	slices.SortStableFunc(terms, func(a, b term) int {
		c := strings.Compare(a.value, b.value)
		if numeric {
			c = cmp.Compare(a.num, b.num)
		}
		if desc {
			return -c
		}
		return c
	})
	// next returns the next group: the matches carrying the next value
	// not sorted under an earlier one (an event sorts under its first
	// value), then the matches without the field.
	seen := roaring64.New()
	i, restDone := 0, false
	next := func() ([]uint64, bool, error) {
		for i < len(terms) {
			if i%256 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, false, err
				}
			}
			docs, err := termDocs(ctx, r, t, terms[i].term, set, nil)
			i++
			if err != nil {
				return nil, false, err
			}
			kept := docs[:0]
			for _, d := range docs {
				if seen.CheckedAdd(d) {
					kept = append(kept, d)
				}
			}
			if len(kept) > 0 {
				return kept, true, nil
			}
		}
		if restDone {
			return nil, false, nil
		}
		restDone = true
		var rest []uint64
		if set != nil {
			rest = roaring64.AndNot(set, seen).ToArray()
		} else if seen.GetCardinality() < total {
			var err error
			if rest, err = liveDocsExcept(ctx, r, seen); err != nil {
				return nil, false, err
			}
		}
		return rest, len(rest) > 0, nil
	}
	keys, err := r.DocValueReader([]string{FieldSortKey})
	if err != nil {
		return SearchResult{}, fmt.Errorf("sort: %w", err)
	}
	out := SearchResult{Total: total, Hits: []SearchHit{}}
	for pos := 0; pos < offset+size; {
		g, ok, err := next()
		if err != nil {
			return SearchResult{}, err
		}
		if !ok {
			break
		}
		if pos+len(g) <= offset {
			pos += len(g)
			continue
		}
		type keyed struct {
			key string
			id  uint64
		}
		ks := make([]keyed, 0, len(g))
		for _, d := range g {
			var k string
			if err := keys.VisitDocValues(index.NewIndexInternalID(nil, d), func(_ string, term []byte) { k = string(term) }); err != nil {
				return SearchResult{}, fmt.Errorf("sort: %w", err)
			}
			ks = append(ks, keyed{k, d})
		}
		slices.SortFunc(ks, func(a, b keyed) int {
			if desc {
				return strings.Compare(b.key, a.key)
			}
			return strings.Compare(a.key, b.key)
		})
		from := max(0, offset-pos)
		to := min(len(ks), offset+size-pos)
		for _, k := range ks[from:to] {
			id, err := r.ExternalID(index.NewIndexInternalID(nil, k.id))
			if err != nil {
				return SearchResult{}, fmt.Errorf("sort: %w", err)
			}
			h := SearchHit{ID: id}
			h.Time, _ = KeyTime(k.key)
			if h.Summary, err = storedSummary(r, id); err != nil {
				return SearchResult{}, err
			}
			out.Hits = append(out.Hits, h)
		}
		pos += len(g)
	}
	if end := offset + len(out.Hits); uint64(end) < total && len(out.Hits) == size {
		out.Next = fieldCursor(end)
	}
	return out, nil
}

// liveDocsExcept lists every live document not in except.
func liveDocsExcept(ctx context.Context, r index.IndexReader, except *roaring64.Bitmap) ([]uint64, error) {
	all, err := r.DocIDReaderAll()
	if err != nil {
		return nil, fmt.Errorf("sort: %w", err)
	}
	defer all.Close()
	var out []uint64
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		id, err := all.Next()
		if err != nil {
			return nil, fmt.Errorf("sort: %w", err)
		}
		if id == nil {
			return out, nil
		}
		if v := id.Value(); !except.Contains(v) {
			out = append(out, v)
		}
	}
}

// sortNumber reads a value as a number for sorting: decimal (signed or
// not, with a fraction) or 0x hex.
func sortNumber(v string) (float64, bool) {
	if h, ok := strings.CutPrefix(v, "0x"); ok && h != "" {
		n, err := strconv.ParseUint(h, 16, 64)
		return float64(n), err == nil
	}
	n, err := strconv.ParseFloat(v, 64)
	return n, err == nil && !math.IsNaN(n) && !math.IsInf(n, 0)
}

// Around is a time-ordered window of events around one of them.
type Around struct {
	Total    uint64      `json:"total"`    // events in the window
	Position uint64      `json:"position"` // the anchor's place in the window (0 = first)
	Hits     []SearchHit `json:"hits"`     // up to before events, the anchor, up to after events, oldest first
	Anchor   int         `json:"anchor"`   // the anchor's index in Hits, -1 when it is not in the window
	// Earlier and Later continue the list: a cursor for a newest-first
	// search (older events) and one for an oldest-first search (newer).
	Earlier string `json:"earlier,omitempty"`
	Later   string `json:"later,omitempty"`
}

// Around returns the events of req (query and time range) just before and
// after the event id, in time order, with the event itself, so a view
// opens at the event rather than at the window's start.
func (x *Index) Around(ctx context.Context, req SearchRequest, id string, before, after int) (Around, error) {
	key, err := x.docSortKey(id)
	if err != nil {
		return Around{}, err
	}
	cur, err := json.Marshal([]string{key})
	if err != nil {
		return Around{}, err
	}
	cursor := base64.RawURLEncoding.EncodeToString(cur)
	req.Facets, req.Histogram, req.SortField = false, false, ""
	b := req
	b.Asc, b.Cursor, b.Size = false, cursor, before
	older, err := x.Search(ctx, b)
	if err != nil {
		return Around{}, err
	}
	a := req
	a.Asc, a.Cursor, a.Size = true, cursor, after
	newer, err := x.Search(ctx, a)
	if err != nil {
		return Around{}, err
	}
	q, err := x.requestQuery(req)
	if err != nil {
		return Around{}, err
	}
	in, err := x.count(ctx, bleve.NewConjunctionQuery(q, bleve.NewDocIDQuery([]string{id})))
	if err != nil {
		return Around{}, err
	}
	pos, err := x.position(ctx, q, id, key)
	if err != nil {
		return Around{}, err
	}
	total, err := x.count(ctx, q)
	if err != nil {
		return Around{}, err
	}
	out := Around{Total: total, Position: pos, Anchor: -1}
	for i := len(older.Hits) - 1; i >= 0; i-- {
		out.Hits = append(out.Hits, older.Hits[i])
	}
	if in > 0 {
		r, done, err := x.reader()
		if err != nil {
			return Around{}, err
		}
		s, err := storedSummary(r, id)
		done()
		if err != nil {
			return Around{}, err
		}
		t, _ := KeyTime(key)
		out.Anchor = len(out.Hits)
		out.Hits = append(out.Hits, SearchHit{ID: id, Time: t, Summary: s})
	}
	out.Hits = append(out.Hits, newer.Hits...)
	if older.Next != "" {
		out.Earlier = older.Next
	}
	if newer.Next != "" {
		out.Later = newer.Next
	}
	return out, nil
}

// docSortKey reads an event's sort key; an unknown id is ErrNotFound.
func (x *Index) docSortKey(id string) (string, error) {
	r, done, err := x.reader()
	if err != nil {
		return "", err
	}
	defer done()
	iid, err := r.InternalID(id)
	if err != nil {
		return "", fmt.Errorf("event %s: %w", id, err)
	}
	if len(iid) == 0 {
		return "", fmt.Errorf("event %s: %w", id, ErrNotFound)
	}
	dv, err := r.DocValueReader([]string{FieldSortKey})
	if err != nil {
		return "", fmt.Errorf("event %s: %w", id, err)
	}
	var key []byte
	if err := dv.VisitDocValues(iid, func(_ string, term []byte) { key = bytes.Clone(term) }); err != nil {
		return "", fmt.Errorf("event %s: %w", id, err)
	}
	if len(key) == 0 {
		return "", fmt.Errorf("event %s: %w", id, ErrNotFound)
	}
	return string(key), nil
}

// position counts the matches of q ordered before the event id (sort
// key key): those of an earlier time, counted by a time range (a range
// over sort keys would expand to a term per event), and those of the same
// time ordered before it.
func (x *Index) position(ctx context.Context, q query.Query, id, key string) (uint64, error) {
	t, ok := KeyTime(key)
	if !ok {
		return 0, fmt.Errorf("event %s: %w", id, ErrNotFound)
	}
	before, err := timeFilter(time.Time{}, t)
	if err != nil {
		return 0, err
	}
	n := uint64(0)
	if before != nil {
		if n, err = x.count(ctx, bleve.NewConjunctionQuery(q, before)); err != nil {
			return 0, err
		}
	}
	same, err := timeFilter(t, t.Add(time.Nanosecond))
	if err != nil || same == nil {
		return n, err
	}
	r, done, err := x.reader()
	if err != nil {
		return 0, err
	}
	defer done()
	_, hits, err := x.sorted(ctx, r, bleve.NewConjunctionQuery(q, same), 10000, false, nil, false)
	if err != nil {
		return 0, err
	}
	for _, h := range hits {
		if len(h.Sort) > 0 && h.Sort[0] < key {
			n++
		}
	}
	return n, nil
}

// dictEntries lists the terms of t with their document counts (deleted
// documents included: an upper bound).
func dictEntries(ctx context.Context, r index.IndexReader, t qparse.Terms) ([]index.DictEntry, error) {
	dict, err := r.FieldDictPrefix(t.Field, []byte(t.Prefix))
	if err != nil {
		return nil, fmt.Errorf("terms of %s: %w", t.Name, err)
	}
	defer dict.Close()
	var out []index.DictEntry
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		e, err := dict.Next()
		if err != nil {
			return nil, fmt.Errorf("terms of %s: %w", t.Name, err)
		}
		if e == nil {
			return out, nil
		}
		out = append(out, index.DictEntry{Term: e.Term, Count: e.Count})
	}
}

// topOnly counts the top size values of a field with many: terms in order
// of their document count (an upper bound of their matches), each counted
// exactly, until no later term can rank among the top (its bound is below
// the last kept count, or equal with a later value). Missing, Other and
// Distinct are not counted (Partial is set; Distinct is the field's
// distinct values in the whole case).
func (x *Index) topOnly(ctx context.Context, r index.IndexReader, t qparse.Terms, set *roaring64.Bitmap,
	entries []index.DictEntry, size int, out Aggregation) (Aggregation, error) {
	slices.SortFunc(entries, func(a, b index.DictEntry) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Term, b.Term))
	})
	var top []AggValue
	var docs []uint64
	for n, e := range entries {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return Aggregation{}, err
			}
		}
		v := termValue(t, e.Term)
		if len(top) == size {
			last := top[size-1]
			if e.Count < last.Count || (e.Count == last.Count && v > last.Value) {
				break
			}
		}
		var err error
		if docs, err = termDocs(ctx, r, t, e.Term, set, docs[:0]); err != nil {
			return Aggregation{}, err
		}
		if len(docs) == 0 {
			continue
		}
		id, err := r.ExternalID(index.NewIndexInternalID(nil, docs[0]))
		if err != nil {
			return Aggregation{}, fmt.Errorf("aggregate: %w", err)
		}
		top = append(top, AggValue{Value: v, Count: uint64(len(docs)), Example: id})
		slices.SortStableFunc(top, func(a, b AggValue) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
		})
		if len(top) > size {
			top = top[:size]
		}
	}
	out.Values = append(out.Values, top...)
	out.Partial, out.Distinct = true, len(entries)
	return out, nil
}
