package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"casescope/evtx"
	"casescope/store"
)

// JobTag is the Kind of a bulk-tag job.
const JobTag = "tag"

// StartBulkTag starts a job that adds tag words (and optionally a star)
// to every event matching query, keeping each event's other tags and
// note, and returns at once. The job is recorded in the ledger first: if
// the process stops before it ends, the next Start resumes it.
//
// Cost: one pass over the index for the matching IDs, then, file by
// file, one read of the file's EVTX and batched index writes of the
// matching events (the index stores whole documents, so a tag change
// re-indexes its event). Tags go to the ledger before the index, a batch
// at a time; a resumed job redoes its unfinished files, which is
// idempotent.
func (e *Engine) StartBulkTag(caseID uint64, query string, words []string, star bool, by string) (Job, error) {
	words, err := store.NormalizeTags(words)
	if err != nil {
		return Job{}, err
	}
	if len(words) == 0 && !star {
		return Job{}, fmt.Errorf("no tag given: %w", store.ErrInvalid)
	}
	if err := store.ValidateQuery(query, store.QueryOptions{}); err != nil {
		return Job{}, err
	}
	if _, err := e.ledger.Case(caseID); err != nil {
		return Job{}, err
	}
	if e.runCtx == nil {
		return Job{}, fmt.Errorf("engine not started: %w", ErrBusy)
	}
	tj, err := e.ledger.PutTagJob(store.TagJob{CaseID: caseID, Query: query, Tags: words, Starred: star, By: by,
		State: store.TagJobRunning, Started: time.Now().UTC()})
	if err != nil {
		return Job{}, err
	}
	return e.runTagJob(tj, false), nil
}

// BulkTag tags every event matching query (StartBulkTag) and waits for
// the job; it returns how many events it tagged.
func (e *Engine) BulkTag(ctx context.Context, caseID uint64, query string, words []string, star bool) (int, error) {
	j, err := e.StartBulkTag(caseID, query, words, star, "")
	if err != nil {
		return 0, err
	}
	j, err = e.WaitJob(ctx, j.ID)
	if err != nil {
		return 0, err
	}
	if j.State == "failed" {
		return int(j.Changed), errors.New(j.Error)
	}
	return int(j.Changed), nil
}

// resumeTagJobs restarts the bulk-tag jobs the ledger shows running: the
// process stopped (or crashed) before they ended.
func (e *Engine) resumeTagJobs() error {
	all, err := e.ledger.TagJobs()
	if err != nil {
		return err
	}
	for _, tj := range all {
		if tj.State != store.TagJobRunning {
			continue
		}
		tj.Resumes++
		if tj, err = e.ledger.PutTagJob(tj); err != nil {
			return err
		}
		e.log.Info("resuming bulk tag", "case_id", tj.CaseID, "tag_job", tj.ID, "files_done", len(tj.FilesDone), "tagged", tj.Tagged)
		e.runTagJob(tj, true)
	}
	return nil
}

// runTagJob starts the job for ledger record tj.
func (e *Engine) runTagJob(tj store.TagJob, resumed bool) Job {
	j := &Job{CaseID: tj.CaseID, Kind: JobTag, Query: tj.Query, Tags: tj.Tags, Starred: tj.Starred,
		Resumed: resumed, TagJob: tj.ID, Changed: tj.Tagged}
	return e.startJob(j, func(ctx context.Context, j *Job) error {
		err := e.bulkTag(ctx, j, &tj)
		switch {
		case err != nil && ctx.Err() != nil:
			// Shutdown: the record stays running, to be resumed.
			return err
		case err != nil:
			tj.State, tj.Error = store.TagJobFailed, err.Error()
		default:
			tj.State = store.TagJobDone
		}
		tj.Finished = time.Now().UTC()
		if _, perr := e.ledger.PutTagJob(tj); perr != nil {
			return errors.Join(err, perr)
		}
		return err
	}, func(err error) {
		e.log.Info("bulk tag finished", "case_id", tj.CaseID, "tag_job", tj.ID, "tagged", tj.Tagged, "err", err)
	})
}

// bulkTag runs a tag job: the matching IDs by file, then each file not
// yet done, in file order.
func (e *Engine) bulkTag(ctx context.Context, j *Job, tj *store.TagJob) error {
	idx, err := e.Index(tj.CaseID)
	if err != nil {
		return err
	}
	byFile := map[uint64]map[string]bool{}
	var matched int64
	err = idx.MatchIDs(ctx, tj.Query, store.QueryOptions{}, func(id string) error {
		ref, ok := store.ParseDocID(id)
		if !ok {
			return nil
		}
		if byFile[ref.File] == nil {
			byFile[ref.File] = map[string]bool{}
		}
		byFile[ref.File][id] = true
		matched++
		return nil
	})
	if err != nil {
		return err
	}
	files := make([]uint64, 0, len(byFile))
	for fid := range byFile {
		files = append(files, fid)
	}
	slices.Sort(files)
	if !j.Resumed || tj.Matched == 0 {
		tj.Matched = matched
	}
	e.jobs.mu.Lock()
	j.Matched, j.Files = matched, len(files)
	e.jobs.mu.Unlock()
	// Reading and indexing overlap: a reader goroutine parses the files
	// into batches while this one writes the previous batch.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan tagBatch, 1)
	rerr := make(chan error, 1)
	go func() {
		defer close(batches)
		rerr <- e.readTagBatches(rctx, j, tj, files, byFile, batches)
	}()
	w := &tagWriter{e: e, j: j, tj: tj, idx: idx, last: time.Now()}
	var werr error
	for b := range batches {
		if werr == nil {
			if werr = w.write(b); werr != nil {
				cancel() // drain: the reader stops at its next event
			}
		}
	}
	if err := <-rerr; werr == nil && err != nil {
		werr = err
	}
	if werr != nil {
		return werr
	}
	return w.checkpoint()
}

// tagBatchSize is the events per index batch of a tag job: larger than
// an ingest batch, so fewer segments are made and merged.
const tagBatchSize = 2000

// tagCheckpointEvery is how often a tag job waits for its index writes to
// be durable and records the files it finished: a crash redoes at most
// this much work.
const tagCheckpointEvery = 2 * time.Second

// tagBatch is events to tag, with their new tags and documents, and the
// files whose matching events are all in this batch or earlier ones.
type tagBatch struct {
	tags  []store.Tag
	docs  []store.Doc
	ended []uint64
}

// readTagBatches reads the files not yet done, in order, and sends their
// matching events in batches of tagBatchSize (spanning files).
func (e *Engine) readTagBatches(ctx context.Context, j *Job, tj *store.TagJob, files []uint64, byFile map[uint64]map[string]bool, out chan<- tagBatch) error {
	var b tagBatch
	send := func() error {
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b = tagBatch{}
		return nil
	}
	for _, fid := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !tj.FileDone(fid) {
			if err := e.readTagFile(ctx, tj, fid, byFile[fid], &b, send); err != nil {
				return err
			}
			b.ended = append(b.ended, fid)
		}
		e.jobs.mu.Lock()
		j.FilesDone++
		e.jobs.mu.Unlock()
	}
	if len(b.docs) == 0 && len(b.ended) == 0 {
		return nil
	}
	return send()
}

// readTagFile reads file fid once and adds each event of ids, with its
// current hits and merged tag, to b, calling send when b is full.
func (e *Engine) readTagFile(ctx context.Context, tj *store.TagJob, fid uint64, ids map[string]bool, b *tagBatch, send func() error) error {
	f, err := e.ledger.File(tj.CaseID, fid)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile: nothing to tag
	}
	if err != nil {
		return err
	}
	tags, err := e.fileTags(tj.CaseID, fid)
	if err != nil {
		return err
	}
	hits := map[string]store.EventHits{}
	if err := e.ledger.Hits(tj.CaseID, fid, func(h *store.EventHits) error {
		if ids[h.DocID] {
			hits[h.DocID] = *h
		}
		return nil
	}); err != nil {
		return err
	}
	_, err = e.streamFile(ctx, f.Path, func(ev *evtx.Event) error {
		id := store.DocID(fid, ev)
		if !ids[id] {
			return nil
		}
		t, ok := tags.byID[id]
		if !ok {
			t = store.Tag{DocID: id, FileID: fid, Time: ev.TimeCreated}
		}
		t.Tags = mergeWords(t.Tags, tj.Tags)
		t.Starred = t.Starred || tj.Starred
		if tj.By != "" {
			t.By = tj.By
		}
		h := hits[id]
		b.tags = append(b.tags, t)
		b.docs = append(b.docs, store.Doc{FileID: fid, FileName: f.Name, Event: ev, Sigma: h.Sigma, IOCs: h.IOCs, Tags: t.Terms()})
		if len(b.docs) >= tagBatchSize {
			return send()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	return nil
}

// tagWriter writes a tag job's batches: each batch's tags to the ledger,
// then its documents to the index (searchable at once, durable later).
// A checkpoint waits until the last batch is durable, which covers every
// batch before it, and only then records the files whose events were all
// written as done.
type tagWriter struct {
	e   *Engine
	j   *Job
	tj  *store.TagJob
	idx store.Events
	// durable is the last batch's persistence result (nil: nothing
	// written since the last checkpoint).
	durable <-chan error
	ended   []uint64 // files written but not yet recorded as done
	last    time.Time
}

// write writes b, tags first, so a crash never leaves a tag in the index
// that the ledger lacks; then checkpoints if one is due.
func (w *tagWriter) write(b tagBatch) error {
	if len(b.docs) > 0 {
		if err := w.e.ledger.PutTags(w.tj.CaseID, b.tags); err != nil {
			return err
		}
		ch, err := w.idx.IndexDocsAsync(b.docs)
		if err != nil {
			return err
		}
		w.durable = ch
		w.tj.Tagged += int64(len(b.docs))
		w.e.jobs.mu.Lock()
		w.j.Changed = w.tj.Tagged
		w.j.Events += int64(len(b.docs))
		w.e.jobs.mu.Unlock()
		w.e.fault("tag-batch")
	}
	w.ended = append(w.ended, b.ended...)
	if time.Since(w.last) >= tagCheckpointEvery {
		return w.checkpoint()
	}
	return nil
}

// checkpoint waits until everything written is durable and records the
// finished files in the job's ledger record.
func (w *tagWriter) checkpoint() error {
	if w.durable != nil {
		if err := <-w.durable; err != nil {
			return fmt.Errorf("persist tags: %w", err)
		}
		w.durable = nil
	}
	w.last = time.Now()
	if len(w.ended) == 0 {
		return nil
	}
	w.tj.FilesDone = append(w.tj.FilesDone, w.ended...)
	w.ended = w.ended[:0]
	_, err := w.e.ledger.PutTagJob(*w.tj)
	return err
}

// mergeWords adds words to have, keeping have's order, without
// duplicates.
func mergeWords(have, words []string) []string {
	out := slices.Clone(have)
	for _, w := range words {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}
