package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"casescope/internal/corpus"
)

// duBytes is `du -sb` of dir: what the data directory occupies.
func duBytes(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("du", "-sb", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[0]
}

// TestCaseCLIPortability runs the binary as an analyst would: ingest,
// copy the data directory with cp -a and delete the original (doctor on
// the copy is clean, hits and search identical), export the case, delete
// it (its disk freed), import the archive into a fresh data directory
// (same hits and search), refuse a second import under the taken name,
// and accept it with --as.
func TestCaseCLIPortability(t *testing.T) {
	shared := corpus.Shared(t)
	inputs := []string{
		filepath.Join(shared, "evtx", "deepbluecli", "sliver-sysmon.evtx"),
		corpus.Fixture(t, "Security_short_selected.evtx"),
		corpus.Fixture(t, "Empty.evtx"),
	}
	// Three embedded rules that hit sliver-sysmon, instead of all 2,400:
	// each command here loads the rules, and this keeps the test cheap.
	rules := t.TempDir()
	for _, name := range []string{"proc_creation_win_susp_eventlog_clear.yml", "proc_creation_win_reg_susp_paths.yml", "proc_creation_win_reg_dumping_sensitive_hives.yml"} {
		b, err := os.ReadFile(filepath.Join("engine", "sigma", "rules", "windows", "process_creation", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rules, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"CASESCOPE_LOG_LEVEL=warn", "CASESCOPE_NO_BUILTIN_RULES=true", "CASESCOPE_RULES=" + rules}
	orig := filepath.Join(t.TempDir(), "orig")
	bin := func(args ...string) string {
		t.Helper()
		out, _, err := runBin(t, env, args...)
		if err != nil {
			t.Fatalf("casescope %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	// search is the search answer without its timing.
	search := func(data string) string {
		t.Helper()
		var v map[string]any
		if err := json.Unmarshal([]byte(bin("search", "--data", data, "--case", "port", "--limit", "3", "--json", "EventID:1")), &v); err != nil {
			t.Fatal(err)
		}
		delete(v, "took_ms")
		b, _ := json.Marshal(v)
		return string(b)
	}
	bin(append([]string{"ingest", "--data", orig, "--case", "port"}, inputs...)...)
	wantHits := bin("hits", "--data", orig, "--case", "port", "--json")
	if !strings.Contains(wantHits, "rule_id") {
		t.Fatalf("no Sigma hits to compare: %s", wantHits)
	}
	wantSearch := search(orig)

	moved := filepath.Join(t.TempDir(), "moved")
	if out, err := exec.Command("cp", "-a", orig, moved).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v %s", err, out)
	}
	if err := os.RemoveAll(orig); err != nil {
		t.Fatal(err)
	}
	bin("doctor", "--data", moved) // exit 0 only when clean
	if got := bin("hits", "--data", moved, "--case", "port", "--json"); got != wantHits {
		t.Errorf("hits on the copy differ:\n%s\nwant\n%s", got, wantHits)
	}
	if got := search(moved); got != wantSearch {
		t.Errorf("search on the copy differs:\n%s\nwant\n%s", got, wantSearch)
	}

	archive := filepath.Join(t.TempDir(), "port.tar")
	var m struct {
		ExportedBy string `json:"exported_by"`
		Files      int    `json:"files"`
		Members    []struct {
			Name   string `json:"name"`
			SHA256 string `json:"sha256"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(bin("case", "export", "--data", moved, "--case", "port", "--out", archive, "--json")), &m); err != nil {
		t.Fatal(err)
	}
	if m.Files != 3 || !strings.HasPrefix(m.ExportedBy, "cli") || len(m.Members) == 0 {
		t.Errorf("manifest: %+v", m)
	}
	before := duBytes(t, moved)
	bin("case", "delete", "--data", moved, "--case", "port")
	after := duBytes(t, moved)
	t.Logf("du -sb data dir: %s bytes before case delete, %s after", before, after)
	if _, err := os.Stat(filepath.Join(moved, "cases", "1")); !os.IsNotExist(err) {
		t.Errorf("case folder after delete: %v", err)
	}

	fresh := filepath.Join(t.TempDir(), "fresh")
	bin("case", "import", archive, "--data", fresh)
	if got := bin("hits", "--data", fresh, "--case", "port", "--json"); got != wantHits {
		t.Errorf("hits after import differ:\n%s\nwant\n%s", got, wantHits)
	}
	if got := search(fresh); got != wantSearch {
		t.Errorf("search after import differs:\n%s\nwant\n%s", got, wantSearch)
	}
	bin("doctor", "--data", fresh)
	if _, _, err := runBin(t, env, "case", "import", archive, "--data", fresh); err == nil || !strings.Contains(err.Error(), "--as") {
		t.Errorf("import under a taken name: err %v, want a refusal naming --as", err)
	}
	bin("case", "import", archive, "--data", fresh, "--as", "port-2")
}
