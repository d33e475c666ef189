package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"casescope/evtx"
)

// Sentinel errors.
var (
	// ErrNotFound reports a case, file or other record that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists reports a record that already exists (a case name in use).
	ErrExists = errors.New("already exists")
	// ErrInvalid reports a value the ledger refuses (an empty case name).
	ErrInvalid = errors.New("invalid")
	// ErrLocked reports a ledger held by another process (a running
	// casescope serve).
	ErrLocked = errors.New("ledger in use by another casescope process")
)

// File states. A file is in exactly one state; the by-state index holds it
// under that state only, updated in the same transaction as the record.
const (
	StateQueued    = "queued"    // waiting for a worker
	StateIndexing  = "indexing"  // a worker streams it: parse, Sigma, IOC, index
	StateSigma     = "sigma"     // re-running Sigma rules over its events
	StateIOC       = "ioc"       // re-hunting IOCs over its events
	StateCompleted = "completed" // done; Events holds the indexed count
	StateFailed    = "failed"    // Error says why
	StateDuplicate = "duplicate" // same sha256 as DuplicateOf; not indexed
)

// Pending reports whether a state means work still to do (queued or
// interrupted mid-work).
func Pending(state string) bool {
	switch state {
	case StateQueued, StateIndexing, StateSigma, StateIOC:
		return true
	}
	return false
}

var (
	bktMeta    = []byte("meta")
	bktCases   = []byte("cases")
	bktNames   = []byte("case_names")
	bktFiles   = []byte("files")    // caseID|fileID → File JSON
	bktByState = []byte("by_state") // sub-bucket per state: caseID|fileID → nil
	bktSHA     = []byte("sha")      // caseID|sha256 → fileID
	bktMoves   = []byte("moves")    // caseID|fileID → MoveIntent JSON
)

// Case is one investigation: its files share an index and a folder.
type Case struct {
	ID          uint64    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	// Status is open (also when empty: cases made before statuses),
	// closed or archived; see SetCaseStatus.
	Status string `json:"status,omitempty"`
	// RulePacks names the Sigma rule packs the case runs (engine/sigma
	// Packs); nil runs the default packs.
	RulePacks []string `json:"rule_packs,omitempty"`
	// Store is where the case's events live: empty or "embedded" for
	// the Bleve index in the data directory, else a ClickHouse StoreURL
	// (recorded without password); see SetCaseStore.
	Store string `json:"store,omitempty"`
	// Origin names this data directory's events in a shared store: two
	// ledgers writing one cluster case number their files alike, and the
	// origin keeps their events apart.
	Origin string `json:"origin,omitempty"`
}

// File is the ledger's record of one evidence file. The ledger is the
// queue: State is the file's place in it.
type File struct {
	ID          uint64    `json:"id"`
	CaseID      uint64    `json:"case_id"`
	Name        string    `json:"name"` // original name, relative to what was imported
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size"`
	Path        string    `json:"path"` // absolute path on disk now (stored relative to the data directory: paths.go)
	State       string    `json:"state"`
	Hidden      bool      `json:"hidden"`
	ZeroEvents  bool      `json:"zero_event,omitempty"`
	Events      int64     `json:"events"`
	Error       string    `json:"error"`
	Warnings    []string  `json:"warnings,omitempty"`
	DuplicateOf uint64    `json:"duplicate_of,omitempty"`
	SigmaHits   int64     `json:"sigma_hits"`
	IOCHits     int64     `json:"ioc_hits"`
	Attempts    int       `json:"attempts"` // claims for indexing, counted before any work (see Claim)
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	Started     time.Time `json:"started,omitzero"`
	Finished    time.Time `json:"finished,omitzero"`

	// Source is the absolute path an import read the file from (empty
	// for uploads): with SHA256 it tells a re-run of the same import
	// from new evidence.
	Source string `json:"source,omitempty"`
	// Format is the file's format as read ("evtx", "winevent-json",
	// "csv+gzip", … as package input names them); "" in records made
	// before formats were recorded, all of which are EVTX.
	Format string `json:"format"`
	Accounting
}

// Accounting is what reading a file found, beside the events indexed
// (evtx.Stats as stored): nothing skipped is silent. Zero values mean
// nothing of that kind (or a record written before accounting existed).
type Accounting struct {
	HeaderChunks     int `json:"header_chunks,omitempty"`
	Chunks           int `json:"chunks,omitempty"`
	RecordsExpected  int `json:"records_expected"`
	RecordsRecovered int `json:"records_recovered"`
	RecordsSkipped   int `json:"records_skipped"`
	// StaleRecords are records past a broken record header numbered
	// outside the chunk's declared range: slack, counted, not indexed.
	StaleRecords  int  `json:"stale_records,omitempty"`
	ChunksSkipped int  `json:"chunks_skipped"`
	StaleChunks   int  `json:"stale_chunks,omitempty"`
	Truncated     bool `json:"truncated"`
	// Problems is capped at MaxProblems; the counts above are not.
	Problems []evtx.Problem `json:"problems,omitempty"`
}

// MaxProblems caps the problems kept per file: a badly damaged file can
// have thousands, and the record is read whole by every listing.
const MaxProblems = 50

// AccountingOf converts a reader's statistics to the ledger's record.
func AccountingOf(st evtx.Stats) Accounting {
	a := Accounting{HeaderChunks: st.HeaderChunks, Chunks: st.Chunks, RecordsExpected: st.RecordsExpected,
		RecordsRecovered: st.RecordsRecovered, RecordsSkipped: st.SkippedRecords, ChunksSkipped: st.SkippedChunks,
		StaleChunks: st.StaleChunks, StaleRecords: st.StaleRecords, Truncated: st.Truncated}
	if len(st.Problems) > 0 {
		a.Problems = append([]evtx.Problem(nil), st.Problems[:min(len(st.Problems), MaxProblems)]...)
	}
	return a
}

// MoveIntent records a file move before it happens, so recovery can finish
// or roll it back after a crash at any instant.
type MoveIntent struct {
	CaseID uint64 `json:"case_id"`
	FileID uint64 `json:"file_id"`
	From   string `json:"from"`
	To     string `json:"to"`
	// Archive marks the zero-event move: on completion the file is also
	// hidden and completed.
	Archive bool `json:"archive"`
	// Set, when non-nil, is applied to the file record in BeginMove's
	// transaction (an archive records what reading the file found with
	// its intent, saving a commit per zero-event file). Not stored.
	Set func(f *File) `json:"-"`
}

// Ledger is the bbolt database at the root of the data directory: cases,
// files, their states and queue, move intents, and what later features add.
type Ledger struct {
	db    *bolt.DB
	group *committer // the pipeline's per-file writes, committed in groups
}

// OpenLedger opens (creating if needed) the ledger at path.
func OpenLedger(path string) (*Ledger, error) {
	// An absolute path makes the data directory (the ledger's folder) the
	// fixed root that stored relative paths resolve against.
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create ledger dir: %w", err)
	}
	// The freelist is rebuilt on open instead of written on every commit:
	// the hits bucket makes the file large, and syncing its freelist each
	// time was a measurable share of the per-file commit cost.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open ledger %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	// Batch coalesces concurrent commits (one fsync for several files);
	// with only a few workers a long delay would just add latency. The
	// pipeline's own writes go through the group committer instead.
	db.MaxBatchDelay = 2 * time.Millisecond
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktMeta, bktCases, bktNames, bktFiles, bktByState, bktSHA, bktMoves, bktIOCs, bktHits, bktTags, bktUsers, bktAudit, bktSessions, bktMembers, bktComments} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if err := migrateRelativePaths(tx); err != nil {
			return err
		}
		if err := migrateMembers(tx); err != nil {
			return err
		}
		return migrateNotes(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init ledger: %w", err)
	}
	return &Ledger{db: db, group: newCommitter(db)}, nil
}

// Close closes the database, after the group commits in flight.
func (l *Ledger) Close() error {
	l.group.close()
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("close ledger: %w", err)
	}
	return nil
}

// Path returns the database file path.
func (l *Ledger) Path() string { return l.db.Path() }

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func key2(a, b uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, a)
	binary.BigEndian.PutUint64(k[8:], b)
	return k
}

func getJSON(b *bolt.Bucket, k []byte, v any) error {
	raw := b.Get(k)
	if raw == nil {
		return ErrNotFound
	}
	// json.Unmarshal copies what it keeps, so nothing refers to bbolt's
	// memory after the transaction.
	return json.Unmarshal(raw, v)
}

// scanJSON decodes every value under prefix (all of b when prefix is
// empty), in key order.
func scanJSON[T any](b *bolt.Bucket, prefix []byte) ([]T, error) {
	var out []T
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}

// CreateCase adds a case; ErrExists if the name is taken. It has no
// members: only admins see it until one is added (CreateCaseFor).
func (l *Ledger) CreateCase(name, description string) (Case, error) {
	return l.CreateCaseFor(name, description, "")
}

// CreateCaseFor adds a case whose owner (a case member with role owner)
// is the user owner, in one transaction; owner "" makes no member.
func (l *Ledger) CreateCaseFor(name, description, owner string) (Case, error) {
	name, err := CheckCaseName(name)
	if err != nil {
		return Case{}, err
	}
	var c Case
	err = l.db.Update(func(tx *bolt.Tx) error {
		names := tx.Bucket(bktNames)
		if names.Get([]byte(strings.ToLower(name))) != nil {
			return fmt.Errorf("case %q: %w", name, ErrExists)
		}
		cases := tx.Bucket(bktCases)
		id, err := cases.NextSequence()
		if err != nil {
			return err
		}
		c = Case{ID: id, Name: name, Description: description, Created: time.Now().UTC()}
		if err := putJSON(cases, u64(id), c); err != nil {
			return err
		}
		if owner != "" {
			mb, err := tx.CreateBucketIfNotExists(bktMembers)
			if err != nil {
				return err
			}
			if err := deletePrefix(mb, u64(id)); err != nil {
				return err
			}
			if err := putJSON(mb, memberKey(id, owner), Member{CaseID: id, User: owner, Role: MemberOwner, By: owner, Added: c.Created}); err != nil {
				return err
			}
		}
		return names.Put([]byte(strings.ToLower(name)), u64(id))
	})
	return c, err
}

// CaseByName finds a case by name, case-insensitively.
func (l *Ledger) CaseByName(name string) (Case, error) {
	var c Case
	err := l.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bktNames).Get([]byte(strings.ToLower(strings.TrimSpace(name))))
		if id == nil {
			return fmt.Errorf("case %q: %w", name, ErrNotFound)
		}
		return getJSON(tx.Bucket(bktCases), id, &c)
	})
	return c, err
}

// Case returns the case with the given ID.
func (l *Ledger) Case(id uint64) (Case, error) {
	var c Case
	err := l.db.View(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bktCases), u64(id), &c); err != nil {
			return fmt.Errorf("case %d: %w", id, err)
		}
		return nil
	})
	return c, err
}

// Cases lists all cases in creation order.
func (l *Ledger) Cases() ([]Case, error) {
	var out []Case
	err := l.db.View(func(tx *bolt.Tx) (err error) {
		out, err = scanJSON[Case](tx.Bucket(bktCases), nil)
		return err
	})
	return out, err
}

func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// setState writes f under its state in the by-state index, removing it
// from the old state's. Must run inside the transaction that writes f.
func setState(tx *bolt.Tx, f *File, old string) error {
	states := tx.Bucket(bktByState)
	k := key2(f.CaseID, f.ID)
	if old != "" && old != f.State {
		if ob := states.Bucket([]byte(old)); ob != nil {
			if err := ob.Delete(k); err != nil {
				return err
			}
		}
	}
	nb, err := states.CreateBucketIfNotExists([]byte(f.State))
	if err != nil {
		return err
	}
	return nb.Put(k, nil)
}

func putFile(tx *bolt.Tx, f *File, old string) error {
	f.Updated = time.Now().UTC()
	stored := *f
	stored.Path = relPath(tx, f.Path)
	if err := putJSON(tx.Bucket(bktFiles), key2(f.CaseID, f.ID), &stored); err != nil {
		return err
	}
	return setState(tx, f, old)
}

// NewFile describes a file to add to a case.
type NewFile struct {
	Name   string
	SHA256 string
	Size   int64
	Path   string
	// State is the initial state: StateQueued normally; StateFailed with
	// Error for a file refused at import.
	State string
	Error string
	// Source is the absolute path the file was imported from ("" for
	// uploads).
	Source string
	// Format is the format detected at import ("" when unknown).
	Format string
}

// AddFiles records files in one transaction. A file whose sha256 already
// exists in the case is recorded as StateDuplicate. It returns the records
// as written, in order.
func (l *Ledger) AddFiles(caseID uint64, files []NewFile) ([]File, error) {
	out := make([]File, 0, len(files))
	err := l.db.Update(func(tx *bolt.Tx) error {
		out = out[:0]
		if tx.Bucket(bktCases).Get(u64(caseID)) == nil {
			return fmt.Errorf("case %d: %w", caseID, ErrNotFound)
		}
		fb, sha := tx.Bucket(bktFiles), tx.Bucket(bktSHA)
		now := time.Now().UTC()
		for _, nf := range files {
			id, err := fb.NextSequence()
			if err != nil {
				return err
			}
			f := File{ID: id, CaseID: caseID, Name: nf.Name, SHA256: nf.SHA256, Size: nf.Size, Path: nf.Path,
				State: nf.State, Error: nf.Error, Source: nf.Source, Format: nf.Format, Created: now}
			if f.State == "" {
				f.State = StateQueued
			}
			if f.SHA256 != "" && f.State == StateQueued {
				sk := append(u64(caseID), []byte(f.SHA256)...)
				if prev := sha.Get(sk); prev != nil {
					f.State = StateDuplicate
					f.Hidden = true
					f.DuplicateOf = binary.BigEndian.Uint64(prev)
				} else if err := sha.Put(sk, u64(id)); err != nil {
					return err
				}
			}
			if err := putFile(tx, &f, ""); err != nil {
				return err
			}
			out = append(out, f)
		}
		return nil
	})
	return out, err
}

// FileBySHA returns the case's file holding the given content, if any.
func (l *Ledger) FileBySHA(caseID uint64, sum string) (File, error) {
	var f File
	err := l.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bktSHA).Get(append(u64(caseID), []byte(sum)...))
		if id == nil {
			return ErrNotFound
		}
		return getFile(tx, key2(caseID, binary.BigEndian.Uint64(id)), &f)
	})
	return f, err
}

// File returns one file record.
func (l *Ledger) File(caseID, fileID uint64) (File, error) {
	var f File
	err := l.db.View(func(tx *bolt.Tx) error {
		if err := getFile(tx, key2(caseID, fileID), &f); err != nil {
			return fmt.Errorf("file %d/%d: %w", caseID, fileID, err)
		}
		return nil
	})
	return f, err
}

// Files lists a case's files in ID order.
func (l *Ledger) Files(caseID uint64) ([]File, error) {
	var out []File
	err := l.db.View(func(tx *bolt.Tx) (err error) {
		out, err = scanFiles(tx, u64(caseID))
		return err
	})
	return out, err
}

// UpdateFile applies fn to a file record and writes it back in one
// transaction, keeping the by-state index in step.
func (l *Ledger) UpdateFile(caseID, fileID uint64, fn func(f *File) error) (File, error) {
	var f File
	err := l.db.Update(func(tx *bolt.Tx) (err error) {
		f, err = updateFile(tx, caseID, fileID, fn)
		return err
	})
	return f, err
}

// updateFile reads a file record, applies fn and writes it back with its
// state index, inside tx.
func updateFile(tx *bolt.Tx, caseID, fileID uint64, fn func(f *File) error) (File, error) {
	var f File
	if err := getFile(tx, key2(caseID, fileID), &f); err != nil {
		return f, fmt.Errorf("file %d/%d: %w", caseID, fileID, err)
	}
	old := f.State
	if err := fn(&f); err != nil {
		return f, err
	}
	return f, putFile(tx, &f, old)
}

// BatchUpdateFile is UpdateFile through the group committer, so
// concurrent callers share one fsync. fn may run more than once.
func (l *Ledger) BatchUpdateFile(caseID, fileID uint64, fn func(f *File) error) (File, error) {
	return groupUpdate(l.group.do, caseID, fileID, fn)
}

// DeferUpdateFile is BatchUpdateFile for a write nobody waits on to go
// on working (the pipeline's records of files it has finished): its
// commit may wait up to lazyWindow (100 ms) to share its fsync
// with other such writes. It too returns once the write is durable.
func (l *Ledger) DeferUpdateFile(caseID, fileID uint64, fn func(f *File) error) (File, error) {
	return groupUpdate(l.group.doLazy, caseID, fileID, fn)
}

// groupUpdate runs updateFile through call (a group committer's do or
// doLazy).
func groupUpdate(call func(fn func(tx *bolt.Tx) error) error, caseID, fileID uint64, fn func(f *File) error) (File, error) {
	var f File
	err := call(func(tx *bolt.Tx) (err error) {
		f, err = updateFile(tx, caseID, fileID, fn)
		return err
	})
	return f, err
}

// FileKey names a file: its case and its ID.
type FileKey struct{ CaseID, FileID uint64 }

// ClaimFiles claims, in one commit, each of the named files that is still
// queued and has never been claimed (Attempts 0), as Claim does one, and
// returns those it claimed, in the order named. A file claimed before is
// left queued: after a crash its next claim is its own, so a file that
// takes the process down cannot raise its neighbours' attempt counts
// towards quarantine more than once.
func (l *Ledger) ClaimFiles(keys []FileKey) ([]File, error) {
	var out []File
	err := l.group.do(func(tx *bolt.Tx) error {
		out = out[:0]
		now := time.Now().UTC()
		for _, k := range keys {
			var f File
			if err := getFile(tx, key2(k.CaseID, k.FileID), &f); err != nil {
				if errors.Is(err, ErrNotFound) {
					continue
				}
				return err
			}
			if f.State != StateQueued || f.Attempts != 0 {
				continue
			}
			f.State = StateIndexing
			f.Attempts++
			f.Started = now
			f.Error = ""
			if err := putFile(tx, &f, StateQueued); err != nil {
				return err
			}
			out = append(out, f)
		}
		return nil
	})
	return out, err
}

// QueuedFiles returns up to n queued files in queue order, from the
// oldest, that skip does not pass over; it stops at the first file stop
// reports (that one is not returned). Read-only: nothing is claimed.
func (l *Ledger) QueuedFiles(n int, skip, stop func(f *File) bool) ([]File, error) {
	var out []File
	err := l.db.View(func(tx *bolt.Tx) error {
		qb := tx.Bucket(bktByState).Bucket([]byte(StateQueued))
		if qb == nil {
			return nil
		}
		c := qb.Cursor()
		for k, _ := c.First(); k != nil && len(out) < n; k, _ = c.Next() {
			var f File
			if err := getFile(tx, k, &f); err != nil {
				return fmt.Errorf("queued file without record: %w", err)
			}
			if skip != nil && skip(&f) {
				continue
			}
			if stop != nil && stop(&f) {
				return nil
			}
			out = append(out, f)
		}
		return nil
	})
	return out, err
}

// Claim moves the oldest queued file (of any case) to StateIndexing and
// returns it; ErrNotFound when the queue is empty. skip lets the caller
// pass over files it cannot take now. The claim shares its commit with
// the other files' writes in flight (group commit) and is durable when
// Claim returns.
func (l *Ledger) Claim(skip func(f *File) bool) (File, error) {
	var f File
	err := l.group.do(func(tx *bolt.Tx) error {
		var err error
		if f, err = firstQueued(tx, skip); err != nil {
			return err
		}
		f.State = StateIndexing
		f.Attempts++
		f.Started = time.Now().UTC()
		f.Error = ""
		return putFile(tx, &f, StateQueued)
	})
	return f, err
}

// NextQueued returns the oldest queued file (of any case) that skip does
// not pass over — the one Claim with the same skip would take — without
// claiming it; ErrNotFound when there is none.
func (l *Ledger) NextQueued(skip func(f *File) bool) (File, error) {
	var f File
	err := l.db.View(func(tx *bolt.Tx) error {
		var err error
		f, err = firstQueued(tx, skip)
		return err
	})
	return f, err
}

// firstQueued is the oldest queued file that skip does not pass over, in
// queue order; ErrNotFound when there is none.
func firstQueued(tx *bolt.Tx, skip func(f *File) bool) (File, error) {
	qb := tx.Bucket(bktByState).Bucket([]byte(StateQueued))
	if qb == nil {
		return File{}, ErrNotFound
	}
	c := qb.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		var f File
		if err := getFile(tx, k, &f); err != nil {
			return File{}, fmt.Errorf("queued file without record: %w", err)
		}
		if skip == nil || !skip(&f) {
			return f, nil
		}
	}
	return File{}, ErrNotFound
}

// CountState returns how many files are in the given state (all cases).
func (l *Ledger) CountState(state string) (int, error) {
	n := 0
	err := l.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bktByState).Bucket([]byte(state)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// RequeueIndexed puts every completed file of a case that has events back
// in the queue, in one transaction, so its index can be rebuilt from the
// evidence. It returns how many it moved.
func (l *Ledger) RequeueIndexed(caseID uint64) (int, error) {
	n := 0
	err := l.db.Update(func(tx *bolt.Tx) error {
		files, err := scanFiles(tx, u64(caseID))
		if err != nil {
			return err
		}
		for i := range files {
			f := &files[i]
			if f.State != StateCompleted || f.Events == 0 {
				continue
			}
			f.State, f.Attempts = StateQueued, 0
			if err := putFile(tx, f, StateCompleted); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Requeue parks every file left mid-work (indexing, sigma, ioc) back in
// the queue: Close does this for the files it interrupted. A parked
// indexing attempt is given back (Attempts-1), because a shutdown is not
// the file's doing; only crashes count towards RecoverInterrupted's cap.
// It returns how many it moved.
func (l *Ledger) Requeue() (int, error) {
	n := 0
	err := l.db.Update(func(tx *bolt.Tx) error {
		return forMidWork(tx, func(f *File) error {
			if f.State == StateIndexing && f.Attempts > 0 {
				f.Attempts--
			}
			old := f.State
			f.State = StateQueued
			n++
			return putFile(tx, f, old)
		})
	})
	return n, err
}

// RecoverInterrupted settles files a dead process left mid-work, at
// start-up: a file found indexing whose claims already reached
// maxAttempts has taken the process down that many times, so it is
// quarantined as failed (returned, for its partial documents to be
// dropped) instead of requeued into a crash loop; every other file goes
// back to the queue. It returns the quarantined files and how many it
// requeued.
func (l *Ledger) RecoverInterrupted(maxAttempts int) ([]File, int, error) {
	var failed []File
	n := 0
	err := l.db.Update(func(tx *bolt.Tx) error {
		failed, n = failed[:0], 0
		return forMidWork(tx, func(f *File) error {
			old := f.State
			if f.State == StateIndexing && maxAttempts > 0 && f.Attempts >= maxAttempts {
				f.State = StateFailed
				f.Error = fmt.Sprintf("interrupted the process %d times", f.Attempts)
				f.Events = 0
				f.Finished = time.Now().UTC()
				failed = append(failed, *f)
			} else {
				f.State = StateQueued
				n++
			}
			return putFile(tx, f, old)
		})
	})
	return failed, n, err
}

// forMidWork calls fn for every file in a mid-work state (indexing,
// sigma, ioc), inside tx; fn may change the file's state.
func forMidWork(tx *bolt.Tx, fn func(f *File) error) error {
	for _, st := range []string{StateIndexing, StateSigma, StateIOC} {
		b := tx.Bucket(bktByState).Bucket([]byte(st))
		if b == nil {
			continue
		}
		var keys [][]byte
		if err := b.ForEach(func(k, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			var f File
			if err := getFile(tx, k, &f); err != nil {
				return err
			}
			if err := fn(&f); err != nil {
				return err
			}
		}
	}
	return nil
}

// BeginMove records the intent to move a file. The caller then renames the
// file and calls CommitMove; RecoverMoves settles intents left by a crash.
func (l *Ledger) BeginMove(m MoveIntent) error {
	return l.moveCall(m)(func(tx *bolt.Tx) error {
		if m.Set != nil {
			if _, err := updateFile(tx, m.CaseID, m.FileID, func(f *File) error {
				m.Set(f)
				return nil
			}); err != nil {
				return err
			}
		}
		m := m // fn may run twice: relativise a copy
		m.From, m.To = relPath(tx, m.From), relPath(tx, m.To)
		return putJSON(tx.Bucket(bktMoves), key2(m.CaseID, m.FileID), m)
	})
}

// CommitMove, in one transaction, points the file record at m.To, applies
// the archive outcome when m.Archive (hidden, completed, zero events), and
// deletes the intent.
func (l *Ledger) CommitMove(m MoveIntent) (File, error) {
	var f File
	err := l.moveCall(m)(func(tx *bolt.Tx) error {
		if err := getFile(tx, key2(m.CaseID, m.FileID), &f); err != nil {
			return fmt.Errorf("file %d/%d: %w", m.CaseID, m.FileID, err)
		}
		old := f.State
		f.Path = m.To
		if m.Archive {
			f.Hidden, f.ZeroEvents, f.Events = true, true, 0
			f.State = StateCompleted
			f.Finished = time.Now().UTC()
		}
		if err := putFile(tx, &f, old); err != nil {
			return err
		}
		return tx.Bucket(bktMoves).Delete(key2(m.CaseID, m.FileID))
	})
	return f, err
}

// moveCall is how a move's writes are committed: an archive move (a
// zero-event file's, run off the pipeline's workers) lazily, any other
// move (an import's, which a client waits on) at once.
func (l *Ledger) moveCall(m MoveIntent) func(fn func(tx *bolt.Tx) error) error {
	if m.Archive {
		return l.group.doLazy
	}
	return l.group.do
}

// Moves lists unfinished move intents.
func (l *Ledger) Moves() ([]MoveIntent, error) {
	var out []MoveIntent
	err := l.db.View(func(tx *bolt.Tx) (err error) {
		out, err = scanJSON[MoveIntent](tx.Bucket(bktMoves), nil)
		for i := range out {
			out[i].From, out[i].To = absPath(tx, out[i].From), absPath(tx, out[i].To)
		}
		return err
	})
	return out, err
}

// RollbackMove drops an intent whose rename never happened.
func (l *Ledger) RollbackMove(m MoveIntent) error {
	return l.group.do(func(tx *bolt.Tx) error {
		return tx.Bucket(bktMoves).Delete(key2(m.CaseID, m.FileID))
	})
}

// DeleteFile removes a file record (and its sha and state entries).
func (l *Ledger) DeleteFile(caseID, fileID uint64) (File, error) {
	var f File
	err := l.db.Update(func(tx *bolt.Tx) error {
		k := key2(caseID, fileID)
		if err := getFile(tx, k, &f); err != nil {
			return fmt.Errorf("file %d/%d: %w", caseID, fileID, err)
		}
		if sb := tx.Bucket(bktByState).Bucket([]byte(f.State)); sb != nil {
			if err := sb.Delete(k); err != nil {
				return err
			}
		}
		sk := append(u64(caseID), []byte(f.SHA256)...)
		if id := tx.Bucket(bktSHA).Get(sk); id != nil && binary.BigEndian.Uint64(id) == fileID {
			if err := tx.Bucket(bktSHA).Delete(sk); err != nil {
				return err
			}
		}
		if err := deletePrefix(tx.Bucket(bktHits), hitPrefix(caseID, fileID)); err != nil {
			return err
		}
		return tx.Bucket(bktFiles).Delete(k)
	})
	return f, err
}
