package query

import (
	"math"
	"strconv"
	"strings"

	bq "github.com/blevesearch/bleve/v2/search/query"
)

// Small integer fields (event ID, record ID, level) are indexed as
// zero-padded decimal keywords rather than Bleve numerics: one term per
// event instead of sixteen prefix-coded ones, which is most of what the
// index would otherwise store and merge. Zero padding keeps lexicographic
// order equal to numeric order, so sorting and term-range queries work.
var intWidths = map[string]int{fieldEventID: 5, fieldRecordID: 20, fieldLevel: 3}

// IntKey encodes n for a padded integer field; ok is false when field is
// not one, or n does not fit its width.
func IntKey(field string, n uint64) (string, bool) {
	w, ok := intWidths[field]
	if !ok {
		return "", false
	}
	s := strconv.FormatUint(n, 10)
	if len(s) > w {
		return "", false
	}
	return strings.Repeat("0", w-len(s)) + s, true
}

// IsIntKeyField reports whether field is indexed with IntKey.
func IsIntKeyField(field string) bool {
	_, ok := intWidths[field]
	return ok
}

// intRange builds a term-range query over a padded integer field. Bounds
// are rounded inward to integers; an empty range matches nothing.
func intRange(field string, lo, hi *float64, loIncl, hiIncl bool) bq.Query {
	w := intWidths[field]
	maxV := math.Pow10(w) - 1
	l, h := 0.0, maxV
	if lo != nil {
		l = *lo
		if !loIncl {
			l = math.Floor(l) + 1
		} else {
			l = math.Ceil(l)
		}
	}
	if hi != nil {
		h = *hi
		if !hiIncl {
			h = math.Ceil(h) - 1
		} else {
			h = math.Floor(h)
		}
	}
	l, h = math.Max(l, 0), math.Min(h, maxV)
	if l > h {
		return bq.NewMatchNoneQuery()
	}
	ls, _ := IntKey(field, uint64(l))
	hs, _ := IntKey(field, uint64(h))
	if ls == hs {
		return termQuery(field, ls)
	}
	t := true
	q := bq.NewTermRangeInclusiveQuery(ls, hs, &t, &t)
	q.SetField(field)
	return q
}
