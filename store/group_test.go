package store

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// groupLedger opens a ledger with one case holding n queued files.
func groupLedger(t *testing.T, n int) (*Ledger, []File) {
	t.Helper()
	l, err := OpenLedger(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c, err := l.CreateCase("g", "")
	if err != nil {
		t.Fatal(err)
	}
	nf := make([]NewFile, n)
	for i := range nf {
		nf[i] = NewFile{Name: fmt.Sprintf("f%02d.evtx", i), SHA256: fmt.Sprintf("%064x", i+1), Size: int64(1000 + i)}
	}
	files, err := l.AddFiles(c.ID, nf)
	if err != nil {
		t.Fatal(err)
	}
	return l, files
}

// within fails the test when fn has not returned after a generous bound
// (the calls under test return at once or after lazyWindow; the bound
// only turns a hang into a failure).
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: did not return", what)
	}
}

// TestLazyWritesShareCommit: lazy writes made while other files are in
// flight share one commit, each returns only once it is durable (its
// change is read back after a reopen), and an eager write ends a lazy
// group's wait at once, joining it.
func TestLazyWritesShareCommit(t *testing.T) {
	l, files := groupLedger(t, 24)
	l.SetCompany(func() bool { return true })
	// Only lazyEnough calls or an eager one can end the wait now.
	l.group.lazyWait = time.Hour

	before := l.WriteStats()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = l.DeferUpdateFile(files[i].CaseID, files[i].ID, func(f *File) error {
				f.Warnings = []string{"lazy"}
				return nil
			})
		}()
	}
	// Every lazy call is with the writer, which waits for company.
	for l.group.received.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	if got := l.WriteStats().Commits - before.Commits; got > 1 {
		// The first call may have committed alone before the others
		// arrived; the rest must be waiting.
		t.Fatalf("%d commits before the eager call, want at most 1", got)
	}
	mid := l.WriteStats()
	within(t, "eager update", func() {
		if _, err := l.BatchUpdateFile(files[20].CaseID, files[20].ID, func(f *File) error {
			f.Warnings = []string{"eager"}
			return nil
		}); err != nil {
			t.Error(err)
		}
	})
	within(t, "lazy updates", wg.Wait)
	for i, err := range errs {
		if err != nil {
			t.Errorf("lazy update %d: %v", i, err)
		}
	}
	after := l.WriteStats()
	if got := after.Commits - mid.Commits; got != 1 {
		t.Errorf("the eager call and the waiting lazy ones took %d commits, want 1", got)
	}
	if got := after.Calls - before.Calls; got != 21 {
		t.Errorf("%d calls committed, want 21", got)
	}

	// Durable: read back through a reopened ledger.
	path := l.Path()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	for i := range 21 {
		f, err := l2.File(files[i].CaseID, files[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		want := "lazy"
		if i == 20 {
			want = "eager"
		}
		if !slices.Equal(f.Warnings, []string{want}) {
			t.Errorf("file %d after reopen: warnings %v, want [%s]", i, f.Warnings, want)
		}
	}
}

// TestLazyWithoutCompanyCommitsAtOnce: with nothing else in flight (or
// no SetCompany at all) a lazy write does not wait for company: with an
// hour-long window it still returns.
func TestLazyWithoutCompanyCommitsAtOnce(t *testing.T) {
	l, files := groupLedger(t, 2)
	l.group.lazyWait = time.Hour
	set := func(f *File) error { f.Hidden = true; return nil }
	within(t, "lazy update, no SetCompany", func() {
		if _, err := l.DeferUpdateFile(files[0].CaseID, files[0].ID, set); err != nil {
			t.Error(err)
		}
	})
	l.SetCompany(func() bool { return false })
	within(t, "lazy update, no company", func() {
		if _, err := l.DeferUpdateFile(files[1].CaseID, files[1].ID, set); err != nil {
			t.Error(err)
		}
	})
	// lazyEnough lazy calls end the wait too.
	l2, many := groupLedger(t, lazyEnough)
	l2.SetCompany(func() bool { return true })
	l2.group.lazyWait = time.Hour
	var wg sync.WaitGroup
	for _, f := range many {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l2.DeferUpdateFile(f.CaseID, f.ID, set); err != nil {
				t.Error(err)
			}
		}()
	}
	within(t, "lazyEnough lazy updates", wg.Wait)
}

// TestClaimFiles: files are claimed together only on their first claim;
// a crash's recovery leaves them to be claimed one by one, and a clean
// shutdown's Requeue gives the attempt back.
func TestClaimFiles(t *testing.T) {
	l, files := groupLedger(t, 5)
	keys := func(fs ...File) []FileKey {
		var out []FileKey
		for _, f := range fs {
			out = append(out, FileKey{f.CaseID, f.ID})
		}
		return out
	}
	ids := func(fs []File) []uint64 {
		var out []uint64
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}

	// QueuedFiles: queue order, skip passes over, stop ends the list.
	got, err := l.QueuedFiles(10, func(f *File) bool { return f.ID == files[1].ID }, func(f *File) bool { return f.ID == files[3].ID })
	if err != nil {
		t.Fatal(err)
	}
	if want := ids([]File{files[0], files[2]}); !slices.Equal(ids(got), want) {
		t.Errorf("QueuedFiles: %v, want %v", ids(got), want)
	}
	if got, _ := l.QueuedFiles(2, nil, nil); len(got) != 2 {
		t.Errorf("QueuedFiles(2): %d files", len(got))
	}

	claimed, err := l.ClaimFiles(keys(files[0], files[1], files[2]))
	if err != nil {
		t.Fatal(err)
	}
	if want := ids(files[:3]); !slices.Equal(ids(claimed), want) {
		t.Fatalf("claimed %v, want %v", ids(claimed), want)
	}
	for _, f := range claimed {
		if f.State != StateIndexing || f.Attempts != 1 || f.Started.IsZero() {
			t.Errorf("claimed file %d: %s, attempts %d, started %v", f.ID, f.State, f.Attempts, f.Started)
		}
	}
	// Claimed already: not again.
	if again, err := l.ClaimFiles(keys(files[0], files[3])); err != nil || !slices.Equal(ids(again), []uint64{files[3].ID}) {
		t.Errorf("second claim: %v %v, want only file %d", ids(again), err, files[3].ID)
	}
	// A clean shutdown gives the attempts back: claimable together again.
	if _, err := l.Requeue(); err != nil {
		t.Fatal(err)
	}
	claimed, err = l.ClaimFiles(keys(files[0], files[1]))
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim after Requeue: %v %v", ids(claimed), err)
	}
	// A crash's recovery requeues them with the attempt counted: from
	// then on each is claimed alone.
	if _, n, err := l.RecoverInterrupted(3); err != nil || n != 2 {
		t.Fatalf("recover: %d requeued, %v; want the 2 claimed", n, err)
	}
	if again, err := l.ClaimFiles(keys(files[0], files[1], files[4])); err != nil || !slices.Equal(ids(again), []uint64{files[4].ID}) {
		t.Errorf("claim after a crash: %v %v, want only the never-claimed file %d", ids(again), err, files[4].ID)
	}
	f, err := l.Claim(nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.ID != files[0].ID || f.Attempts != 2 {
		t.Errorf("single claim after a crash: file %d attempts %d, want file %d attempts 2", f.ID, f.Attempts, files[0].ID)
	}
	// Unknown files are passed over.
	if got, err := l.ClaimFiles([]FileKey{{files[0].CaseID, 999}}); err != nil || len(got) != 0 {
		t.Errorf("claim of an unknown file: %v %v", got, err)
	}
}
