package engine_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"casescope/engine"
	"casescope/engine/ioc"
	"casescope/internal/corpus"
	"casescope/store"
)

// A file's hits are stored in pieces as it is read (Config.HitsPiece),
// so a large log's hits are never held whole: stored in pieces of 7 they
// are exactly those of one piece per file, the index agrees with them,
// and a second attempt at a file replaces the first's instead of adding
// to them.
func TestHitsStoredInPieces(t *testing.T) {
	dir := corpus.Shared(t)
	paths := []string{
		filepath.Join(dir, "evtx", "omerbenamram", "sysmon.evtx"),
		filepath.Join(dir, "evtx", "omerbenamram", "security.evtx"),
	}
	list := []ioc.IOC{
		{Type: ioc.TypeUsername, Value: "IEUser"},
		{Type: ioc.TypeSID, Value: "S-1-5-18"},
		{Type: ioc.TypeFilename, Value: "cmd.exe"},
	}
	ingest := func(piece int) (*rig, store.Case) {
		r := newRigConfig(t, engine.Config{BatchSize: 500, HitsPiece: piece})
		c, err := r.ledger.CreateCase("c", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, job, err := r.eng.AddIOCs(c.ID, list, "test"); err != nil {
			t.Fatal(err)
		} else if _, err := r.eng.WaitJob(t.Context(), job.ID); err != nil {
			t.Fatal(err)
		}
		c, _ = r.ingest(t, "c", paths...)
		return r, c
	}
	whole, wc := ingest(1 << 30)
	small, sc := ingest(7)
	want, got := hitSet(t, whole, wc.ID), hitSet(t, small, sc.ID)
	if len(want) < 100 {
		t.Fatalf("only %d IOC hits: the pieces of 7 are not exercised", len(want))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("hits stored in pieces differ: %d lines against %d", len(got), len(want))
	}
	records := func(r *rig, caseID uint64) (n int) {
		if err := r.ledger.Hits(caseID, 0, func(*store.EventHits) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := records(small, sc.ID)
	if w := records(whole, wc.ID); n != w {
		t.Fatalf("%d hit records in pieces, %d whole", n, w)
	}
	page, err := small.eng.Search(t.Context(), sc.ID, store.SearchRequest{Query: "ioc:*", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if int(page.Total) != n {
		t.Errorf("index has %d events with IOC hits, ledger %d hit records", page.Total, n)
	}
	if ps, err := small.eng.Doctor(t.Context(), engine.DoctorOptions{CaseID: sc.ID}); err != nil || len(ps) != 0 {
		t.Errorf("doctor after a pieced ingest: %v %v", ps, err)
	}

	// A second attempt at every file ends with the same hits, not with
	// the first attempt's beside them.
	files, err := small.ledger.Files(sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Events > 0 {
			if _, err := small.eng.RequeueFile(sc.ID, f.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := small.eng.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if again := records(small, sc.ID); again != n {
		t.Errorf("%d hit records after a second attempt, %d before", again, n)
	}
	if got := hitSet(t, small, sc.ID); !slices.Equal(got, want) {
		t.Errorf("second attempt's hits differ: %s", strings.Join(got[:min(3, len(got))], "; "))
	}
}
