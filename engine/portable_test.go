package engine_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"casescope/engine"
	"casescope/engine/ioc"
	"casescope/internal/corpus"
	"casescope/store"
)

// openRigAt opens a ledger and a started engine on an existing data
// directory; close (also run at cleanup, once) shuts both down so the
// directory can be copied.
func openRigAt(t *testing.T, data string) (*rig, func()) {
	t.Helper()
	led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := engine.New(engine.Config{DataDir: data, BatchSize: 500}, log, led, nil)
	// A few embedded rules that hit the inputs, not all 2,400: compiling
	// them all per rig made these tests slow under -race.
	opts := engine.RuleOptions{NoBuiltin: true, Dir: portableRules(t)}
	rs, err := engine.LoadRules(opts)
	if err != nil {
		t.Fatal(err)
	}
	eng.Detection().SetRules(rs)
	eng.SetRuleOptions(opts)
	if err := eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	closed := false
	closeFn := func() {
		if closed {
			return
		}
		closed = true
		if err := eng.Close(context.Background()); err != nil {
			t.Errorf("close engine: %v", err)
		}
		if err := led.Close(); err != nil {
			t.Errorf("close ledger: %v", err)
		}
	}
	t.Cleanup(closeFn)
	return &rig{eng: eng, ledger: led, data: data}, closeFn
}

// portableRules copies three embedded Sigma rules that hit the portable
// inputs into a folder (the same content each call, so the rule-set
// identity matches across rigs).
func portableRules(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"proc_creation_win_susp_eventlog_clear.yml", "proc_creation_win_reg_susp_paths.yml", "proc_creation_win_reg_dumping_sensitive_hives.yml"} {
		b, err := os.ReadFile(filepath.Join("sigma", "rules", "windows", "process_creation", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// portableInputs are a few small corpus files with Sigma hits, IOC
// matches and one zero-event file (archived), so every kind of record a
// case holds is exercised cheaply.
func portableInputs(t *testing.T) []string {
	t.Helper()
	dir := corpus.Shared(t)
	return []string{
		filepath.Join(dir, "evtx", "evtx-attack-samples", "AutomatedTestingTools", "PanacheSysmon_vs_AtomicRedTeam01.evtx"),
		filepath.Join(dir, "evtx", "deepbluecli", "sliver-sysmon.evtx"),
		corpus.Fixture(t, "Security_short_selected.evtx"),
		corpus.Fixture(t, "Empty.evtx"),
	}
}

// buildPortableCase ingests the inputs, adds IOCs (re-hunted), and tags
// and annotates two events.
func buildPortableCase(t *testing.T, r *rig, name string) store.Case {
	t.Helper()
	c, _ := r.ingest(t, name, portableInputs(t)...)
	list := []ioc.IOC{{Type: ioc.TypeFilename, Value: "cmd.exe"}, {Type: ioc.TypeUsername, Value: "IEUser"}}
	_, job, err := r.eng.AddIOCs(c.ID, list, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.WaitJob(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	page, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Query: "EventID:1", Size: 2, Asc: true})
	if err != nil || len(page.Hits) < 2 {
		t.Fatalf("events to tag: %d, err %v", len(page.Hits), err)
	}
	for i, h := range page.Hits {
		tag := store.Tag{DocID: h.ID, Tags: []string{"lateral-movement"}, Starred: i == 0, Note: "note " + h.ID, By: "tester"}
		if _, err := r.eng.TagEvent(t.Context(), c.ID, tag); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// caseSnapshot is what an analyst sees of a case, independent of its ID
// and of where the data directory is: every file's record and on-disk
// content hash, search totals, Sigma and IOC hits, tags and notes.
type caseSnapshot struct {
	Files  []string
	Totals map[string]uint64
	Sigma  []engine.RuleSummary
	IOCs   []string
	Tags   []string
}

func snapshotCase(t *testing.T, r *rig, caseID uint64) caseSnapshot {
	t.Helper()
	var s caseSnapshot
	files, err := r.ledger.Files(caseID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		sum := "-"
		if f.Path != "" {
			b, err := os.ReadFile(f.Path)
			if err != nil {
				t.Fatalf("evidence of %s: %v", f.Name, err)
			}
			h := sha256.Sum256(b)
			sum = hex.EncodeToString(h[:])
		}
		s.Files = append(s.Files, strings.Join([]string{f.Name, f.SHA256, sum, f.State, f.Error,
			jsonOf(t, []any{f.ID, f.Events, f.Hidden, f.ZeroEvents, f.SigmaHits, f.IOCHits, f.DuplicateOf})}, " "))
	}
	s.Totals = map[string]uint64{}
	for _, q := range []string{"", "EventID:1", "sigma.level:high", "sigma.level:medium", "ioc:*", "tag:lateral-movement", "tag:starred", "cmd.exe"} {
		page, err := r.eng.Search(t.Context(), caseID, store.SearchRequest{Query: q, Size: 1})
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		s.Totals[q] = page.Total
	}
	if s.Sigma, err = r.eng.SigmaSummary(caseID); err != nil {
		t.Fatal(err)
	}
	views, err := r.eng.IOCs(caseID)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		v.CaseID = 0
		s.IOCs = append(s.IOCs, jsonOf(t, v))
	}
	sort.Strings(s.IOCs)
	err = r.ledger.Tags(caseID, 0, func(tg *store.Tag) error {
		s.Tags = append(s.Tags, jsonOf(t, tg))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sameSnapshot(t *testing.T, got, want caseSnapshot) {
	t.Helper()
	g, w := jsonOf(t, got), jsonOf(t, want)
	if g != w {
		t.Errorf("case differs:\ngot  %s\nwant %s", g, w)
	}
	if want.Totals[""] == 0 || len(want.Sigma) == 0 || want.Totals["ioc:*"] == 0 || len(want.Tags) == 0 {
		t.Errorf("snapshot too thin to compare: %s", w)
	}
}

// TestDataDirRelocates copies a data directory with cp -a, deletes the
// original, and opens the copy: doctor is clean and the case reads the
// same. The legacy variant first rewrites the ledger as the release
// before relative paths wrote it (absolute paths, no marker), so opening
// the copy also migrates it.
func TestDataDirRelocates(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		name := "relative"
		if legacy {
			name = "legacy-absolute"
		}
		t.Run(name, func(t *testing.T) {
			orig := filepath.Join(t.TempDir(), "data")
			r, closeOrig := openRigAt(t, orig)
			c := buildPortableCase(t, r, "moving")
			want := snapshotCase(t, r, c.ID)
			closeOrig()
			if legacy {
				writeLegacyPaths(t, orig)
			}
			moved := filepath.Join(t.TempDir(), "elsewhere")
			if out, err := exec.Command("cp", "-a", orig, moved).CombinedOutput(); err != nil {
				t.Fatalf("cp -a: %v: %s", err, out)
			}
			if err := os.RemoveAll(orig); err != nil {
				t.Fatal(err)
			}
			r2, _ := openRigAt(t, moved)
			if ps, err := r2.eng.Doctor(t.Context(), engine.DoctorOptions{}); err != nil || len(ps) != 0 {
				t.Fatalf("doctor on the copy: problems %+v, err %v", ps, err)
			}
			files, _ := r2.ledger.Files(c.ID)
			for _, f := range files {
				if f.Path != "" && !strings.HasPrefix(f.Path, moved+string(filepath.Separator)) {
					t.Errorf("file %s: path %s outside the copy %s", f.Name, f.Path, moved)
				}
			}
			sameSnapshot(t, snapshotCase(t, r2, c.ID), want)
		})
	}
}

// writeLegacyPaths makes a closed ledger look as the previous release
// wrote it: every file record's path absolute (under data) and no
// relative-paths marker in meta.
func writeLegacyPaths(t *testing.T, data string) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(data, "ledger.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("meta")).Delete([]byte("paths")); err != nil {
			return err
		}
		b := tx.Bucket([]byte("files"))
		type kv struct{ k, v []byte }
		var out []kv
		err := b.ForEach(func(k, v []byte) error {
			var m map[string]any
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			p, _ := m["path"].(string)
			if p == "" || filepath.IsAbs(p) {
				t.Errorf("stored path %q: want relative", p)
				return nil
			}
			m["path"] = filepath.Join(data, p)
			nv, err := json.Marshal(m)
			out = append(out, kv{append([]byte(nil), k...), nv})
			return err
		})
		if err != nil {
			return err
		}
		for _, x := range out {
			if err := b.Put(x.k, x.v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCaseArchiveRoundTrip exports a case, deletes it, and imports the
// archive into a fresh data directory elsewhere: the case reads the same
// (search totals, Sigma and IOC hits, tags and notes, evidence bytes),
// and the import re-indexed it from the evidence with the same rules.
// Damaged archives (a flipped byte, a truncation) and a taken name are
// refused without leaving anything behind.
func TestCaseArchiveRoundTrip(t *testing.T) {
	a, _ := openRigAt(t, filepath.Join(t.TempDir(), "a"))
	c := buildPortableCase(t, a, "travel")
	// The case's rule packs travel (the portable rules are custom: the
	// choice changes no hit).
	packs := []string{"core", "threat-hunting"}
	if _, err := a.ledger.SetCaseRulePacks(c.ID, packs); err != nil {
		t.Fatal(err)
	}
	want := snapshotCase(t, a, c.ID)
	archive := filepath.Join(t.TempDir(), "travel.tar")
	out, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.eng.ExportCase(t.Context(), c.ID, out, engine.ExportOptions{User: "tester", Version: "test"})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if m.ExportedBy != "tester" || m.Files != 4 || len(m.Members) < 9 || m.Rules.CustomSHA256 == "" || m.Rules.Loaded != 3 {
		t.Errorf("manifest: by %q, files %d, %d members, rules %+v", m.ExportedBy, m.Files, len(m.Members), m.Rules)
	}
	if _, err := a.eng.DeleteCase(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a.eng.CaseDir(c.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("deleted case's folder: stat err %v, want not exist", err)
	}

	b, _ := openRigAt(t, filepath.Join(t.TempDir(), "b"))
	blob, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	wantCases := 0
	refused := func(name string, data []byte, opts engine.ImportOptions, want error) {
		t.Helper()
		_, err := b.eng.ImportCase(t.Context(), bytes.NewReader(data), opts)
		if !errors.Is(err, want) {
			t.Errorf("%s: err %v, want %v", name, err, want)
		}
		if cases, _ := b.ledger.Cases(); len(cases) != wantCases {
			t.Errorf("%s: %d cases after refusal, want %d", name, len(cases), wantCases)
		}
		if left, _ := os.ReadDir(filepath.Join(b.data, "transfer")); len(left) != 0 {
			t.Errorf("%s: staging left behind: %v", name, left)
		}
		if left, _ := os.ReadDir(filepath.Join(b.data, "cases")); len(left) != wantCases {
			t.Errorf("%s: case folders %v, want %d", name, left, wantCases)
		}
	}
	for _, at := range []int{len(blob) / 3, len(blob) - 2000} {
		flipped := bytes.Clone(blob)
		flipped[at] ^= 0x40
		refused(fmt.Sprintf("byte %d of %d flipped", at, len(blob)), flipped, engine.ImportOptions{}, engine.ErrArchive)
	}
	for _, n := range []int{len(blob) / 2, len(blob) - 1536, 700} {
		refused(fmt.Sprintf("truncated to %d of %d bytes", n, len(blob)), blob[:n], engine.ImportOptions{}, engine.ErrArchive)
	}

	res, err := b.eng.ImportCase(t.Context(), bytes.NewReader(blob), engine.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantCases = 1
	if res.RulesDiffer || res.Files != 4 || res.Reindexing != 3 {
		t.Errorf("import: %+v", res)
	}
	if err := b.eng.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ps, err := b.eng.Doctor(t.Context(), engine.DoctorOptions{}); err != nil || len(ps) != 0 {
		t.Errorf("doctor after import: problems %+v, err %v", ps, err)
	}
	got := snapshotCase(t, b, res.Case.ID)
	sameSnapshot(t, got, want)
	if res.Case.Name != "travel" {
		t.Errorf("imported case name %q", res.Case.Name)
	}
	if ic, err := b.ledger.Case(res.Case.ID); err != nil || !slices.Equal(ic.RulePacks, packs) {
		t.Errorf("imported case's rule packs %v (%v), want %v", ic.RulePacks, err, packs)
	}
	refused("same name again", blob, engine.ImportOptions{}, store.ErrExists)
	again, err := b.eng.ImportCase(t.Context(), bytes.NewReader(blob), engine.ImportOptions{As: "travel-2"})
	if err != nil || again.Case.Name != "travel-2" {
		t.Fatalf("import --as: %+v, err %v", again.Case, err)
	}
}
