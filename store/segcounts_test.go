package store

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/index/scorch"

	"casescope/evtx"
)

// TestCountsSurviveBatches: facet and histogram counts kept per segment
// give, after every batch, delete and re-index, the counts of the events
// actually indexed (counted here from the documents), the same as a
// count from scratch; and a view after a batch counts only the segments
// the batch made.
func TestCountsSurviveBatches(t *testing.T) {
	x, err := OpenIndex(filepath.Join(t.TempDir(), "index"), IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.Close() })
	x.countMinDocs = 1                       // keep every segment's counts
	x.tallyParallelMin, x.sortWorkers = 1, 2 // count on two goroutines
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	channels := []string{"Security", "System", "Microsoft-Windows-Sysmon/Operational"}
	live := map[string]Doc{} // by document ID: the ground truth
	batch := func(file uint64, n int, tag string) []Doc {
		var docs []Doc
		for i := range n {
			ev := &evtx.Event{RecordID: uint64(i + 1), RecordOffset: uint32(0x200 + i*8), EventID: uint32(4624 + i%3),
				TimeCreated: base.Add(time.Duration(file)*24*time.Hour + time.Duration(i)*time.Minute),
				Channel:     channels[(i+int(file))%len(channels)], Computer: fmt.Sprintf("ws%02d", (i*7+int(file))%5)}
			d := Doc{FileID: file, Event: ev}
			if tag != "" {
				d.Tags = []string{tag}
			}
			docs = append(docs, d)
			live[DocID(file, ev)] = d
		}
		if err := x.IndexDocs(docs, true); err != nil {
			t.Fatal(err)
		}
		return docs
	}
	check := func(step string) {
		t.Helper()
		for _, q := range []string{"", "Channel:Security", "EventID:4625"} {
			res, err := x.Search(t.Context(), SearchRequest{Query: q, Size: 3, Facets: true, Histogram: true})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int{}
			wantTotal := 0
			for _, d := range live {
				if (q == "Channel:Security" && d.Event.Channel != "Security") || (q == "EventID:4625" && d.Event.EventID != 4625) {
					continue
				}
				want[strings.ToLower(d.Event.Computer)]++
				wantTotal++
			}
			got := map[string]int{}
			for _, fc := range res.Facets[FieldComputer] {
				got[fc.Value] = fc.Count
			}
			if !maps.Equal(got, want) || res.Total != uint64(wantTotal) {
				t.Fatalf("%s: %q: computers %v total %d, want %v total %d", step, q, got, res.Total, want, wantTotal)
			}
			n := 0
			for _, b := range res.Histogram {
				n += b.Count
			}
			if n != wantTotal {
				t.Fatalf("%s: %q: histogram holds %d, want %d", step, q, n, wantTotal)
			}
			// The same from scratch: no kept counts.
			kept := x.counts
			x.counts = newCountCache(defaultCountCacheBytes)
			fresh, err := x.Search(t.Context(), SearchRequest{Query: q, Size: 3, Facets: true, Histogram: true})
			x.counts = kept
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Histogram, fresh.Histogram) || !maps.EqualFunc(res.Facets, fresh.Facets, slices.Equal) {
				t.Fatalf("%s: %q: kept counts %v %v, from scratch %v %v", step, q, res.Facets, res.Histogram, fresh.Facets, fresh.Histogram)
			}
		}
	}
	for f := range uint64(4) {
		batch(f+1, 300, "")
		check(fmt.Sprintf("batch %d", f+1))
	}
	// Counting on one snapshot twice counts nothing the second time;
	// on the next snapshot, only the segments it did not have.
	q, err := parseQuery("Channel:Security", QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	snapshot := func() (*scorch.IndexSnapshot, map[uint64]bool) {
		t.Helper()
		adv, err := x.idx.Advanced()
		if err != nil {
			t.Fatal(err)
		}
		r, err := adv.Reader()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		snap := r.(*scorch.IndexSnapshot)
		ids := map[uint64]bool{}
		for _, ss := range snap.Segments() {
			ids[ss.Id()] = true
		}
		return snap, ids
	}
	tallied := func(snap *scorch.IndexSnapshot) int64 {
		t.Helper()
		before := x.segsCounted.Load()
		if _, err := x.tally(t.Context(), snap, q, newFacetBuilder(), newHistBuilder()); err != nil {
			t.Fatal(err)
		}
		return x.segsCounted.Load() - before
	}
	snap1, ids1 := snapshot()
	tallied(snap1)
	if n := tallied(snap1); n != 0 {
		t.Fatalf("the same snapshot again: counted %d segments, want 0", n)
	}
	batch(8, 120, "")
	snap2, ids2 := snapshot()
	var fresh int64
	for id := range ids2 {
		if !ids1[id] {
			fresh++
		}
	}
	if n := tallied(snap2); n != fresh {
		t.Fatalf("after a batch: counted %d segments, want the %d new of %d", n, fresh, len(ids2))
	}
	check("batch 8")
	docs := batch(9, 200, "")
	check("batch 9")
	// Deletes and re-indexing (tagging) mark documents deleted in kept
	// segments: those are counted again.
	var ids []string
	for _, d := range docs[:50] {
		id := DocID(d.FileID, d.Event)
		ids = append(ids, id)
		delete(live, id)
	}
	if err := x.DeleteDocs(ids); err != nil {
		t.Fatal(err)
	}
	check("delete")
	batch(2, 100, "lateral") // re-index part of file 2 with a tag
	check("re-index")
}

// TestLatestFillsDuringBatches: a newest time computed from a snapshot
// is cached even when batches land meanwhile (joined with their newest
// event), so newest-first pages keep their time window while an import
// runs; a delete in between leaves the cache empty.
func TestLatestFillsDuringBatches(t *testing.T) {
	x := openTestIndex(t)
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	ev := func(rec uint64, at time.Time) Doc {
		return Doc{FileID: 1, Event: &evtx.Event{RecordID: rec, RecordOffset: uint32(0x200 + 8*rec), TimeCreated: at}}
	}
	older, newer := ev(1, base), ev(2, base.Add(time.Hour))
	if err := x.IndexDocs([]Doc{older}, true); err != nil {
		t.Fatal(err)
	}
	epoch := x.latest.epoch()
	// A snapshot taken now sees only the older event; a batch lands
	// before the result is cached.
	if err := x.IndexDocs([]Doc{newer}, true); err != nil {
		t.Fatal(err)
	}
	x.latest.set(older.Event.TimeCreated, epoch)
	if got, ok := x.cachedLatest(); !ok || !got.Equal(newer.Event.TimeCreated) {
		t.Fatalf("after a batch in flight: got %s %v, want %s cached", got, ok, newer.Event.TimeCreated)
	}
	epoch = x.latest.epoch()
	if err := x.DeleteDocs([]string{DocID(1, newer.Event)}); err != nil {
		t.Fatal(err)
	}
	x.latest.set(newer.Event.TimeCreated, epoch)
	if got, ok := x.cachedLatest(); ok {
		t.Fatalf("after a delete in flight: got %s cached, want nothing", got)
	}
	if got, err := x.LatestTime(t.Context()); err != nil || !got.Equal(older.Event.TimeCreated) {
		t.Fatalf("LatestTime: got %s %v, want %s", got, err, older.Event.TimeCreated)
	}
}
