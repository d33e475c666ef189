package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"casescope/engine"
	"casescope/internal/corpus"
	"casescope/store"
)

// countingLedger is the real ledger, recording the size of every claim of
// several files at once.
type countingLedger struct {
	*store.Ledger
	mu      sync.Mutex
	batches []int
}

func (c *countingLedger) ClaimFiles(keys []store.FileKey) ([]store.File, error) {
	fs, err := c.Ledger.ClaimFiles(keys)
	c.mu.Lock()
	c.batches = append(c.batches, len(fs))
	c.mu.Unlock()
	return fs, err
}

// TestClaimAheadShutdown: small files are claimed together; a shutdown
// in the middle of them leaves none mid-work and gives every unstarted
// file its attempt back (none is closer to quarantine for having been
// claimed ahead), and the next start completes every file with every
// event.
func TestClaimAheadShutdown(t *testing.T) {
	const n = 60 // copies of a log of 7 records (testdata/SOURCES.md; libevtx and python-evtx agree, expected/counts.tsv)
	raw, err := os.ReadFile(corpus.Fixture(t, "Security_short_selected.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	var paths []string
	for i := range n {
		// A tail past the last chunk makes each copy distinct content
		// (not a duplicate) without changing its records.
		p := filepath.Join(src, fmt.Sprintf("s%03d.evtx", i))
		if err := os.WriteFile(p, append(append([]byte(nil), raw...), fmt.Sprintf("tail %d", i)...), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	data := t.TempDir()
	led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	c, err := led.CreateCase("ahead", "")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cl := &countingLedger{Ledger: led}
	cfg := engine.Config{DataDir: data, BatchSize: 500, Workers: 2}
	eng := engine.New(cfg, log, cl, nil)
	if _, err := eng.Import(t.Context(), c.ID, paths); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Stop once the first file completes: most are then claimed ahead or
	// still queued.
	deadline := time.Now().Add(60 * time.Second)
	for {
		fs, err := led.Files(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, f := range fs {
			if f.State == store.StateCompleted {
				done++
			}
		}
		if done > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no file completed within a minute")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := eng.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	cl.mu.Lock()
	batches := append([]int(nil), cl.batches...)
	cl.mu.Unlock()
	if len(batches) == 0 || batches[0] < 2 {
		t.Fatalf("claims of several files: %v, want a first one of at least 2", batches)
	}
	fs, err := led.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	completed := 0
	for _, f := range fs {
		switch f.State {
		case store.StateCompleted:
			completed++
			if f.Attempts != 1 || f.Events != 7 {
				t.Errorf("%s: completed with %d attempts, %d events; want 1, 7", f.Name, f.Attempts, f.Events)
			}
		case store.StateQueued:
			if f.Attempts != 0 {
				t.Errorf("%s: queued after a shutdown with %d attempts, want 0 (given back)", f.Name, f.Attempts)
			}
		default:
			t.Errorf("%s: %s after a shutdown, want completed or queued", f.Name, f.State)
		}
	}
	t.Logf("claim batches %v; %d of %d completed before the shutdown", batches, completed, n)

	eng2 := engine.New(cfg, log, led, nil)
	if err := eng2.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer eng2.Close(context.Background())
	if err := eng2.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	fs, err = led.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var events int64
	for _, f := range fs {
		if f.State != store.StateCompleted || f.Attempts != 1 {
			t.Errorf("%s: %s with %d attempts after the resume, want completed with 1", f.Name, f.State, f.Attempts)
		}
		events += f.Events
	}
	if len(fs) != n || events != 7*n {
		t.Errorf("%d files, %d events; want %d, %d", len(fs), events, n, 7*n)
	}
}
