package admit

import (
	"context"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"

	"casescope/evtx"
	"casescope/store"
)

// calibrationFile is the file the cost model was measured with: 3.2 MB,
// 3561 Security records (4625 logon failures), 49 chunks.
const calibrationFile = "evtx/deepbluecli/smb-password-guessing-security.evtx"

// peakSampler records the highest HeapInuse seen while it runs. It owns
// one goroutine, which stop waits for.
type peakSampler struct {
	mu   sync.Mutex
	peak uint64
	done chan struct{}
	wg   sync.WaitGroup
}

func startPeakSampler() *peakSampler {
	s := &peakSampler{peak: heapInuse(), done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(50 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *peakSampler) sample() {
	h := heapInuse()
	s.mu.Lock()
	s.peak = max(s.peak, h)
	s.mu.Unlock()
}

func (s *peakSampler) stop() uint64 {
	close(s.done)
	s.wg.Wait()
	s.sample()
	return s.peak
}

// indexer is what measureFile feeds batches to.
type indexer func(batch []*evtx.Event, final bool) error

// BenchmarkFileCost measures the peak extra heap one file in flight costs:
// streaming the calibration file while holding batches of N events
// ("hold"), while indexing them in batches of N into an on-disk Bleve
// index with the default dynamic mapping ("bleve"), and into the real
// case index, store.Index with its explicit mapping, the way the engine
// does ("store"). Metrics: peak-MiB = peak HeapInuse above the pre-run
// baseline (after a forced GC), alloc-MiB = bytes allocated per file.
//
//	go test -run '^$' -bench BenchmarkFileCost -benchtime 5x ./engine/admit/
func BenchmarkFileCost(b *testing.B) {
	path := filepath.Join(testdataDir(b), calibrationFile)
	for _, mode := range []string{"hold", "bleve", "store"} {
		for _, n := range []int{1, 100, 500, 1000, 2000} {
			if mode != "hold" && n == 1 {
				continue // one event per Bleve batch takes a minute a file
			}
			b.Run(mode+"/batch="+strconv.Itoa(n), func(b *testing.B) {
				ix := newIndexer(b, mode)
				var peak, alloc uint64
				for b.Loop() {
					p, a := measureFile(b, path, n, ix)
					peak = max(peak, p)
					alloc = a
				}
				b.ReportMetric(float64(peak)/float64(MiB), "peak-MiB")
				b.ReportMetric(float64(alloc)/float64(MiB), "alloc-MiB")
			})
		}
	}
}

// newIndexer returns the indexer for a BenchmarkFileCost mode, or nil for
// "hold".
func newIndexer(b *testing.B, mode string) indexer {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "idx")
	switch mode {
	case "bleve":
		idx, err := bleve.New(dir, bleve.NewIndexMapping())
		if err != nil {
			b.Fatalf("new index: %v", err)
		}
		b.Cleanup(func() { idx.Close() })
		return func(batch []*evtx.Event, _ bool) error {
			bb := idx.NewBatch()
			for _, ev := range batch {
				if err := bb.Index(strconv.FormatUint(ev.RecordID, 10), eventDoc(ev)); err != nil {
					return err
				}
			}
			return idx.Batch(bb)
		}
	case "store":
		idx, err := store.OpenIndex(dir, store.IndexOptions{})
		if err != nil {
			b.Fatalf("open index: %v", err)
		}
		b.Cleanup(func() { idx.Close() })
		docs := make([]store.Doc, 0, 2048)
		return func(batch []*evtx.Event, final bool) error {
			docs = docs[:0]
			for _, ev := range batch {
				docs = append(docs, store.Doc{FileID: 1, Event: ev})
			}
			return idx.IndexDocs(docs, final)
		}
	}
	return nil
}

// measureFile streams path holding batches of n events (handing each to
// ix when ix is non-nil) and returns the peak HeapInuse above baseline and
// the bytes allocated.
func measureFile(tb testing.TB, path string, n int, ix indexer) (peak, alloc uint64) {
	tb.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, total := heapInuse(), ms.TotalAlloc
	s := startPeakSampler()
	batch := make([]*evtx.Event, 0, n)
	flush := func(final bool) error {
		if ix != nil && len(batch) > 0 {
			if err := ix(batch, final); err != nil {
				return err
			}
		}
		s.sample()
		batch = batch[:0]
		return nil
	}
	_, err := evtx.StreamFile(context.Background(), path, func(ev *evtx.Event) error {
		batch = append(batch, ev)
		if len(batch) == n {
			return flush(false)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("stream %s: %v", path, err)
	}
	if err := flush(true); err != nil {
		tb.Fatalf("index: %v", err)
	}
	p := s.stop()
	runtime.ReadMemStats(&ms)
	if p > base {
		peak = p - base
	}
	return peak, ms.TotalAlloc - total
}

// eventDoc flattens an event into the kind of document the store indexes.
func eventDoc(ev *evtx.Event) map[string]any {
	d := map[string]any{
		"event_id": float64(ev.EventID),
		"channel":  ev.Channel,
		"provider": ev.Provider,
		"computer": ev.Computer,
		"time":     ev.TimeCreated,
		"user_id":  ev.UserID,
	}
	for _, f := range ev.Data {
		d["data."+f.Name] = f.Value
	}
	return d
}

// BenchmarkEventSize measures the live heap of one parsed event,
// retained (live-B/event): the per-event part of CostBase's chunk term.
//
//	go test -run '^$' -bench BenchmarkEventSize -benchtime 3x ./engine/admit/
func BenchmarkEventSize(b *testing.B) {
	path := filepath.Join(testdataDir(b), calibrationFile)
	var perEvent uint64
	for b.Loop() {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base := ms.HeapAlloc
		var all []*evtx.Event
		if _, err := evtx.StreamFile(b.Context(), path, func(ev *evtx.Event) error {
			all = append(all, ev)
			return nil
		}); err != nil {
			b.Fatalf("stream: %v", err)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		perEvent = (ms.HeapAlloc - base) / uint64(len(all))
		runtime.KeepAlive(all)
	}
	b.ReportMetric(float64(perEvent), "live-B/event")
}
