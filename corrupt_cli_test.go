package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"casescope/internal/corpus"
	"casescope/internal/corrupt"
	"casescope/store"
)

const (
	corruptBudget = 256 << 20
	// rssSlack is what the process may hold beyond --memory-budget: the
	// budget admits files in flight, and the Go runtime, the index's
	// mmapped segments and the ledger come on top (TestIngestUnderMemoryLimit
	// measures a whole run under a 256 MiB cgroup with the default budget).
	rssSlack = 64 << 20
	// rssKillCeiling is where the test kills the child: a reader that
	// allocates without bound must not take the shared machine down.
	rssKillCeiling = 1 << 30
	// sigtermGrace is how soon the process must exit after SIGTERM.
	sigtermGrace = 5 * time.Second
)

// procRSS reads a process's resident set (VmRSS) in bytes, 0 when gone.
func procRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// guardRSS kills cmd's process when its RSS passes rssKillCeiling; the
// returned func stops the guard and reports whether it killed.
func guardRSS(cmd *exec.Cmd) func() bool {
	var killed atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if procRSS(cmd.Process.Pid) > rssKillCeiling {
				killed.Store(true)
				_ = cmd.Process.Kill()
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() bool { close(stop); wg.Wait(); return killed.Load() }
}

// writtenVariant is a damaged file written for ingest.
type writtenVariant struct {
	v        corrupt.Variant
	source   string
	original int // records in the intact file (counts.tsv)
}

// writeVariants writes the variants to dir as <source>-<n>.evtx and
// returns them by file name.
func writeVariants(t *testing.T, dir, in string) map[string]writtenVariant {
	t.Helper()
	counts := corpus.LibevtxCounts(t, dir)
	out := map[string]writtenVariant{}
	for si, src := range corrupt.Sources() {
		data, err := os.ReadFile(filepath.Join(dir, "evtx", filepath.FromSlash(src.Path)))
		if err != nil {
			t.Fatal(err)
		}
		vs, err := corrupt.ForSource(data, src)
		if err != nil {
			t.Fatal(err)
		}
		for vi, v := range vs {
			name := fmt.Sprintf("s%d-%03d.evtx", si, vi)
			if err := os.WriteFile(filepath.Join(in, name), v.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			out[name] = writtenVariant{v: v, source: src.Path, original: counts[src.Path]}
		}
	}
	return out
}

// TestIngestCorruptedVariants ingests damaged copies of corpus files with
// the real binary under --memory-budget 256MiB (issue #15 item 1): the
// process's peak RSS stays under the budget plus rssSlack, and every file
// ends completed or failed with a reason, and no silent loss: a completed file with
// fewer events than the intact file carries problems or warnings.
func TestIngestCorruptedVariants(t *testing.T) {
	dir := corpus.Shared(t)
	in := t.TempDir()
	written := writeVariants(t, dir, in)
	data := t.TempDir()
	cmd := exec.CommandContext(t.Context(), binPath, "ingest", "--data", data, "--case", "corrupt",
		"--json", "--log-level", "warn", "--memory-budget", "256MiB", in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopGuard := guardRSS(cmd)
	err := cmd.Wait()
	if stopGuard() {
		t.Fatalf("killed: RSS passed %d MiB (stderr: %s)", rssKillCeiling>>20, lastLines(errb.String(), 10))
	}
	if err != nil {
		t.Fatalf("ingest: %v\nstderr: %s", err, lastLines(errb.String(), 20))
	}
	var sum ingestSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("summary %q: %v", out.String(), err)
	}
	t.Logf("%d variants: %d completed, %d failed, %d events in %s; peak RSS %d MiB",
		sum.Files, sum.Completed, sum.Failed, sum.Events, time.Since(start).Round(time.Millisecond), sum.PeakRSS>>20)
	if sum.Files != len(written) || sum.Completed+sum.Failed != sum.Files {
		t.Errorf("files %d (want %d): completed %d + failed %d", sum.Files, len(written), sum.Completed, sum.Failed)
	}
	if sum.PeakRSS <= 0 || sum.PeakRSS > corruptBudget+rssSlack {
		t.Errorf("peak RSS %d MiB, want within (0, %d MiB]", sum.PeakRSS>>20, (corruptBudget+rssSlack)>>20)
	}

	fout, _, err := runBin(t, nil, "files", "--data", data, "--case", "corrupt", "--json", "--log-level", "warn")
	if err != nil {
		t.Fatalf("files: %v", err)
	}
	var files []store.File
	if err := json.Unmarshal([]byte(fout), &files); err != nil {
		t.Fatalf("files --json: %v", err)
	}
	if len(files) != len(written) {
		t.Errorf("files --json lists %d files, want %d", len(files), len(written))
	}
	for _, f := range files {
		w, ok := written[filepath.Base(f.Name)]
		if !ok {
			t.Errorf("unexpected file %q", f.Name)
			continue
		}
		name := w.source + ": " + w.v.Name
		switch f.State {
		case store.StateCompleted:
			if f.Events < int64(w.original) && len(f.Problems) == 0 && len(f.Warnings) == 0 {
				t.Errorf("%s: completed with %d of %d events and no problem or warning", name, f.Events, w.original)
			}
			if w.v.Truncated && !f.Truncated {
				t.Errorf("%s: truncated copy not flagged truncated", name)
			}
		case store.StateFailed:
			if strings.TrimSpace(f.Error) == "" {
				t.Errorf("%s: failed without a reason", name)
			}
		default:
			t.Errorf("%s: state %q, want completed or failed", name, f.State)
		}
	}
}

// logWatch collects a process's log and closes seen when a line
// containing want has been written.
type logWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	done bool
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && strings.Contains(w.buf.String(), w.want) {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestSIGTERMDuringHostileIngest sends SIGTERM to an ingest of copies of
// the issue #15 one-byte variant (0x42303 of security.evtx) once the
// import is recorded: the process must exit within sigtermGrace.
func TestSIGTERMDuringHostileIngest(t *testing.T) {
	dir := corpus.Shared(t)
	b, err := os.ReadFile(filepath.Join(dir, "evtx", "omerbenamram", "security.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	hostile := corrupt.SetByte(b, 0x42303, 0x51).Bytes()
	in := t.TempDir()
	// Distinct copies (k+1 bytes appended after the last chunk), so the
	// ingest is still busy when the signal comes.
	for k := range 8 {
		p := filepath.Join(in, fmt.Sprintf("hostile-%d.evtx", k))
		if err := os.WriteFile(p, append(bytes.Clone(hostile), make([]byte, k+1)...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	data := t.TempDir()
	cmd := exec.Command(binPath, "ingest", "--data", data, "--case", "hostile",
		"--log-level", "info", "--memory-budget", "256MiB", in)
	logw := &logWatch{want: "import recorded", seen: make(chan struct{})}
	cmd.Stderr = logw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopGuard := guardRSS(cmd)
	recorded := logw.seen
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	select {
	case <-recorded:
	case err := <-exited:
		stopGuard()
		t.Fatalf("ingest ended before the import was recorded: %v", err)
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-exited
		stopGuard()
		t.Fatal("no \"import recorded\" log line within 2 minutes")
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Logf("SIGTERM: %v (process already gone)", err)
	}
	select {
	case err := <-exited:
		t.Logf("exited %s after SIGTERM: %v", time.Since(sent).Round(time.Millisecond), err)
	case <-time.After(sigtermGrace):
		_ = cmd.Process.Kill()
		<-exited
		t.Errorf("still running %s after SIGTERM (killed); log:\n%s", sigtermGrace, lastLines(logw.String(), 10))
	}
	if stopGuard() {
		t.Errorf("killed: RSS passed %d MiB", rssKillCeiling>>20)
	}
}
