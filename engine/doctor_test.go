package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"casescope/engine"
	"casescope/internal/corpus"
	"casescope/store"
)

// TestDoctorFindsAndFixes damages a healthy case in each way the doctor
// knows, checks each problem is reported, fixes, and checks the case is
// clean again with ground-truth event counts.
func TestDoctorFindsAndFixes(t *testing.T) {
	fixtures := map[string]int64{ // libevtx counts (testdata/SOURCES.md)
		"Security_short_selected.evtx":     7,
		"Application_no_crc32.evtx":        17,
		"LanguagePackSetup_truncated.evtx": 16,
	}
	src := t.TempDir()
	for name := range fixtures {
		b, err := os.ReadFile(corpus.Fixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A fourth file that will be deleted from disk: a copy with a byte
	// appended past the last chunk, so it is distinct content.
	b, err := os.ReadFile(corpus.Fixture(t, "Security_short_selected.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "doomed.evtx"), append(b, 0), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, true)
	c, _ := r.ingest(t, "doctor", src)
	if ps, err := r.eng.Doctor(t.Context(), engine.DoctorOptions{CaseID: c.ID}); err != nil || len(ps) != 0 {
		t.Fatalf("healthy case: problems %+v, err %v", ps, err)
	}
	files, _ := r.ledger.Files(c.ID)
	byName := map[string]store.File{}
	for _, f := range files {
		byName[filepath.Base(f.Name)] = f
	}
	// 1. Move a file by hand (within the case's uploads).
	moved := byName["Application_no_crc32.evtx"]
	if err := os.Rename(moved.Path, moved.Path+".moved"); err != nil {
		t.Fatal(err)
	}
	// 2. Delete a file.
	doomed := byName["doomed.evtx"]
	if err := os.Remove(doomed.Path); err != nil {
		t.Fatal(err)
	}
	// 3. Edit a record's state to indexing.
	stuck := byName["LanguagePackSetup_truncated.evtx"]
	if _, err := r.ledger.UpdateFile(c.ID, stuck.ID, func(f *store.File) error { f.State = store.StateIndexing; return nil }); err != nil {
		t.Fatal(err)
	}
	// 4. Delete some index documents.
	short := byName["Security_short_selected.evtx"]
	idx, err := r.eng.Index(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := idx.FileDocIDs(t.Context(), short.ID)
	if err != nil || len(ids) != 7 {
		t.Fatalf("doc ids %v, err %v", ids, err)
	}
	if err := idx.DeleteDocs(ids[:3]); err != nil {
		t.Fatal(err)
	}
	// 5. Leave a half-done move intent.
	if err := r.ledger.BeginMove(store.MoveIntent{CaseID: c.ID, FileID: short.ID, From: short.Path,
		To: filepath.Join(filepath.Dir(filepath.Dir(short.Path)), "archive", filepath.Base(short.Path))}); err != nil {
		t.Fatal(err)
	}
	// 6. Drop a foreign file into uploads/.
	foreign := filepath.Join(filepath.Dir(short.Path), "notes.txt")
	if err := os.WriteFile(foreign, []byte("not evidence"), 0o600); err != nil {
		t.Fatal(err)
	}

	ps, err := r.eng.Doctor(t.Context(), engine.DoctorOptions{CaseID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ kind, path string }{
		{engine.ProblemMissingFile, moved.Path},
		{engine.ProblemOrphanFile, moved.Path + ".moved"},
		{engine.ProblemMissingFile, doomed.Path},
		{engine.ProblemStuck, stuck.Path},
		{engine.ProblemCountDiffers, short.Path},
		{engine.ProblemMoveIntent, short.Path},
		{engine.ProblemOrphanFile, foreign},
	}
	for _, w := range want {
		found := false
		for _, p := range ps {
			if p.Kind == w.kind && p.Path == w.path {
				found = true
			}
		}
		if !found {
			t.Errorf("problem %s at %s not reported; got %+v", w.kind, w.path, ps)
		}
	}
	for _, p := range ps {
		if p.Kind == engine.ProblemMissingFile && p.Path == moved.Path && !strings.Contains(p.Fix, moved.Path+".moved") {
			t.Errorf("moved file fix = %q, want relocation to the moved path", p.Fix)
		}
	}

	if _, err := r.eng.Doctor(t.Context(), engine.DoctorOptions{CaseID: c.ID, Fix: true}); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	ps, err = r.eng.Doctor(t.Context(), engine.DoctorOptions{CaseID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 0 {
		t.Errorf("after fix: %+v", ps)
	}
	files, _ = r.ledger.Files(c.ID)
	for _, f := range files {
		base := filepath.Base(f.Name)
		n, err := idx.CountFile(t.Context(), f.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case f.ID == doomed.ID:
			if f.State != store.StateFailed || n != 0 {
				t.Errorf("deleted file: %s with %d docs, want failed with 0", f.State, n)
			}
		case strings.HasSuffix(f.Name, "notes.txt"):
			if f.State != store.StateFailed {
				t.Errorf("foreign file: %s, want failed (rejected)", f.State)
			}
		default:
			w, ok := fixtures[base]
			if !ok {
				t.Errorf("unexpected record %s (%s)", f.Name, f.State)
				continue
			}
			if f.State != store.StateCompleted || f.Events != w || int64(n) != w {
				t.Errorf("%s: %s ledger %d index %d, want %d", base, f.State, f.Events, n, w)
			}
		}
	}
}
