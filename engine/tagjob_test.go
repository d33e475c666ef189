package engine_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"casescope/engine"
	"casescope/internal/corpus"
	"casescope/store"
)

// countTags counts the case's tagged events in the ledger, and those
// carrying word.
func countTags(t *testing.T, led *store.Ledger, caseID uint64, word string) (all, with int) {
	t.Helper()
	err := led.Tags(caseID, 0, func(tg *store.Tag) error {
		all++
		if slices.Contains(tg.Tags, word) {
			with++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all, with
}

// TestBulkTagJob tags a whole case as a background job: every event gets
// the word in the ledger and the index, an event's earlier tag and note
// are kept, and the job's counts and ledger record say so.
func TestBulkTagJob(t *testing.T) {
	r := newRig(t, true)
	c, _ := r.ingest(t, "bulkjob", corpus.Fixture(t, "Security_short_selected.evtx"), corpus.Fixture(t, "Application_no_crc32.evtx"))
	total := sumTotal(t, r, c.ID, "")
	var files []store.File
	files, _ = r.ledger.Files(c.ID)
	var events int64
	for _, f := range files {
		events += f.Events
	}
	if total == 0 || int64(total) != events {
		t.Fatalf("index holds %d events, ledger %d", total, events)
	}
	first, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	noted := first.Hits[0].ID
	if _, err := r.eng.TagEvent(t.Context(), c.ID, store.Tag{DocID: noted, Tags: []string{"keep"}, Note: "look here"}); err != nil {
		t.Fatal(err)
	}
	j, err := r.eng.StartBulkTag(c.ID, "*", []string{"Sweep"}, false, "analyst")
	if err != nil {
		t.Fatal(err)
	}
	if j.Kind != engine.JobTag || j.State != "running" || j.TagJob == 0 {
		t.Fatalf("started job %+v, want a running tag job with a ledger record", j)
	}
	j, err = r.eng.WaitJob(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != "done" || j.Matched != int64(total) || j.Changed != int64(total) || j.Events != int64(total) || j.FilesDone != j.Files {
		t.Fatalf("job %+v, want done with %d matched, visited and tagged", j, total)
	}
	if got := sumTotal(t, r, c.ID, "tag:sweep"); got != total {
		t.Errorf("tag:sweep finds %d, want %d", got, total)
	}
	if all, with := countTags(t, r.ledger, c.ID, "sweep"); uint64(all) != total || uint64(with) != total {
		t.Errorf("ledger: %d tagged, %d with sweep, want %d", all, with, total)
	}
	tg, err := r.ledger.Tag(c.ID, noted)
	if err != nil || !slices.Equal(tg.Tags, []string{"keep", "sweep"}) || tg.By != "analyst" {
		t.Errorf("noted event's tag %+v (%v), want tags keep, sweep", tg, err)
	}
	// The note is the first comment of the event's thread, untouched.
	if cs, err := r.ledger.Comments(c.ID, noted); err != nil || len(cs) != 1 || cs[0].Text != "look here" {
		t.Errorf("noted event's comments %+v (%v), want the note kept", cs, err)
	}
	if got := sumTotal(t, r, c.ID, "tag:keep AND tag:sweep"); got != 1 {
		t.Errorf("tag:keep AND tag:sweep finds %d, want 1", got)
	}
	jobs, err := r.ledger.TagJobs()
	if err != nil || len(jobs) != 1 || jobs[0].State != store.TagJobDone || jobs[0].Tagged != int64(total) {
		t.Errorf("ledger tag jobs %+v (%v), want one done with %d tagged", jobs, err, total)
	}
	// A query that matches part of the case tags only that part.
	want := sumTotal(t, r, c.ID, "Channel:Security")
	if n, err := r.eng.BulkTag(t.Context(), c.ID, "Channel:Security", nil, true); err != nil || uint64(n) != want {
		t.Errorf("BulkTag Channel:Security: %d (%v), want %d", n, err, want)
	}
	if got := sumTotal(t, r, c.ID, "tag:starred AND tag:sweep"); got != want {
		t.Errorf("tag:starred AND tag:sweep finds %d, want %d", got, want)
	}
	// Bad requests are refused before any job starts.
	for _, bad := range []struct {
		q     string
		words []string
	}{{"*", nil}, {"EventID:(", []string{"x"}}, {"*", []string{"no spaces"}}} {
		if _, err := r.eng.StartBulkTag(c.ID, bad.q, bad.words, false, ""); err == nil {
			t.Errorf("StartBulkTag(%q, %q) started, want an error", bad.q, bad.words)
		}
	}
}

// TestBulkTagResumes stops the engine while a job runs (or just after)
// and starts a new engine on the same ledger: a job left running in the
// ledger is resumed and finishes, so every event ends up tagged.
func TestBulkTagResumes(t *testing.T) {
	r := newRig(t, true)
	c, _ := r.ingest(t, "resume", corpus.Fixture(t, "Security_short_selected.evtx"), corpus.Fixture(t, "Application_no_crc32.evtx"))
	total := sumTotal(t, r, c.ID, "")
	if _, err := r.eng.StartBulkTag(c.ID, "*", []string{"sweep"}, false, ""); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	// What a crash leaves: also a record the first engine never ran.
	if _, err := r.ledger.PutTagJob(store.TagJob{CaseID: c.ID, Query: "*", Tags: []string{"second"}, State: store.TagJobRunning}); err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Config{DataDir: r.data, BatchSize: 100}, slog.New(slog.NewTextHandler(io.Discard, nil)), r.ledger, nil)
	if err := eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eng.Close(context.Background()); err != nil {
			t.Errorf("close engine: %v", err)
		}
	})
	resumed := 0
	for _, j := range eng.Jobs() {
		if j.Kind != engine.JobTag {
			continue
		}
		if !j.Resumed {
			t.Errorf("job %+v after a restart, want Resumed", j)
		}
		resumed++
		if j, err := eng.WaitJob(t.Context(), j.ID); err != nil || j.State != "done" {
			t.Fatalf("resumed job %+v (%v), want done", j, err)
		}
	}
	if resumed == 0 {
		t.Fatal("no tag job resumed")
	}
	for _, word := range []string{"sweep", "second"} {
		if _, with := countTags(t, r.ledger, c.ID, word); uint64(with) != total {
			t.Errorf("ledger: %d events tagged %s, want %d", with, word, total)
		}
		page, err := eng.Search(t.Context(), c.ID, store.SearchRequest{Query: "tag:" + word, Size: 1})
		if err != nil || page.Total != total {
			t.Errorf("tag:%s finds %d (%v), want %d", word, page.Total, err, total)
		}
	}
	jobs, err := r.ledger.TagJobs()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.State != store.TagJobDone {
			t.Errorf("ledger tag job %+v, want done", j)
		}
	}
}
