package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"casescope/evtx"
	"casescope/store"
)

// Rescan kinds.
const (
	RescanIOC   = "ioc"   // re-hunt the case's IOCs
	RescanSigma = "sigma" // re-run the Sigma rules
)

// Job is the progress of a re-hunt or Sigma re-run over a case.
type Job struct {
	ID        uint64    `json:"id"`
	CaseID    uint64    `json:"case_id"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"` // running, done, failed
	Files     int       `json:"files"`
	FilesDone int       `json:"files_done"`
	Events    int64     `json:"events"`
	Changed   int64     `json:"changed"` // events re-written in the index
	Error     string    `json:"error,omitempty"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished,omitzero"`
	// Bulk tagging (Kind "tag"): Events counts matching events visited,
	// Changed those tagged and re-indexed.
	Query   string   `json:"query,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	Starred bool     `json:"starred,omitempty"`
	Matched int64    `json:"matched,omitempty"` // events the query matched
	// Resumed marks a job continuing one interrupted by a crash or
	// shutdown; TagJob is its ledger record's ID.
	Resumed bool   `json:"resumed,omitempty"`
	TagJob  uint64 `json:"tag_job,omitempty"`
	done    chan struct{}
}

type jobs struct {
	mu     sync.Mutex
	nextID uint64
	byID   map[uint64]*Job
	active map[uint64]*Job // per case: at most one rescan at a time
}

// Jobs returns a snapshot of every rescan job this process ran.
func (e *Engine) Jobs() []Job {
	e.jobs.mu.Lock()
	defer e.jobs.mu.Unlock()
	out := make([]Job, 0, len(e.jobs.byID))
	for _, j := range e.jobs.byID {
		out = append(out, *j)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// Job returns one job's progress.
func (e *Engine) Job(id uint64) (Job, error) {
	e.jobs.mu.Lock()
	defer e.jobs.mu.Unlock()
	j, ok := e.jobs.byID[id]
	if !ok {
		return Job{}, fmt.Errorf("job %d: %w", id, store.ErrNotFound)
	}
	return *j, nil
}

// WaitJob blocks until the job ends.
func (e *Engine) WaitJob(ctx context.Context, id uint64) (Job, error) {
	e.jobs.mu.Lock()
	j, ok := e.jobs.byID[id]
	e.jobs.mu.Unlock()
	if !ok {
		return Job{}, fmt.Errorf("job %d: %w", id, store.ErrNotFound)
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return Job{}, ctx.Err()
	}
	return e.Job(id)
}

// Rescan starts a re-hunt (RescanIOC) or Sigma re-run (RescanSigma) over
// every completed file of the case, on the engine's context. Only events
// whose hits change are re-written in the index; hits of other files and
// cases are never touched. A case's jobs (rescans, bulk tags) run one at a
// time in the order started; the caller does not wait.
func (e *Engine) Rescan(caseID uint64, kind string) (Job, error) {
	if kind != RescanIOC && kind != RescanSigma {
		return Job{}, fmt.Errorf("rescan kind %q: %w", kind, store.ErrInvalid)
	}
	if e.runCtx == nil {
		return Job{}, fmt.Errorf("engine not started: %w", ErrBusy)
	}
	j := &Job{CaseID: caseID, Kind: kind}
	return e.startJob(j, e.runRescan, func(err error) {
		e.log.Info("rescan finished", "case_id", caseID, "kind", kind, "err", err)
	}), nil
}

// startJob registers j and runs it on the engine's context once the
// case's previous job (of any kind: a rescan and a bulk tag both rewrite
// the case's documents) has ended. finished runs after the job's state
// is set.
func (e *Engine) startJob(j *Job, run func(ctx context.Context, j *Job) error, finished func(err error)) Job {
	e.jobs.mu.Lock()
	if e.jobs.byID == nil {
		e.jobs.byID, e.jobs.active = map[uint64]*Job{}, map[uint64]*Job{}
	}
	e.jobs.nextID++
	j.ID, j.State, j.Started, j.done = e.jobs.nextID, "running", time.Now().UTC(), make(chan struct{})
	caseID := j.CaseID
	prev := e.jobs.active[caseID]
	e.jobs.byID[j.ID] = j
	e.jobs.active[caseID] = j
	snap := *j // the job goroutine updates j under jobs.mu from now on
	e.jobs.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(j.done)
		if prev != nil {
			<-prev.done // one job per case at a time, in order
		}
		err := run(e.runCtx, j)
		e.jobs.mu.Lock()
		j.Finished = time.Now().UTC()
		if err != nil {
			j.State, j.Error = "failed", err.Error()
		} else {
			j.State = "done"
		}
		if e.jobs.active[caseID] == j {
			delete(e.jobs.active, caseID)
		}
		e.jobs.mu.Unlock()
		finished(err)
	}()
	return snap
}

func (e *Engine) runRescan(ctx context.Context, j *Job) error {
	if err := e.rescanFiles(ctx, j); err != nil {
		return err
	}
	if j.Kind == RescanSigma {
		// The detection hits changed: so may the correlations (also
		// when the rule set has none left: their old hits go).
		return e.correlateCase(ctx, j)
	}
	return nil
}

func (e *Engine) rescanFiles(ctx context.Context, j *Job) error {
	done := map[uint64]bool{}
	for pass := 0; pass < 3; pass++ {
		files, err := e.ledger.Files(j.CaseID)
		if err != nil {
			return err
		}
		var todo []store.File
		for _, f := range files {
			if f.State == store.StateCompleted && f.Events > 0 && !done[f.ID] {
				todo = append(todo, f)
			}
		}
		if len(todo) == 0 {
			return nil
		}
		e.jobs.mu.Lock()
		j.Files += len(todo)
		e.jobs.mu.Unlock()
		for _, f := range todo {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := e.rescanFile(ctx, j, f); err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
			done[f.ID] = true
			e.jobs.mu.Lock()
			j.FilesDone++
			e.jobs.mu.Unlock()
		}
	}
	return nil
}

// hitKey is a canonical form of an event's hits, to tell if they changed.
func hitKey(sig []store.SigmaHit, iocs []store.IOCHit) string {
	parts := make([]string, 0, len(sig)+len(iocs))
	for _, h := range sig {
		parts = append(parts, "s:"+h.RuleID)
	}
	for _, h := range iocs {
		parts = append(parts, "i:"+h.IOCID+":"+h.Field)
	}
	slices.Sort(parts)
	return strings.Join(parts, "|")
}

// rescanFile re-reads one file and re-writes the events whose hits change.
// The file is marked sigma/ioc while it runs; a crash leaves it in that
// state, and recovery requeues it for a full re-ingest, which is
// idempotent.
func (e *Engine) rescanFile(ctx context.Context, j *Job, f store.File) error {
	state := store.StateIOC
	if j.Kind == RescanSigma {
		state = store.StateSigma
	}
	if _, err := e.ledger.UpdateFile(f.CaseID, f.ID, func(r *store.File) error {
		if r.State != store.StateCompleted {
			return fmt.Errorf("file is %s: %w", r.State, ErrBusy)
		}
		r.State = state
		return nil
	}); err != nil {
		if errors.Is(err, ErrBusy) {
			return nil // picked up by ingest meanwhile; it gets the new matchers
		}
		return err
	}
	old := map[string]store.EventHits{}
	if err := e.ledger.Hits(f.CaseID, f.ID, func(h *store.EventHits) error {
		old[h.DocID] = *h
		return nil
	}); err != nil {
		return err
	}
	tags, err := e.fileTags(f.CaseID, f.ID)
	if err != nil {
		return err
	}
	idx, err := e.Index(f.CaseID)
	if err != nil {
		return err
	}
	sup, err := e.suppressor(f.CaseID)
	if err != nil {
		return err
	}
	packs, err := e.casePacks(f.CaseID)
	if err != nil {
		return err
	}
	var hits []store.EventHits
	var batch []store.Doc
	var events, changed, sigmaN, iocN int64
	_, err = e.streamFile(ctx, f.Path, func(ev *evtx.Event) error {
		events++
		id := store.DocID(f.ID, ev)
		prev := old[id]
		sig, iocs, suppressed := prev.Sigma, prev.IOCs, prev.Suppressed
		corr := prev.Corr
		if j.Kind == RescanIOC {
			iocs = e.det.iocHits(f.CaseID, ev, nil)
		} else {
			sig, suppressed = sup.split(ev, e.det.sigmaHits(ev, packs, nil))
			sig, corr = e.det.corrInputs(ev, sig)
			// Correlation hits stay until the correlations are evaluated
			// again at the end of the re-run.
			sig, suppressed = keepCorrelationHits(sig, prev.Sigma), keepCorrelationHits(suppressed, prev.Suppressed)
		}
		if len(sig) > 0 || len(iocs) > 0 || len(suppressed) > 0 || len(corr) > 0 {
			sigmaN += int64(len(sig))
			if len(iocs) > 0 {
				iocN++
			}
			hits = append(hits, store.EventHits{DocID: id, FileID: f.ID, Time: ev.TimeCreated, Computer: ev.Computer,
				Channel: ev.Channel, EventID: ev.EventID, Sigma: sig, IOCs: iocs, Suppressed: suppressed, Corr: corr})
		}
		if hitKey(sig, iocs) == hitKey(prev.Sigma, prev.IOCs) {
			return nil
		}
		d := store.Doc{FileID: f.ID, FileName: f.Name, Event: ev, Sigma: sig, IOCs: iocs}
		if t, ok := tags.byID[id]; ok {
			d.Tags = t.Terms()
		}
		batch = append(batch, d)
		changed++
		if len(batch) >= e.cfg.BatchSize {
			if err := idx.IndexDocs(batch, false); err != nil {
				return err
			}
			batch = batch[:0]
		}
		return nil
	})
	if err == nil {
		err = idx.IndexDocs(batch, true)
	}
	if err == nil {
		err = e.ledger.PutHits(f.CaseID, f.ID, hits)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // shutdown: Close requeues the file
		}
		// Leave the file consistent: back to completed; its index may
		// hold a mix, which the next rescan or doctor repairs.
		_, _ = e.ledger.UpdateFile(f.CaseID, f.ID, func(r *store.File) error {
			r.State, r.Error = store.StateCompleted, "rescan failed: "+err.Error()
			return nil
		})
		return err
	}
	_, err = e.ledger.UpdateFile(f.CaseID, f.ID, func(r *store.File) error {
		r.State = store.StateCompleted
		r.SigmaHits, r.IOCHits = sigmaN, iocN
		return nil
	})
	e.jobs.mu.Lock()
	j.Events += events
	j.Changed += changed
	e.jobs.mu.Unlock()
	return err
}
