package store

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxGroup bounds the calls one group commit takes: a bigger group holds
// the writer longer and delays the next.
const maxGroup = 512

// gatherWindow is how long a group of fewer than gatherBelow calls waits
// for more before it commits. The pipeline's writes come in near-
// simultaneous pairs (a worker hands off one file's outcome and its next
// claim follows within a few hundred microseconds), so a short wait
// merges commits that would each cost an fsync (1-2 ms on an SSD).
const (
	gatherWindow = 500 * time.Microsecond
	gatherBelow  = 8
)

// lazyWindow is how long a group of only lazy calls (writes nobody is
// blocked on: a file's completion, run off the workers) waits for more
// before it commits, unless lazyEnough calls or an eager call (a claim, a
// user's change) arrive first. The completions of small files come a few
// milliseconds apart; committing each alone made the ledger's fsyncs most
// of an import's per-file cost.
const (
	lazyWindow = 100 * time.Millisecond
	lazyEnough = 128
)

// groupCall is one write waiting for its group's commit.
type groupCall struct {
	fn   func(tx *bolt.Tx) error
	done chan error
	lazy bool // nobody waits on it to go on working: it may wait for company
}

// committer runs the per-file writes of the pipeline (claims, completions,
// moves, failures) as group commits: one goroutine takes every call that
// arrived while the previous commit ran and applies them in one bbolt
// transaction, so one fsync covers the group. An idle committer commits a
// lone call at once (bbolt's Batch waits MaxBatchDelay first). Each caller
// still returns only once its own write is durable: grouping changes how
// many files share an fsync, not what a returned call guarantees.
type committer struct {
	db   *bolt.DB
	reqs chan *groupCall

	// mu guards closed; callers hold it shared from send to reply, so
	// close waits for them and no call is sent after reqs is closed.
	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup

	// company, when set, reports whether more writes are likely soon
	// (other files in flight): only then does a lazy group wait for them.
	company atomic.Pointer[func() bool]
	// lazyWait is lazyWindow; a field so tests can make it long enough
	// that only an eager call or lazyEnough calls can end it.
	lazyWait time.Duration
	received atomic.Int64 // calls taken off reqs, for tests

	commits, calls atomic.Int64
	busy           atomic.Int64 // ns spent in group transactions, commit included
}

func newCommitter(db *bolt.DB) *committer {
	c := &committer{db: db, reqs: make(chan *groupCall), lazyWait: lazyWindow}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.run()
	}()
	return c
}

// run commits groups until reqs is closed.
func (c *committer) run() {
	calls := make([]*groupCall, 0, maxGroup)
	gather := time.NewTimer(gatherWindow)
	gather.Stop()
	for first := range c.reqs {
		calls = append(calls[:0], first)
		c.received.Add(1)
		open := c.drain(&calls, nil, maxGroup, false)
		if open && allLazy(calls) && len(calls) < lazyEnough && c.expectCompany() {
			// Only lazy calls so far: wait for company, up to lazyEnough
			// calls, ending at the first eager one.
			gather.Reset(c.lazyWait)
			open = c.drain(&calls, gather.C, lazyEnough, true)
			gather.Stop()
		}
		if open && len(calls) < gatherBelow {
			gather.Reset(gatherWindow)
			open = c.drain(&calls, gather.C, maxGroup, false)
			gather.Stop()
		}
		c.commit(calls)
		clear(calls)
		if !open {
			return
		}
	}
}

// drain adds calls to calls until it holds limit: with until nil those
// already sent, else those that arrive before until fires. With
// eagerEnds it stops as soon as it adds an eager call (its caller is
// blocked: the group commits now, with it). It reports false once reqs is
// closed.
func (c *committer) drain(calls *[]*groupCall, until <-chan time.Time, limit int, eagerEnds bool) bool {
	for len(*calls) < limit {
		var r *groupCall
		ok := true
		if until == nil {
			select {
			case r, ok = <-c.reqs:
			default:
				return true
			}
		} else {
			select {
			case r, ok = <-c.reqs:
			case <-until:
				return true
			}
		}
		if !ok {
			return false
		}
		*calls = append(*calls, r)
		c.received.Add(1)
		if eagerEnds && !r.lazy {
			return true
		}
	}
	return true
}

// expectCompany reports whether a lazy group should wait for more calls:
// when the ledger's owner said when (Ledger.SetCompany), only then;
// otherwise never.
func (c *committer) expectCompany() bool {
	f := c.company.Load()
	return f != nil && (*f)()
}

// allLazy reports whether no call of calls is eager.
func allLazy(calls []*groupCall) bool {
	for _, r := range calls {
		if !r.lazy {
			return false
		}
	}
	return true
}

// errCallFailed marks a group rolled back because one of its calls
// returned an error.
var errCallFailed = errors.New("a call of the group failed")

// commit applies calls in one transaction. When a call fails, the whole
// transaction is rolled back (the call may have written part of its
// change), the failed call is run alone so its error is exactly what a
// transaction of its own returns, and the others are committed again as a
// group: like bbolt's Batch, a call's fn may run more than once.
func (c *committer) commit(calls []*groupCall) {
	for len(calls) > 0 {
		start := time.Now()
		failed := -1
		err := c.db.Update(func(tx *bolt.Tx) error {
			for i, r := range calls {
				if err := r.fn(tx); err != nil {
					failed = i
					return errCallFailed
				}
			}
			return nil
		})
		c.busy.Add(int64(time.Since(start)))
		c.commits.Add(1)
		if failed < 0 {
			c.calls.Add(int64(len(calls)))
			for _, r := range calls {
				r.done <- err
			}
			return
		}
		start = time.Now()
		calls[failed].done <- c.db.Update(calls[failed].fn)
		c.busy.Add(int64(time.Since(start)))
		c.commits.Add(1)
		c.calls.Add(1)
		calls = append(calls[:failed], calls[failed+1:]...)
	}
}

// do runs fn in the next group commit and returns once that commit is
// durable (or failed). fn may run more than once.
func (c *committer) do(fn func(tx *bolt.Tx) error) error { return c.call(fn, false) }

// doLazy is do for a write nobody is blocked on: its group may wait up to
// lazyWindow for more writes before committing (see lazyWindow). It too
// returns once its commit is durable.
func (c *committer) doLazy(fn func(tx *bolt.Tx) error) error { return c.call(fn, true) }

func (c *committer) call(fn func(tx *bolt.Tx) error, lazy bool) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return bolt.ErrDatabaseNotOpen
	}
	r := &groupCall{fn: fn, done: make(chan error, 1), lazy: lazy}
	c.reqs <- r
	return <-r.done
}

// close stops the committer once the calls in flight have returned.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.reqs)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// SetCompany tells the ledger when more pipeline writes are likely to
// follow soon (files in flight besides the writer's own): only then does a
// lazy write (a finished file's record) wait up to lazyWindow to share
// its commit. Without it, or while it reports false, every write commits
// as soon as the writer is free, as before.
func (l *Ledger) SetCompany(f func() bool) { l.group.company.Store(&f) }

// WriteStats is what the ledger's group commits have done since it was
// opened: Calls writes in Commits transactions, in Busy time (the writer's
// time in those transactions, fsync included, counted once per group).
type WriteStats struct {
	Commits int64
	Calls   int64
	Busy    time.Duration
}

// WriteStats reports the group commits since the ledger was opened.
func (l *Ledger) WriteStats() WriteStats {
	return WriteStats{Commits: l.group.commits.Load(), Calls: l.group.calls.Load(), Busy: time.Duration(l.group.busy.Load())}
}
