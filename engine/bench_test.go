package engine_test

import (
	"path/filepath"
	"runtime/metrics"
	"testing"
	"time"

	"casescope/internal/corpus"
)

// BenchmarkIngest measures the end-to-end pipeline (import, parse, index,
// ledger) over the shared corpus: events/s and peak heap.
func BenchmarkIngest(b *testing.B) {
	dir := corpus.Shared(b)
	for b.Loop() {
		b.StopTimer()
		r := newBenchRig(b)
		c, err := r.ledger.CreateCase("bench", "")
		if err != nil {
			b.Fatal(err)
		}
		peak := startHeapWatch()
		b.StartTimer()
		start := time.Now()
		if _, err := r.eng.Import(b.Context(), c.ID, []string{filepath.Join(dir, "evtx")}); err != nil {
			b.Fatal(err)
		}
		if err := r.eng.WaitIdle(b.Context()); err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		b.StopTimer()
		files, _ := r.ledger.Files(c.ID)
		var events int64
		for _, f := range files {
			events += f.Events
		}
		b.ReportMetric(float64(events)/el.Seconds(), "events/s")
		b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
		b.StartTimer()
	}
}

// startHeapWatch samples the live heap every 10 ms until the returned
// function is called, which reports the peak in bytes.
func startHeapWatch() func() uint64 {
	stop := make(chan struct{})
	res := make(chan uint64)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak {
				peak = v
			}
			select {
			case <-stop:
				res <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(stop); return <-res }
}
