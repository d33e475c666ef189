package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"casescope/store"
)

// Problem kinds found by the doctor.
const (
	ProblemMissingFile  = "missing_file"  // record's path does not exist
	ProblemHashMismatch = "hash_mismatch" // file's content changed
	ProblemOrphanFile   = "orphan_file"   // file on disk no record names
	ProblemStuck        = "stuck"         // mid-work state while nothing runs
	ProblemQueued       = "queued"        // queued while nothing runs
	ProblemMoveIntent   = "move_intent"   // unfinished move
	ProblemCountDiffers = "count_differs" // index count ≠ ledger count
	ProblemOrphanDocs   = "orphan_docs"   // index documents of an unknown file
	ProblemDanglingHits = "dangling_hits" // hit records of events not in the index
	ProblemStaging      = "staging_leftover"
)

// Problem is one disagreement between ledger, disk and index.
type Problem struct {
	CaseID uint64 `json:"case_id"`
	Case   string `json:"case"`
	Kind   string `json:"kind"`
	FileID uint64 `json:"file_id,omitempty"`
	Path   string `json:"path,omitempty"`
	Detail string `json:"detail"`
	Fix    string `json:"fix"` // what --fix does about it
	Fixed  bool   `json:"fixed"`
}

// DoctorOptions select what the doctor does.
type DoctorOptions struct {
	CaseID uint64 // 0 = every case
	Fix    bool
	// Cheap skips hashing files and per-file index counts (start-up check).
	Cheap bool
}

// Doctor checks, per case, that the ledger, the disk and the index agree:
// every record's path exists and its sha256 matches; no file on disk is
// unrecorded; nothing is queued or mid-work while the engine is idle; no
// move intent is unfinished; each file's index count equals its ledger
// count; no document belongs to an unknown file; every hit record points
// at an indexed event. With Fix it repairs what it found; the engine must
// be started for fixes that need processing (requeue, re-index).
func (e *Engine) Doctor(ctx context.Context, opts DoctorOptions) ([]Problem, error) {
	var cases []store.Case
	if opts.CaseID != 0 {
		c, err := e.ledger.Case(opts.CaseID)
		if err != nil {
			return nil, err
		}
		cases = []store.Case{c}
	} else {
		var err error
		if cases, err = e.ledger.Cases(); err != nil {
			return nil, err
		}
	}
	var out []Problem
	moves, err := e.ledger.Moves()
	if err != nil {
		return nil, err
	}
	for _, c := range cases {
		for _, m := range moves {
			if m.CaseID != c.ID {
				continue
			}
			p := Problem{CaseID: c.ID, Case: c.Name, Kind: ProblemMoveIntent, FileID: m.FileID, Path: m.From,
				Detail: fmt.Sprintf("unfinished move %s → %s", m.From, m.To), Fix: "finish or roll back the move"}
			out = append(out, p)
		}
		ps, err := e.doctorCase(ctx, c, opts)
		if err != nil {
			return out, fmt.Errorf("case %s: %w", c.Name, err)
		}
		out = append(out, ps...)
	}
	if !opts.Fix {
		return out, nil
	}
	return e.fixProblems(ctx, out)
}

func (e *Engine) doctorCase(ctx context.Context, c store.Case, opts DoctorOptions) ([]Problem, error) {
	var out []Problem
	add := func(p Problem) {
		p.CaseID, p.Case = c.ID, c.Name
		out = append(out, p)
	}
	files, err := e.ledger.Files(c.ID)
	if err != nil {
		return nil, err
	}
	dirs := e.caseDirs(c.ID)
	named := map[string]bool{}
	known := map[uint64]store.File{}
	idle := e.inFlight() == 0
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		known[f.ID] = f
		if f.Path != "" {
			named[filepath.Clean(f.Path)] = true
		}
		switch {
		case idle && (f.State == store.StateIndexing || f.State == store.StateSigma || f.State == store.StateIOC):
			fix := "requeue and process"
			if f.State == store.StateIndexing && f.Attempts >= MaxInterrupts {
				// Requeueing it would restart the crash loop; an operator
				// can still requeue it explicitly (which resets attempts).
				fix = fmt.Sprintf("quarantine as failed (interrupted the process %d times); requeue it explicitly to retry (resets its attempts)", f.Attempts)
			}
			add(Problem{Kind: ProblemStuck, FileID: f.ID, Path: f.Path, Detail: fmt.Sprintf("%s is %s but nothing is running (attempt %d)", f.Name, f.State, f.Attempts), Fix: fix})
		case idle && f.State == store.StateQueued:
			add(Problem{Kind: ProblemQueued, FileID: f.ID, Path: f.Path, Detail: fmt.Sprintf("%s is queued but nothing is running", f.Name), Fix: "process the queue"})
		}
		if f.Path == "" {
			continue
		}
		if f.State == store.StateFailed && strings.HasPrefix(f.Error, "file not found at") {
			continue // already known to be gone
		}
		if _, err := os.Stat(f.Path); err != nil {
			fix := "mark failed (no copy found)"
			if f.SHA256 != "" {
				if found := findBySHA(dirs, f.SHA256, named); found != "" {
					fix = "relocate record to " + found
				}
			}
			add(Problem{Kind: ProblemMissingFile, FileID: f.ID, Path: f.Path, Detail: fmt.Sprintf("%s: recorded path %s does not exist", f.Name, f.Path), Fix: fix})
			continue
		}
		if !opts.Cheap && f.SHA256 != "" && isUnder(f.Path, dirs.root) {
			sum, _, err := hashFile(f.Path)
			if err != nil {
				return nil, err
			}
			if sum != f.SHA256 {
				add(Problem{Kind: ProblemHashMismatch, FileID: f.ID, Path: f.Path,
					Detail: fmt.Sprintf("%s: sha256 on disk %s, recorded %s", f.Name, sum[:16], f.SHA256[:16]), Fix: "mark failed: content changed since import"})
			}
		}
	}
	// Files on disk that no record names.
	for _, dir := range []string{dirs.uploads, dirs.archive, dirs.duplicates} {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
		for _, de := range entries {
			p := filepath.Join(dir, de.Name())
			if de.IsDir() || named[p] {
				continue
			}
			fix := "adopt: record and queue it"
			if k, _ := sniff(p); k != kindEvidence {
				fix = "move to rejected/ and record as failed (not EVTX)"
			}
			add(Problem{Kind: ProblemOrphanFile, Path: p, Detail: "file on disk not named by any record", Fix: fix})
		}
	}
	if entries, err := os.ReadDir(dirs.staging); err == nil {
		for _, de := range entries {
			add(Problem{Kind: ProblemStaging, Path: filepath.Join(dirs.staging, de.Name()), Detail: "leftover from an interrupted import", Fix: "delete"})
		}
	}
	if opts.Cheap {
		return out, nil
	}
	idx, err := e.Index(c.ID)
	if err != nil {
		return nil, err
	}
	ids, err := idx.FileIDs()
	if err != nil {
		return nil, err
	}
	inIndex := map[uint64]bool{}
	for _, id := range ids {
		n, err := idx.CountFile(ctx, id)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			continue
		}
		inIndex[id] = true
		f, ok := known[id]
		if !ok {
			add(Problem{Kind: ProblemOrphanDocs, FileID: id, Detail: fmt.Sprintf("%d index documents of file %d, which the ledger does not know", n, id), Fix: "delete the documents"})
			continue
		}
		if f.State == store.StateCompleted && uint64(f.Events) != n {
			add(Problem{Kind: ProblemCountDiffers, FileID: id, Path: f.Path, Detail: fmt.Sprintf("%s: index holds %d events, ledger %d", f.Name, n, f.Events), Fix: "re-index the file"})
		}
		if f.State == store.StateFailed || f.State == store.StateDuplicate {
			add(Problem{Kind: ProblemOrphanDocs, FileID: id, Detail: fmt.Sprintf("%d index documents of %s file %s", n, f.State, f.Name), Fix: "delete the documents"})
		}
	}
	for _, f := range files {
		if f.State == store.StateCompleted && f.Events > 0 && !inIndex[f.ID] {
			add(Problem{Kind: ProblemCountDiffers, FileID: f.ID, Path: f.Path, Detail: fmt.Sprintf("%s: index holds 0 events, ledger %d", f.Name, f.Events), Fix: "re-index the file"})
		}
	}
	// Hit records must point at indexed events. A file being read (or
	// waiting to be read again) stores its hits in pieces ahead of its
	// index's durability, and its attempt starts by dropping them: its
	// hits are checked once it completes.
	byFile := map[uint64][]string{}
	if err := e.ledger.Hits(c.ID, 0, func(h *store.EventHits) error {
		if f, ok := known[h.FileID]; ok && (f.State == store.StateQueued || f.State == store.StateIndexing) {
			return nil
		}
		byFile[h.FileID] = append(byFile[h.FileID], h.DocID)
		return nil
	}); err != nil {
		return nil, err
	}
	fileIDs := make([]uint64, 0, len(byFile))
	for id := range byFile {
		fileIDs = append(fileIDs, id)
	}
	sort.Slice(fileIDs, func(a, b int) bool { return fileIDs[a] < fileIDs[b] })
	for _, fid := range fileIDs {
		docs := byFile[fid]
		n, err := idx.CountIDs(ctx, docs)
		if err != nil {
			return nil, err
		}
		if int(n) != len(docs) {
			f := known[fid]
			add(Problem{Kind: ProblemDanglingHits, FileID: fid, Path: f.Path,
				Detail: fmt.Sprintf("%d of %d hit records of file %d point at events not in the index", len(docs)-int(n), len(docs), fid), Fix: "re-index the file (or drop the hits of an unknown file)"})
		}
	}
	return out, nil
}

// findBySHA looks for a file with the given content in the case's folders,
// skipping files other records already name.
func findBySHA(d caseDirs, sum string, named map[string]bool) string {
	for _, dir := range []string{d.uploads, d.archive, d.duplicates, d.staging} {
		var found string
		_ = filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() || found != "" || named[p] {
				return nil
			}
			if s, _, err := hashFile(p); err == nil && s == sum {
				found = p
				return filepath.SkipAll
			}
			return nil
		})
		if found != "" {
			return found
		}
	}
	return ""
}

// fixProblems repairs what Doctor found. Work that needs processing
// (requeued or adopted files, re-indexing) is queued; the caller runs the
// engine until idle.
func (e *Engine) fixProblems(ctx context.Context, ps []Problem) ([]Problem, error) {
	// fail marks a file failed and drops its documents and hits, which
	// no longer stand for a readable file.
	fail := func(p Problem, msg string) error {
		_, err := e.ledger.UpdateFile(p.CaseID, p.FileID, func(f *store.File) error {
			f.State, f.Error, f.Events = store.StateFailed, msg, 0
			return nil
		})
		if err != nil {
			return err
		}
		idx, err := e.Index(p.CaseID)
		if err != nil {
			return err
		}
		ids, err := idx.FileDocIDs(ctx, p.FileID)
		if err == nil {
			err = idx.DeleteDocs(ids)
		}
		if err == nil {
			err = e.ledger.DropHits(p.CaseID, p.FileID)
		}
		return err
	}
	relocated := map[string]bool{}
	requeued := map[uint64]bool{}
	requeue := func(p Problem) error {
		if requeued[p.FileID] {
			return nil
		}
		requeued[p.FileID] = true
		idx, err := e.Index(p.CaseID)
		if err != nil {
			return err
		}
		ids, err := idx.FileDocIDs(ctx, p.FileID)
		if err != nil {
			return err
		}
		if err := idx.DeleteDocs(ids); err != nil {
			return err
		}
		_, err = e.ledger.UpdateFile(p.CaseID, p.FileID, func(f *store.File) error {
			// A repair, not a retry after a crash: its attempts start over.
			f.State, f.Error, f.Attempts = store.StateQueued, "", 0
			return nil
		})
		return err
	}
	var err error
	for i := range ps {
		p := &ps[i]
		switch p.Kind {
		case ProblemMoveIntent:
			err = e.recoverMoves()
		case ProblemMissingFile:
			if to, ok := strings.CutPrefix(p.Fix, "relocate record to "); ok {
				relocated[to] = true
				_, err = e.ledger.UpdateFile(p.CaseID, p.FileID, func(f *store.File) error {
					f.Path = to
					return nil
				})
			} else {
				err = fail(*p, "file not found at "+p.Path)
			}
		case ProblemHashMismatch:
			err = fail(*p, "content changed since import (sha256 differs)")
		case ProblemOrphanFile:
			if !relocated[p.Path] {
				err = e.adopt(ctx, *p)
			}
		case ProblemStuck:
			err = e.recoverInterrupted()
		case ProblemQueued:
			// Processed when the engine runs.
		case ProblemCountDiffers:
			err = requeue(*p)
		case ProblemOrphanDocs:
			var idx store.Events
			if idx, err = e.Index(p.CaseID); err == nil {
				var ids []string
				if ids, err = idx.FileDocIDs(ctx, p.FileID); err == nil {
					err = idx.DeleteDocs(ids)
				}
			}
		case ProblemDanglingHits:
			if _, ferr := e.ledger.File(p.CaseID, p.FileID); ferr == nil {
				err = requeue(*p)
			} else {
				err = e.ledger.PutHits(p.CaseID, p.FileID, nil)
			}
		case ProblemStaging:
			err = os.RemoveAll(p.Path)
		}
		if err != nil {
			return ps, fmt.Errorf("fix %s %s: %w", p.Kind, p.Path, err)
		}
		p.Fixed = true
	}
	e.wake()
	return ps, nil
}

// adopt records an orphan file found in a case folder: an EVTX is queued
// (or recorded as a duplicate), anything else moves to rejected/ and is
// recorded as failed.
func (e *Engine) adopt(ctx context.Context, p Problem) error {
	c, err := e.ledger.Case(p.CaseID)
	if err != nil {
		return err
	}
	im := &importer{e: e, c: c, dirs: e.caseDirs(p.CaseID)}
	defer im.release()
	name := "adopted/" + filepath.Base(p.Path)
	if k, _ := sniff(p.Path); k != kindEvidence {
		kept, err := keepFile(im.dirs, "rejected", p.Path)
		if err != nil {
			return err
		}
		if err := im.reject(name, kept, notEvidence(kept)+", found in a case folder"); err != nil {
			return err
		}
		return im.flush()
	}
	sum, size, err := hashFile(p.Path)
	if err != nil {
		return err
	}
	im.pending = append(im.pending, store.NewFile{Name: name, SHA256: sum, Size: size, Path: p.Path, State: store.StateQueued})
	return im.flush()
}
