package engine_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"casescope/engine"
	"casescope/internal/corpus"
	"casescope/store"
)

// gatedLedger is the real ledger with the dispatcher's look at the queue
// under the test's control: gate pauses one look after it found the queue
// empty, and blind makes every look find it empty.
type gatedLedger struct {
	*store.Ledger
	mu       sync.Mutex
	gate     chan chan struct{} // receives a channel to close to let the look return
	blind    bool
	observed chan struct{}
}

func (g *gatedLedger) NextQueued(skip func(f *store.File) bool) (store.File, error) {
	g.mu.Lock()
	gate, blind := g.gate, g.blind
	g.gate = nil
	g.mu.Unlock()
	if blind {
		return store.File{}, store.ErrNotFound
	}
	f, err := g.Ledger.NextQueued(skip)
	if gate != nil && err != nil {
		release := make(chan struct{})
		g.observed <- struct{}{}
		gate <- release
		<-release
	}
	return f, err
}

// violationLog counts "queue invariant violated" log records: a violation
// reported even briefly is seen, though it clears later.
type violationLog struct {
	slog.Handler
	n *atomic.Int64
}

func (h violationLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "queue invariant violated" {
		h.n.Add(1)
	}
	return nil
}

func (h violationLog) WithAttrs(as []slog.Attr) slog.Handler {
	return violationLog{h.Handler.WithAttrs(as), h.n}
}

func newGatedEngine(t *testing.T, grace time.Duration) (*engine.Engine, *gatedLedger, store.Case, *atomic.Int64) {
	t.Helper()
	data := t.TempDir()
	led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedLedger{Ledger: led, observed: make(chan struct{}, 1)}
	reported := new(atomic.Int64)
	log := slog.New(violationLog{slog.NewTextHandler(io.Discard, nil), reported})
	eng := engine.New(engine.Config{DataDir: data, QueueCheckGrace: grace}, log, g, nil)
	t.Cleanup(func() {
		if err := eng.Close(context.Background()); err != nil {
			t.Errorf("close engine: %v", err)
		}
		if err := led.Close(); err != nil {
			t.Errorf("close ledger: %v", err)
		}
	})
	if err := eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	c, err := led.CreateCase("queue", "")
	if err != nil {
		t.Fatal(err)
	}
	return eng, g, c, reported
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func queueViolations(eng *engine.Engine) []string {
	var out []string
	for _, v := range eng.Invariants() {
		if strings.Contains(v, "queued file(s)") {
			out = append(out, v)
		}
	}
	return out
}

// TestQueueInvariantRace: a file recorded between the dispatcher's look at
// the queue and its idle check (an upload committing just then, its wake
// still to come) is not reported as a violation.
func TestQueueInvariantRace(t *testing.T) {
	// A grace far longer than the test: only the wake may settle it.
	eng, g, c, reported := newGatedEngine(t, time.Hour)
	gate := make(chan chan struct{})
	g.mu.Lock()
	g.gate = gate
	g.mu.Unlock()
	// An empty import only wakes the dispatcher, which looks at the
	// (empty) queue and is held there.
	if _, err := eng.Import(t.Context(), c.ID, nil); err != nil {
		t.Fatal(err)
	}
	<-g.observed
	release := <-gate
	// The upload's record commits now, after the look, before its wake.
	path := corpus.Fixture(t, "Security_short_selected.evtx")
	sum, size := hashOf(t, path)
	if _, err := g.Ledger.AddFiles(c.ID, []store.NewFile{{Name: "late.evtx", SHA256: sum, Size: size, Path: path}}); err != nil {
		t.Fatal(err)
	}
	close(release) // the idle check runs and counts 1 queued file
	// The upload's wake arrives.
	if _, err := eng.Import(t.Context(), c.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := eng.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v := queueViolations(eng); len(v) > 0 || reported.Load() > 0 {
		t.Errorf("invariant violations after a benign race: %q (%d reported), want none", v, reported.Load())
	}
	files, err := g.Ledger.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].State != store.StateCompleted || files[0].Events != 7 {
		t.Errorf("late file: got %+v, want completed with 7 events", files)
	}
}

// TestQueueInvariantClears: a real violation (the dispatcher cannot see a
// queued file) is reported after the grace, and clears once the file is
// processed, without a restart.
func TestQueueInvariantClears(t *testing.T) {
	eng, g, c, _ := newGatedEngine(t, 20*time.Millisecond)
	g.mu.Lock()
	g.blind = true
	g.mu.Unlock()
	if _, err := eng.Import(t.Context(), c.ID, []string{corpus.Fixture(t, "Security_short_selected.evtx")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the violation to be reported", func() bool { return len(queueViolations(eng)) == 1 })
	if got := queueViolations(eng)[0]; got != "dispatcher idle while the ledger shows 1 queued file(s)" {
		t.Errorf("violation: got %q", got)
	}
	g.mu.Lock()
	g.blind = false
	g.mu.Unlock()
	waitFor(t, "the violation to clear", func() bool { return len(queueViolations(eng)) == 0 })
	if err := eng.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v := queueViolations(eng); len(v) > 0 {
		t.Errorf("after processing: %q, want none", v)
	}
}

// hashOf returns a file's sha256 (hex) and size.
func hashOf(t *testing.T, path string) (string, int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), int64(len(b))
}
