package engine_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"casescope/engine"
	"casescope/evtx"
	"casescope/internal/corpus"
	"casescope/store"
)

// TestChunkParallelIngest ingests large corpus files (over the 16-chunk
// threshold; one with a bad chunk) with their chunks decoded on three
// goroutines and, in a second engine, on one: both record the same events,
// accounting and warnings per file, and index the same document IDs —
// those evtx.StreamFile and store.DocID give for the file, each event
// once.
func TestChunkParallelIngest(t *testing.T) {
	dir := filepath.Join(corpus.Shared(t), "evtx")
	src := []string{
		filepath.Join(dir, "omerbenamram", "security.evtx"),
		filepath.Join(dir, "malformed", "security_bad_string_cache.evtx"),
		filepath.Join(dir, "malformed", "sample_with_a_bad_chunk_magic.evtx"),
	}
	in := t.TempDir()
	for _, p := range src {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(in, filepath.Base(p)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	type outcome struct {
		file store.File
		ids  []string
	}
	run := func(chunkWorkers int) map[string]outcome {
		data := t.TempDir()
		led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
		if err != nil {
			t.Fatal(err)
		}
		eng := engine.New(engine.Config{DataDir: data, BatchSize: 200, ChunkWorkers: chunkWorkers},
			slog.New(slog.NewTextHandler(io.Discard, nil)), led, nil)
		defer func() {
			if err := eng.Close(context.Background()); err != nil {
				t.Errorf("close engine: %v", err)
			}
			if err := led.Close(); err != nil {
				t.Errorf("close ledger: %v", err)
			}
		}()
		if err := eng.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		c, err := led.CreateCase("par", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Import(t.Context(), c.ID, []string{in}); err != nil {
			t.Fatal(err)
		}
		if err := eng.WaitIdle(t.Context()); err != nil {
			t.Fatal(err)
		}
		idx, err := eng.Index(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		files, err := led.Files(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]outcome{}
		for _, f := range files {
			ids, err := idx.FileDocIDs(t.Context(), f.ID)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(ids)
			out[filepath.Base(f.Name)] = outcome{file: f, ids: ids}
		}
		return out
	}
	par, seq := run(3), run(1)
	for _, p := range src {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			got, want := par[name], seq[name]
			if got.file.State != store.StateCompleted {
				t.Fatalf("state %s (%s), want completed", got.file.State, got.file.Error)
			}
			// The ground truth: the reader's own events (with the
			// engine's recovery on), by document ID, under the file ID
			// this engine gave the file.
			var truth []string
			if _, err := evtx.StreamFileOptions(t.Context(), p, evtx.Options{Recover: true}, func(ev *evtx.Event) error {
				truth = append(truth, store.DocID(got.file.ID, ev))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			slices.Sort(truth)
			if !slices.Equal(got.ids, truth) || got.file.Events != int64(len(truth)) {
				t.Errorf("parallel: %d events, %d document IDs; want the reader's %d IDs, each once", got.file.Events, len(got.ids), len(truth))
			}
			if got.file.Events != want.file.Events || !reflect.DeepEqual(got.file.Accounting, want.file.Accounting) ||
				!reflect.DeepEqual(got.file.Warnings, want.file.Warnings) {
				t.Errorf("parallel and sequential records differ:\ngot  events %d %+v %q\nwant events %d %+v %q",
					got.file.Events, got.file.Accounting, got.file.Warnings, want.file.Events, want.file.Accounting, want.file.Warnings)
			}
			if got.file.ID == want.file.ID && !slices.Equal(got.ids, want.ids) {
				t.Errorf("parallel and sequential document IDs differ")
			}
		})
	}
}
