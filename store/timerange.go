package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/numeric"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	index "github.com/blevesearch/bleve_index_api"
)

// FieldTime's terms: the time in Unix nanoseconds, prefix-coded (Bleve's
// numeric encoding) at the shifts of timeShift. Bleve's date fields index
// a time as sixteen terms (every fourth bit), six or seven of them
// distinct per event, and those terms were the largest part of building and
// merging segments (index format 3: 66 % of the distinct terms, a third
// of the postings). FieldTime has six: the exact time, then blocks of
// 2^24 ns (16.8 ms), 2^32 (4.3 s), 2^40 (18 min), 2^48 (3.3 days) and
// 2^56 (2.3 years). Bleve's date range searcher assumes the sixteen, so
// timeRangeQuery searches FieldTime: whole blocks in the middle of a
// range, and at each edge the terms that exist in the next finer level
// (at the exact level, the events within 16.8 ms of the bound).
const timeLevels = 6

// timeShift is the shift of FieldTime's level i (0 = exact); level
// timeLevels is 64, past the last.
func timeShift(i int) uint {
	if i == 0 {
		return 0
	}
	return 16 + 8*uint(i)
}

// timeTerms analyses FieldTime's value (the time as eight big-endian
// bytes of Unix nanoseconds) into its terms, one per level, each the
// term Bleve's date field has at that shift.
type timeTerms struct{}

// Analyze implements analysis.Analyzer.
func (timeTerms) Analyze(input []byte) analysis.TokenStream {
	if len(input) != 8 {
		return nil
	}
	ns := int64(binary.BigEndian.Uint64(input))
	toks := make([]analysis.Token, timeLevels)
	out := make(analysis.TokenStream, timeLevels)
	// One allocation for every term: a prefix-coded int64 is one shift
	// byte and at most ten bytes of value.
	buf := make([]byte, timeLevels*11)
	for i := range toks {
		term, rest, err := numeric.NewPrefixCodedInt64Prealloc(ns, timeShift(i), buf)
		if err != nil {
			return nil // unreachable: shifts stay below 64
		}
		buf = rest
		toks[i] = analysis.Token{End: len(term), Term: term, Position: 1, Type: analysis.DateTime}
		out[i] = &toks[i]
	}
	return out
}

// timeField is the FieldTime field of an event at t (within what an
// int64 of nanoseconds holds; see indexTime).
func timeField(t int64) *document.TextField {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(t))
	return document.NewTextFieldCustom(FieldTime, nil, v[:], optsIndex, timeTerms{})
}

// timeRangeQuery is a DateRangeQuery on FieldTime run against FieldTime's
// terms (see timeStep). It matches exactly the events Bleve's date range
// searcher matches over a date field: the bounds are computed the same
// way, only the terms that cover the range differ. Its JSON is the date
// range's, so the count cache keys it alike.
type timeRangeQuery struct {
	*query.DateRangeQuery
}

// Searcher implements query.Query.
func (q timeRangeQuery) Searcher(ctx context.Context, r index.IndexReader, _ mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	lo, hi, err := q.bounds()
	if err != nil {
		return nil, err
	}
	var terms [][]byte
	err = splitTimeRange(lo, hi, func(first, last []byte) error {
		d, err := r.FieldDictRange(FieldTime, first, last)
		if err != nil {
			return fmt.Errorf("time terms: %w", err)
		}
		defer d.Close()
		for {
			e, err := d.Next()
			if err != nil {
				return fmt.Errorf("time terms: %w", err)
			}
			if e == nil {
				return nil
			}
			terms = append(terms, []byte(e.Term))
		}
	})
	if err != nil {
		return nil, err
	}
	return searcher.NewMultiTermSearcherBytes(ctx, r, terms, FieldTime, q.BoostVal.Value(), opts, true)
}

// bounds returns the inclusive nanosecond range Bleve's date range
// searcher would search (query.DateRangeQuery and
// searcher.NewNumericRangeSearcher): an open end is an infinity turned
// into int64 by numeric.Float64ToInt64, as there.
func (q timeRangeQuery) bounds() (lo, hi int64, err error) {
	for _, t := range []query.BleveQueryTime{q.Start, q.End} {
		if !t.IsZero() && (t.Before(query.MinRFC3339CompatibleTime) || t.After(query.MaxRFC3339CompatibleTime)) {
			return 0, 0, fmt.Errorf("invalid/unsupported date range: %v", t)
		}
	}
	minF, maxF := math.Inf(-1), math.Inf(1)
	if !q.Start.IsZero() {
		minF = numeric.Int64ToFloat64(q.Start.UnixNano())
	}
	if !q.End.IsZero() {
		maxF = numeric.Int64ToFloat64(q.End.UnixNano())
	}
	inclLo, inclHi := true, false
	if q.InclusiveStart != nil {
		inclLo = *q.InclusiveStart
	}
	if q.InclusiveEnd != nil {
		inclHi = *q.InclusiveEnd
	}
	lo, hi = numeric.Float64ToInt64(minF), numeric.Float64ToInt64(maxF)
	if !inclLo && lo != math.MaxInt64 {
		lo++
	}
	if !inclHi && hi != math.MinInt64 {
		hi--
	}
	return lo, hi, nil
}

// splitTimeRange calls fn with the first and last term of each run of
// FieldTime terms that together cover [lo, hi] exactly: the coarsest
// whole blocks in the middle, finer ones at the edges (Lucene's split of
// a numeric range, as Bleve's splitInt64Range, over FieldTime's levels).
func splitTimeRange(lo, hi int64, fn func(first, last []byte) error) error {
	if lo > hi {
		return nil
	}
	emit := func(lo, hi int64, shift uint) error {
		hi |= int64(1)<<shift - 1
		return fn(numeric.MustNewPrefixCodedInt64(lo, shift), numeric.MustNewPrefixCodedInt64(hi, shift))
	}
	for i := 0; ; i++ {
		shift, next := timeShift(i), uint(64)
		if i+1 < timeLevels {
			next = timeShift(i + 1)
		}
		diff := int64(1) << next // 0 past the last level, which takes the rest
		mask := (int64(1)<<(next-shift) - 1) << shift
		hasLower := lo&mask != 0
		hasUpper := hi&mask != mask
		nextLo, nextHi := lo&^mask, hi&^mask
		if hasLower {
			nextLo = (lo + diff) &^ mask
		}
		if hasUpper {
			nextHi = (hi - diff) &^ mask
		}
		if next >= 64 || nextLo > nextHi || nextLo < lo || nextHi > hi {
			return emit(lo, hi, shift)
		}
		if hasLower {
			if err := emit(lo, lo|mask, shift); err != nil {
				return err
			}
		}
		if hasUpper {
			if err := emit(hi&^mask, hi, shift); err != nil {
				return err
			}
		}
		lo, hi = nextLo, nextHi
	}
}

// indexTimeQueries returns q with every DateRangeQuery on FieldTime made
// a timeRangeQuery, for this index's terms. The query language builds
// only Boolean, conjunction and disjunction queries around its leaves
// (store/query), so these are the composites walked.
func indexTimeQueries(q query.Query) query.Query {
	switch q := q.(type) {
	case *query.DateRangeQuery:
		if q.FieldVal == FieldTime {
			return timeRangeQuery{q}
		}
	case *query.BooleanQuery:
		c := *q
		c.Must = indexTimeQueries(q.Must)
		c.Should = indexTimeQueries(q.Should)
		c.MustNot = indexTimeQueries(q.MustNot)
		c.Filter = indexTimeQueries(q.Filter)
		return &c
	case *query.ConjunctionQuery:
		c := *q
		c.Conjuncts = make([]query.Query, len(q.Conjuncts))
		for i, k := range q.Conjuncts {
			c.Conjuncts[i] = indexTimeQueries(k)
		}
		return &c
	case *query.DisjunctionQuery:
		c := *q
		c.Disjuncts = make([]query.Query, len(q.Disjuncts))
		for i, k := range q.Disjuncts {
			c.Disjuncts[i] = indexTimeQueries(k)
		}
		return &c
	}
	return q
}
