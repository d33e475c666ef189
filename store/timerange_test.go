package store

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/search/query"
)

// TestTimeRangeMatchesBleveDateRange: a time range over FieldTime's
// eight-term encoding (timeRangeQuery) matches exactly the documents
// Bleve's own date range query matches over a Bleve date field holding
// the same times, for ranges with open, inclusive and exclusive ends,
// bounds on and beside the stored times, before 1970 and at the clamped
// extremes.
func TestTimeRangeMatchesBleveDateRange(t *testing.T) {
	const dateField = "bleve_date"
	x := openTestIndex(t)
	rng := rand.New(rand.NewPCG(21, 3))
	base := time.Date(2024, 5, 14, 10, 0, 0, 0, time.UTC).UnixNano()
	var times []int64
	for range 150 { // a burst: events microseconds to minutes apart
		times = append(times, base+rng.Int64N(int64(10*time.Minute)))
	}
	for range 60 { // within 50 ms: several per 16.8 ms block
		times = append(times, base+int64(time.Minute)+rng.Int64N(int64(50*time.Millisecond)))
	}
	for range 100 { // anywhere Bleve can hold
		times = append(times, rng.Int64())
	}
	times = append(times, 0, -1, 1, base, base, base+100, math.MinInt64, math.MaxInt64,
		time.Date(1969, 12, 31, 23, 59, 59, 999999900, time.UTC).UnixNano())
	b := x.idx.NewBatch()
	for i, ns := range times {
		doc := document.NewDocument(strconv.Itoa(i))
		doc.AddField(timeField(ns))
		df, err := document.NewDateTimeFieldWithIndexingOptions(dateField, nil, time.Unix(0, ns), time.RFC3339Nano, optsIndex)
		if err != nil {
			t.Fatal(err)
		}
		doc.AddField(df)
		if err := b.IndexAdvanced(doc); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.idx.Batch(b); err != nil {
		t.Fatal(err)
	}
	ids := func(q query.Query) []string {
		t.Helper()
		res, err := x.idx.SearchInContext(t.Context(), bleve.NewSearchRequestOptions(q, len(times)+1, 0, false))
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		var out []string
		for _, h := range res.Hits {
			out = append(out, h.ID)
		}
		slices.Sort(out)
		return out
	}
	// Bounds: stored times, one nanosecond beside them, random times, or
	// open; query bounds must lie in 1677-12-01..2262-04-11 (Bleve refuses
	// others, and so does timeRangeQuery).
	lo, hi := minIndexTime.UnixNano(), maxIndexTime.UnixNano()
	bound := func() time.Time {
		var ns int64
		switch rng.IntN(5) {
		case 0:
			return time.Time{}
		case 1, 2:
			ns = times[rng.IntN(len(times))] + rng.Int64N(3) - 1
		case 3:
			ns = base + rng.Int64N(int64(10*time.Minute))
			if rng.IntN(2) == 0 {
				ns = base + int64(time.Minute) + rng.Int64N(int64(50*time.Millisecond))
			}
		default:
			ns = lo + int64(rng.Uint64N(uint64(hi)-uint64(lo))) // wraps back into range
		}
		return time.Unix(0, min(max(ns, lo), hi))
	}
	matched := 0
	for i := range 400 {
		start, end := bound(), bound()
		if start.IsZero() && end.IsZero() {
			continue
		}
		if !start.IsZero() && !end.IsZero() && end.Before(start) && i%2 == 0 {
			start, end = end, start
		}
		inclStart, inclEnd := rng.IntN(2) == 0, rng.IntN(2) == 0
		want := query.NewDateRangeInclusiveQuery(start, end, &inclStart, &inclEnd)
		want.SetField(dateField)
		got := query.NewDateRangeInclusiveQuery(start, end, &inclStart, &inclEnd)
		got.SetField(FieldTime)
		w, g := ids(want), ids(indexTimeQueries(got))
		if !slices.Equal(g, w) {
			t.Fatalf("range %s..%s (inclusive %v, %v): got %d docs %v, want %d %v", start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano),
				inclStart, inclEnd, len(g), g, len(w), w)
		}
		matched += len(w)
	}
	if matched == 0 {
		t.Fatal("no range matched anything: the test proves nothing")
	}
}
