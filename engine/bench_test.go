package engine_test

import (
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"casescope/engine"
	"casescope/engine/sigma"
	"casescope/internal/corpus"
)

// BenchmarkIngest measures the end-to-end pipeline (import, parse, index,
// ledger) over the shared corpus, or over the folder named by
// CASESCOPE_BENCH_CORPUS (e.g. one built by bench/mkcorpus -n 1500, or
// one large file; CASESCOPE_BENCH_CHUNK_WORKERS sets
// Config.ChunkWorkers; CASESCOPE_BENCH_RULES=1 loads the embedded Sigma
// rules, compiled before the clock starts):
// events/s, peak heap, CPU per file and event, and each stage's time per
// file or event (stage times are summed over concurrent work; see
// engine.StageSeconds). Run it with -cpuprofile to see where the index
// stage spends its time.
func BenchmarkIngest(b *testing.B) {
	dir := os.Getenv("CASESCOPE_BENCH_CORPUS")
	if dir == "" {
		dir = filepath.Join(corpus.Shared(b), "evtx")
	}
	var rules *sigma.Ruleset
	if os.Getenv("CASESCOPE_BENCH_RULES") == "1" {
		var err error
		if rules, err = engine.LoadRules(engine.RuleOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		b.StopTimer()
		cfg := engine.Config{BatchSize: 500}
		if n, err := strconv.Atoi(os.Getenv("CASESCOPE_BENCH_CHUNK_WORKERS")); err == nil {
			cfg.ChunkWorkers = n
		}
		r := newRigConfig(b, cfg)
		if rules != nil {
			r.eng.Detection().SetRules(rules)
		}
		c, err := r.ledger.CreateCase("bench", "")
		if err != nil {
			b.Fatal(err)
		}
		peak := startHeapWatch()
		b.StartTimer()
		start, cpu0 := time.Now(), processCPU()
		if _, err := r.eng.Import(b.Context(), c.ID, []string{dir}); err != nil {
			b.Fatal(err)
		}
		if err := r.eng.WaitIdle(b.Context()); err != nil {
			b.Fatal(err)
		}
		el, cpu := time.Since(start), processCPU()-cpu0
		b.StopTimer()
		files, _ := r.ledger.Files(c.ID)
		var events int64
		for _, f := range files {
			events += f.Events
		}
		nf, ne := float64(len(files)), float64(events)
		st := r.eng.Stages()
		b.ReportMetric(ne/el.Seconds(), "events/s")
		b.ReportMetric(cpu.Seconds()/el.Seconds(), "cores")
		b.ReportMetric(float64(cpu.Milliseconds())/nf, "cpu-ms/file")
		b.ReportMetric(st.LedgerBusy*1e3/nf, "ledger-ms/file")
		b.ReportMetric(st.Ledger*1e3/nf, "ledger-wait-ms/file")
		b.ReportMetric(float64(st.LedgerWrites)/max(1, float64(st.LedgerCommits)), "writes/commit")
		b.ReportMetric(st.Index*1e6/ne, "index-µs/event")
		b.ReportMetric(st.Parse*1e6/ne, "parse-µs/event")
		b.ReportMetric((st.Sigma+st.IOC)*1e6/ne, "detect-µs/event")
		b.ReportMetric(cpu.Seconds()*1e6/ne, "cpu-µs/event")
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
