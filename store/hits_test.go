package store_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"casescope/store"
)

// AddHits adds to a file's stored hits (overwriting an event's earlier
// record), CompleteFile adds the last piece with the completion, and
// DropHits deletes more records than one of its transactions takes,
// leaving other files' hits alone.
func TestHitsInPieces(t *testing.T) {
	l, err := store.OpenLedger(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := l.CreateCase("c", "")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := l.AddFiles(c.ID, []store.NewFile{
		{Name: "a", SHA256: "a", Path: "/a", State: store.StateQueued},
		{Name: "b", SHA256: "b", Path: "/b", State: store.StateQueued},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b := fs[0].ID, fs[1].ID
	hits := func(fileID uint64, from, n int, rule string) []store.EventHits {
		out := make([]store.EventHits, n)
		for i := range out {
			out[i] = store.EventHits{DocID: fmt.Sprintf("d%06d", from+i), FileID: fileID, Sigma: []store.SigmaHit{{RuleID: rule}}}
		}
		return out
	}
	count := func(fileID uint64) (n int, rules map[string]int) {
		rules = map[string]int{}
		if err := l.Hits(c.ID, fileID, func(h *store.EventHits) error {
			n++
			rules[h.Sigma[0].RuleID]++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n, rules
	}
	const big = 20000 // more than two DropHits transactions' worth
	for from := 0; from < big; from += 5000 {
		if err := l.AddHits(c.ID, a, hits(a, from, 5000, "r1")); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.AddHits(c.ID, a, hits(a, 100, 10, "r2")); err != nil { // overwrites 10 events' records
		t.Fatal(err)
	}
	if err := l.AddHits(c.ID, b, hits(b, 0, 3, "r1")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CompleteFile(c.ID, a, hits(a, big, 7, "r3"), func(f *store.File) error {
		f.State = store.StateCompleted
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, rules := count(a); n != big+7 || rules["r1"] != big-10 || rules["r2"] != 10 || rules["r3"] != 7 {
		t.Fatalf("file a: %d records %v; want %d (r1 %d, r2 10, r3 7)", n, rules, big+7, big-10)
	}
	if err := l.DropHits(c.ID, a); err != nil {
		t.Fatal(err)
	}
	if n, _ := count(a); n != 0 {
		t.Errorf("file a keeps %d hit records after DropHits", n)
	}
	if n, _ := count(b); n != 3 {
		t.Errorf("file b has %d hit records after a's were dropped; want 3", n)
	}
	if err := l.DropHits(c.ID, a); err != nil { // nothing left: no write
		t.Fatal(err)
	}
}
