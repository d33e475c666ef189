package engine_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"casescope/engine"
	"casescope/engine/admit"
	"casescope/store"
)

// openBenchData opens the data directory named by CASESCOPE_BENCH_DATA (a
// case "bench" built by bench/ingestbench, over a million events); the
// benchmark is skipped without it.
func openBenchData(b *testing.B) (*engine.Engine, store.Case) {
	b.Helper()
	data := os.Getenv("CASESCOPE_BENCH_DATA")
	if data == "" {
		b.Skip("set CASESCOPE_BENCH_DATA to a data dir with a large case \"bench\" (see BENCHMARKS.md)")
	}
	led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
	if err != nil {
		b.Fatal(err)
	}
	// The budget casescope's commands default to: it sizes the index's
	// merges (without one, opening the case would merge its segments into
	// multi-million-event ones, which serve never makes).
	budget, err := admit.DefaultBudget(admit.SystemProbe{})
	if err != nil {
		b.Fatal(err)
	}
	eng := engine.New(engine.Config{DataDir: data, MemoryBudget: budget.Bytes}, slog.New(slog.NewTextHandler(io.Discard, nil)), led, nil)
	b.Cleanup(func() {
		_ = eng.Close(b.Context())
		_ = led.Close()
	})
	name := os.Getenv("CASESCOPE_BENCH_CASE")
	if name == "" {
		name = "bench"
	}
	c, err := led.CaseByName(name)
	if err != nil {
		b.Fatal(err)
	}
	return eng, c
}

// cursorAt returns the cursor of the page starting at match n of query,
// or at its middle match when it has fewer than 2n (a small bench case).
func cursorAt(b *testing.B, eng *engine.Engine, caseID uint64, query string, n int) string {
	b.Helper()
	count, err := eng.Search(b.Context(), caseID, store.SearchRequest{Query: query, Size: 1})
	if err != nil {
		b.Fatal(err)
	}
	n = max(1, min(n, int(count.Total/2)))
	page, err := eng.Search(b.Context(), caseID, store.SearchRequest{Query: query, Size: n})
	if err != nil {
		b.Fatal(err)
	}
	if page.Next == "" {
		b.Fatalf("%q has fewer than %d matches", query, n)
	}
	return page.Next
}

func percentile(d []time.Duration, p float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(float64(len(d)-1) * p)
	return d[i]
}

// BenchmarkSearchLatency reports p50/p95 latency of typical queries on a
// large case, hydration of the 50 shown events included, plus the index
// size per million events.
//
//	CASESCOPE_BENCH_DATA=/tmp/bench11590 go test -run '^$' -bench SearchLatency -benchtime 1x ./engine
func BenchmarkSearchLatency(b *testing.B) {
	eng, c := openBenchData(b)
	idx, err := eng.Index(c.ID)
	if err != nil {
		b.Fatal(err)
	}
	total, err := idx.Count()
	if err != nil {
		b.Fatal(err)
	}
	// What ingest leaves done (see PrepareSearch): the columns of a case
	// ingested by an older build are built here, once, before the clock.
	prep := time.Now()
	if err := eng.PrepareSearch(b.Context(), c.ID); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d events; columns prepared in %s", total, time.Since(prep).Round(time.Millisecond))
	b.ReportMetric(float64(total), "events")
	b.ReportMetric(float64(idx.DiskSize())/1e9/(float64(total)/1e6), "GB/Mevents")
	latest, _ := idx.LatestTime(b.Context())
	cases := []struct {
		name string
		req  store.SearchRequest
	}{
		{"term", store.SearchRequest{Query: "EventID:4624", Size: 50}},
		{"wildcard-field", store.SearchRequest{Query: "CommandLine:*powershell*", Size: 50}},
		{"daterange-term-sorted", store.SearchRequest{Query: "EventID:4688 OR EventID:1", Size: 50, From: latest.Add(-365 * 24 * time.Hour), To: latest}},
		{"facets", store.SearchRequest{Query: "Channel:Security", Size: 50, Facets: true}},
		// Beyond the four: what the search page asks for.
		{"facets-histogram", store.SearchRequest{Query: "Channel:Security", Size: 50, Facets: true, Histogram: true}},
		{"all-newest", store.SearchRequest{Size: 50}},
		{"all-facets-histogram", store.SearchRequest{Size: 50, Facets: true, Histogram: true}},
		{"deep-page", store.SearchRequest{Query: "EventID:4624", Size: 50, Cursor: cursorAt(b, eng, c.ID, "EventID:4624", 20000)}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var lat []time.Duration
			var hits uint64
			for b.Loop() {
				for i := 0; i < 40; i++ {
					start := time.Now()
					page, err := eng.Search(b.Context(), c.ID, tc.req)
					if err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(start))
					hits = page.Total
				}
			}
			// The first run: the whole case's facets and histogram are
			// cached after it until the index changes.
			b.ReportMetric(float64(lat[0].Microseconds())/1000, "first-ms")
			b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(lat, 0.95).Microseconds())/1000, "p95-ms")
			b.ReportMetric(float64(hits), "matches")
		})
	}
}

// BenchmarkExportLarge exports every event of a large case as CSV to
// io.Discard and reports rows/s and the peak live heap, which must stay
// flat whatever the size.
//
//	CASESCOPE_BENCH_DATA=/tmp/bench11590 go test -run '^$' -bench ExportLarge -benchtime 1x ./engine
func BenchmarkExportLarge(b *testing.B) {
	eng, c := openBenchData(b)
	for _, format := range []string{engine.FormatCSV, engine.FormatJSONL} {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				peak := startHeapWatch()
				start := time.Now()
				var heapAt []string
				n, err := eng.Export(b.Context(), c.ID, engine.ExportRequest{Format: format, Progress: func(done, total uint64) {
					if done%200000 < 1000 {
						var ms runtime.MemStats
						runtime.ReadMemStats(&ms)
						heapAt = append(heapAt, fmt.Sprintf("%dk:%dMiB", done/1000, ms.HeapInuse>>20))
					}
				}}, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				el := time.Since(start)
				b.ReportMetric(float64(n), "rows")
				b.ReportMetric(float64(n)/el.Seconds(), "rows/s")
				b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
				b.Logf("heap in use along the export: %v", heapAt)
			}
		})
	}
}

// BenchmarkFirstViewDuringImport has 8 goroutines open the whole case's
// first view (all events, facets, histogram) on a large case while the
// folder CASESCOPE_BENCH_IMPORT is imported into it, and reports the
// p50/p95 of those views; run it with -cpuprofile to see where a slow one
// goes.
//
//	CASESCOPE_BENCH_DATA=D CASESCOPE_BENCH_IMPORT=F go test -run '^$' -bench FirstViewDuringImport -benchtime 1x ./engine
func BenchmarkFirstViewDuringImport(b *testing.B) {
	dir := os.Getenv("CASESCOPE_BENCH_IMPORT")
	if dir == "" {
		b.Skip("set CASESCOPE_BENCH_IMPORT to a folder of new evidence")
	}
	eng, c := openBenchData(b)
	if err := eng.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := eng.Import(b.Context(), c.ID, []string{dir}); err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					start := time.Now()
					if _, err := eng.Search(b.Context(), c.ID, store.SearchRequest{Size: 50, Facets: true, Histogram: true}); err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					lat = append(lat, time.Since(start))
					mu.Unlock()
				}
			}()
		}
		err := eng.WaitIdle(b.Context())
		close(done)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(lat)), "views")
		b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(percentile(lat, 0.95).Microseconds())/1000, "p95-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	}
}
