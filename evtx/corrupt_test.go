package evtx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"casescope/evtx"
	"casescope/internal/corpus"
	"casescope/internal/corrupt"
)

const (
	// corruptHeapLimit is the live-heap ceiling for streaming any variant
	// (issue #15: one flipped byte must never exhaust memory).
	corruptHeapLimit = 256 << 20
	// corruptHardCeiling stops the test binary: a reader that keeps
	// allocating after its context is cancelled would otherwise take the
	// shared machine down with it.
	corruptHardCeiling = 1 << 30
	// variantBudget is the time one variant may take (a small file, under
	// -race on a loaded machine); cancelGrace is how soon Stream must
	// return once its context is cancelled.
	variantBudget = 30 * time.Second
	cancelGrace   = 5 * time.Second
)

// heapWatch samples the live heap while one variant streams: above
// corruptHeapLimit it cancels the stream, above corruptHardCeiling it
// panics (see there).
type heapWatch struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func watchHeap(name string, cancel context.CancelFunc) *heapWatch {
	w := &heapWatch{stop: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			v := s[0].Value.Uint64()
			if v > w.peak.Load() {
				w.peak.Store(v)
			}
			if v > corruptHeapLimit {
				cancel()
			}
			if v > corruptHardCeiling {
				panic(fmt.Sprintf("variant %s: heap %d MiB after cancel at %d MiB: the reader does not stop", name, v>>20, corruptHeapLimit>>20))
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// Stop ends the sampling and returns the peak heap in bytes.
func (w *heapWatch) Stop() uint64 {
	close(w.stop)
	w.wg.Wait()
	return w.peak.Load()
}

type streamResult struct {
	st       evtx.Stats
	err      error
	peak     uint64
	elapsed  time.Duration
	overHeap bool
}

// streamBounded streams data under the heap watch and the time budget.
// It fails the test (and ends it: the stream's goroutine is stuck) when
// Stream does not return within cancelGrace of its context's end.
func streamBounded(t *testing.T, name string, data []byte) streamResult {
	t.Helper()
	runtime.GC() // the peak is this variant's, not garbage from the last
	ctx, cancel := context.WithTimeout(t.Context(), variantBudget)
	defer cancel()
	w := watchHeap(name, cancel)
	start := time.Now()
	done := make(chan streamResult, 1)
	go func() {
		var r streamResult
		r.st, r.err = evtx.Stream(ctx, bytes.NewReader(data), int64(len(data)), func(*evtx.Event) error { return nil })
		done <- r
	}()
	var r streamResult
	select {
	case r = <-done:
	case <-ctx.Done():
		select {
		case r = <-done:
		case <-time.After(cancelGrace):
			peak := w.Stop()
			panic(fmt.Sprintf("variant %s: Stream did not return within %s of its context's end (%v); peak heap %d MiB", name, cancelGrace, context.Cause(ctx), peak>>20))
		}
	}
	r.elapsed = time.Since(start)
	r.peak = w.Stop()
	r.overHeap = r.peak > corruptHeapLimit
	return r
}

// TestCorruptedVariants streams deterministic damaged copies of real
// corpus files (issue #15 items 1, 3, 4): memory stays under 256 MiB, each
// stream ends in time and on cancellation, only file header damage is an
// error, and the Stats account for every record: nothing lost
// silently, truncation flagged.
func TestCorruptedVariants(t *testing.T) {
	dir := corpus.Shared(t)
	counts := corpus.LibevtxCounts(t, dir)
	ran := 0
	var slowest time.Duration
	var maxPeak uint64
	for _, src := range corrupt.Sources() {
		path := filepath.Join(dir, "evtx", filepath.FromSlash(src.Path))
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := counts[src.Path]
		if !ok {
			t.Fatalf("%s not in counts.tsv", src.Path)
		}
		orig := streamBounded(t, src.Path+" (intact)", b)
		if orig.err != nil || orig.st.Records != want {
			t.Fatalf("%s intact: records %d err %v, want %d (counts.tsv) and no error", src.Path, orig.st.Records, orig.err, want)
		}
		if len(orig.st.Problems) > 0 || orig.st.Truncated || orig.st.RecordsExpected != want {
			t.Errorf("%s intact: problems %+v truncated %v expected %d, want none, false, %d", src.Path, orig.st.Problems, orig.st.Truncated, orig.st.RecordsExpected, want)
		}
		variants, err := corrupt.ForSource(b, src)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range variants {
			ran++
			name := src.Path + ": " + v.Name
			r := streamBounded(t, name, v.Bytes())
			slowest = max(slowest, r.elapsed)
			maxPeak = max(maxPeak, r.peak)
			checkVariant(t, name, v, r, orig.st)
		}
	}
	t.Logf("%d variants streamed; slowest %s, peak heap %d MiB", ran, slowest.Round(time.Millisecond), maxPeak>>20)
}

// checkVariant asserts the outcome of one variant.
func checkVariant(t *testing.T, name string, v corrupt.Variant, r streamResult, orig evtx.Stats) {
	t.Helper()
	st := r.st
	if r.overHeap {
		t.Errorf("%s: peak heap %d MiB, limit %d MiB", name, r.peak>>20, corruptHeapLimit>>20)
	}
	switch {
	case r.err == nil:
	case errors.Is(r.err, evtx.ErrNotEVTX) && v.FileHeader:
		return // nothing else to account for
	case errors.Is(r.err, context.DeadlineExceeded) || errors.Is(r.err, context.Canceled):
		t.Errorf("%s: stopped after %s (budget %s, heap %d MiB): %v", name, r.elapsed.Round(time.Millisecond), variantBudget, r.peak>>20, r.err)
		return
	default:
		t.Errorf("%s: error %v; only file header damage may fail a stream (ErrNotEVTX)", name, r.err)
		return
	}
	if v.Kind == corrupt.Truncate && st.Records > orig.Records {
		t.Errorf("%s: %d records from a truncated copy of a file with %d", name, st.Records, orig.Records)
	}
	// Stats contract (evtx/reader.go, evtx/doc.go): every expected record
	// is delivered or skipped; recovered ones are part of Records.
	if st.RecordsRecovered < 0 || st.RecordsRecovered > st.Records {
		t.Errorf("%s: recovered %d of %d records", name, st.RecordsRecovered, st.Records)
	}
	if st.Records+st.SkippedRecords < st.RecordsExpected {
		t.Errorf("%s: records %d + skipped %d < expected %d: records unaccounted for", name, st.Records, st.SkippedRecords, st.RecordsExpected)
	}
	if st.Records > st.RecordsExpected+st.RecordsRecovered {
		t.Errorf("%s: records %d > expected %d + recovered %d", name, st.Records, st.RecordsExpected, st.RecordsRecovered)
	}
	// No silent loss.
	if st.Records < orig.Records && len(st.Problems) == 0 {
		t.Errorf("%s: %d of %d records and no Problem", name, st.Records, orig.Records)
	}
	if (st.SkippedRecords > 0 || st.SkippedChunks > 0 || st.Truncated) && len(st.Problems) == 0 {
		t.Errorf("%s: skipped %d records, %d chunks, truncated %v, and no Problem", name, st.SkippedRecords, st.SkippedChunks, st.Truncated)
	}
	if v.Truncated && !st.Truncated {
		t.Errorf("%s: truncated copy not flagged Truncated (records %d of %d)", name, st.Records, orig.Records)
	}
	for _, p := range st.Problems {
		switch p.Kind {
		case "chunk", "record", "truncated", "value":
		default:
			t.Errorf("%s: problem kind %q, want chunk, record, truncated or value", name, p.Kind)
		}
	}
}
