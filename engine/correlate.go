package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"casescope/engine/sigma"
	"casescope/evtx"
	"casescope/store"
)

// KindCorrelate is the job that evaluates a case's Sigma correlation
// rules (see correlateCase).
const KindCorrelate = "correlate"

// Correlation rules are evaluated over a whole case once its files are
// in: after the last queued file of the case ends (completed, failed or
// archived) when the rule set has correlations, and at the end of every
// Sigma re-run. Their inputs are in the ledger (EventHits.Corr, written
// at detection), so an evaluation reads no event; it then writes a hit of
// each matching correlation on each of the match's events (SigmaHit with
// Correlation set), in the ledger and the index, so correlation hits are
// summarised, counted, searched (sigma.rule, sigma.level) and suppressed
// like rule hits. Only the events whose correlation hits change are
// rewritten.

// scheduleCorrelate queues an evaluation of the case's correlations
// after its other jobs, unless one is already queued and not started.
// WaitIdle waits for it.
func (e *Engine) scheduleCorrelate(caseID uint64) {
	if !e.det.Rules().HasCorrelations() || e.runCtx == nil {
		return
	}
	e.jobs.mu.Lock()
	if e.corrQueued == nil {
		e.corrQueued = map[uint64]bool{}
	}
	if e.corrQueued[caseID] {
		e.jobs.mu.Unlock()
		return
	}
	e.corrQueued[caseID] = true
	e.jobs.mu.Unlock()
	e.corrOutstanding.Add(1)
	j := &Job{CaseID: caseID, Kind: KindCorrelate}
	e.startJob(j, func(ctx context.Context, j *Job) error {
		e.jobs.mu.Lock()
		delete(e.corrQueued, caseID)
		e.jobs.mu.Unlock()
		busy, err := e.caseBusy(caseID)
		if err != nil || busy {
			return err // the case's last file schedules another
		}
		return e.correlateCase(ctx, j)
	}, func(err error) {
		e.corrOutstanding.Add(-1)
		e.wake()
		if err != nil {
			e.log.Error("correlation failed", "case_id", caseID, "err", err)
		}
	})
}

// caseBusy reports whether some file of the case still has ingest work.
func (e *Engine) caseBusy(caseID uint64) (bool, error) {
	files, err := e.ledger.Files(caseID)
	if err != nil {
		return false, err
	}
	for _, f := range files {
		switch f.State {
		case store.StateQueued, store.StateIndexing:
			return true, nil
		}
	}
	return false, nil
}

// keepCorrelationHits appends to hits the correlation hits of prev.
func keepCorrelationHits(hits, prev []store.SigmaHit) []store.SigmaHit {
	for _, h := range prev {
		if h.Correlation != "" {
			hits = append(hits, h)
		}
	}
	return hits
}

// withoutCorrelationHits returns hits without the correlation hits.
func withoutCorrelationHits(hits []store.SigmaHit) []store.SigmaHit {
	var out []store.SigmaHit
	for _, h := range hits {
		if h.Correlation == "" {
			out = append(out, h)
		}
	}
	return out
}

// corrKey is a canonical form of an event's correlation hits, kept and
// suppressed.
func corrKey(sig, sup []store.SigmaHit) string {
	var parts []string
	for _, h := range sig {
		if h.Correlation != "" {
			parts = append(parts, "k:"+h.RuleID)
		}
	}
	for _, h := range sup {
		if h.Correlation != "" {
			parts = append(parts, "s:"+h.RuleID)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "|")
}

// correlateCase evaluates the correlations over the case and rewrites
// the events whose correlation hits change. j counts the events visited
// (with inputs or hits) and those changed.
func (e *Engine) correlateCase(ctx context.Context, j *Job) error {
	caseID := j.CaseID
	rs := e.det.Rules()
	type evRef struct {
		fileID uint64
		docID  string
	}
	var (
		refs   []evRef
		evs    []*evtx.Event // the fields suppressions look at
		inputs []sigma.CorrelationInput
		oldKey = map[int]string{}
	)
	err := e.ledger.Hits(caseID, 0, func(h *store.EventHits) error {
		old := corrKey(h.Sigma, h.Suppressed)
		if len(h.Corr) == 0 && old == "" {
			return nil
		}
		i := len(refs)
		refs = append(refs, evRef{h.FileID, h.DocID})
		ev := &evtx.Event{Computer: h.Computer, Channel: h.Channel, EventID: h.EventID, TimeCreated: h.Time}
		for _, c := range h.Corr {
			inputs = append(inputs, sigma.CorrelationInput{Rule: c.RuleID, Time: h.Time, Ref: i, Fields: c.Fields})
			for k, v := range c.Fields {
				if _, ok := ev.Get(k); !ok {
					ev.Data = append(ev.Data, evtx.Field{Name: k, Value: v})
				}
			}
		}
		evs = append(evs, ev)
		oldKey[i] = old
		return nil
	})
	if err != nil {
		return err
	}
	matches, err := rs.Correlate(inputs, ctx.Err)
	if err != nil {
		return err
	}
	sup, err := e.suppressor(caseID)
	if err != nil {
		return err
	}
	hitsOf := map[int][]store.SigmaHit{}
	for _, m := range matches {
		h := store.SigmaHit{RuleID: m.Hit.RuleID, Title: m.Hit.Title, Level: m.Hit.Level, Tags: m.Hit.Tags, Pack: m.Hit.Pack,
			Correlation: m.Hit.Correlation}
		for _, r := range m.Refs {
			if !slices.ContainsFunc(hitsOf[r], func(x store.SigmaHit) bool { return x.RuleID == h.RuleID }) {
				hitsOf[r] = append(hitsOf[r], h)
			}
		}
	}
	type change struct{ kept, suppressed []store.SigmaHit }
	byFile := map[uint64]map[string]change{}
	for i, r := range refs {
		kept, suppressed := sup.split(evs[i], hitsOf[i])
		if corrKey(kept, suppressed) == oldKey[i] {
			continue
		}
		if byFile[r.fileID] == nil {
			byFile[r.fileID] = map[string]change{}
		}
		byFile[r.fileID][r.docID] = change{kept, suppressed}
	}
	e.jobs.mu.Lock()
	j.Events += int64(len(refs))
	e.jobs.mu.Unlock()
	files := make([]uint64, 0, len(byFile))
	for id := range byFile {
		files = append(files, id)
	}
	slices.Sort(files)
	for _, fileID := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := e.rewriteCorrelations(ctx, caseID, fileID, func(h *store.EventHits) bool {
			c, ok := byFile[fileID][h.DocID]
			if !ok {
				return false
			}
			h.Sigma = append(withoutCorrelationHits(h.Sigma), c.kept...)
			h.Suppressed = append(withoutCorrelationHits(h.Suppressed), c.suppressed...)
			return true
		})
		if err != nil {
			return err
		}
		e.jobs.mu.Lock()
		j.Changed += n
		e.jobs.mu.Unlock()
	}
	e.log.Info("correlations evaluated", "case_id", caseID, "inputs", len(inputs), "matches", len(matches),
		"events_changed", j.Changed)
	return nil
}

// rewriteCorrelations applies set to the stored hits of a file's events
// and re-indexes the events it changes (set returns true). The file is
// marked sigma meanwhile, like a Sigma re-run; a file not completed is
// left alone (its ingest ends with a new evaluation).
func (e *Engine) rewriteCorrelations(ctx context.Context, caseID, fileID uint64, set func(h *store.EventHits) bool) (int64, error) {
	f, err := e.ledger.UpdateFile(caseID, fileID, func(r *store.File) error {
		if r.State != store.StateCompleted {
			return fmt.Errorf("file is %s: %w", r.State, ErrBusy)
		}
		r.State = store.StateSigma
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrBusy) {
			return 0, nil
		}
		return 0, err
	}
	restore := func(fn func(r *store.File)) error {
		_, err := e.ledger.UpdateFile(caseID, fileID, func(r *store.File) error {
			r.State = store.StateCompleted
			if fn != nil {
				fn(r)
			}
			return nil
		})
		return err
	}
	var all []store.EventHits
	changed := map[string]store.EventHits{}
	if err := e.ledger.Hits(caseID, fileID, func(h *store.EventHits) error {
		if set(h) {
			changed[h.DocID] = *h
		}
		all = append(all, *h)
		return nil
	}); err != nil {
		_ = restore(nil)
		return 0, err
	}
	var sigmaN int64
	for _, h := range all {
		sigmaN += int64(len(h.Sigma))
	}
	tags, err := e.fileTags(caseID, fileID)
	if err != nil {
		_ = restore(nil)
		return 0, err
	}
	idx, err := e.Index(caseID)
	if err != nil {
		_ = restore(nil)
		return 0, err
	}
	var batch []store.Doc
	_, err = e.streamFile(ctx, f.Path, func(ev *evtx.Event) error {
		id := store.DocID(fileID, ev)
		h, ok := changed[id]
		if !ok {
			return nil
		}
		d := store.Doc{FileID: fileID, FileName: f.Name, Event: ev, Sigma: h.Sigma, IOCs: h.IOCs}
		if t, ok := tags.byID[id]; ok {
			d.Tags = t.Terms()
		}
		batch = append(batch, d)
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
		err = e.ledger.PutHits(caseID, fileID, all)
	}
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err() // shutdown: Close requeues the file
		}
		_ = restore(func(r *store.File) { r.Error = "correlation failed: " + err.Error() })
		return 0, err
	}
	return int64(len(changed)), restore(func(r *store.File) { r.SigmaHits = sigmaN })
}
