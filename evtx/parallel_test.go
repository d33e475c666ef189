package evtx_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"

	"casescope/evtx"
	"casescope/internal/corpus"
	"casescope/internal/corrupt"
)

// streamAll is the sequential reference: every event and the Stats.
func streamAll(t *testing.T, b []byte) ([]*evtx.Event, evtx.Stats, error) {
	t.Helper()
	var evs []*evtx.Event
	st, err := evtx.StreamOptions(t.Context(), bytes.NewReader(b), int64(len(b)), evtx.Options{}, func(ev *evtx.Event) error {
		evs = append(evs, ev)
		return nil
	})
	return evs, st, err
}

// streamParallel reads b with StreamParallel, checking that work saw each
// delivered chunk and that chunks arrive in file order.
func streamParallel(t *testing.T, b []byte, workers int) ([]*evtx.Event, evtx.Stats, error) {
	t.Helper()
	var evs []*evtx.Event
	var worked atomic.Int64
	last := -1
	st, err := evtx.StreamParallel(t.Context(), bytes.NewReader(b), int64(len(b)), evtx.Options{}, workers,
		func(c *evtx.Chunk) (int, error) {
			worked.Add(1)
			return len(c.Events), nil
		},
		func(c *evtx.Chunk, n int) error {
			if c.Index <= last {
				t.Errorf("chunk %d delivered after chunk %d", c.Index, last)
			}
			last = c.Index
			if n != len(c.Events) {
				t.Errorf("chunk %d: work saw %d events, delivered %d", c.Index, n, len(c.Events))
			}
			evs = append(evs, c.Events...)
			return nil
		})
	return evs, st, err
}

// TestStreamParallelEqualsStream reads real corpus files, the malformed
// ones and damaged copies (truncated, a bad chunk, a duplicated chunk)
// chunk-parallel and sequentially: the same events in the same order, each
// with the same chunk and offset (the document identity), and the same
// Stats, problems included.
func TestStreamParallelEqualsStream(t *testing.T) {
	dir := corpus.Shared(t)
	var files []string
	for _, sub := range []string{"malformed", "empty"} {
		fs, err := filepath.Glob(filepath.Join(dir, "evtx", sub, "*.evtx"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	files = append(files, filepath.Join(dir, "evtx", "omerbenamram", "security.evtx"))
	type input struct {
		name string
		b    []byte
	}
	var inputs []input
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, input{filepath.Base(f), b})
	}
	// Damaged copies of a multi-chunk file: one of each kind.
	src := inputs[len(inputs)-1].b
	vs, err := corrupt.Variants(src, 21, 1)
	if err != nil {
		t.Fatal(err)
	}
	cut, err := corrupt.Truncated(src, int64(len(src))/2+1000) // inside a chunk
	if err != nil {
		t.Fatal(err)
	}
	vs = append(vs, cut)
	// One of each: a cut inside a chunk, a duplicated chunk, a damaged
	// chunk header and a damaged template.
	kinds := map[string]bool{}
	for _, v := range slices.Backward(vs) {
		k := v.Kind
		if v.Kind == corrupt.Flip {
			k = v.Region
		}
		if v.FileHeader || kinds[k] || !(v.Kind == corrupt.DupChunk || v.Kind == corrupt.Truncate && v.Offset > 1<<20 ||
			v.Kind == corrupt.Flip && (v.Region == "chunk header" || v.Region == "template definition")) {
			continue
		}
		kinds[k] = true
		inputs = append(inputs, input{"security.evtx " + v.Name, v.Bytes()})
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			want, wantSt, wantErr := streamAll(t, in.b)
			for _, workers := range []int{3} {
				got, gotSt, err := streamParallel(t, in.b, workers)
				if (err == nil) != (wantErr == nil) {
					t.Fatalf("workers %d: got error %v, want %v", workers, err, wantErr)
				}
				if len(got) != len(want) {
					t.Fatalf("workers %d: got %d events, want %d", workers, len(got), len(want))
				}
				for i := range want {
					if !reflect.DeepEqual(got[i], want[i]) {
						t.Fatalf("workers %d: event %d differs: got chunk %d offset %d record %d, want chunk %d offset %d record %d",
							workers, i, got[i].ChunkOffset, got[i].RecordOffset, got[i].RecordID,
							want[i].ChunkOffset, want[i].RecordOffset, want[i].RecordID)
					}
				}
				if !reflect.DeepEqual(gotSt, wantSt) {
					t.Fatalf("workers %d: stats differ:\ngot  %+v\nwant %+v", workers, gotSt, wantSt)
				}
			}
		})
	}
}

// TestStreamParallelStops checks that an error from deliver or work, and
// a cancelled context, stop the stream with that error.
func TestStreamParallelStops(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(corpus.Shared(t), "evtx", "omerbenamram", "security.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	r := bytes.NewReader(b)
	n := 0
	_, err = evtx.StreamParallel(t.Context(), r, int64(len(b)), evtx.Options{}, 3,
		func(*evtx.Chunk) (struct{}, error) { return struct{}{}, nil },
		func(*evtx.Chunk, struct{}) error {
			n++
			if n == 2 {
				return stop
			}
			return nil
		})
	if !errors.Is(err, stop) || n != 2 {
		t.Errorf("deliver error: got %v after %d chunks, want %v after 2", err, n, stop)
	}
	_, err = evtx.StreamParallel(t.Context(), r, int64(len(b)), evtx.Options{}, 3,
		func(c *evtx.Chunk) (struct{}, error) {
			if c.Index == 3 {
				return struct{}{}, stop
			}
			return struct{}{}, nil
		},
		func(c *evtx.Chunk, _ struct{}) error {
			if c.Index >= 3 {
				t.Errorf("chunk %d delivered after work failed on chunk 3", c.Index)
			}
			return nil
		})
	if !errors.Is(err, stop) {
		t.Errorf("work error: got %v, want %v", err, stop)
	}
	ctx, cancel := context.WithCancel(t.Context())
	_, err = evtx.StreamParallel(ctx, r, int64(len(b)), evtx.Options{}, 3,
		func(*evtx.Chunk) (struct{}, error) { return struct{}{}, nil },
		func(*evtx.Chunk, struct{}) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v, want %v", err, context.Canceled)
	}
}
