package store

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"casescope/evtx"
)

// colsAnswers is every answer the columns take part in, for one index
// state: each query's full walk (newest and oldest first, pages of 37),
// its first page's facets and histogram, with and without a time range.
type colsAnswers map[string]string

func walkAnswers(t *testing.T, x *Index, from, to time.Time) colsAnswers {
	t.Helper()
	out := colsAnswers{}
	for _, q := range []string{"", "Channel:Security", "EventID:4625", "Computer:ws0*", "EventID:4624 OR Computer:ws03"} {
		for _, asc := range []bool{false, true} {
			key := fmt.Sprintf("%q asc=%v", q, asc)
			var ids []string
			cursor := ""
			for page := 0; ; page++ {
				res, err := x.Search(t.Context(), SearchRequest{Query: q, Size: 37, Asc: asc, Cursor: cursor, From: from, To: to,
					Facets: page == 0, Histogram: page == 0})
				if err != nil {
					t.Fatal(err)
				}
				if page == 0 {
					out[key+" facets"] = fmt.Sprint(res.Total, res.Facets, res.Histogram)
					// With facets the page is ranked in time windows and the
					// total comes from the count: the same as without.
					plain, err := x.Search(t.Context(), SearchRequest{Query: q, Size: 37, Asc: asc, From: from, To: to})
					if err != nil {
						t.Fatal(err)
					}
					if plain.Total != res.Total || fmt.Sprint(plain.Hits) != fmt.Sprint(res.Hits) || plain.Next != res.Next {
						t.Fatalf("%s: with facets %d %v, without %d %v", key, res.Total, res.Hits, plain.Total, plain.Hits)
					}
				}
				for _, h := range res.Hits {
					ids = append(ids, h.ID+"@"+h.Time.Format(time.RFC3339Nano))
				}
				if res.Next == "" {
					break
				}
				cursor = res.Next
			}
			out[key] = fmt.Sprint(ids)
		}
	}
	return out
}

// TestColumnsAgree: searches answered from the segments' time and facet
// columns give exactly what the doc values give (every page of every
// walk, totals, facets, histogram), after deletes, across a reopen that
// loads the files, and when a file is damaged (rebuilt); a segment merged
// away takes its file with it.
func TestColumnsAgree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	x, err := OpenIndex(dir, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x.cols.minDocs.Store(math.MaxUint64) // no columns until asked
	x.counts = newCountCache(0)          // every count from scratch
	x.sortParallelMin, x.tallyParallelMin, x.sortWorkers = 1, 1, 2
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	channels := []string{"Security", "System", "Microsoft-Windows-Sysmon/Operational"}
	var all []Doc
	for file := uint64(1); file <= 6; file++ {
		var docs []Doc
		for i := range 400 {
			// Files 4-6 repeat the times of 1-3: equal times, ordered by
			// file and record.
			at := base.Add(time.Duration((file-1)%3)*24*time.Hour + time.Duration(i/3)*time.Minute)
			ev := &evtx.Event{RecordID: uint64(i + 1), RecordOffset: uint32(0x200 + i*8), EventID: uint32(4624 + i%3),
				TimeCreated: at, Channel: channels[(i+int(file))%len(channels)], Computer: fmt.Sprintf("ws%02d", (i*7+int(file))%5)}
			if i == 7 {
				ev.Computer, ev.Channel = "", "" // no facet values
			}
			docs = append(docs, Doc{FileID: file, Event: ev})
		}
		all = append(all, docs...)
		if err := x.IndexDocs(docs, true); err != nil {
			t.Fatal(err)
		}
	}
	var del []string
	for i := 0; i < len(all); i += 11 {
		del = append(del, DocID(all[i].FileID, all[i].Event))
	}
	if err := x.DeleteDocs(del); err != nil {
		t.Fatal(err)
	}
	from, to := base.Add(20*time.Hour), base.Add(30*time.Hour)
	want := walkAnswers(t, x, time.Time{}, time.Time{})
	wantRange := walkAnswers(t, x, from, to)
	if x.cols.used.Load() != 0 {
		t.Fatal("columns read before any was built")
	}
	if got := want[`"" asc=false facets`]; got[:4] != fmt.Sprint(len(all)-len(del)) {
		t.Fatalf("whole case: %s, want a total of %d", got, len(all)-len(del))
	}
	check := func(step string) {
		t.Helper()
		before := x.cols.used.Load()
		got := walkAnswers(t, x, time.Time{}, time.Time{})
		gotRange := walkAnswers(t, x, from, to)
		for k, w := range want {
			if got[k] != w {
				t.Fatalf("%s: %s:\ncolumns:    %.600s\ndoc values: %.600s", step, k, got[k], w)
			}
		}
		for k, w := range wantRange {
			if gotRange[k] != w {
				t.Fatalf("%s: range %s:\ncolumns:    %.600s\ndoc values: %.600s", step, k, gotRange[k], w)
			}
		}
		if x.cols.used.Load() == before {
			t.Fatalf("%s: no search read the columns", step)
		}
	}
	x.cols.minDocs.Store(50)
	if err := x.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	if x.cols.built.Load() == 0 {
		t.Fatal("Prepare built no columns")
	}
	check("built")
	files := func() []string {
		t.Helper()
		m, err := filepath.Glob(filepath.Join(dir, "cols", "*.cols"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	before := files()
	if len(before) == 0 {
		t.Fatal("no columns file on disk")
	}
	// Reopened: the files are loaded, not built.
	reopen := func() {
		t.Helper()
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		if x, err = OpenIndex(dir, IndexOptions{}); err != nil {
			t.Fatal(err)
		}
		x.cols.minDocs.Store(50)
		x.counts = newCountCache(0)
		x.sortParallelMin, x.tallyParallelMin, x.sortWorkers = 1, 1, 2
		if err := x.Prepare(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	reopen()
	if x.cols.loaded.Load() == 0 {
		t.Fatalf("reopened: %d files loaded, %d built", x.cols.loaded.Load(), x.cols.built.Load())
	}
	check("reopened")
	// A damaged file (one byte of its time column) fails its CRC and is
	// rebuilt.
	raw, err := os.ReadFile(before[0])
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x40
	if err := os.WriteFile(before[0], raw, 0o600); err != nil {
		t.Fatal(err)
	}
	reopen()
	if x.cols.built.Load() == 0 {
		t.Fatal("a damaged file was not rebuilt")
	}
	check("damaged file rebuilt")
	// New documents merge segments away: their files go.
	for file := uint64(7); file <= 30; file++ {
		var docs []Doc
		for i := range 60 {
			docs = append(docs, Doc{FileID: file, Event: &evtx.Event{RecordID: uint64(i + 1), EventID: 1,
				TimeCreated: base.AddDate(-1, 0, int(file)), Channel: "Application", Computer: "srv"}})
		}
		if err := x.IndexDocs(docs, true); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := x.Prepare(t.Context()); err != nil {
			t.Fatal(err)
		}
		gone := 0
		now := files()
		for _, f := range before {
			if !slices.Contains(now, f) {
				gone++
			}
		}
		if gone > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 24 more batches no segment was merged away (files before %v, now %v)", before, now)
		}
		time.Sleep(50 * time.Millisecond)
	}
	res, err := x.Search(t.Context(), SearchRequest{Query: "Computer:srv", Size: 5, Facets: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 24*60 || !maps.Equal(map[string]int{"srv": 24 * 60}, map[string]int{res.Facets[FieldComputer][0].Value: res.Facets[FieldComputer][0].Count}) {
		t.Fatalf("after merges: %d events on srv, facets %v", res.Total, res.Facets[FieldComputer])
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
}
