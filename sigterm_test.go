package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"casescope/internal/corpus"
	"casescope/store"
)

// agreedFiles lists the corpus files whose record count libevtx and
// python-evtx agree on (expected/counts.tsv), with the sum of the records
// an ingest indexes (libevtx's allocated plus live recovered records).
func agreedFiles(t *testing.T) ([]string, int64) {
	t.Helper()
	dir := corpus.Shared(t)
	expected := corpus.Expected(t, dir)
	var paths []string
	var sum int64
	for _, c := range corpus.Counts(t, dir) {
		if c.Agree() {
			paths = append(paths, filepath.Join(dir, "evtx", c.Path))
			sum += int64(expected[c.Path])
		}
	}
	return paths, sum
}

// signalWhen starts cmd, sends SIGTERM once its log shows marker, and
// returns how long it took to exit after the signal (failing past a
// minute rather than hanging).
func signalWhen(t *testing.T, cmd *exec.Cmd, marker string) time.Duration {
	t.Helper()
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	seen := make(chan struct{})
	drained := make(chan struct{})
	var log strings.Builder
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(pr)
		found := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if !found && strings.Contains(sc.Text(), marker) {
				found = true
				close(seen)
			}
		}
	}()
	select {
	case <-seen:
	case <-drained:
		t.Fatalf("%s exited before %q:\n%s", cmd.Args[1], marker, log.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s: no %q within 2 minutes", cmd.Args[1], marker)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		<-drained
		exited <- cmd.Wait()
	}()
	select {
	case err := <-exited:
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("%s died of %s instead of exiting: %v", cmd.Args[1], ws.Signal(), err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("%s still running a minute after SIGTERM", cmd.Args[1])
	}
	return time.Since(start)
}

// TestSIGTERMEndsWorkWithinSeconds stops a running ingest, then a serve
// that picked up the rest of its queue, each with SIGTERM while a worker
// is inside a file: each exits within 5 s, and a re-run of the ingest
// completes with exactly the counts libevtx and python-evtx agree on.
func TestSIGTERMEndsWorkWithinSeconds(t *testing.T) {
	paths, want := agreedFiles(t)
	src := t.TempDir()
	corpus.Replicate(t, paths, src, 1)
	data := t.TempDir()
	ingest := []string{"ingest", "--data", data, "--case", "sig", "--no-builtin-rules", "--json", src}
	const limit = 5 * time.Second

	took := signalWhen(t, exec.Command(binPath, ingest...), "first events searchable")
	t.Logf("ingest exited %.2fs after SIGTERM", took.Seconds())
	if took > limit {
		t.Errorf("ingest exited %s after SIGTERM, want under %s", took, limit)
	}
	took = signalWhen(t, exec.Command(binPath, "serve", "--addr", "127.0.0.1:0", "--data", data, "--no-builtin-rules"), "first events searchable")
	t.Logf("serve exited %.2fs after SIGTERM", took.Seconds())
	if took > limit {
		t.Errorf("serve exited %s after SIGTERM, want under %s", took, limit)
	}

	if _, killed, err := runBin(t, nil, ingest...); err != nil || killed {
		t.Fatalf("re-run: killed=%v err=%v", killed, err)
	}
	led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	c, err := led.CaseByName("sig")
	if err != nil {
		t.Fatal(err)
	}
	files, err := led.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var events int64
	for _, f := range files {
		if f.State != store.StateCompleted {
			t.Errorf("%s: %s (%s), want completed", f.Name, f.State, f.Error)
		}
		events += f.Events
	}
	idx, err := store.OpenIndex(filepath.Join(data, "cases", strconv.FormatUint(c.ID, 10), "index"), store.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	total, err := idx.Count()
	if err != nil {
		t.Fatal(err)
	}
	if events != want || int64(total) != want {
		t.Errorf("after the re-run: ledger %d events, index %d, want %d (counts.tsv)", events, total, want)
	}
}
