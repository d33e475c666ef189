package triage

import (
	"path/filepath"
	"testing"

	"casescope/evtx"
	"casescope/internal/corpus"
)

// BenchmarkSummaryAdd is the pipeline's per-event cost of keeping a
// file's triage summary, on a Security log rich in logons.
//
//	go test -run '^$' -bench SummaryAdd ./engine/triage
func BenchmarkSummaryAdd(b *testing.B) {
	path := filepath.Join(corpus.Shared(b), "evtx", "omerbenamram", "security.evtx")
	var events []*evtx.Event
	if _, err := evtx.StreamFileOptions(b.Context(), path, evtx.Options{}, func(ev *evtx.Event) error {
		events = append(events, ev)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s := New()
		for _, ev := range events {
			s.Add(ev)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
}
