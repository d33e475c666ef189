package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"casescope/internal/corpus"
	"casescope/store"
)

// binPath is the casescope binary built once for the tests that run it.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "casescope-bin-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "casescope")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBin runs the binary; killed reports death by SIGKILL.
func runBin(t *testing.T, env []string, args ...string) (stdout string, killed bool, err error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return out.String(), true, nil
		}
		return out.String(), false, errors.New(err.Error() + ": " + errb.String())
	}
	return out.String(), false, err
}

// TestCrashSafety kills the real binary with SIGKILL at named steps of an
// ingest (during import, indexing, a zero-event move and completion),
// reruns the same command each time, and checks that the final state has
// every file's exact event count in the index, nothing pending, and every
// recorded path on disk.
func TestCrashSafety(t *testing.T) {
	dir := corpus.Shared(t)
	// The records each file's ingest indexes: libevtx's allocated records
	// plus its live recovered ones (31 in the bad-chunk-magic file).
	want := map[string]int{}
	for rel, n := range corpus.Expected(t, dir) {
		switch name := path.Base(rel); name {
		case "Security_with_size_t.evtx", "system.evtx", "Empty.evtx", "2-vss_7-System.evtx", "sysmon.evtx",
			"LM_Remote_Service02_7045.evtx", "many-events-application.evtx", "Security_short_selected.evtx",
			"sample_with_a_bad_chunk_magic.evtx":
			if _, dup := want[name]; dup {
				t.Fatalf("corpus has two files named %s", name)
			}
			want[name] = n
		}
	}
	if len(want) != 9 {
		t.Fatalf("found %d of the 9 corpus files: %v", len(want), want)
	}
	src := t.TempDir()
	err := filepath.WalkDir(filepath.Join(dir, "evtx"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if _, ok := want[d.Name()]; ok {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(src, d.Name()), b, 0o600)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each moment gets a fresh data directory, so the fault point is
	// certainly reached; one more scenario chains several kills.
	points := []string{"import-placed:3", "import-recorded", "move-intent", "move-renamed", "after-batch:2", "after-batch:7", "final-batch:3", "before-complete:2"}
	for _, p := range points {
		t.Run(p, func(t *testing.T) {
			data := t.TempDir()
			args := []string{"ingest", "--data", data, "--case", "crash", "--batch", "200", "--json", src}
			_, killed, err := runBin(t, []string{"CASESCOPE_FAULT_POINT=" + p}, args...)
			if err != nil {
				t.Fatalf("run with fault %s: %v", p, err)
			}
			if !killed {
				t.Fatalf("fault point %s was not reached", p)
			}
			if _, killed, err := runBin(t, nil, args...); err != nil || killed {
				t.Fatalf("rerun: killed=%v err=%v", killed, err)
			}
			checkCase(t, data, "crash", want)
		})
	}
	t.Run("chained", func(t *testing.T) {
		data := t.TempDir()
		args := []string{"ingest", "--data", data, "--case", "crash", "--batch", "200", "--json", src}
		kills := 0
		for _, p := range points {
			_, killed, err := runBin(t, []string{"CASESCOPE_FAULT_POINT=" + p}, args...)
			if err != nil {
				t.Fatalf("run with fault %s: %v", p, err)
			}
			if killed {
				kills++
			}
		}
		out, killed, err := runBin(t, nil, args...)
		if err != nil || killed {
			t.Fatalf("final run: killed=%v err=%v", killed, err)
		}
		var sum struct {
			Files, Duplicates, Completed int
			AlreadyRecorded              int `json:"already_recorded"`
		}
		if err := json.Unmarshal([]byte(out), &sum); err != nil {
			t.Fatalf("summary %q: %v", out, err)
		}
		// The re-run adds nothing: every file is already recorded from
		// the same path with the same content.
		if sum.Duplicates != 0 || sum.AlreadyRecorded != len(want) {
			t.Errorf("final re-run: got duplicates=%d already_recorded=%d, want 0, %d", sum.Duplicates, sum.AlreadyRecorded, len(want))
		}
		// A file in progress at three of the kills is quarantined, not
		// resumed into a crash loop; the operator's explicit requeue
		// (which resets its attempts) then completes it.
		quarantined := requeueQuarantined(t, data, "crash")
		if sum.Completed+quarantined != len(want) {
			t.Errorf("final re-run: completed %d + quarantined %d, want %d", sum.Completed, quarantined, len(want))
		}
		if quarantined > 0 {
			if _, killed, err := runBin(t, nil, args...); err != nil || killed {
				t.Fatalf("run after requeue: killed=%v err=%v", killed, err)
			}
		}
		t.Logf("%d of %d runs killed, %d file(s) quarantined", kills, len(points), quarantined)
		checkCase(t, data, "crash", want)
	})
}

// checkCase opens the data dir the binary left and compares it with want.
// copyCorpus copies the named shared-corpus files into a new temp dir,
// renamed by rename (nil keeps the name), and returns the dir.
func copyCorpus(t *testing.T, names map[string]string) string {
	t.Helper()
	dir := corpus.Shared(t)
	src := t.TempDir()
	err := filepath.WalkDir(filepath.Join(dir, "evtx"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if to, ok := names[d.Name()]; ok {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			delete(names, d.Name())
			return os.WriteFile(filepath.Join(src, to), b, 0o600)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) > 0 {
		t.Fatalf("not in the corpus: %v", names)
	}
	return src
}

// ingestJSON is the part of `ingest --json` the crash tests read.
type ingestJSON struct {
	Files, Completed, Failed, Duplicates int
	Events                               int64
	AlreadyRecorded                      int `json:"already_recorded"`
	Resumed                              int `json:"resumed"`
}

// openCase opens the ledger the binary left in data and finds caseName;
// the caller closes the ledger before running the binary again.
func openCase(t *testing.T, data, caseName string) (*store.Ledger, store.Case) {
	t.Helper()
	led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := led.CaseByName(caseName)
	if err != nil {
		led.Close()
		t.Fatal(err)
	}
	return led, c
}

// caseRecords opens the data dir's ledger and returns the case's records.
func caseRecords(t *testing.T, data, caseName string) []store.File {
	t.Helper()
	led, c := openCase(t, data, caseName)
	defer led.Close()
	files, err := led.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// evidenceBytes sums the sizes of the files under the data dir's cases,
// outside their indexes and triage summaries (each inode once: hard links
// share content).
func evidenceBytes(t *testing.T, data string) int64 {
	t.Helper()
	var n int64
	seen := map[uint64]bool{}
	err := filepath.WalkDir(filepath.Join(data, "cases"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// The index and the per-file triage summaries are derived from the
		// evidence, not evidence.
		if d.IsDir() && (d.Name() == "index" || d.Name() == "triage") {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// requeueQuarantined does what the UI's requeue does for every file
// quarantined after interrupting the process: queued, attempts reset. It
// returns how many there were; any other failure is an error.
func requeueQuarantined(t *testing.T, data, caseName string) int {
	t.Helper()
	led, c := openCase(t, data, caseName)
	defer led.Close()
	files, err := led.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if f.State != store.StateFailed {
			continue
		}
		if !strings.HasPrefix(f.Error, "interrupted the process") {
			t.Errorf("%s failed: %s", f.Name, f.Error)
			continue
		}
		n++
		if _, err := led.UpdateFile(c.ID, f.ID, func(r *store.File) error {
			r.State, r.Error, r.Attempts = store.StateQueued, "", 0
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// TestCrashLoopQuarantine: a file in progress each time the process is
// killed is quarantined at the third start instead of resumed into a
// crash loop, and the rest of the queue completes.
func TestCrashLoopQuarantine(t *testing.T) {
	src := copyCorpus(t, map[string]string{
		"many-events-application.evtx": "a_many.evtx",
		"sysmon.evtx":                  "b_sysmon.evtx",
		"Security_short_selected.evtx": "c_short.evtx",
	})
	data := t.TempDir()
	// One worker, so the first file is the one in progress at every kill.
	args := []string{"ingest", "--data", data, "--case", "loop", "--workers", "1", "--batch", "200", "--json", src}
	for i := range 3 {
		if _, killed, err := runBin(t, []string{"CASESCOPE_FAULT_POINT=after-batch"}, args...); err != nil || !killed {
			t.Fatalf("run %d: killed=%v err=%v, want killed at the first batch", i+1, killed, err)
		}
	}
	out, killed, err := runBin(t, nil, args...)
	if err != nil || killed {
		t.Fatalf("final run: killed=%v err=%v", killed, err)
	}
	var sum ingestJSON
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	want := map[string]int64{"b_sysmon.evtx": 358, "c_short.evtx": 7}
	files := caseRecords(t, data, "loop")
	if len(files) != 3 {
		t.Fatalf("records: got %d, want 3", len(files))
	}
	for _, f := range files {
		switch filepath.Base(f.Name) {
		case "a_many.evtx":
			if f.State != store.StateFailed || f.Error != "interrupted the process 3 times" || f.Events != 0 {
				t.Errorf("%s: got %s %q with %d events, want failed %q", f.Name, f.State, f.Error, f.Events, "interrupted the process 3 times")
			}
		default:
			if f.State != store.StateCompleted || f.Events != want[filepath.Base(f.Name)] {
				t.Errorf("%s: got %s (%s) with %d events, want completed with %d", f.Name, f.State, f.Error, f.Events, want[filepath.Base(f.Name)])
			}
		}
	}
	if sum.Files != 3 || sum.Completed != 2 || sum.Failed != 1 || sum.Events != 365 || sum.AlreadyRecorded != 3 {
		t.Errorf("summary: got %+v, want 3 files, 2 completed, 1 failed, 365 events, 3 already recorded", sum)
	}
	// Nothing for doctor to requeue: the quarantined file's partial
	// documents are gone and the index agrees with the ledger.
	if out, _, err := runBin(t, nil, "doctor", "--data", data, "--json"); err != nil {
		t.Errorf("doctor after quarantine: %v\n%s", err, out)
	}
}

// TestRerunAfterCrash: re-running an ingest killed mid-way adds no
// records and no disk, and its summary counts the whole import.
func TestRerunAfterCrash(t *testing.T) {
	want := map[string]int64{"system.evtx": 1881, "2-vss_7-System.evtx": 1160, "sysmon.evtx": 358,
		"many-events-application.evtx": 2216, "Security_short_selected.evtx": 7, "Empty.evtx": 0}
	names := map[string]string{}
	var events int64
	for n, e := range want {
		names[n] = n
		events += e
	}
	src := copyCorpus(t, names)
	var srcBytes int64
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range entries {
		info, err := de.Info()
		if err != nil {
			t.Fatal(err)
		}
		srcBytes += info.Size()
	}
	data := t.TempDir()
	args := []string{"ingest", "--data", data, "--case", "rerun", "--batch", "200", "--json", src}
	if _, killed, err := runBin(t, []string{"CASESCOPE_FAULT_POINT=after-batch:4"}, args...); err != nil || !killed {
		t.Fatalf("first run: killed=%v err=%v, want killed", killed, err)
	}
	recs0, disk0 := len(caseRecords(t, data, "rerun")), evidenceBytes(t, data)
	for run := 1; run <= 2; run++ {
		out, killed, err := runBin(t, nil, args...)
		if err != nil || killed {
			t.Fatalf("re-run %d: killed=%v err=%v", run, killed, err)
		}
		var sum ingestJSON
		if err := json.Unmarshal([]byte(out), &sum); err != nil {
			t.Fatalf("summary %q: %v", out, err)
		}
		recs, disk := len(caseRecords(t, data, "rerun")), evidenceBytes(t, data)
		t.Logf("re-run %d: records %d → %d, evidence %d → %d bytes (sources %d); summary %+v", run, recs0, recs, disk0, disk, srcBytes, sum)
		if recs != len(want) || disk != srcBytes {
			t.Errorf("re-run %d: %d records and %d evidence bytes, want %d and %d (nothing added)", run, recs, disk, len(want), srcBytes)
		}
		if sum.Files != len(want) || sum.Completed != len(want) || sum.Events != events || sum.Duplicates != 0 || sum.AlreadyRecorded != len(want) {
			t.Errorf("re-run %d summary: got %+v, want %d files completed, %d events, no duplicates, all already recorded", run, sum, len(want), events)
		}
		if run == 1 && sum.Resumed == 0 {
			t.Errorf("re-run 1 summary: resumed 0, want the files the killed run left")
		}
	}
}

func checkCase(t *testing.T, data, caseName string, want map[string]int) {
	t.Helper()
	led, c := openCase(t, data, caseName)
	defer led.Close()
	idx, err := store.OpenIndex(filepath.Join(data, "cases", strconv.FormatUint(c.ID, 10), "index"), store.IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	files, err := led.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	originals := map[string]int{}
	var docSum uint64
	for _, f := range files {
		if _, err := os.Stat(f.Path); err != nil {
			t.Errorf("%s: recorded path %s: %v", f.Name, f.Path, err)
		}
		if store.Pending(f.State) {
			t.Errorf("%s left %s", f.Name, f.State)
		}
		n, err := idx.CountFile(t.Context(), f.ID)
		if err != nil {
			t.Fatal(err)
		}
		docSum += n
		if f.State == store.StateDuplicate {
			if n != 0 {
				t.Errorf("%s: duplicate has %d documents", f.Name, n)
			}
			continue
		}
		base := filepath.Base(f.Name)
		originals[base]++
		if int(n) != want[base] || int(f.Events) != want[base] || f.State != store.StateCompleted {
			t.Errorf("%s: %s (%s), index %d, ledger %d, want %d", base, f.State, f.Error, n, f.Events, want[base])
		}
		if want[base] == 0 && !strings.Contains(f.Path, string(filepath.Separator)+"archive"+string(filepath.Separator)) {
			t.Errorf("%s: zero-event file at %s, want archive/", base, f.Path)
		}
	}
	for name := range want {
		if originals[name] != 1 {
			t.Errorf("%s recorded %d times as an original, want 1", name, originals[name])
		}
	}
	total, err := idx.Count()
	if err != nil {
		t.Fatal(err)
	}
	if total != docSum {
		t.Errorf("index holds %d docs, files account for %d", total, docSum)
	}
}

// TestIOCExportRoundTrip: IOCs added from a CSV come back out of --export
// and parse to the same set.
func TestIOCExportRoundTrip(t *testing.T) {
	data := t.TempDir()
	in := filepath.Join(t.TempDir(), "in.csv")
	content := "type,value,description\nip,10.1.2.3,c2 server\ndomain,evil.example,phishing\nfilename,mimikatz.exe,\"tool, renamed\"\n"
	if err := os.WriteFile(in, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runBin(t, nil, "iocs", "--data", data, "--case", "x", "--add", in, "--log-level", "warn"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.csv")
	if _, _, err := runBin(t, nil, "iocs", "--data", data, "--case", "x", "--export", out, "--log-level", "warn"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"10.1.2.3", "evil.example", "mimikatz.exe", "c2 server", "tool, renamed"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("export lacks %q:\n%s", want, b)
		}
	}
	if n := strings.Count(strings.TrimSpace(string(b)), "\n"); n != 3 {
		t.Errorf("export has %d data lines, want 3:\n%s", n, b)
	}
}
