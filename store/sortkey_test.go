package store

import (
	"context"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"casescope/evtx"
)

// TestSortKeyOrder checks that sort keys order like (time, file, record),
// using Go's own comparison of the three values as the reference.
func TestSortKeyOrder(t *testing.T) {
	type ev struct {
		t         time.Time
		file, rec uint64
	}
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2019, 3, 19, 23, 59, 0, 0, time.UTC)
	var evs []ev
	for i := 0; i < 5000; i++ {
		evs = append(evs, ev{
			t:    base.Add(time.Duration(r.IntN(1000)) * 100 * time.Nanosecond * time.Duration(1+r.IntN(3))),
			file: uint64(r.IntN(4)), rec: r.Uint64N(1 << uint(1+r.IntN(63))),
		})
	}
	// Edges: before 1601 (clamped), the FILETIME epoch, far future, maxima.
	evs = append(evs, ev{time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), 1, 1},
		ev{time.Date(1601, 1, 1, 0, 0, 0, 100, time.UTC), 1, 1},
		ev{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), ^uint64(0), ^uint64(0)},
		ev{time.Date(30000, 1, 1, 0, 0, 0, 0, time.UTC), 2, 2}, // past 2^62 ticks
		ev{ticksTime(^uint64(0)), 3, 3})
	less := func(a, b ev) bool {
		ta, tb := fileTicks(a.t), fileTicks(b.t)
		if ta != tb {
			return ta < tb
		}
		if a.file != b.file {
			return a.file < b.file
		}
		return a.rec < b.rec
	}
	sort.Slice(evs, func(i, j int) bool { return less(evs[i], evs[j]) })
	for i := 1; i < len(evs); i++ {
		ka := SortKey(evs[i-1].t, evs[i-1].file, evs[i-1].rec)
		kb := SortKey(evs[i].t, evs[i].file, evs[i].rec)
		if len(ka) != keyLen {
			t.Fatalf("key length %d", len(ka))
		}
		switch {
		case less(evs[i-1], evs[i]) && !(ka < kb):
			t.Fatalf("order broken: %v/%d/%d (%s) !< %v/%d/%d (%s)", evs[i-1].t, evs[i-1].file, evs[i-1].rec, ka, evs[i].t, evs[i].file, evs[i].rec, kb)
		case !less(evs[i-1], evs[i]) && ka != kb:
			t.Fatalf("equal events, different keys %s %s", ka, kb)
		}
	}
	for _, e := range evs {
		if e.t.Year() < 1601 {
			continue // clamped to the FILETIME epoch
		}
		got, ok := KeyTime(SortKey(e.t, e.file, e.rec))
		if !ok || !got.Equal(e.t.Truncate(100*time.Nanosecond)) {
			t.Fatalf("KeyTime(%v) = %v, %v", e.t, got, ok)
		}
	}
	if _, ok := KeyTime("not a key"); ok {
		t.Fatal("KeyTime accepted a non-key")
	}
	if _, ok := KeyTime("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"); ok {
		t.Fatal("KeyTime accepted characters outside the alphabet")
	}
}

// TestHistBuilder feeds the histogram builder sort keys (as the collector
// does) and compares its buckets with a brute-force count: spans from
// seconds to decades, times before 1970, and enough distinct seconds to
// force coarsening while counting.
func TestHistBuilder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name  string
		start time.Time
		span  time.Duration
		n     int
	}{
		{"seconds", time.Date(2020, 1, 1, 10, 0, 0, 0, time.UTC), 90 * time.Second, 500},
		{"hours, coarsened while counting", time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC), 5 * time.Hour, 20000},
		{"before 1970", time.Date(1965, 3, 1, 0, 0, 0, 0, time.UTC), 400 * 24 * time.Hour, 3000},
		{"decades", time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), 30 * 365 * 24 * time.Hour, 10000},
		{"one instant", time.Date(2022, 2, 2, 2, 2, 2, 0, time.UTC), 0, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var times []time.Time
			for i := 0; i < tc.n; i++ {
				ts := tc.start
				if tc.span > 0 {
					ts = ts.Add(time.Duration(r.Int64N(int64(tc.span))).Truncate(100 * time.Nanosecond))
				}
				times = append(times, ts)
			}
			b := histOf(t, times)
			step := time.Second
			if len(b) > 1 {
				step = b[1].Start.Sub(b[0].Start)
			}
			total := 0
			for i, bk := range b {
				want := 0
				for _, ts := range times {
					if !ts.Before(bk.Start) && ts.Before(bk.Start.Add(step)) {
						want++
					}
				}
				if bk.Count != want {
					t.Errorf("bucket %d (%s): %d, want %d", i, bk.Start, bk.Count, want)
				}
				total += bk.Count
			}
			if total != tc.n {
				t.Errorf("buckets hold %d of %d", total, tc.n)
			}
		})
	}
}

// histOf feeds times to a histogram builder as the collector does (one
// sort key per event) and returns its buckets, checking their number.
func histOf(t *testing.T, times []time.Time) []Bucket {
	t.Helper()
	h := newHistBuilder()
	for i, ts := range times {
		h.StartDoc()
		h.UpdateVisitor([]byte(SortKey(ts, 1, uint64(i))))
		h.EndDoc()
	}
	b := h.buckets()
	if len(b) == 0 || len(b) > 2*histBuckets+1 {
		t.Fatalf("%d buckets", len(b))
	}
	return b
}

// TestHistBuilderExtremeTimes: corrupt logs carry FILETIME 0 (1601) and
// far-future times; the histogram must stay finite, hold every match and
// not loop.
func TestHistBuilderExtremeTimes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		times []time.Time
	}{
		{"1601 among 2024", []time.Time{time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), time.Date(2024, 3, 1, 11, 0, 0, 0, time.UTC)}},
		{"year 30000", []time.Time{time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), time.Date(30000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"largest FILETIME", []time.Time{time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), ticksTime(^uint64(0))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := histOf(t, tc.times)
			total := 0
			for i, bk := range b {
				if i > 0 && !bk.Start.After(b[i-1].Start) {
					t.Fatalf("bucket %d starts at %s, not after %s", i, bk.Start, b[i-1].Start)
				}
				total += bk.Count
			}
			if total != len(tc.times) || b[0].Count == 0 || b[len(b)-1].Count == 0 {
				t.Errorf("buckets hold %d of %d (first %d, last %d)", total, len(tc.times), b[0].Count, b[len(b)-1].Count)
			}
		})
	}
}

// TestNewestFirstWindow walks every event newest first, page by page, as
// the unfiltered list does (answered from time windows once the newest
// time is known), and compares with the oldest-first walk (a full pass
// each page) reversed: same events, same order, each once.
func TestNewestFirstWindow(t *testing.T) {
	x, err := OpenIndex(filepath.Join(t.TempDir(), "index"), IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	r := rand.New(rand.NewPCG(5, 6))
	base := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 6000
	var docs []Doc
	for i := 0; i < n; i++ {
		// Bursts (many events in one second, equal times across files)
		// and gaps of up to a year.
		ts := base.Add(time.Duration(r.IntN(40)) * 7 * 24 * time.Hour).Add(time.Duration(r.IntN(5)) * time.Second)
		docs = append(docs, Doc{FileID: uint64(1 + i%3), Event: &evtx.Event{RecordID: uint64(i), EventID: 4624, TimeCreated: ts, Channel: "Security"}})
	}
	if err := x.IndexDocs(docs, true); err != nil {
		t.Fatal(err)
	}
	walk := func(asc bool) []string {
		var ids []string
		cursor := ""
		for {
			res, err := x.Search(context.Background(), SearchRequest{Size: 97, Asc: asc, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != n {
				t.Fatalf("total %d, want %d", res.Total, n)
			}
			for _, h := range res.Hits {
				ids = append(ids, h.ID)
			}
			if res.Next == "" {
				return ids
			}
			cursor = res.Next
		}
	}
	if _, err := x.LatestTime(context.Background()); err != nil {
		t.Fatal(err)
	}
	desc := walk(false)
	asc := walk(true)
	slices.Reverse(asc)
	if len(desc) != n || !slices.Equal(desc, asc) {
		t.Fatalf("newest-first walk: %d events, oldest-first reversed: %d; equal %v", len(desc), len(asc), slices.Equal(desc, asc))
	}
	if x.windowed.Load() == 0 {
		t.Error("no page was answered from a time window")
	}
	t.Logf("%d of %d pages answered from a window", x.windowed.Load(), (n+96)/97)
}

// TestOverviewCache: the whole case's facets and histogram are reused only
// while the index is unchanged; a batch or a delete shows at once.
func TestOverviewCache(t *testing.T) {
	x, err := OpenIndex(filepath.Join(t.TempDir(), "index"), IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	var docs []Doc
	for i := 0; i < 500; i++ {
		docs = append(docs, Doc{FileID: 1, Event: &evtx.Event{RecordID: uint64(i + 1), EventID: 4624,
			TimeCreated: base.Add(time.Duration(i) * time.Minute), Channel: "Security", Computer: "dc01"}})
	}
	if err := x.IndexDocs(docs, true); err != nil {
		t.Fatal(err)
	}
	overview := func() SearchResult {
		t.Helper()
		res, err := x.Search(context.Background(), SearchRequest{Size: 5, Facets: true, Histogram: true})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, b := range res.Histogram {
			n += b.Count
		}
		if uint64(n) != res.Total {
			t.Fatalf("histogram holds %d of %d", n, res.Total)
		}
		return res
	}
	computers := func(r SearchResult) map[string]int {
		m := map[string]int{}
		for _, fc := range r.Facets[FieldComputer] {
			m[fc.Value] = fc.Count
		}
		return m
	}
	first := overview()
	// A caller rewriting its copy (the engine restores names' case) must
	// not change what the cache answers next.
	first.Facets[FieldComputer][0].Value = "DC01"
	first.Histogram[0].Count = -1
	again := overview()
	first = overview()
	if first.Total != 500 || !maps.Equal(computers(first), map[string]int{"dc01": 500}) || !slices.Equal(first.Histogram, again.Histogram) ||
		!maps.Equal(computers(again), computers(first)) {
		t.Fatalf("overview %d %v, again %v", first.Total, computers(first), computers(again))
	}
	extra := Doc{FileID: 2, Event: &evtx.Event{RecordID: 1, EventID: 4625, TimeCreated: base.Add(48 * time.Hour), Channel: "Security", Computer: "WS99"}}
	if err := x.IndexDocs([]Doc{extra}, true); err != nil {
		t.Fatal(err)
	}
	after := overview()
	if after.Total != 501 || !maps.Equal(computers(after), map[string]int{"dc01": 500, "ws99": 1}) {
		t.Fatalf("after a batch: %d %v", after.Total, computers(after))
	}
	if err := x.DeleteDocs([]string{DocID(1, docs[0].Event)}); err != nil {
		t.Fatal(err)
	}
	if del := overview(); del.Total != 500 || !maps.Equal(computers(del), map[string]int{"dc01": 499, "ws99": 1}) {
		t.Fatalf("after a delete: %d %v", del.Total, computers(del))
	}
	// Any: one example of a value, without ranking or counting.
	for q, want := range map[string]int{"Computer:ws99": 1, "Computer:dc01": 3, "Computer:nobody": 0} {
		res, err := x.Search(context.Background(), SearchRequest{Query: q, Size: 3, Any: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != want || res.Total != 0 {
			t.Fatalf("Any %s: %d hits, total %d; want %d hits, total 0", q, len(res.Hits), res.Total, want)
		}
		for _, h := range res.Hits {
			if !strings.EqualFold(h.Summary.Computer, strings.TrimPrefix(q, "Computer:")) || h.Time.IsZero() {
				t.Fatalf("Any %s: hit %s on %q at %s", q, h.ID, h.Summary.Computer, h.Time)
			}
		}
	}
	// The cached newest time follows batches and deletes too.
	latest := func() time.Time {
		t.Helper()
		l, err := x.LatestTime(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := latest(); !l.Equal(extra.Event.TimeCreated) {
		t.Errorf("latest %s, want %s", l, extra.Event.TimeCreated)
	}
	newer := Doc{FileID: 2, Event: &evtx.Event{RecordID: 2, TimeCreated: base.Add(72 * time.Hour), Channel: "Security"}}
	if err := x.IndexDocs([]Doc{newer}, true); err != nil {
		t.Fatal(err)
	}
	if l := latest(); !l.Equal(newer.Event.TimeCreated) {
		t.Errorf("latest after a newer batch %s, want %s", l, newer.Event.TimeCreated)
	}
	if err := x.DeleteDocs([]string{DocID(2, newer.Event), DocID(2, extra.Event)}); err != nil {
		t.Fatal(err)
	}
	if l, want := latest(), docs[len(docs)-1].Event.TimeCreated; !l.Equal(want) {
		t.Errorf("latest after deleting the newest %s, want %s", l, want)
	}
}
