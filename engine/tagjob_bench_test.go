package engine_test

import (
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"casescope/internal/corpus"
	"casescope/store"
)

// cpuTime is the process's user+system CPU time so far: on a shared
// machine, events per CPU-second is the figure that does not depend on
// what else runs.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBulkTag tags every event of a case holding the whole shared
// corpus (about 32,000 events) and reports events/s: "job" is the bulk
// tag job, "per-event" the old way (a TagEvent call per event, which
// re-reads the event's chunk, writes the ledger and the index for one
// event) over the first 300 events, for comparison.
//
//	go test -run '^$' -bench BulkTag -benchtime 1x ./engine
func BenchmarkBulkTag(b *testing.B) {
	dir := corpus.Shared(b)
	r := newBenchRig(b)
	c, err := r.ledger.CreateCase("bench", "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.eng.Import(b.Context(), c.ID, []string{filepath.Join(dir, "evtx")}); err != nil {
		b.Fatal(err)
	}
	if err := r.eng.WaitIdle(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.Run("job", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n++
			start, cpu0 := time.Now(), cpuTime(b)
			j, err := r.eng.StartBulkTag(c.ID, "*", []string{"bench-" + strconv.Itoa(n)}, false, "")
			if err != nil {
				b.Fatal(err)
			}
			if j, err = r.eng.WaitJob(b.Context(), j.ID); err != nil || j.State != "done" {
				b.Fatalf("job %+v: %v", j, err)
			}
			b.ReportMetric(float64(j.Changed)/time.Since(start).Seconds(), "events/s")
			b.ReportMetric(float64(j.Changed)/(cpuTime(b)-cpu0).Seconds(), "events/cpu-s")
			b.ReportMetric(float64(j.Changed), "events")
		}
	})
	b.Run("per-event", func(b *testing.B) {
		for b.Loop() {
			page, err := r.eng.Search(b.Context(), c.ID, store.SearchRequest{Size: 300, Asc: true})
			if err != nil {
				b.Fatal(err)
			}
			start, cpu0 := time.Now(), cpuTime(b)
			for _, h := range page.Hits {
				if _, err := r.eng.TagEvent(b.Context(), c.ID, store.Tag{DocID: h.ID, Tags: []string{"one-by-one"}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(page.Hits))/time.Since(start).Seconds(), "events/s")
			b.ReportMetric(float64(len(page.Hits))/(cpuTime(b)-cpu0).Seconds(), "events/cpu-s")
		}
	})
}
