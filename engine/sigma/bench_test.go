package sigma

import (
	"testing"
)

// BenchmarkMatch measures Match throughput with every embedded rule loaded,
// on one goroutine, over the real events of the shared EVTX dev set
// (streamed into memory first). It reports events/s.
func BenchmarkMatch(b *testing.B) {
	rs := loadEmbedded(b)
	evs := devEvents(b)
	if len(evs) == 0 {
		b.Fatalf("no events in the dev set")
	}
	var hits []Hit
	nHits := 0
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for _, ev := range evs {
			hits = rs.Match(ev, hits[:0])
			nHits += len(hits)
		}
		n += len(evs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(nHits)/float64(n), "hits/event")
}

// BenchmarkLoad measures compiling the embedded rule set.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(Options{}, Embedded()); err != nil {
			b.Fatalf("load: %v", err)
		}
	}
}
