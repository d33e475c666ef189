package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
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
	want := map[string]int{
		"Security_with_size_t.evtx":          636,
		"system.evtx":                        1881,
		"Empty.evtx":                         0,
		"2-vss_7-System.evtx":                1160,
		"sysmon.evtx":                        358,
		"LM_Remote_Service02_7045.evtx":      3,
		"many-events-application.evtx":       2216,
		"Security_short_selected.evtx":       7,
		"sample_with_a_bad_chunk_magic.evtx": 267,
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
		var sum struct{ Files, Duplicates int }
		if err := json.Unmarshal([]byte(out), &sum); err != nil {
			t.Fatalf("summary %q: %v", out, err)
		}
		if sum.Duplicates != len(want) {
			t.Errorf("final re-run duplicates = %d, want %d", sum.Duplicates, len(want))
		}
		t.Logf("%d of %d runs killed", kills, len(points))
		checkCase(t, data, "crash", want)
	})
}

// checkCase opens the data dir the binary left and compares it with want.
func checkCase(t *testing.T, data, caseName string, want map[string]int) {
	t.Helper()
	led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	c, err := led.CaseByName(caseName)
	if err != nil {
		t.Fatal(err)
	}
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
