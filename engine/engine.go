package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"casescope/engine/admit"
	"casescope/store"
)

// ErrBusy reports work refused because the engine is shutting down or a
// conflicting job runs.
var ErrBusy = errors.New("busy")

// Config holds the engine's settings, validated by main.
type Config struct {
	DataDir   string
	Workers   int // upper bound on files processed at once (≤ cores)
	BatchSize int // events per index batch
	// HitsPiece is how many events' hits a file's reading holds before
	// it stores them in the ledger (0: 4096; see hitsPiece).
	HitsPiece int
	// ChunkWorkers is how many goroutines decode and match the chunks of
	// one large EVTX file at once (0 = Workers; 1 = one, in the file's
	// goroutine). Events reach the index in file order either way.
	ChunkWorkers int
	FileTimeout  time.Duration // per-file limit; a stuck file fails
	MaxZipBytes  uint64        // total uncompressed bytes one archive may expand to
	// CodePage is the Windows code page of EVTX AnsiString values (0 =
	// 1252); see evtx.Options.
	CodePage int
	// MaxZipEntries refuses, as one failed record, an archive with more
	// entries (0 = 10,000).
	MaxZipEntries int
	// DiskReserve (bytes, 0 = 256 MiB) stays free on the data directory's
	// filesystem: a file is copied in or started only while free space
	// minus its estimated need (see disk.go) stays above it.
	DiskReserve uint64
	// DiskPoll is how often a paused engine re-checks free space (0 = 5s).
	DiskPoll time.Duration
	// IndexFactor is the index bytes expected per EVTX byte (0 = 1.5,
	// measured; see disk.go).
	IndexFactor float64
	// MemoryBudget (bytes, 0 = unbounded) also bounds the index: merged
	// segments are capped (store.SegmentDocsFor) and mapped index pages
	// above a sixteenth of it are released (see releasePages).
	MemoryBudget uint64
	// QueueCheckGrace is how long the queue invariant must stay failed,
	// with no wake-up in between, before it is reported (default 2s).
	QueueCheckGrace time.Duration
	// FaultPoint names a step at which the process kills itself (tests of
	// crash safety only; empty in production). See fault.go.
	FaultPoint string
	// Store is where the events of new cases go (zero: embedded). A case
	// keeps the store it was created with (store.Case.Store); naming
	// another for it is refused.
	Store store.StoreURL
}

// Ledger is what the engine needs of the ledger.
type Ledger interface {
	Case(id uint64) (store.Case, error)
	SetCaseStore(caseID uint64, storeURL, origin string) (store.Case, error)
	AddFiles(caseID uint64, files []store.NewFile) ([]store.File, error)
	FileBySHA(caseID uint64, sum string) (store.File, error)
	File(caseID, fileID uint64) (store.File, error)
	Files(caseID uint64) ([]store.File, error)
	UpdateFile(caseID, fileID uint64, fn func(f *store.File) error) (store.File, error)
	BatchUpdateFile(caseID, fileID uint64, fn func(f *store.File) error) (store.File, error)
	DeferUpdateFile(caseID, fileID uint64, fn func(f *store.File) error) (store.File, error)
	Claim(skip func(f *store.File) bool) (store.File, error)
	ClaimFiles(keys []store.FileKey) ([]store.File, error)
	NextQueued(skip func(f *store.File) bool) (store.File, error)
	QueuedFiles(n int, skip, stop func(f *store.File) bool) ([]store.File, error)
	SetCompany(f func() bool)
	CountState(state string) (int, error)
	Requeue() (int, error)
	RecoverInterrupted(maxAttempts int) ([]store.File, int, error)
	RequeueIndexed(caseID uint64) (int, error)
	BeginMove(m store.MoveIntent) error
	CommitMove(m store.MoveIntent) (store.File, error)
	RollbackMove(m store.MoveIntent) error
	Moves() ([]store.MoveIntent, error)
	PutHits(caseID, fileID uint64, hits []store.EventHits) error
	DeleteFile(caseID, fileID uint64) (store.File, error)
	CompleteFile(caseID, fileID uint64, hits []store.EventHits, fn func(f *store.File) error) (store.File, error)
	AddHits(caseID, fileID uint64, hits []store.EventHits) error
	DropHits(caseID, fileID uint64) error
	Hits(caseID, fileID uint64, fn func(h *store.EventHits) error) error
	EventHitsOf(caseID, fileID uint64, docID string) (store.EventHits, error)
	Tags(caseID, fileID uint64, fn func(t *store.Tag) error) error
	Tag(caseID uint64, docID string) (store.Tag, error)
	PutTag(caseID uint64, t store.Tag) error
	AddComment(caseID uint64, c store.Comment) (store.Comment, error)
	Comments(caseID uint64, docID string) ([]store.Comment, error)
	CaseComments(caseID uint64, fn func(c *store.Comment) error) error
	PutTags(caseID uint64, tags []store.Tag) error
	PutTagJob(j store.TagJob) (store.TagJob, error)
	TagJobs() ([]store.TagJob, error)
	IOCs(caseID uint64) ([]store.IOC, error)
	AddIOCs(caseID uint64, iocs []store.IOC) ([]store.IOC, error)
	UpdateIOC(caseID, id uint64, fn func(i *store.IOC) error) (store.IOC, error)
	DeleteIOC(caseID, id uint64) error
	Cases() ([]store.Case, error)
	ImportCase(name, description string, created time.Time, fill func(w *store.CaseWriter) error) (store.Case, error)
	DeleteCase(caseID uint64) (store.Case, error)
	CaseAudit(c store.Case, fn func(e store.AuditEntry) error) error
	WriteStats() store.WriteStats
	Suppressions(caseID uint64) ([]store.Suppression, error)
	AddSuppression(s store.Suppression) (store.Suppression, error)
	SetSuppressionActive(caseID, id uint64, active bool, by string) (store.Suppression, error)
	SetCaseRulePacks(caseID uint64, packs []string) (store.Case, error)
}

// Admitter bounds concurrent work by memory: Acquire blocks until a file of
// the given estimated cost may start.
type Admitter interface {
	Acquire(ctx context.Context, cost uint64) (release func(), err error)
}

// Engine runs the ingest pipeline: a dispatcher claims queued files from
// the ledger and hands them to at most Workers goroutines, each admitted
// by memory.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	ledger Ledger
	admit  Admitter
	det    *Detection
	jobs   jobs
	// ruleOpts are the options the rules were loaded with (jobs.mu).
	ruleOpts RuleOptions
	// corrQueued marks the cases with a correlation job queued and not
	// started (jobs.mu); corrOutstanding counts the correlation jobs not
	// finished, which WaitIdle waits for.
	corrQueued      map[uint64]bool
	corrOutstanding atomic.Int64

	idxMu   sync.Mutex
	indexes map[uint64]store.Events
	// names caches facet values' original case (restoreFacetCase).
	names nameCase

	// placeMu orders dedupe decisions across concurrent imports (held
	// exclusively) against archive moves (held shared); placing maps
	// contentKey → path of an original placed but not yet recorded.
	placeMu sync.RWMutex
	placing map[string]string

	// claimMu guards claiming: files whose claim is being committed
	// (dispatch), by case and file ID.
	claimMu  sync.Mutex
	claiming map[[2]uint64]struct{}

	wakeCh  chan struct{}
	wakeSeq atomic.Uint64 // counts wake calls; the idle check compares it
	doneMu  sync.Mutex
	doneCh  chan struct{} // closed and replaced whenever a file finishes
	active  atomic.Int64
	pickedN atomic.Int64 // files workers picked up since start
	aheadN  atomic.Int64 // files claimed ahead, not yet started (see claimAhead)

	invMu      sync.Mutex
	invariants []string // invariant violations, for /api/system
	// queueViolation is the queue invariant's current violation, "" when
	// it holds (it clears when the condition does).
	queueViolation string
	startup        []Problem // result of the cheap start-up doctor check

	faults faultCounter
	rate   rateMeter
	stages stageTimes

	started         time.Time
	firstSearchable atomic.Int64 // unix ns

	runCtx context.Context // the engine's own context; jobs run on it
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// persistWG counts files whose completion runs off the workers
	// (handOff); persisting is the same count, readable, and handOffSem
	// bounds it.
	persistWG  sync.WaitGroup
	persisting atomic.Int64
	handOffSem chan struct{}

	// diskMu guards the disk pause, the running files' cancel funcs (a
	// write failure stops them) and the disk booked by files in flight.
	diskMu  sync.Mutex
	pause   *Pause
	running map[uint64]context.CancelCauseFunc
	runSeq  uint64
	booked  uint64
}

// New builds an engine; Start begins work.
func New(cfg Config, log *slog.Logger, ledger Ledger, admit Admitter) *Engine {
	if cfg.Workers <= 0 || cfg.Workers > runtime.NumCPU() {
		cfg.Workers = runtime.NumCPU()
	}
	if cfg.HitsPiece <= 0 {
		cfg.HitsPiece = hitsPiece
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.FileTimeout <= 0 {
		cfg.FileTimeout = 2 * time.Hour
	}
	if cfg.QueueCheckGrace <= 0 {
		cfg.QueueCheckGrace = 2 * time.Second
	}
	if cfg.MaxZipBytes == 0 {
		cfg.MaxZipBytes = 64 << 30
	}
	if cfg.MaxZipEntries <= 0 {
		cfg.MaxZipEntries = defaultZipEntries
	}
	if cfg.DiskReserve == 0 {
		cfg.DiskReserve = defaultDiskReserve
	}
	if cfg.DiskPoll <= 0 {
		cfg.DiskPoll = defaultDiskPoll
	}
	if cfg.IndexFactor <= 0 {
		cfg.IndexFactor = defaultIndexFactor
	}
	if admit == nil {
		admit = newSlots(cfg.Workers)
	}
	e := &Engine{
		cfg: cfg, log: log.With("component", "engine"), ledger: ledger, admit: admit,
		indexes:    map[uint64]store.Events{},
		placing:    map[string]string{},
		claiming:   map[[2]uint64]struct{}{},
		det:        NewDetection(),
		wakeCh:     make(chan struct{}, 1),
		doneCh:     make(chan struct{}),
		running:    map[uint64]context.CancelCauseFunc{},
		handOffSem: make(chan struct{}, maxHandOffs),
	}
	// A finished file's record may wait for company (one fsync for
	// several files) while other files are in flight; a lone file's
	// commits at once.
	ledger.SetCompany(func() bool { return e.inFlight() > 1 })
	return e
}

// Detection returns the engine's Sigma/IOC detector.
func (e *Engine) Detection() *Detection { return e.det }

// Start recovers from any earlier crash (unfinished moves, files left
// mid-work) and starts the dispatcher.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.recoverMoves(); err != nil {
		return err
	}
	if err := e.recoverInterrupted(); err != nil {
		return err
	}
	if err := e.clearTransfers(); err != nil {
		return err
	}
	ctx, e.cancel = context.WithCancel(ctx)
	e.runCtx = ctx
	e.started = time.Now()
	if err := e.resumeTagJobs(); err != nil {
		e.cancel()
		e.wg.Wait()
		return err
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.dispatch(ctx)
	}()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.watchIndexes(ctx, min(e.cfg.DiskPoll, time.Second))
	}()
	if e.cfg.MemoryBudget > 0 {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.releasePages(ctx, e.cfg.MemoryBudget/16, 50*time.Millisecond)
		}()
	}
	e.wake()
	return nil
}

// indexOptions sizes the case indexes to the memory budget.
func (e *Engine) indexOptions() store.IndexOptions {
	if e.cfg.MemoryBudget == 0 {
		return store.IndexOptions{}
	}
	return store.IndexOptions{MaxSegmentDocs: store.SegmentDocsFor(e.cfg.MemoryBudget), PersistNap: store.PersistNapFor(e.cfg.MemoryBudget)}
}

// releasePages keeps the mapped index pages in the resident set near
// limit: every interval it reads the process's file-backed RSS and, when
// it exceeds what it was at start (the binary's own pages) by more than
// limit, hands the open indexes' segment pages back to the page cache.
// Index segments are read through memory maps, so merges and searches
// would otherwise leave the resident set growing with the index. A merge
// re-reads what it needs within the interval; the budget's cap on merged
// segments (indexOptions) bounds that.
func (e *Engine) releasePages(ctx context.Context, limit uint64, every time.Duration) {
	base := admit.FileRSS()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if admit.FileRSS() <= base+limit {
			continue
		}
		e.idxMu.Lock()
		var open []pageReleaser
		for _, x := range e.indexes {
			if r, ok := x.(pageReleaser); ok {
				open = append(open, r)
			}
		}
		e.idxMu.Unlock()
		for _, x := range open {
			if _, err := x.ReleasePages(); err != nil {
				e.log.Warn("release index pages", "err", err)
			}
		}
	}
}

// Close stops taking work, waits for running files to park (they return to
// queued when interrupted), then closes the indexes.
func (e *Engine) Close(ctx context.Context) error {
	if e.cancel != nil {
		e.cancel()
	}
	done := make(chan struct{})
	go func() { e.wg.Wait(); e.persistWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("engine close: %w", ctx.Err())
	}
	if _, err := e.ledger.Requeue(); err != nil {
		return fmt.Errorf("park interrupted files: %w", err)
	}
	e.idxMu.Lock()
	defer e.idxMu.Unlock()
	var errs []error
	for id, x := range e.indexes {
		if err := x.Close(); err != nil {
			errs = append(errs, err)
		}
		delete(e.indexes, id)
	}
	return errors.Join(errs...)
}

func (e *Engine) wake() {
	// The sequence moves before the signal, so a dispatcher that sees
	// the old value has the signal still to come.
	e.wakeSeq.Add(1)
	select {
	case e.wakeCh <- struct{}{}:
	default:
	}
}

// finished is broadcast whenever a file reaches a final state (or leaves
// flight, or intake stalls).
func (e *Engine) finished() {
	e.doneMu.Lock()
	e.finishedLocked()
	e.doneMu.Unlock()
}

// finishedLocked broadcasts with doneMu held.
func (e *Engine) finishedLocked() {
	close(e.doneCh)
	e.doneCh = make(chan struct{})
}

// Changed returns a channel closed at the next file completion.
func (e *Engine) Changed() <-chan struct{} {
	e.doneMu.Lock()
	defer e.doneMu.Unlock()
	return e.doneCh
}

// Active returns how many files are being processed now.
func (e *Engine) Active() int { return int(e.active.Load()) }

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

type caseDirs struct {
	root, uploads, archive, staging, duplicates, index string
}

func (e *Engine) caseDirs(caseID uint64) caseDirs {
	root := filepath.Join(e.cfg.DataDir, "cases", strconv.FormatUint(caseID, 10))
	return caseDirs{
		root:       root,
		uploads:    filepath.Join(root, "uploads"),
		archive:    filepath.Join(root, "archive"),
		staging:    filepath.Join(root, "staging"),
		duplicates: filepath.Join(root, "duplicates"),
		index:      filepath.Join(root, "index"),
	}
}

func (d caseDirs) ensure() error {
	for _, p := range []string{d.uploads, d.archive, d.staging, d.duplicates} {
		if err := os.MkdirAll(p, 0o750); err != nil {
			return fmt.Errorf("create case dir: %w", err)
		}
	}
	return nil
}

// pageReleaser is an event store reading memory-mapped files (the
// embedded index), whose pages releasePages hands back.
type pageReleaser interface {
	ReleasePages() (int64, error)
}

// Index returns the case's open event store, opening it on first use.
// PrepareSearch builds now what makes a case's searches fast (the
// embedded index's time and facet columns of its large segments), which
// the index otherwise builds in the background on the first searches.
// Stores without such a step do nothing.
func (e *Engine) PrepareSearch(ctx context.Context, caseID uint64) error {
	idx, err := e.Index(caseID)
	if err != nil {
		return err
	}
	if p, ok := idx.(interface{ Prepare(context.Context) error }); ok {
		return p.Prepare(ctx)
	}
	return nil
}

func (e *Engine) Index(caseID uint64) (store.Events, error) {
	e.idxMu.Lock()
	defer e.idxMu.Unlock()
	if x, ok := e.indexes[caseID]; ok {
		return x, nil
	}
	d := e.caseDirs(caseID)
	if err := d.ensure(); err != nil {
		return nil, err
	}
	if cl, err := e.openCluster(caseID, d); cl != nil || err != nil {
		if err != nil {
			return nil, err
		}
		e.indexes[caseID] = cl
		return cl, nil
	}
	// A rebuild interrupted after setting the old index aside.
	if err := os.RemoveAll(d.index + ".old"); err != nil {
		return nil, fmt.Errorf("remove old index: %w", err)
	}
	x, err := store.OpenIndex(d.index, e.indexOptions())
	if errors.Is(err, store.ErrIndexFormat) {
		x, err = e.rebuildIndex(caseID, d.index, err)
	}
	if err != nil {
		return nil, err
	}
	e.indexes[caseID] = x
	return x, nil
}

// openCluster opens the case's events in a cluster when the case lives in
// one, or is new and the configured store is one (recording the choice
// and a fresh origin in the ledger); nil, nil for an embedded case.
func (e *Engine) openCluster(caseID uint64, d caseDirs) (*store.Cluster, error) {
	c, err := e.ledger.Case(caseID)
	if err != nil {
		return nil, err
	}
	want := e.cfg.Store
	if c.Store == "" || c.Store == store.StoreEmbedded {
		if want.Embedded() {
			return nil, nil
		}
		if _, err := os.Stat(d.index); err == nil {
			return nil, fmt.Errorf("case %q keeps its events in the embedded index, not %s: %w", c.Name, want.String(), store.ErrStoreMismatch)
		}
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("case origin: %w", err)
		}
		if c, err = e.ledger.SetCaseStore(caseID, want.String(), hex.EncodeToString(b[:])); err != nil {
			return nil, fmt.Errorf("record case store: %w", err)
		}
	}
	rec, err := store.ParseStoreURL(c.Store)
	if err != nil {
		return nil, fmt.Errorf("case %q store: %w", c.Name, err)
	}
	switch {
	case want.Embedded():
		// Not named: the recorded store, with credentials from nowhere.
	case want.String() != rec.String():
		return nil, fmt.Errorf("case %q keeps its events in %s, not %s: %w", c.Name, rec.String(), want.String(), store.ErrStoreMismatch)
	default:
		rec = want // same store, with its credentials
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := store.OpenCluster(ctx, rec, c.Name, c.Origin)
	if err != nil {
		return nil, fmt.Errorf("case %q: %w", c.Name, err)
	}
	return cl, nil
}

// rebuildIndex replaces an index of an older layout with an empty one and
// requeues the case's indexed files, which re-index from the evidence
// (tags and detections are re-applied by event ID). The requeue is
// committed before the old index is removed, so a crash in between only
// repeats the rebuild. Called with idxMu held: workers wait for the new
// index.
func (e *Engine) rebuildIndex(caseID uint64, dir string, why error) (*store.Index, error) {
	n, err := e.ledger.RequeueIndexed(caseID)
	if err != nil {
		return nil, fmt.Errorf("rebuild index: requeue files: %w", err)
	}
	e.log.Warn("rebuilding case index from the evidence", "case_id", caseID, "files", n, "reason", why.Error())
	// Set aside in one rename, so a crash never leaves half an index.
	if err := os.Rename(dir, dir+".old"); err != nil {
		return nil, fmt.Errorf("rebuild index: set old index aside: %w", err)
	}
	if err := os.RemoveAll(dir + ".old"); err != nil {
		return nil, fmt.Errorf("rebuild index: remove old index: %w", err)
	}
	x, err := store.OpenIndex(dir, e.indexOptions())
	if err != nil {
		return nil, err
	}
	e.wake()
	return x, nil
}

// CaseDir returns the case's folder.
func (e *Engine) CaseDir(caseID uint64) string { return e.caseDirs(caseID).root }

// recoverMoves settles move intents left by a crash: when the file is
// already at the destination the move is committed, when it is still at
// the source the intent is dropped (the file is reprocessed), and when it
// is in neither place the file fails with both paths named.
func (e *Engine) recoverMoves() error {
	moves, err := e.ledger.Moves()
	if err != nil {
		return fmt.Errorf("list move intents: %w", err)
	}
	for _, m := range moves {
		_, errTo := os.Stat(m.To)
		_, errFrom := os.Stat(m.From)
		switch {
		case errTo == nil:
			if _, err := e.ledger.CommitMove(m); err != nil {
				return fmt.Errorf("finish move: %w", err)
			}
			e.log.Info("finished interrupted move", "case_id", m.CaseID, "file_id", m.FileID, "to", m.To)
		case errFrom == nil:
			if err := e.ledger.RollbackMove(m); err != nil {
				return fmt.Errorf("roll back move: %w", err)
			}
			e.log.Info("rolled back interrupted move", "case_id", m.CaseID, "file_id", m.FileID)
		default:
			if err := e.ledger.RollbackMove(m); err != nil {
				return fmt.Errorf("drop move: %w", err)
			}
			if _, err := e.ledger.UpdateFile(m.CaseID, m.FileID, func(f *store.File) error {
				f.State = store.StateFailed
				f.Error = fmt.Sprintf("file not found at %s nor at %s", m.From, m.To)
				return nil
			}); err != nil {
				return fmt.Errorf("fail lost file: %w", err)
			}
		}
	}
	return nil
}

// MaxInterrupts is how many times a file may be in progress when the
// process dies before it is quarantined as failed instead of resumed: a
// file that kills the process (a parser crash, memory exhaustion) would
// otherwise do so at every start.
const MaxInterrupts = 3

// recoverInterrupted requeues the files a dead process left mid-work and
// quarantines those that reached MaxInterrupts, dropping what they had
// indexed. Doctor's fix for stuck files runs the same.
func (e *Engine) recoverInterrupted() error {
	failed, n, err := e.ledger.RecoverInterrupted(MaxInterrupts)
	if err != nil {
		return fmt.Errorf("recover interrupted files: %w", err)
	}
	if n > 0 {
		e.log.Info("resumed interrupted files", "files", n)
	}
	for _, f := range failed {
		if err := e.dropFileDocs(f); err != nil {
			e.log.Warn("drop documents of failed file", "file_id", f.ID, "err", err)
		}
		e.log.Error("file quarantined: it was in progress each time the process died", "case_id", f.CaseID,
			"file_id", f.ID, "name", f.Name, "attempts", f.Attempts)
	}
	return nil
}

// checkQueue logs the queue invariant after a bulk import: every file the
// import queued is in the ledger as queued or already picked up.
func (e *Engine) checkQueue(res ImportResult) {
	queued, err := e.ledger.CountState(store.StateQueued)
	if err != nil {
		e.log.Error("queue invariant check failed", "err", err)
		return
	}
	e.log.Info("queue invariant", "queued_by_import", res.Queued, "ledger_queued", queued,
		"workers_picked_up", e.pickedN.Load(), "active", e.Active())
}

// SetStartupCheck records the start-up doctor result for the dashboard.
func (e *Engine) SetStartupCheck(ps []Problem) {
	e.invMu.Lock()
	defer e.invMu.Unlock()
	e.startup = append([]Problem{}, ps...)
}

// StartupCheck returns the start-up doctor result.
func (e *Engine) StartupCheck() []Problem {
	e.invMu.Lock()
	defer e.invMu.Unlock()
	return append([]Problem{}, e.startup...)
}

// Invariants returns recorded invariant violations.
func (e *Engine) Invariants() []string {
	e.invMu.Lock()
	defer e.invMu.Unlock()
	out := append([]string(nil), e.invariants...)
	if e.queueViolation != "" {
		out = append(out, e.queueViolation)
	}
	return out
}

// slots is the fallback admitter: a plain counting semaphore.
type slots chan struct{}

func newSlots(n int) slots { return make(slots, n) }

func (s slots) Acquire(ctx context.Context, _ uint64) (func(), error) {
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Pending returns how many files in the ledger still have work to do.
func (e *Engine) Pending() (int, error) {
	total := 0
	for _, st := range []string{store.StateQueued, store.StateIndexing, store.StateSigma, store.StateIOC} {
		n, err := e.ledger.CountState(st)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// WaitIdle blocks until no file has work left (its completion recorded
// and the correlations it may change evaluated), or ctx ends, or intake
// stalls on disk space or a failed write (the *StorageError; the files
// concerned stay queued).
func (e *Engine) WaitIdle(ctx context.Context) error {
	for {
		ch := e.Changed()
		if err := e.stallError(); err != nil {
			return err
		}
		n, err := e.Pending()
		if err != nil {
			return err
		}
		if n == 0 && e.Active() == 0 && e.persisting.Load() == 0 && e.corrOutstanding.Load() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		case <-time.After(500 * time.Millisecond):
		}
	}
}
