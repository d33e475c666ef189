package engine_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"casescope/engine"
	"casescope/internal/corpus"
	"casescope/store"
)

// mountTmpfs mounts a tmpfs of the given size (e.g. "30m") on a fresh
// directory and unmounts it at cleanup; it skips the test when mounting is
// not permitted. remount resizes it.
func mountTmpfs(t *testing.T, size string) (dir string, remount func(size string)) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir, func(size string) {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
			t.Fatalf("remount %s: %v: %s", dir, err, out)
		}
	}
}

// diskRig is an engine whose data directory is dir; stop closes it (also
// done at cleanup, once).
func diskRig(t *testing.T, dir string, cfg engine.Config) (r *rig, stop func()) {
	t.Helper()
	led, err := store.OpenLedger(filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir, cfg.BatchSize, cfg.DiskPoll = dir, 500, 50*time.Millisecond
	var lw io.Writer = io.Discard
	if os.Getenv("DISKTEST_LOG") != "" {
		lw = os.Stderr
	}
	eng := engine.New(cfg, slog.New(slog.NewTextHandler(lw, nil)), led, nil)
	r = &rig{eng: eng, ledger: led, data: dir}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := r.eng.Close(context.Background()); err != nil {
				t.Errorf("close engine: %v", err)
			}
			if err := led.Close(); err != nil {
				t.Errorf("close ledger: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return r, stop
}

// largestTruth picks the largest corpus files whose record count both
// independent parsers agree on, until their sizes reach total bytes; it
// returns their paths and the sum of their counts. With sparse it takes
// the files with the most bytes per event first instead: the same bytes
// on disk for about a third of the events (cheaper under -race) when
// only the evidence's size matters.
func largestTruth(t *testing.T, total int64, sparse bool) ([]string, int64) {
	t.Helper()
	dir := corpus.Shared(t)
	want := truth(t, dir)
	type file struct {
		path string
		size int64
		n    int
	}
	var fs []file
	for rel, n := range want {
		p := filepath.Join(dir, "evtx", rel)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, file{p, st.Size(), n})
	}
	sort.Slice(fs, func(a, b int) bool {
		ka, kb := fs[a].size, fs[b].size
		if sparse {
			ka, kb = ka/int64(fs[a].n+1), kb/int64(fs[b].n+1)
		}
		if ka != kb {
			return ka > kb
		}
		return fs[a].path < fs[b].path
	})
	var paths []string
	var sum, events int64
	for _, f := range fs {
		if sum >= total {
			break
		}
		paths = append(paths, f.path)
		sum += f.size
		events += int64(f.n)
	}
	return paths, events
}

// waitStop waits for WaitIdle to give up with the engine's stall error,
// failing the test after a deadline instead of hanging.
func waitStop(t *testing.T, r *rig, within time.Duration) (error, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	start := time.Now()
	err := r.eng.WaitIdle(ctx)
	if ctx.Err() != nil {
		t.Fatalf("the ingest neither finished nor stopped within %s", within)
	}
	return err, time.Since(start)
}

// checkFinished re-imports paths once the disk has room (files already
// recorded become duplicates, the rest are imported), waits, and checks the
// index total and the doctor.
func checkFinished(t *testing.T, r *rig, c store.Case, paths []string, want int64) {
	t.Helper()
	// Generous: under -race on a loaded machine the rest takes minutes.
	const resumeWait = 8 * time.Minute
	ctx, cancel := context.WithTimeout(t.Context(), resumeWait)
	defer cancel()
	// The engine notices the space by itself (DiskPoll).
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for r.eng.Paused() != nil {
		select {
		case <-ctx.Done():
			t.Fatalf("still paused %s after freeing space: %+v", resumeWait, r.eng.Paused())
		case <-tick.C:
		}
	}
	if err := r.eng.WaitIdle(ctx); err != nil {
		t.Fatalf("resume after freeing space: %v", err)
	}
	if _, err := r.eng.Import(ctx, c.ID, paths); err != nil {
		t.Fatalf("re-import after freeing space: %v", err)
	}
	if err := r.eng.WaitIdle(ctx); err != nil {
		t.Fatalf("finish after freeing space: %v", err)
	}
	idx, err := r.eng.Index(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := idx.Count()
	if err != nil {
		t.Fatal(err)
	}
	if int64(got) != want {
		t.Errorf("events indexed after resuming: got %d, want %d (counts.tsv)", got, want)
	}
	files, err := r.ledger.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.State == store.StateFailed {
			t.Errorf("%s failed: %s", f.Name, f.Error)
		}
	}
	problems, err := r.eng.Doctor(ctx, engine.DoctorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Errorf("doctor after resuming: %+v", problems)
	}
	if p := r.eng.Paused(); p != nil {
		t.Errorf("still paused after finishing: %+v", p)
	}
}

// queuedNotFailed checks the ledger after a stop: nothing failed, and
// some files wait queued.
func queuedNotFailed(t *testing.T, r *rig, c store.Case) {
	t.Helper()
	files, err := r.ledger.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	queued := 0
	for _, f := range files {
		switch f.State {
		case store.StateFailed:
			t.Errorf("%s failed on a full disk (want it left queued): %s", f.Name, f.Error)
		case store.StateQueued:
			queued++
		}
	}
	if queued == 0 {
		t.Errorf("no file left queued after the stop")
	}
}

// TestDiskSpacePause fills a 20 MiB filesystem with more evidence than it
// holds: the import stops before the disk is full, intake pauses with the
// path and the space needed, nothing fails, searches go on; after the
// filesystem grows the engine resumes by itself and the re-run ends with
// the exact total and a clean doctor.
func TestDiskSpacePause(t *testing.T) {
	paths, want := largestTruth(t, 24<<20, true)
	dir, remount := mountTmpfs(t, "20m")
	r, _ := diskRig(t, dir, engine.Config{DiskReserve: 1 << 20})
	if err := r.eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	c, err := r.ledger.CreateCase("full", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.eng.Import(t.Context(), c.ID, paths)
	var se *engine.StorageError
	if !errors.As(err, &se) || !errors.Is(err, engine.ErrDiskFull) {
		t.Fatalf("import of more than fits: got %v, want a StorageError (disk full)", err)
	}
	err, took := waitStop(t, r, 60*time.Second)
	t.Logf("intake stopped %.2fs after the import: %v", took.Seconds(), err)
	if !errors.Is(err, engine.ErrDiskFull) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "needed") {
		t.Fatalf("stop error: got %v, want disk full naming %s and the space needed", err, dir)
	}
	queuedNotFailed(t, r, c)
	st, err := r.eng.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Paused == nil || !st.Paused.Stalled || st.Paused.Path != dir {
		t.Errorf("status: paused %+v, want stalled on %s", st.Paused, dir)
	}
	page, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Size: 1})
	if err != nil || page.Total == 0 {
		t.Errorf("search while paused: total %d, err %v; want the completed files' events", page.Total, err)
	}
	remount("200m")
	checkFinished(t, r, c, paths, want)
}

// TestDiskWriteFailure lets files through the space check (a tiny index
// factor) onto a filesystem too small for their index, so writes really
// fail: intake must stop within seconds with the path and free space,
// leave the files queued, and, restarted once the filesystem grows,
// finish with the exact total.
func TestDiskWriteFailure(t *testing.T) {
	paths, want := largestTruth(t, 10<<20, false)
	dir, remount := mountTmpfs(t, "12m")
	cfg := engine.Config{DiskReserve: 64 << 10, IndexFactor: 0.001}
	r, stop := diskRig(t, dir, cfg)
	c, err := r.ledger.CreateCase("fail", "")
	if err != nil {
		t.Fatal(err)
	}
	// The evidence is copied in before any indexing starts, so the index
	// is what runs out of room.
	if _, err := r.eng.Import(t.Context(), c.ID, paths); err != nil && !errors.Is(err, engine.ErrDiskFull) {
		t.Fatalf("import: %v", err)
	}
	if err := r.eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	err, took := waitStop(t, r, 60*time.Second)
	t.Logf("intake stopped %.2fs after start: %v", took.Seconds(), err)
	var se *engine.StorageError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "free") {
		t.Fatalf("stop error: got %v, want a StorageError naming %s and the free space", err, dir)
	}
	queuedNotFailed(t, r, c)
	if p := r.eng.Paused(); p == nil || !p.WriteFailed {
		t.Errorf("after the stop: paused %+v, want a write failure", p)
	}
	// As the ingest command does: close, and run again with space freed.
	stop()
	remount("200m")
	r, _ = diskRig(t, dir, cfg)
	if err := r.eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkFinished(t, r, c, paths, want)
}
