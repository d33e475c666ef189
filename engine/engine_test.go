package engine_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"

	"casescope/engine"
	"casescope/internal/corpus"
	"casescope/store"
)

type rig struct {
	eng    *engine.Engine
	ledger *store.Ledger
	data   string
}

func newBenchRig(b *testing.B) *rig {
	b.Helper()
	return newRigTB(b, true)
}

func newRig(t *testing.T, start bool) *rig {
	t.Helper()
	return newRigTB(t, start)
}

func newRigTB(t testing.TB, start bool) *rig {
	t.Helper()
	return newRigStart(t, engine.Config{BatchSize: 500}, start)
}

// newRigConfig is a started rig with cfg (DataDir set by the rig).
func newRigConfig(t testing.TB, cfg engine.Config) *rig {
	t.Helper()
	return newRigStart(t, cfg, true)
}

func newRigStart(t testing.TB, cfg engine.Config, start bool) *rig {
	t.Helper()
	data := t.TempDir()
	led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.DataDir = data
	eng := engine.New(cfg, log, led, nil)
	r := &rig{eng: eng, ledger: led, data: data}
	t.Cleanup(func() {
		if err := r.eng.Close(context.Background()); err != nil {
			t.Errorf("close engine: %v", err)
		}
		if err := led.Close(); err != nil {
			t.Errorf("close ledger: %v", err)
		}
	})
	if start {
		if err := eng.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *rig) ingest(t *testing.T, caseName string, paths ...string) (store.Case, engine.ImportResult) {
	t.Helper()
	c, err := r.ledger.CaseByName(caseName)
	if err != nil {
		c, err = r.ledger.CreateCase(caseName, "")
		if err != nil {
			t.Fatal(err)
		}
	}
	res, err := r.eng.Import(t.Context(), c.ID, paths)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.eng.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c, res
}

// truth reads expected/counts.tsv: path relative to evtx/ → the records
// an ingest indexes (libevtx's allocated plus its live recovered records,
// corpus.Expected), for the files where both independent parsers agree.
func truth(t *testing.T, dir string) map[string]int {
	t.Helper()
	expected := corpus.Expected(t, dir)
	out := map[string]int{}
	for _, c := range corpus.Counts(t, dir) {
		if c.Agree() {
			out[c.Path] = expected[c.Path]
		}
	}
	return out
}

// TestIngestCorpusCounts ingests the whole shared corpus once: every
// file's indexed and recorded events equal libevtx's count where the
// parsers agree, record identity holds for every file
// (checkRecordIdentity), and re-ingesting the folder adds nothing.
func TestIngestCorpusCounts(t *testing.T) {
	dir := corpus.Shared(t)
	want := truth(t, dir)
	r := newRig(t, true)
	c, res := r.ingest(t, "corpus", filepath.Join(dir, "evtx"))
	if res.Rejected != 0 {
		t.Errorf("rejected = %d, want 0", res.Rejected)
	}
	files, err := r.ledger.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := r.eng.Index(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var sum, wantSum int64
	checked := 0
	for _, f := range files {
		rel := strings.TrimPrefix(f.Name, "evtx/")
		if _, err := os.Stat(f.Path); err != nil {
			t.Errorf("%s: recorded path %s missing: %v", f.Name, f.Path, err)
		}
		if f.State != store.StateCompleted {
			t.Errorf("%s: state %s (%s), want completed", f.Name, f.State, f.Error)
		}
		n, err := idx.CountFile(t.Context(), f.ID)
		if err != nil {
			t.Fatal(err)
		}
		sum += int64(n)
		w, ok := want[rel]
		if !ok {
			continue // the parsers disagree on this file
		}
		checked++
		wantSum += int64(w)
		if int(n) != w || f.Events != int64(w) {
			t.Errorf("%s: indexed %d, ledger %d, want %d", rel, n, f.Events, w)
		}
		if w == 0 && (!f.Hidden || !strings.Contains(f.Path, "/archive/")) {
			t.Errorf("%s: zero-event file not archived and hidden: %+v", rel, f)
		}
	}
	if checked != len(want) {
		t.Errorf("checked %d files, want %d", checked, len(want))
	}
	total, err := idx.Count()
	if err != nil {
		t.Fatal(err)
	}
	if int64(total) != sum {
		t.Errorf("index holds %d docs, files sum to %d", total, sum)
	}
	t.Logf("case total %d events; agreeing files sum to %d", total, wantSum)

	// Record identity on the same ingest (a second ingest of the corpus
	// is the costliest thing this package could do under -race).
	t.Run("record identity", func(t *testing.T) { checkRecordIdentity(t, r, c) })

	// Re-ingesting the same folder adds nothing: every file is already
	// recorded from the same path with the same content.
	_, res2 := r.ingest(t, "corpus", filepath.Join(dir, "evtx"))
	if res2.AlreadyRecorded != len(files) || len(res2.FileIDs) != 0 {
		t.Errorf("re-ingest: %d already recorded, %d new records; want %d and 0", res2.AlreadyRecorded, len(res2.FileIDs), len(files))
	}
	if files2, err := r.ledger.Files(c.ID); err != nil || len(files2) != len(files) {
		t.Errorf("re-ingest: %d records (err %v), want %d", len(files2), err, len(files))
	}
	total2, err := idx.Count()
	if err != nil {
		t.Fatal(err)
	}
	if total2 != total {
		t.Errorf("re-ingest changed the index from %d to %d docs", total, total2)
	}
}

// TestIngestFixtures runs on a fresh clone with the in-repo fixtures.
func TestIngestFixtures(t *testing.T) {
	r := newRig(t, true)
	c, res := r.ingest(t, "fixtures", filepath.Join(corpus.RepoRoot(t), "testdata"))
	files, err := r.ledger.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		state  string
		events int64
	}{
		"testdata/Security_short_selected.evtx":     {store.StateCompleted, 7},
		"testdata/Application_no_crc32.evtx":        {store.StateCompleted, 17},
		"testdata/LanguagePackSetup_truncated.evtx": {store.StateCompleted, 16},
		"testdata/Empty.evtx":                       {store.StateCompleted, 0},
	}
	seen := 0
	for _, f := range files {
		w, ok := want[f.Name]
		if !ok {
			// Licence texts and notes are not EVTX: rejected with a reason.
			if f.State != store.StateFailed || !strings.Contains(f.Error, "not an EVTX file") {
				t.Errorf("%s: state %s error %q, want failed as not EVTX", f.Name, f.State, f.Error)
			}
			continue
		}
		seen++
		if f.State != w.state || f.Events != w.events {
			t.Errorf("%s: %s/%d, want %s/%d (%s)", f.Name, f.State, f.Events, w.state, w.events, f.Error)
		}
	}
	if seen != len(want) {
		t.Errorf("saw %d fixtures, want %d", seen, len(want))
	}
	if res.Rejected == 0 {
		t.Errorf("rejected = 0, want the non-EVTX files rejected")
	}
}

// TestVanishedFile: a file deleted after being queued fails with a message
// naming the path, and the rest of the run completes.
func TestVanishedFile(t *testing.T) {
	r := newRig(t, false)
	c, err := r.ledger.CreateCase("vanish", "")
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	for _, name := range []string{"Security_short_selected.evtx", "Application_no_crc32.evtx"} {
		b, err := os.ReadFile(corpus.Fixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.eng.Import(t.Context(), c.ID, []string{src}); err != nil {
		t.Fatal(err)
	}
	files, err := r.ledger.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var gone store.File
	for _, f := range files {
		if strings.HasSuffix(f.Name, "Application_no_crc32.evtx") {
			gone = f
		}
	}
	if gone.State != store.StateQueued {
		t.Fatalf("file state %q before start, want queued", gone.State)
	}
	if err := os.Remove(gone.Path); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	files, _ = r.ledger.Files(c.ID)
	for _, f := range files {
		switch {
		case f.ID == gone.ID:
			if f.State != store.StateFailed || f.Error != "file not found at "+gone.Path {
				t.Errorf("vanished file: %s %q, want failed naming %s", f.State, f.Error, gone.Path)
			}
		case f.State != store.StateCompleted || f.Events != 7:
			t.Errorf("other file: %s/%d, want completed/7", f.State, f.Events)
		}
	}
}

func TestMalformedFiles(t *testing.T) {
	dir := corpus.Shared(t)
	r := newRig(t, true)
	c, _ := r.ingest(t, "malformed", filepath.Join(dir, "evtx", "malformed"))
	files, err := r.ledger.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 10 {
		t.Fatalf("files = %d, want 10", len(files))
	}
	for _, f := range files {
		switch {
		case f.State == store.StateCompleted && f.Events > 0:
		case f.State == store.StateFailed && f.Error != "":
		default:
			t.Errorf("%s: state %s events %d error %q", f.Name, f.State, f.Events, f.Error)
		}
	}
}

// TestIndexFormatRebuild: an index written with another layout is rebuilt
// from the evidence when the case is next opened: same events, same
// search answers, tags re-applied, every file completed again.
func TestIndexFormatRebuild(t *testing.T) {
	r := newRig(t, true)
	c, _ := r.ingest(t, "fixtures", filepath.Join(corpus.RepoRoot(t), "testdata"))
	const events = 7 + 17 + 16 // the fixtures' record counts (TestIngestFixtures)
	page, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Query: "Channel:Security", Size: 1})
	if err != nil || len(page.Hits) == 0 {
		t.Fatalf("search: %v, %d hits", err, len(page.Hits))
	}
	logons := page.Total
	tagged := page.Hits[0].ID
	// A tag written by a format-2 build, keyed by (file, chunk,
	// EventRecordID): it must follow its record into the new layout.
	hit := page.Hits[0]
	legacy := store.LegacyRef(hit.FileID, hit.Event).ID()
	if err := r.ledger.PutTag(c.ID, store.Tag{DocID: legacy, FileID: hit.FileID, Time: hit.Event.TimeCreated, Tags: []string{"lateral"}}); err != nil {
		t.Fatal(err)
	}
	before, err := r.ledger.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.eng.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Mark the index as written by another layout.
	dir := filepath.Join(r.eng.CaseDir(c.ID), "index")
	old, err := bleve.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.SetInternal([]byte("casescope.format"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	r.eng = engine.New(engine.Config{DataDir: r.data, BatchSize: 500}, slog.New(slog.NewTextHandler(io.Discard, nil)), r.ledger, nil)
	if err := r.eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	idx, err := r.eng.Index(c.ID)
	if err != nil {
		t.Fatalf("open outdated index: %v", err)
	}
	if err := r.eng.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, err := idx.Count(); err != nil || n != events {
		t.Errorf("rebuilt index holds %d events (%v), want %d", n, err, events)
	}
	for q, want := range map[string]uint64{"Channel:Security": logons, "tag:lateral": 1, "": events} {
		p, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Query: q, Size: 1})
		if err != nil || p.Total != want {
			t.Errorf("%q after rebuild: %d (%v), want %d", q, p.Total, err, want)
		}
	}
	if tg, err := r.ledger.Tag(c.ID, tagged); err != nil || len(tg.Tags) != 1 || tg.Tags[0] != "lateral" {
		t.Errorf("tag under the new ID %s: %+v (%v), want lateral", tagged, tg, err)
	}
	if tg, err := r.ledger.Tag(c.ID, legacy); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("legacy tag %s still stored: %+v (%v)", legacy, tg, err)
	}
	after, err := r.ledger.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range after {
		if f.State != before[i].State || f.Events != before[i].Events || f.Path != before[i].Path {
			t.Errorf("%s: %s/%d at %s after rebuild, was %s/%d at %s", f.Name, f.State, f.Events, f.Path,
				before[i].State, before[i].Events, before[i].Path)
		}
	}
	if _, err := os.Stat(dir + ".old"); !os.IsNotExist(err) {
		t.Errorf("old index left behind: %v", err)
	}
}
