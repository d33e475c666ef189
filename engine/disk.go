package engine

import (
	"casescope/store"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// Disk-space model. A file is admitted (copied in, or handed to a worker)
// only while the data directory's filesystem keeps DiskReserve bytes free
// after the file's estimated need: its size times indexFactor for the
// index, plus its size again when it still has to be copied in.
//
// indexFactor is measured: the index of the shared corpus (49.5 MB of
// EVTX, mostly zero slack) peaked at 19 MB while ingesting (0.38 bytes
// per EVTX byte); dense logs peak higher (smb-password-guessing-security,
// 3.2 MB full chunks: 3.8 MB of index, 1.19). 3/2 covers the dense case
// with room for segment merges, which write the merged segment before
// removing its inputs. Config.IndexFactor overrides it.
const (
	defaultIndexFactor = 1.5
	defaultDiskReserve = 256 << 20
	defaultDiskPoll    = 5 * time.Second
	// probeBytes is what a paused engine writes to learn whether the
	// filesystem takes writes again (free space alone says nothing about
	// a read-only or failing disk).
	probeBytes = 64 << 10
	// resumeMargin is the space that must be freed, beyond what was free
	// when a write failed for space, before intake resumes.
	resumeMargin = 16 << 20
	// persistPatience is how long index persists may keep failing, with
	// space free and a probe write passing, before intake stops.
	persistPatience = 5 * time.Second
)

// ErrDiskFull reports work stopped because the data directory's
// filesystem is short of space (before or after a write failed).
var ErrDiskFull = errors.New("disk full")

// ErrWriteFailed reports work stopped because a write to the data
// directory failed for another reason (I/O error, read-only filesystem).
var ErrWriteFailed = errors.New("write failed")

// StorageError is why intake stopped: what needed space or failed to
// write, where, and the free space there. Files it concerns stay queued.
type StorageError struct {
	Op   string // what was refused or failed: "import", "index", "ledger"...
	Path string // where it would have written
	Free uint64 // bytes free there when it stopped
	Need uint64 // bytes it needs free (estimate, reserve included)
	Err  error  // the write error, nil when refused in advance
}

func (s *StorageError) Error() string {
	var b strings.Builder
	if errors.Is(s.Err, store.ErrUnavailable) {
		fmt.Fprintf(&b, "%s: %s; files stay queued until it answers", s.Op, s.Err.Error())
		return b.String()
	}
	if s.Err != nil {
		fmt.Fprintf(&b, "%s: write to %s failed: %s; ", s.Op, s.Path, s.Err.Error())
	} else {
		fmt.Fprintf(&b, "%s: not enough disk space on %s; ", s.Op, s.Path)
	}
	fmt.Fprintf(&b, "%s free, %s needed", formatBytes(s.Free), formatBytes(s.Need))
	return b.String()
}

// Unwrap gives ErrDiskFull (or ErrWriteFailed) and the write error.
func (s *StorageError) Unwrap() []error {
	kind := ErrDiskFull
	if s.Err != nil && !isNoSpace(s.Err) {
		kind = ErrWriteFailed
	}
	if s.Err == nil {
		return []error{kind}
	}
	return []error{kind, s.Err}
}

// isNoSpace reports a full filesystem or exhausted quota. Some layers
// (Bleve, bbolt) flatten the errno into text, hence the string test.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		strings.Contains(err.Error(), "no space left on device") || strings.Contains(err.Error(), "disk quota exceeded")
}

// isStorageFault reports a write failure of the data directory itself
// (full, read-only or failing disk), as opposed to a problem of one file's
// content: the first pauses the engine, the second fails the file.
func isStorageFault(err error) bool {
	if err == nil {
		return false
	}
	var se *StorageError
	return errors.As(err, &se) || errors.Is(err, store.ErrUnavailable) || isNoSpace(err) || errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EROFS) ||
		strings.Contains(err.Error(), "read-only file system") || strings.Contains(err.Error(), "input/output error")
}

// diskReserve is the configured reserve in bytes.
func (e *Engine) diskReserve() uint64 { return e.cfg.DiskReserve }

// indexNeed is the disk an EVTX file of size bytes needs for its index.
func (e *Engine) indexNeed(size int64) uint64 {
	if size <= 0 {
		return 0
	}
	return uint64(float64(size) * e.cfg.IndexFactor)
}

// checkSpace refuses an operation needing need bytes under path when the
// filesystem would keep less than the reserve free. An unreadable free
// count (no statfs) admits: the write itself will tell.
func (e *Engine) checkSpace(op, path string, need uint64) error {
	free, err := freeBytes(path)
	if err != nil {
		return nil
	}
	want := need + e.diskReserve()
	if free < want {
		return &StorageError{Op: op, Path: path, Free: free, Need: want}
	}
	return nil
}

// storageError wraps a write failure with the free space at path.
func (e *Engine) storageError(op, path string, err error) *StorageError {
	var se *StorageError
	if errors.As(err, &se) {
		return se
	}
	free, _ := freeBytes(path)
	return &StorageError{Op: op, Path: path, Free: free, Need: e.diskReserve() + probeBytes, Err: err}
}

// probeWrite writes and syncs a small file in dir and removes it: the
// one reliable test that the filesystem takes writes again.
func probeWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".space-probe-*")
	if err != nil {
		return fmt.Errorf("probe %s: %w", dir, err)
	}
	name := f.Name()
	_, err = f.Write(make([]byte, probeBytes))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := os.Remove(name); err == nil && rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("probe %s: %w", dir, err)
	}
	return nil
}

// Pause describes why the engine takes no new files: the disk is short
// of space for the next one, or a write failed. Files stay queued; the
// engine re-checks every Config.DiskPoll and resumes by itself.
type Pause struct {
	Reason string    `json:"reason"`
	Path   string    `json:"path"`
	Free   uint64    `json:"free_bytes"`
	Need   uint64    `json:"need_bytes"`
	Since  time.Time `json:"since"`
	// WriteFailed marks a write that failed (the running files were
	// stopped and requeued), not a refusal in advance.
	WriteFailed bool `json:"write_failed"`
	// Stalled: nothing is in flight, so only freed space lets the engine
	// go on (an ingest command then stops with the pause's error).
	Stalled bool `json:"stalled"`
	err     *StorageError
}

// Paused returns the engine's pause, or nil while it takes files.
func (e *Engine) Paused() *Pause {
	e.diskMu.Lock()
	defer e.diskMu.Unlock()
	if e.pause == nil {
		return nil
	}
	p := *e.pause
	return &p
}

// stallError returns the pause's error once the engine is stalled on it
// (nothing in flight, nothing admissible), or nil.
func (e *Engine) stallError() error {
	e.diskMu.Lock()
	defer e.diskMu.Unlock()
	if e.pause == nil || !e.pause.Stalled {
		return nil
	}
	return e.pause.err
}

// setStalled marks the pause as stalled.
func (e *Engine) setStalled() {
	e.diskMu.Lock()
	changed := e.pause != nil && !e.pause.Stalled
	if changed {
		e.pause.Stalled = true
	}
	e.diskMu.Unlock()
	if changed {
		e.finished() // wakes WaitIdle
	}
}

// setPause records a pause (a write failure is never replaced by a mere
// refusal) and logs it once.
func (e *Engine) setPause(se *StorageError) {
	e.diskMu.Lock()
	defer e.diskMu.Unlock()
	hard := se.Err != nil
	if e.pause != nil && (e.pause.WriteFailed || !hard) {
		if !e.pause.WriteFailed {
			e.pause.Free, e.pause.Need, e.pause.err = se.Free, se.Need, se
			e.pause.Reason = se.Error()
		}
		return
	}
	e.pause = &Pause{Reason: se.Error(), Path: se.Path, Free: se.Free, Need: se.Need, Since: time.Now().UTC(), WriteFailed: hard, err: se}
	if hard {
		e.log.Error("intake stopped: write failed; running files requeued", "path", se.Path, "free_bytes", se.Free, "need_bytes", se.Need, "err", se.Err)
	} else {
		e.log.Warn("intake paused: not enough disk space; files stay queued", "path", se.Path, "free_bytes", se.Free, "need_bytes", se.Need)
	}
}

// clearPause ends a pause; with refusalOnly, only one that is not a
// write failure.
func (e *Engine) clearPause(refusalOnly bool) {
	e.diskMu.Lock()
	defer e.diskMu.Unlock()
	if e.pause == nil || (refusalOnly && e.pause.WriteFailed) {
		return
	}
	e.log.Info("intake resumed: disk space available", "paused_seconds", time.Since(e.pause.Since).Seconds())
	e.pause = nil
}

// halt stops intake after a write failed: the pause is recorded and every
// running file is cancelled, to be requeued, not failed.
func (e *Engine) halt(op, path string, err error) {
	se := e.storageError(op, path, err)
	if se.Err == nil {
		se.Err = err
	}
	if isNoSpace(se.Err) {
		// Resume only once space was freed: the failed write may need
		// more than the reserve (a merged index segment, say).
		se.Need = max(se.Need, se.Free+max(e.diskReserve(), resumeMargin))
	}
	e.setPause(se)
	e.diskMu.Lock()
	for _, cancel := range e.running {
		cancel(se)
	}
	e.diskMu.Unlock()
	e.wake()
}

// halted reports a write failure not yet cleared.
func (e *Engine) halted() bool {
	e.diskMu.Lock()
	defer e.diskMu.Unlock()
	return e.pause != nil && e.pause.WriteFailed
}

// workerContext derives a context for a file's work (on a worker, or
// awaiting durability) that a halt cancels with the StorageError as
// cause; done forgets it.
func (e *Engine) workerContext(ctx context.Context) (context.Context, func()) {
	wctx, cancel := context.WithCancelCause(ctx)
	e.diskMu.Lock()
	if e.pause != nil && e.pause.WriteFailed {
		// Halted before this work registered: it must not go on.
		cancel(e.pause.err)
	}
	e.runSeq++
	id := e.runSeq
	e.running[id] = cancel
	e.diskMu.Unlock()
	return wctx, func() {
		e.diskMu.Lock()
		delete(e.running, id)
		e.diskMu.Unlock()
		cancel(nil)
	}
}

// haltedCause reports whether ctx ended because intake stopped.
func haltedCause(ctx context.Context) bool {
	var se *StorageError
	return errors.As(context.Cause(ctx), &se)
}

// reserve books a file's disk need while it is in flight.
func (e *Engine) reserve(need uint64) func() {
	e.diskMu.Lock()
	e.booked += need
	e.diskMu.Unlock()
	return func() {
		e.diskMu.Lock()
		e.booked -= need
		e.diskMu.Unlock()
	}
}

func (e *Engine) bookedBytes() uint64 {
	e.diskMu.Lock()
	defer e.diskMu.Unlock()
	return e.booked
}

// recoverFromHalt runs on the dispatcher while a write failure stands:
// once nothing is in flight it requeues the interrupted files, and once a
// probe write succeeds with the reserve free it clears the pause. It
// reports whether intake may go on.
func (e *Engine) recoverFromHalt() bool {
	if e.inFlight() > 0 {
		return false
	}
	e.setStalled()
	if _, err := e.ledger.Requeue(); err != nil {
		e.log.Debug("requeue after write failure", "err", err)
		return false
	}
	dir := e.cfg.DataDir
	free, ferr := freeBytes(dir)
	need := e.diskReserve() + probeBytes
	e.diskMu.Lock()
	if e.pause != nil {
		need = max(need, e.pause.Need)
	}
	e.diskMu.Unlock()
	if ferr == nil && free < need {
		e.diskMu.Lock()
		if e.pause != nil {
			e.pause.Free = free
		}
		e.diskMu.Unlock()
		return false
	}
	if err := probeWrite(dir); err != nil {
		return false
	}
	if !e.clustersAnswer() {
		return false
	}
	e.clearPause(false)
	return true
}

// clustersAnswer reports whether, after a pause on an unreachable event
// store, every open cluster store answers again.
func (e *Engine) clustersAnswer() bool {
	e.diskMu.Lock()
	unavailable := e.pause != nil && e.pause.err != nil && errors.Is(e.pause.err.Err, store.ErrUnavailable)
	e.diskMu.Unlock()
	if !unavailable {
		return true
	}
	e.idxMu.Lock()
	var cls []*store.Cluster
	for _, x := range e.indexes {
		if c, ok := x.(*store.Cluster); ok {
			cls = append(cls, c)
		}
	}
	e.idxMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, c := range cls {
		if err := c.Ping(ctx); err != nil {
			e.log.Debug("event store still unreachable", "err", err)
			return false
		}
	}
	return true
}

// inFlight counts files on workers or awaiting index durability.
func (e *Engine) inFlight() int64 {
	return e.active.Load() + e.persisting.Load() + e.aheadN.Load()
}

// asyncIndex is an event store that persists in the background (the
// embedded index) and counts the failures it could not report.
type asyncIndex interface {
	AsyncErrors() uint64
	Path() string
}

// watchIndexes stops intake when an index cannot persist: Bleve retries a
// failed persist forever and only counts it, so without this a full disk
// leaves files waiting for durability with nothing logged. A failure
// halts at once when the disk is short of space or refuses a probe write,
// and otherwise once failures have gone on for persistPatience (a lone
// retry that then succeeds is no reason to stop).
func (e *Engine) watchIndexes(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	seen := map[string]uint64{}
	var failingSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.idxMu.Lock()
		var failed []string
		for _, ev := range e.indexes {
			x, ok := ev.(asyncIndex)
			if !ok {
				continue // a cluster reports write failures synchronously
			}
			n := x.AsyncErrors()
			if n > seen[x.Path()] {
				failed = append(failed, x.Path())
			}
			seen[x.Path()] = n
		}
		e.idxMu.Unlock()
		if len(failed) == 0 {
			failingSince = time.Time{}
			continue
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		if e.halted() {
			continue
		}
		dir := failed[0]
		err := probeWrite(dir)
		if err == nil {
			free, ferr := freeBytes(dir)
			switch {
			case ferr == nil && free < e.diskReserve()+resumeMargin:
				// Bleve does not say why; short of space, that is the
				// likely cause (a segment is larger than the probe).
				err = fmt.Errorf("index %s could not persist a batch with %s free: %w", dir, formatBytes(free), syscall.ENOSPC)
			case time.Since(failingSince) >= persistPatience:
				err = fmt.Errorf("index %s has failed to persist for %s", dir, time.Since(failingSince).Round(time.Second))
			default:
				continue
			}
		}
		e.halt("index", dir, err)
	}
}

// formatBytes renders a byte count for people: "12.5 MiB".
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i])
}
