package engine

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"time"

	"casescope/engine/admit"
	"casescope/store"
)

// ErrTooLarge reports an upload over the size limit.
var ErrTooLarge = errors.New("too large")

// ImportUpload streams one uploaded file (an EVTX or a ZIP) into the case's
// staging area, hashing it on the way, then imports it like a local file:
// never more than a small buffer of it is in memory. Uploads larger than
// maxBytes fail with ErrTooLarge and leave nothing behind.
func (e *Engine) ImportUpload(ctx context.Context, caseID uint64, name string, r io.Reader, maxBytes int64) (ImportResult, error) {
	c, err := e.ledger.Case(caseID)
	if err != nil {
		return ImportResult{}, err
	}
	d := e.caseDirs(caseID)
	if err := d.ensure(); err != nil {
		return ImportResult{}, err
	}
	dir, err := os.MkdirTemp(d.staging, "upload-*")
	if err != nil {
		return ImportResult{}, fmt.Errorf("create upload dir: %w", err)
	}
	defer os.RemoveAll(dir)
	dst := filepath.Join(dir, safeBase(name))
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return ImportResult{}, fmt.Errorf("create upload file: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(r, maxBytes+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if isNoSpace(err) {
			return ImportResult{}, e.storageError("receive upload "+name, dir, err)
		}
		return ImportResult{}, fmt.Errorf("receive upload: %w", err)
	}
	if n > maxBytes {
		return ImportResult{}, fmt.Errorf("%s is larger than the %d-byte upload limit: %w", name, maxBytes, ErrTooLarge)
	}
	im := &importer{e: e, c: c, dirs: d}
	defer im.release()
	kind, _ := sniff(dst)
	switch kind {
	case kindEvidence:
		err = im.addEVTX(dst, safeName(name), "", true)
	case kindZip:
		// The uploaded archive itself is kept as received (provenance, and
		// the path of any entry refused inside it).
		var kept string
		if kept, err = keepFile(d, "archives", dst); err == nil {
			err = im.addZip(ctx, kept, safeName(name), 1, kept, nil)
		}
	default:
		// Keep the refused upload so the record's path exists and the
		// analyst can look at what was sent.
		var kept string
		if kept, err = keepFile(d, "rejected", dst); err == nil {
			err = im.rejectFile(safeName(name), kept, kept, notEvidence(kept))
		}
	}
	if err == nil {
		err = im.flush()
	}
	if err != nil {
		return im.res, err
	}
	e.wake()
	return im.res, nil
}

// safeName keeps an uploaded name readable for the record (it is never used
// as a path): slashes become '/', control characters are dropped.
func safeName(name string) string {
	b := make([]rune, 0, len(name))
	for _, r := range name {
		if r == '\\' {
			r = '/'
		}
		if r < 0x20 || r == 0x7f {
			continue
		}
		b = append(b, r)
	}
	if len(b) > 300 {
		b = b[len(b)-300:]
	}
	return string(b)
}

// RequeueFile puts a failed or completed file back in the queue; its
// documents are re-written with the same IDs. It is the operator's
// explicit retry, so it resets the attempt count (a file quarantined
// after crashing the process gets MaxInterrupts more tries).
func (e *Engine) RequeueFile(caseID, fileID uint64) (store.File, error) {
	f, err := e.ledger.UpdateFile(caseID, fileID, func(f *store.File) error {
		if store.Pending(f.State) {
			return fmt.Errorf("file is already %s: %w", f.State, ErrBusy)
		}
		if f.State == store.StateDuplicate {
			return fmt.Errorf("file is a duplicate of file %d: %w", f.DuplicateOf, store.ErrInvalid)
		}
		// A refused file (no known format, an unsafe archive) would be
		// refused again: processing it cannot succeed.
		if f.State == store.StateFailed && strings.HasPrefix(f.Error, "rejected: ") {
			return fmt.Errorf("file was rejected at import (%s); requeueing cannot change that: %w", strings.TrimPrefix(f.Error, "rejected: "), store.ErrInvalid)
		}
		f.State, f.Error, f.Attempts = store.StateQueued, "", 0
		return nil
	})
	if err == nil {
		e.wake()
	}
	return f, err
}

// SetHidden hides or unhides a file in listings.
func (e *Engine) SetHidden(caseID, fileID uint64, hidden bool) (store.File, error) {
	return e.ledger.UpdateFile(caseID, fileID, func(f *store.File) error {
		f.Hidden = hidden
		return nil
	})
}

// DeleteFile removes a file: its documents from the index, its record (and
// hits) from the ledger, and its copy on disk. A file being processed
// cannot be deleted.
func (e *Engine) DeleteFile(ctx context.Context, caseID, fileID uint64) error {
	f, err := e.ledger.File(caseID, fileID)
	if err != nil {
		return err
	}
	if store.Pending(f.State) {
		return fmt.Errorf("file is %s: %w", f.State, ErrBusy)
	}
	idx, err := e.Index(caseID)
	if err != nil {
		return err
	}
	ids, err := idx.FileDocIDs(ctx, fileID)
	if err != nil {
		return err
	}
	if err := idx.DeleteDocs(ids); err != nil {
		return err
	}
	if _, err := e.ledger.DeleteFile(caseID, fileID); err != nil {
		return err
	}
	// The file's events may have been part of correlation matches.
	e.scheduleCorrelate(caseID)
	if f.Path != "" && isUnder(f.Path, e.caseDirs(caseID).root) {
		// Records made before content-addressed placement could share a
		// path with their duplicates: the file goes only with its last
		// record.
		others, err := e.ledger.Files(caseID)
		if err != nil {
			return fmt.Errorf("check other records of %s: %w", f.Path, err)
		}
		for _, o := range others {
			if filepath.Clean(o.Path) == filepath.Clean(f.Path) {
				e.log.Info("deleted record's file kept: another record names it", "path", f.Path, "file_id", o.ID)
				e.finished()
				return nil
			}
		}
		if err := os.Remove(f.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			e.log.Warn("remove deleted file", "path", f.Path, "err", err)
		}
	}
	e.finished()
	return nil
}

func isUnder(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !filepath.IsAbs(rel) && (len(rel) < 3 || rel[:3] != "../")
}

// Status is the engine's live state for /api/system and `status --json`.
type Status struct {
	MemoryBudget    uint64   `json:"memory_budget_bytes"`
	HeapInuse       uint64   `json:"heap_inuse_bytes"`
	RSS             uint64   `json:"rss_bytes"`
	SystemAvailable uint64   `json:"system_available_bytes"`
	ActiveWorkers   int      `json:"active_workers"`
	MaxWorkers      int      `json:"max_workers"`
	AdmittedFiles   uint64   `json:"admitted_files"`
	WaitingFiles    int      `json:"waiting_files"`
	Throttled       bool     `json:"throttled"`
	BlockedOn       string   `json:"blocked_on,omitempty"`
	InFlightCost    uint64   `json:"in_flight_cost_bytes"`
	QueuedFiles     int      `json:"queued_files"`
	PendingFiles    int      `json:"pending_files"`
	EventsPerSecond float64  `json:"events_per_second"`
	Invariants      []string `json:"invariant_errors"`
	// StartupProblems is the cheap doctor check run when serve started.
	StartupProblems []Problem `json:"startup_problems"`
	// Paused is set while intake waits for disk space or after a write
	// failed (files stay queued; the engine re-checks by itself).
	Paused           *Pause    `json:"paused,omitempty"`
	DiskFreeBytes    uint64    `json:"disk_free_bytes"`
	DiskReserveBytes uint64    `json:"disk_reserve_bytes"`
	Jobs             []Job     `json:"jobs"`
	Goroutines       int       `json:"goroutines"`
	Time             time.Time `json:"time"`
}

// Status reports the engine's state.
func (e *Engine) Status() (Status, error) {
	st := Status{ActiveWorkers: e.Active(), MaxWorkers: e.cfg.Workers, Invariants: e.Invariants(), Jobs: e.Jobs(),
		Goroutines: runtime.NumGoroutine(), Time: time.Now().UTC(), AdmittedFiles: uint64(e.pickedN.Load())}
	if st.Invariants == nil {
		st.Invariants = []string{}
	}
	st.StartupProblems = e.StartupCheck()
	st.Paused = e.Paused()
	st.DiskFreeBytes, _ = freeBytes(e.cfg.DataDir)
	st.DiskReserveBytes = e.diskReserve()
	var err error
	if st.QueuedFiles, err = e.ledger.CountState(store.StateQueued); err != nil {
		return st, err
	}
	if st.PendingFiles, err = e.Pending(); err != nil {
		return st, err
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	st.HeapInuse = s[0].Value.Uint64()
	st.EventsPerSecond = e.rate.perSecond()
	if sr, ok := e.admit.(interface{ Stats() admit.Stats }); ok {
		a := sr.Stats()
		st.MemoryBudget, st.SystemAvailable, st.RSS = a.Budget, a.SystemAvailable, a.RSS
		st.WaitingFiles, st.Throttled, st.BlockedOn = a.Waiting, a.Throttled, a.BlockedOn
		st.AdmittedFiles, st.MaxWorkers, st.InFlightCost = a.Admitted, a.MaxWorkers, a.InFlightCost
	}
	return st, nil
}

func keepFile(d caseDirs, folder, src string) (string, error) {
	dir := filepath.Join(d.root, folder)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("create %s dir: %w", folder, err)
	}
	f, err := os.CreateTemp(dir, "*_"+filepath.Base(src))
	if err != nil {
		return "", fmt.Errorf("create %s slot: %w", folder, err)
	}
	f.Close()
	if err := os.Rename(src, f.Name()); err != nil {
		return "", fmt.Errorf("keep upload in %s: %w", folder, err)
	}
	return f.Name(), nil
}
