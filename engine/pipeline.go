package engine

import (
	"context"
	"sync"
	"sync/atomic"

	"casescope/engine/admit"
	"casescope/engine/triage"
	"casescope/input"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"casescope/evtx"
	"casescope/store"
)

// estimateCost is the admission model (calibrated in engine/admit; see
// admit.EstimateCost): one worker holds one parsed chunk and one index
// batch whatever the file size, because everything streams. A file read
// chunk-parallel holds two batches in the index at once (and up to
// 3×ChunkWorkers decoded chunks, ~100 KiB each, small beside a batch).
func (e *Engine) estimateCost(size int64) uint64 {
	if e.chunkWorkers() > 1 && size >= parallelMinBytes { // by size alone: the format is not read yet
		return admit.EstimateCost(size, 2*e.cfg.BatchSize)
	}
	return admit.EstimateCost(size, e.cfg.BatchSize)
}

// dispatch claims queued files from the ledger and runs each on a worker
// once admitted. It is the only goroutine that claims. A file is claimed
// (state indexing, attempt counted) only once it fits on the disk and
// admission lets it start, so a crash never counts an attempt against a
// file that was only waiting. A file fits when the disk has room for its
// index (see disk.go); while none fits, or after a write failed, intake
// pauses and is re-checked every DiskPoll.
func (e *Engine) dispatch(ctx context.Context) {
	poll := time.NewTimer(e.cfg.DiskPoll)
	defer poll.Stop()
	wait := func(extra <-chan struct{}, recheck <-chan time.Time) bool {
		poll.Reset(e.cfg.DiskPoll)
		select {
		case <-ctx.Done():
			return false
		case <-e.wakeCh:
		case <-extra:
		case <-poll.C:
		case <-recheck:
		}
		return true
	}
	var idle idleCheck
	// ahead holds files claimed together (claimAhead) and not yet started:
	// they are taken before the queue is read again, and given back (left
	// indexing, for Requeue) on a halt or a shutdown.
	var ahead []aheadFile
	defer func() { e.dropAhead(ahead) }()
	for {
		if e.halted() {
			ahead = e.dropAhead(ahead)
			if !e.recoverFromHalt() {
				if !wait(e.Changed(), nil) {
					return
				}
				continue
			}
		}
		if len(ahead) > 0 {
			a := ahead[0]
			release, err := e.admit.Acquire(ctx, e.estimateCost(a.f.Size))
			if err != nil {
				return // shutting down: the deferred drop gives it back
			}
			ahead = ahead[1:]
			e.active.Add(1) // before it leaves ahead: in flight throughout
			e.aheadN.Add(-1)
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				defer e.finished()
				defer e.active.Add(-1)
				defer release()
				e.pickedN.Add(1)
				e.process(ctx, a.f, a.unbook)
			}()
			continue
		}
		seq := e.wakeSeq.Load()
		before := e.inFlight()
		next, short, err := e.nextFitting()
		if errors.Is(err, store.ErrNotFound) {
			if short != nil {
				e.setPause(short)
				if before == 0 {
					e.setStalled()
				}
				if !wait(e.Changed(), nil) {
					return
				}
				continue
			}
			e.clearPause(true)
			var recheck <-chan time.Time
			t := e.checkIdleQueue(&idle, seq)
			if t != nil {
				recheck = t.C
			}
			ok := wait(nil, recheck)
			if t != nil {
				t.Stop()
			}
			if !ok {
				return
			}
			continue
		}
		if err != nil {
			if isStorageFault(err) {
				e.halt("ledger", e.cfg.DataDir, err)
				continue
			}
			e.log.Error("read the queue", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
				continue
			}
		}
		if short == nil {
			e.clearPause(true)
		}
		idle = idleCheck{}
		e.setQueueViolation("")
		if batch, err := e.claimAhead(next); err != nil {
			if isStorageFault(err) {
				e.halt("ledger", e.cfg.DataDir, err)
				continue
			}
			e.log.Error("claim files together", "err", err) // the single claim below tries again
		} else if len(batch) > 0 {
			ahead = batch
			continue
		}
		unbook := e.reserve(e.indexNeed(next.Size))
		release, err := e.admit.Acquire(ctx, e.estimateCost(next.Size))
		if err != nil {
			unbook()
			return // shutting down; nothing was claimed
		}
		// The claim commits on the worker's goroutine, so the dispatcher
		// goes on to the next admitted file meanwhile and the claims of
		// files starting together share one group commit with the
		// completions in flight. Until it commits, the file is marked
		// claiming, and nextFitting passes over it.
		e.setClaiming(next, true)
		e.active.Add(1)
		e.wg.Add(1)
		go func(next store.File) {
			defer e.wg.Done()
			defer e.finished() // after the counts below are down
			defer e.active.Add(-1)
			defer release()
			f, err := e.ledger.Claim(func(f *store.File) bool { return f.CaseID != next.CaseID || f.ID != next.ID })
			if err != nil {
				unbook()
				e.claimFailed(ctx, err)
				e.setClaiming(next, false)
				e.wake()
				return
			}
			e.setClaiming(next, false)
			e.pickedN.Add(1)
			e.process(ctx, f, unbook)
		}(next)
	}
}

// Claiming ahead: a file's claim must be durable before the file is read
// (its attempt count is what quarantines a file that takes the process
// down), and a claim of its own cost a small file an fsync that the
// worker waited on. Small files never claimed before are therefore
// claimed up to aheadMax at a time, in one commit. After a crash each of
// them is requeued with one attempt, and is claimed alone from then on
// (Ledger.ClaimFiles takes only never-claimed files), so a file that
// crashes the process raises its neighbours' counts once at most.
const (
	aheadMax      = 32
	aheadMaxSize  = 16 << 20 // bytes: a bigger file costs far more than its claim
	aheadMaxBytes = 64 << 20 // bytes claimed ahead at once, at most
)

// aheadFile is a file claimed ahead and not yet started, with its disk
// booking's release.
type aheadFile struct {
	f      store.File
	unbook func()
}

// claimAhead claims next together with the small never-claimed files
// queued right after it (stopping at the first that is not one, or whose
// index would not fit the disk), in one commit, and books their disk. It
// returns nil when next is not such a file, or is the only one: the
// caller claims it alone.
func (e *Engine) claimAhead(next store.File) ([]aheadFile, error) {
	small := func(f *store.File) bool { return f.Attempts == 0 && f.Size <= aheadMaxSize }
	if !small(&next) {
		return nil, nil
	}
	free, ferr := freeBytes(e.cfg.DataDir)
	booked := e.bookedBytes()
	var size int64
	files, err := e.ledger.QueuedFiles(aheadMax, e.isClaiming, func(f *store.File) bool {
		if !small(f) || size+f.Size > aheadMaxBytes {
			return true
		}
		size += f.Size
		need := e.indexNeed(f.Size)
		if ferr == nil && free < booked+need+e.diskReserve() {
			return true
		}
		booked += need
		return false
	})
	if err != nil || len(files) < 2 || files[0].CaseID != next.CaseID || files[0].ID != next.ID {
		return nil, err
	}
	keys := make([]store.FileKey, len(files))
	books := make(map[store.FileKey]func(), len(files))
	for i, f := range files {
		keys[i] = store.FileKey{CaseID: f.CaseID, FileID: f.ID}
		books[keys[i]] = e.reserve(e.indexNeed(f.Size))
	}
	e.aheadN.Add(int64(len(files)))
	claimed, err := e.ledger.ClaimFiles(keys)
	out := make([]aheadFile, 0, len(claimed))
	if err == nil {
		for _, f := range claimed {
			k := store.FileKey{CaseID: f.CaseID, FileID: f.ID}
			out = append(out, aheadFile{f: f, unbook: books[k]})
			delete(books, k)
		}
	}
	for _, unbook := range books { // not claimed: gone or taken meanwhile
		unbook()
		e.aheadN.Add(-1)
	}
	return out, err
}

// dropAhead gives back files claimed ahead and not started: their disk
// bookings are released and they leave the in-flight count, staying
// indexing in the ledger for Requeue (a halt's recovery, or Close) to
// return to the queue with their attempt given back. It returns ahead
// emptied.
func (e *Engine) dropAhead(ahead []aheadFile) []aheadFile {
	for _, a := range ahead {
		a.unbook()
		e.aheadN.Add(-1)
	}
	return ahead[:0]
}

// claimFailed handles a claim that did not commit: a storage fault halts
// intake; a file deleted or requeued elsewhere meanwhile is simply looked
// for again; anything else is logged and retried after a second.
func (e *Engine) claimFailed(ctx context.Context, err error) {
	if isStorageFault(err) {
		e.halt("ledger", e.cfg.DataDir, err)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	e.log.Error("claim next file", "err", err)
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// setClaiming marks a file whose claim is being committed (on) or no
// longer (off).
func (e *Engine) setClaiming(f store.File, on bool) {
	k := [2]uint64{f.CaseID, f.ID}
	e.claimMu.Lock()
	defer e.claimMu.Unlock()
	if on {
		e.claiming[k] = struct{}{}
	} else {
		delete(e.claiming, k)
	}
}

// isClaiming reports whether f's claim is being committed.
func (e *Engine) isClaiming(f *store.File) bool {
	e.claimMu.Lock()
	defer e.claimMu.Unlock()
	_, ok := e.claiming[[2]uint64{f.CaseID, f.ID}]
	return ok
}

// nextFitting finds (without claiming) the first queued file whose index
// fits on the disk beside the reserve and what files in flight have
// booked. short is the first file skipped for want of space (nil if
// none).
func (e *Engine) nextFitting() (store.File, *StorageError, error) {
	free, ferr := freeBytes(e.cfg.DataDir)
	booked := e.bookedBytes()
	var short *StorageError
	f, err := e.ledger.NextQueued(func(f *store.File) bool {
		if e.isClaiming(f) {
			return true
		}
		if ferr != nil {
			return false
		}
		need := e.indexNeed(f.Size) + booked + e.diskReserve()
		if free >= need {
			return false
		}
		if short == nil {
			short = &StorageError{Op: "index " + f.Name, Path: e.cfg.DataDir, Free: free, Need: need}
		}
		return true
	})
	return f, short, err
}

// persistGrace is how long a shutdown waits for a file's last batch to
// become durable before leaving the file to be requeued.
const persistGrace = 2 * time.Second

// process runs one file through the pipeline and records the outcome.
// unbook releases the file's disk booking once it leaves flight.
func (e *Engine) process(ctx context.Context, f store.File, unbook func()) {
	log := e.log.With("case_id", f.CaseID, "file_id", f.ID, "name", f.Name)
	handedOff := false
	defer func() {
		if !handedOff {
			unbook()
		}
	}()
	start := time.Now()
	wctx, done := e.workerContext(ctx)
	defer done()
	fctx, cancel := context.WithTimeout(wctx, e.cfg.FileTimeout)
	defer cancel()
	res, err := e.ingestFile(fctx, f)
	if ctx.Err() != nil {
		// Shutdown, not failure: Close requeues the file.
		log.Info("file interrupted by shutdown")
		return
	}
	if haltedCause(wctx) {
		// Intake stopped on a write failure: the file is requeued once
		// nothing is in flight (recoverFromHalt), never failed.
		log.Info("file interrupted: intake stopped")
		return
	}
	if isStorageFault(err) {
		e.halt("index", e.caseDirs(f.CaseID).index, err)
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s", e.cfg.FileTimeout)
	}
	if err != nil {
		e.failFile(f, err)
		return
	}
	if res.events == 0 {
		// What is left is ledger work and a rename: it runs off the
		// worker, so the worker takes the next file while the record
		// joins the next group commit with the other files'.
		handedOff = true
		e.handOff(ctx, func(context.Context) {
			defer unbook()
			if res.unreadable != "" {
				// Not an empty log: its header claims records none of
				// which could be read. Archiving it as zero-event would
				// hide the loss.
				e.failFileWith(f, errors.New(res.unreadable), true, func(r *store.File) {
					r.Accounting, r.Warnings = res.acct, res.warnings
					r.Format = string(res.format)
				})
				return
			}
			e.archiveZeroFile(log, f, res)
		})
		return
	}
	// The file's last batch is searchable; the worker moves on, and the
	// file completes in the ledger once the index confirms it is durable.
	// Until then it stays "indexing": a crash in between requeues it.
	if res.durable == nil {
		ch := make(chan error, 1)
		ch <- nil
		res.durable = ch
	}
	handedOff = true
	e.handOff(ctx, func(pctx context.Context) {
		defer unbook()
		waitStart := time.Now()
		perr, ok := awaitDurable(pctx, res.durable)
		e.stages.persist.Add(int64(time.Since(waitStart)))
		if !ok {
			// Shutdown or halt before the index confirmed the last
			// batch: the file stays indexing and is requeued.
			log.Info("file left to requeue: index not yet durable")
			return
		}
		if perr != nil {
			if isStorageFault(perr) {
				e.halt("index", e.caseDirs(f.CaseID).index, perr)
				return
			}
			e.failFileWith(f, fmt.Errorf("index not persisted: %w", perr), true, nil)
			return
		}
		e.fault("before-complete")
		ledgerStart := time.Now()
		_, err := e.ledger.CompleteFile(f.CaseID, f.ID, res.hits, func(r *store.File) error {
			r.State = store.StateCompleted
			r.Events = res.events
			r.SigmaHits = res.sigma
			r.IOCHits = res.ioc
			r.Warnings = res.warnings
			r.Accounting = res.acct
			r.Format = string(res.format)
			r.Error = ""
			r.Finished = time.Now().UTC()
			return nil
		})
		e.stages.ledger.Add(int64(time.Since(ledgerStart)))
		if err != nil {
			if isStorageFault(err) {
				e.halt("ledger", e.cfg.DataDir, err)
				return
			}
			log.Error("record completion", "err", err)
			return
		}
		f.Events = res.events
		e.keepTriage(f, res.triage)
		log.Info("file completed", "events", res.events, "sigma_hits", res.sigma, "ioc_hits", res.ioc,
			"seconds", time.Since(start).Seconds())
		e.scheduleCorrelate(f.CaseID)
	})
}

// maxHandOffs bounds the files whose completion (index durability, then
// the ledger) runs off the workers at once. Small files finish faster
// than their completions commit when the disk is slow; past the bound a
// worker waits before taking the next file.
const maxHandOffs = 256

// handOff runs a file's completion on its own goroutine, off the worker,
// counted as in flight until it returns. fn gets a context that ends on
// shutdown or a halt. The worker blocks while maxHandOffs completions
// are pending.
func (e *Engine) handOff(ctx context.Context, fn func(ctx context.Context)) {
	e.handOffSem <- struct{}{}
	pctx, pdone := e.workerContext(ctx)
	e.persistWG.Add(1)
	e.persisting.Add(1)
	go func() {
		defer e.finished() // after the counts below are down
		defer e.persistWG.Done()
		defer e.persisting.Add(-1)
		defer func() { <-e.handOffSem }()
		defer pdone()
		fn(pctx)
	}()
}

// archiveZeroFile records a zero-event file's accounting and archives it
// (see archiveZero).
func (e *Engine) archiveZeroFile(log *slog.Logger, f store.File, res fileResult) {
	defer e.scheduleCorrelate(f.CaseID)
	ledgerStart := time.Now()
	err := e.archiveZero(f, func(r *store.File) {
		r.Accounting, r.Warnings = res.acct, res.warnings
		r.Format = string(res.format)
	})
	e.stages.ledger.Add(int64(time.Since(ledgerStart)))
	if err == nil {
		log.Info("zero-event file archived")
		return
	}
	if isStorageFault(err) {
		e.halt("archive", e.caseDirs(f.CaseID).archive, err)
		return
	}
	log.Error("archive zero-event file", "err", err)
	if _, uerr := e.ledger.DeferUpdateFile(f.CaseID, f.ID, func(r *store.File) error {
		r.State, r.Error = store.StateFailed, "zero-event file could not be archived: "+err.Error()
		return nil
	}); uerr != nil {
		log.Error("record failure", "err", uerr)
	}
}

// awaitDurable waits for a file's last batch to be durable. On shutdown it
// waits persistGrace more; on a halt not at all. ok is false when it gave
// up.
func awaitDurable(ctx context.Context, durable <-chan error) (err error, ok bool) {
	select {
	case err := <-durable:
		return err, true
	case <-ctx.Done():
	}
	if haltedCause(ctx) {
		return nil, false
	}
	t := time.NewTimer(persistGrace)
	defer t.Stop()
	select {
	case err := <-durable:
		return err, true
	case <-t.C:
		return nil, false
	}
}

// failFile records a failure, removing what the attempt indexed.
func (e *Engine) failFile(f store.File, err error) { e.failFileWith(f, err, false, nil) }

// failFileWith is failFile that also applies set (when non-nil) to the
// record, in the same transaction. handedOff says it runs off the worker
// (see handOff): the record then shares a lazy group commit.
func (e *Engine) failFileWith(f store.File, err error, handedOff bool, set func(r *store.File)) {
	defer e.scheduleCorrelate(f.CaseID)
	if derr := e.dropFileDocs(f); derr != nil {
		if isStorageFault(derr) {
			// The attempt's events are still in the store: recorded as
			// failed, the file would leave them searchable under a file
			// the ledger counts none of. Intake stops; the file is
			// requeued and fails again, its events removed, once the
			// store takes writes.
			e.halt("index", e.caseDirs(f.CaseID).index, derr)
			return
		}
		e.log.Warn("drop documents of failed file", "file_id", f.ID, "err", derr)
	}
	update := e.ledger.BatchUpdateFile
	if handedOff {
		update = e.ledger.DeferUpdateFile
	}
	_, uerr := update(f.CaseID, f.ID, func(r *store.File) error {
		r.State = store.StateFailed
		r.Error = err.Error()
		r.Events = 0
		r.Finished = time.Now().UTC()
		if set != nil {
			set(r)
		}
		return nil
	})
	if isStorageFault(uerr) {
		// The failure is not recorded: the file is requeued and fails
		// again, recorded, once the disk takes writes.
		e.halt("ledger", e.cfg.DataDir, uerr)
		return
	}
	if uerr != nil {
		e.log.Error("record failure", "file_id", f.ID, "err", uerr)
	}
	e.log.Warn("file failed", "case_id", f.CaseID, "file_id", f.ID, "name", f.Name, "err", err)
}

// hitsPiece is how many events' hits a file's reading holds before it
// stores them (Ledger.AddHits): a few MiB, where a large log's hits
// whole (most events of a busy Security log hit some rule) would grow
// with the file.
const hitsPiece = 4096

// pendingDoc is an event's document with its ID, between detection and
// the index batch.
type pendingDoc struct {
	store.Doc
	id         string
	suppressed []store.SigmaHit // hits a false-positive suppression keeps out of Doc.Sigma
	corr       []store.CorrInput
}

// parallelMinBytes is the file size from which a file's chunks are
// decoded and matched on several cores (see Config.ChunkWorkers): 16
// chunks, below which the goroutines would cost more than they save.
const parallelMinBytes = 16 * evtx.ChunkSize

// batchGroup runs one file's index batches, up to depth at once: depth 1
// runs each on the caller's goroutine, as it comes.
type batchGroup struct {
	sem chan struct{}
	wg  sync.WaitGroup
	mu  sync.Mutex
	err error // the first batch's failure
}

func newBatchGroup(depth int) *batchGroup {
	return &batchGroup{sem: make(chan struct{}, depth)}
}

// do runs fn once fewer than depth batches are in flight, on its own
// goroutine when depth > 1; it returns the first failure of any batch so
// far.
func (g *batchGroup) do(fn func() error) error {
	if cap(g.sem) == 1 {
		return fn()
	}
	g.sem <- struct{}{}
	if err := g.failed(); err != nil {
		<-g.sem
		return err
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() { <-g.sem }()
		if err := fn(); err != nil {
			g.mu.Lock()
			if g.err == nil {
				g.err = err
			}
			g.mu.Unlock()
		}
	}()
	return nil
}

func (g *batchGroup) failed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// wait returns once no batch is in flight, with the first failure.
func (g *batchGroup) wait() error {
	g.wg.Wait()
	return g.failed()
}

type fileResult struct {
	events, sigma, ioc int64
	warnings           []string
	acct               store.Accounting  // what the reader found, stored on the file
	unreadable         string            // why a file that claims records yielded none ("" if it did, or claims none)
	hits               []store.EventHits // stored with the completion
	durable            <-chan error      // the last batch's persistence
	format             input.Format      // what the reader found the file to be
	triage             *triage.Summary   // the file's triage summary, kept at completion
}

// ingestFile streams the file: parse, detect, index in bounded batches.
func (e *Engine) ingestFile(ctx context.Context, f store.File) (fileResult, error) {
	var res fileResult
	fi, err := os.Stat(f.Path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("file not found at %s", f.Path)
		}
		return res, fmt.Errorf("stat %s: %w", f.Path, err)
	}
	size := fi.Size()
	idx, err := e.Index(f.CaseID)
	if err != nil {
		return res, err
	}
	tags, err := e.fileTags(f.CaseID, f.ID)
	if err != nil {
		return res, err
	}
	det := e.det
	sup, err := e.suppressor(f.CaseID)
	if err != nil {
		return res, err
	}
	packs, err := e.casePacks(f.CaseID)
	if err != nil {
		return res, err
	}
	// The attempt's hits are stored in pieces as the file is read (see
	// hitsPiece); what an earlier attempt stored goes first.
	if err := e.ledger.DropHits(f.CaseID, f.ID); err != nil {
		return res, fmt.Errorf("drop earlier hits: %w", err)
	}
	res.triage = triage.New()
	batch := make([]store.Doc, 0, e.cfg.BatchSize+1)
	var hits []store.EventHits
	parallel := e.chunkParallel(f.Path, size)
	// A large file read chunk-parallel also indexes two batches at once
	// (Bleve takes concurrent batches): building a batch's segment is
	// serial, and would otherwise leave the decoding goroutines waiting.
	// The final batch goes out after the others are in, so its
	// durability covers the whole file.
	bg := newBatchGroup(1)
	if parallel {
		bg = newBatchGroup(2)
	}
	defer bg.wait() // nothing of a failed attempt is written after it returns
	index := func(docs []store.Doc) error {
		t0 := time.Now()
		if err := idx.IndexDocs(docs, false); err != nil {
			return err
		}
		e.stages.index.Add(int64(time.Since(t0)))
		e.rate.add(int64(len(docs)))
		e.markSearchable()
		e.fault("after-batch")
		return nil
	}
	// Batches go out with one event held back, so the file's last batch is
	// never empty: it carries the durability wait for the whole file.
	flush := func(final bool) error {
		if final {
			if err := bg.wait(); err != nil {
				return err
			}
		}
		n := len(batch)
		if !final {
			n--
		}
		if n <= 0 {
			return nil
		}
		if !final {
			docs := batch[:n]
			next := make([]store.Doc, 0, e.cfg.BatchSize+1)
			batch = append(next, batch[n:]...)
			return bg.do(func() error { return index(docs) })
		}
		t0 := time.Now()
		ch, err := idx.IndexDocsAsync(batch[:n])
		if err != nil {
			return err
		}
		res.durable = ch
		e.fault("final-batch")
		e.stages.index.Add(int64(time.Since(t0)))
		e.rate.add(int64(n))
		e.markSearchable()
		e.fault("after-batch")
		batch = batch[:0]
		return nil
	}
	// detect builds an event's document with its detections: the part
	// of an event's work that needs nothing of the file's other events,
	// so a chunk-parallel read runs it on the decoding goroutines.
	detect := func(ev *evtx.Event) pendingDoc {
		p := pendingDoc{Doc: store.Doc{FileID: f.ID, FileName: f.Name, Event: ev}, id: store.DocID(f.ID, ev)}
		t0 := time.Now()
		p.Sigma, p.suppressed = sup.split(ev, det.sigmaHits(ev, packs, nil))
		p.Sigma, p.corr = det.corrInputs(ev, p.Sigma)
		t1 := time.Now()
		p.IOCs = det.iocHits(f.CaseID, ev, nil)
		e.stages.sigma.Add(int64(t1.Sub(t0)))
		e.stages.ioc.Add(int64(time.Since(t1)))
		return p
	}
	var badTimes int64 // events whose time the index clamps
	// add takes events in file order: tags, hits, counts, batches.
	add := func(p *pendingDoc) error {
		ev := p.Event
		if t, ok := tags.of(p.id, f.ID, ev); ok {
			p.Tags = t.Terms()
		}
		if len(p.Sigma) > 0 || len(p.IOCs) > 0 || len(p.suppressed) > 0 || len(p.corr) > 0 {
			res.sigma += int64(len(p.Sigma))
			if len(p.IOCs) > 0 {
				res.ioc++
			}
			hits = append(hits, store.EventHits{DocID: p.id, FileID: f.ID, Time: ev.TimeCreated,
				Computer: ev.Computer, Channel: ev.Channel, EventID: ev.EventID, Sigma: p.Sigma, IOCs: p.IOCs,
				Suppressed: p.suppressed, Corr: p.corr})
			if len(hits) >= e.cfg.HitsPiece {
				t0 := time.Now()
				if err := e.ledger.AddHits(f.CaseID, f.ID, hits); err != nil {
					return fmt.Errorf("store hits: %w", err)
				}
				e.stages.ledger.Add(int64(time.Since(t0)))
				hits = hits[:0]
			}
		}
		if !store.TimeInRange(ev.TimeCreated) {
			badTimes++
		}
		res.triage.Add(ev)
		batch = append(batch, p.Doc)
		res.events++
		if len(batch) > e.cfg.BatchSize {
			return flush(false)
		}
		return nil
	}
	var st evtx.Stats
	var format input.Format
	if parallel {
		format = input.EVTX
		// One large file: chunks are decoded and matched on several
		// cores while this goroutine indexes, in file order.
		st, err = e.streamParallel(ctx, f.Path, e.chunkWorkers(), func(c *evtx.Chunk) ([]pendingDoc, error) {
			e.stages.parse.Add(int64(c.Parse))
			docs := make([]pendingDoc, len(c.Events))
			for i, ev := range c.Events {
				docs[i] = detect(ev)
			}
			return docs, nil
		}, func(_ *evtx.Chunk, docs []pendingDoc) error {
			for i := range docs {
				if err := add(&docs[i]); err != nil {
					return err
				}
			}
			return nil
		})
	} else {
		streamStart := time.Now()
		var inCallback time.Duration
		st, format, err = e.streamInput(ctx, f.Path, func(ev *evtx.Event) error {
			cbStart := time.Now()
			defer func() { inCallback += time.Since(cbStart) }()
			p := detect(ev)
			return add(&p)
		})
		e.stages.parse.Add(int64(time.Since(streamStart) - inCallback))
	}
	res.format = format
	if errors.Is(err, input.ErrNoRecords) {
		// Records none of which parse: the file fails with the reason,
		// its accounting kept (see process).
		res.unreadable, err = err.Error(), nil
	}
	if err != nil {
		return res, fmt.Errorf("read %s: %w", filepath.Base(f.Path), err)
	}
	if err := flush(true); err != nil {
		return res, err
	}
	if err := e.migrateTags(f.CaseID, tags); err != nil {
		return res, err
	}

	res.acct = store.AccountingOf(st)
	if res.unreadable == "" {
		res.unreadable = unreadable(st)
	}
	res.warnings = append(res.warnings, accountingWarnings(st)...)
	if badTimes > 0 {
		res.warnings = append(res.warnings, fmt.Sprintf("%d event(s) with times outside 1677–2262 indexed at a clamped time (search time_invalid:true; rows show the true time)", badTimes))
	}
	res.hits = hits
	return res, nil
}

// unreadable says why a file yielded no event though it claims some: its
// chunks declare records, or its header declares chunks of which none
// could be read. "" when it yielded events or claims none (an empty log).
func unreadable(st evtx.Stats) string {
	switch {
	case st.Records > 0:
		return ""
	case st.RecordsExpected > 0:
		return fmt.Sprintf("header declares %d records, none readable", st.RecordsExpected)
	case st.SkippedChunks > 0 || (st.Truncated && st.HeaderChunks > 0):
		return fmt.Sprintf("header declares %d chunk(s), none readable", max(st.HeaderChunks, st.SkippedChunks))
	}
	return ""
}

// accountingWarnings turns what the reader skipped, recovered or found
// missing into the file's warnings: counts first, then each problem as
// the reader worded it (capped by the reader; the counts are exact).
func accountingWarnings(st evtx.Stats) []string {
	var w []string
	if st.SkippedChunks > 0 || st.SkippedRecords > 0 {
		w = append(w, fmt.Sprintf("skipped %d unreadable chunk(s) and %d bad record(s)", st.SkippedChunks, st.SkippedRecords))
	}
	if st.Truncated {
		w = append(w, fmt.Sprintf("truncated: the header declares %d chunk(s), %d read", st.HeaderChunks, st.Chunks))
	}
	if missing := st.RecordsExpected - st.Records; missing > 0 {
		w = append(w, fmt.Sprintf("%d of %d expected record(s) not readable", missing, st.RecordsExpected))
	}
	if st.RecordsRecovered > 0 {
		w = append(w, fmt.Sprintf("%d record(s) recovered from damaged chunks (search recovered:true)", st.RecordsRecovered))
	}
	if st.StaleRecords > 0 {
		w = append(w, fmt.Sprintf("%d stale record(s) past a break, numbered outside their chunk's range (slack of an earlier use), not indexed", st.StaleRecords))
	}
	if len(w) == 0 && len(st.Warnings) == 0 {
		return nil
	}
	return append(w, st.Warnings...)
}

// dropFileDocs removes whatever a failed attempt indexed for the file, and
// the hits it stored.
func (e *Engine) dropFileDocs(f store.File) error {
	if err := e.ledger.DropHits(f.CaseID, f.ID); err != nil {
		e.log.Warn("drop hits of failed file", "file_id", f.ID, "err", err)
	}
	idx, err := e.Index(f.CaseID)
	if err != nil {
		return err
	}
	ids, err := idx.FileDocIDs(context.Background(), f.ID)
	if err == nil && len(ids) > 0 {
		err = idx.DeleteDocs(ids)
	}
	return err
}

// archiveZero moves a zero-event file to archive/ and marks it hidden and
// completed: intent first (set, when non-nil, applied to the record in the
// same transaction: what reading the file found), rename, then one
// transaction for path and state. A crash at any point is settled by
// recoverMoves.
func (e *Engine) archiveZero(f store.File, set func(r *store.File)) error {
	d := e.caseDirs(f.CaseID)
	to := filepath.Join(d.archive, filepath.Base(f.Path))
	m := store.MoveIntent{CaseID: f.CaseID, FileID: f.ID, From: f.Path, To: to, Archive: true}
	if f.Path == to {
		if set != nil {
			if _, err := e.ledger.DeferUpdateFile(f.CaseID, f.ID, func(r *store.File) error {
				set(r)
				return nil
			}); err != nil {
				return err
			}
		}
		_, err := e.ledger.CommitMove(m)
		return err
	}
	// Importers link duplicates to the path the ledger names: hold them
	// off while the file is at neither the recorded path nor recorded at
	// the new one. Archives of different files do not conflict, so they
	// share the lock and their commits can share an fsync.
	e.placeMu.RLock()
	defer e.placeMu.RUnlock()
	m.Set = set
	if err := e.ledger.BeginMove(m); err != nil {
		return err
	}
	e.fault("move-intent")
	if err := os.Rename(m.From, m.To); err != nil {
		if rerr := e.ledger.RollbackMove(m); rerr != nil {
			return errors.Join(err, rerr)
		}
		return fmt.Errorf("move to archive: %w", err)
	}
	e.fault("move-renamed")
	if _, err := e.ledger.CommitMove(m); err != nil {
		return err
	}
	return nil
}

// fileTagSet is a file's tags by document ID, with the tags written
// under format-2 IDs (file, chunk, EventRecordID) found by record as the
// file is read, to be re-keyed (see migrateTags).
type fileTagSet struct {
	byID   map[string]store.Tag
	legacy map[string]store.Tag // by legacy ID, until claimed
	moved  []tagMove
}

type tagMove struct {
	from string
	to   *store.Tag // nil: the new key holds the tag already (a move interrupted after its write)
}

// of returns the tag of the event with document ID id. A legacy tag goes
// to the first record of its chunk with its EventRecordID: the old ID
// could not tell records with the same ID apart.
func (s *fileTagSet) of(id string, fileID uint64, ev *evtx.Event) (store.Tag, bool) {
	t, ok := s.byID[id]
	if len(s.legacy) == 0 {
		return t, ok
	}
	old := store.LegacyRef(fileID, ev).ID()
	lt, lok := s.legacy[old]
	if !lok {
		return t, ok
	}
	delete(s.legacy, old)
	if ok {
		s.moved = append(s.moved, tagMove{from: old})
		return t, true
	}
	lt.DocID = id
	s.byID[id] = lt
	s.moved = append(s.moved, tagMove{from: old, to: &lt})
	return lt, true
}

// fileTags loads the tags of a file's events, to carry them into the index.
func (e *Engine) fileTags(caseID, fileID uint64) (*fileTagSet, error) {
	s := &fileTagSet{byID: map[string]store.Tag{}}
	err := e.ledger.Tags(caseID, fileID, func(t *store.Tag) error {
		if ref, ok := store.ParseDocID(t.DocID); ok && ref.Legacy {
			if s.legacy == nil {
				s.legacy = map[string]store.Tag{}
			}
			s.legacy[t.DocID] = *t
			return nil
		}
		s.byID[t.DocID] = *t
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load tags: %w", err)
	}
	return s, nil
}

// migrateTags re-keys the legacy tags the file's records claimed: the new
// key is written before the old one is deleted, so a crash in between
// only repeats the move on the next attempt (the legacy key is found
// again and the new one overwritten with the same tag).
func (e *Engine) migrateTags(caseID uint64, s *fileTagSet) error {
	for _, m := range s.moved {
		if m.to != nil {
			if err := e.ledger.PutTag(caseID, *m.to); err != nil {
				return fmt.Errorf("migrate tag %s: %w", m.from, err)
			}
		}
		if err := e.ledger.PutTag(caseID, store.Tag{DocID: m.from}); err != nil {
			return fmt.Errorf("migrate tag %s: %w", m.from, err)
		}
	}
	s.moved = nil
	return nil
}

// idleCheck is the dispatcher's memory of a first observation that the
// queue invariant failed: when, and at which wake sequence.
type idleCheck struct {
	suspect bool
	seq     uint64
	since   time.Time
}

// checkIdleQueue verifies the queue invariant when the dispatcher finds
// nothing to claim: the ledger must then show no queued file. A mismatch
// is the failure the old platform had (rows "queued", workers idle) and is
// reported on /api/system. A file recorded between the dispatcher's look
// at the queue and this count is not one: every writer that queues a file
// wakes the dispatcher after its commit. So a mismatch is only suspected
// at first, and reported when a look at least QueueCheckGrace later, with
// no wake in between (seq unchanged), still finds it. It returns a timer
// for that look (nil when all is well); a reported violation is looked at
// again on the same timer and cleared once the condition is.
func (e *Engine) checkIdleQueue(c *idleCheck, seq uint64) *time.Timer {
	n, err := e.ledger.CountState(store.StateQueued)
	if err != nil {
		e.log.Error("queue invariant check failed", "err", err)
		return nil
	}
	// Files whose claim is committing are still queued in the ledger
	// but taken.
	e.claimMu.Lock()
	n -= len(e.claiming)
	e.claimMu.Unlock()
	if n <= 0 {
		*c = idleCheck{}
		e.setQueueViolation("")
		return nil
	}
	switch {
	case !c.suspect || c.seq != seq:
		*c = idleCheck{suspect: true, seq: seq, since: time.Now()}
	case time.Since(c.since) >= e.cfg.QueueCheckGrace:
		e.setQueueViolation(fmt.Sprintf("dispatcher idle while the ledger shows %d queued file(s)", n))
	}
	return time.NewTimer(e.cfg.QueueCheckGrace)
}

// setQueueViolation records the queue invariant's current violation
// ("" when it holds), logging when one appears.
func (e *Engine) setQueueViolation(msg string) {
	e.invMu.Lock()
	defer e.invMu.Unlock()
	if msg != "" && e.queueViolation == "" {
		e.log.Error("queue invariant violated", "detail", msg)
	}
	e.queueViolation = msg
}

// stageTimes accumulates the time spent in each pipeline stage across
// workers (nanoseconds; stages of concurrent files add up, so the sum can
// exceed wall time).
type stageTimes struct {
	parse, sigma, ioc, index, ledger, persist atomic.Int64
}

// StageSeconds reports accumulated stage times in seconds.
type StageSeconds struct {
	Parse float64 `json:"parse"`
	Sigma float64 `json:"sigma"`
	IOC   float64 `json:"ioc"`
	Index float64 `json:"index"`
	// Ledger is how long files' completion writes took to return (the
	// completion with its hits, or a zero-event file's archive move),
	// summed over files: off the workers, and files committed in one
	// group each count the group's wait, which includes a lazy group's
	// wait for company (up to 100 ms, see store's lazyWindow): a latency
	// sum, not work. LedgerBusy is the ledger's work.
	Ledger float64 `json:"ledger"`
	// Persist is time files waited for index durability after their last
	// batch (off the workers: they move on meanwhile).
	Persist float64 `json:"persist_wait"`
	// LedgerBusy is the ledger writer's own time in the group commits of
	// per-file writes (claims, completions, moves, failures), fsync
	// included, counted once per group; LedgerCommits and LedgerWrites
	// count those commits and the writes they carried. Since the ledger
	// was opened.
	LedgerBusy    float64 `json:"ledger_busy"`
	LedgerCommits int64   `json:"ledger_commits"`
	LedgerWrites  int64   `json:"ledger_writes"`
}

// Stages returns the accumulated stage times since Start.
func (e *Engine) Stages() StageSeconds {
	s := func(v *atomic.Int64) float64 { return time.Duration(v.Load()).Seconds() }
	w := e.ledger.WriteStats()
	return StageSeconds{Parse: s(&e.stages.parse), Sigma: s(&e.stages.sigma), IOC: s(&e.stages.ioc),
		Index: s(&e.stages.index), Ledger: s(&e.stages.ledger), Persist: s(&e.stages.persist),
		LedgerBusy: w.Busy.Seconds(), LedgerCommits: w.Commits, LedgerWrites: w.Calls}
}

// markSearchable records when the first batch became searchable.
func (e *Engine) markSearchable() {
	if e.firstSearchable.Load() != 0 {
		return
	}
	if e.firstSearchable.CompareAndSwap(0, time.Now().UnixNano()) {
		e.log.Info("first events searchable", "after_seconds", time.Since(e.started).Seconds())
	}
}

// FirstSearchable returns how long after Start the first events became
// searchable (0 if none yet).
func (e *Engine) FirstSearchable() time.Duration {
	ns := e.firstSearchable.Load()
	if ns == 0 {
		return 0
	}
	return time.Unix(0, ns).Sub(e.started)
}
