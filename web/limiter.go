package web

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Login rate limiting. Failures are counted on three keys, each with its
// own allowance of free failures; past it, each further failure locks
// that key for twice as long as the last (lockBase, 2×, 4×… up to
// lockMax). A key forgets its failures after forgetAfter without one.
// Nothing sleeps: a locked attempt is answered 429 at once, before any
// password is hashed.
//
//   - (account, client): the guessing key. Five free failures, then the
//     pair slows to a crawl. On the default loopback bind every browser
//     is 127.0.0.1, so locking per address alone would let one abuser
//     (or one typo-prone colleague) lock every user out; a pair lock
//     only stops that account from that client.
//   - client: a ceiling for spraying many names from one address, high
//     enough that a team sharing one address (a NAT, the loopback bind)
//     is never slowed by ordinary typos.
//   - account: a ceiling for one account guessed from many addresses.
//     From a single client the pair lock makes reaching it take hours.
const (
	pairFreeFailures    = 5
	clientFreeFailures  = 100
	accountFreeFailures = 50
	lockBase            = time.Second
	lockMax             = 15 * time.Minute
	forgetAfter         = 15 * time.Minute
	// maxLimiterKeys bounds each map. When full, expired keys go first,
	// then the key with the fewest failures, so a flood of new names or
	// addresses cannot push out the key actually under attack.
	maxLimiterKeys = 10_000
)

// limitEntry is one key's failure record.
type limitEntry struct {
	fails    int
	lastFail time.Time
	until    time.Time // locked until
	reported bool      // the current lockout has been audited
}

// loginLimiter counts failed logins. Safe for concurrent use.
type loginLimiter struct {
	mu    sync.Mutex
	pairs map[string]*limitEntry // name + "\x00" + client address
	ips   map[string]*limitEntry
	names map[string]*limitEntry
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{pairs: map[string]*limitEntry{}, ips: map[string]*limitEntry{}, names: map[string]*limitEntry{}}
}

func pairKey(ip, name string) string { return name + "\x00" + ip }

// check returns how long the (name, ip) pair, ip or name is still locked
// (0: not locked), and whether this is the first refusal of that lockout
// (for the audit log).
func (l *loginLimiter) check(now time.Time, ip, name string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	first := false
	for _, e := range []*limitEntry{l.pairs[pairKey(ip, name)], l.ips[ip], l.names[name]} {
		if e == nil || !now.Before(e.until) {
			continue
		}
		wait = max(wait, e.until.Sub(now))
		if !e.reported {
			e.reported = true
			first = true
		}
	}
	return wait, first
}

// fail records a failed attempt for name from ip.
func (l *loginLimiter) fail(now time.Time, ip, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	failKey(l.pairs, now, pairKey(ip, name), pairFreeFailures)
	failKey(l.ips, now, ip, clientFreeFailures)
	failKey(l.names, now, name, accountFreeFailures)
}

// succeed forgets the pair's failures. The client and account ceilings
// keep theirs (until forgetAfter): one valid login must not reset a
// spray from the same address.
func (l *loginLimiter) succeed(ip, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.pairs, pairKey(ip, name))
}

// size returns the number of keys held (tests).
func (l *loginLimiter) size() (pairs, ips, names int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pairs), len(l.ips), len(l.names)
}

// failKey counts a failure on key; past free failures it locks the key.
func failKey(m map[string]*limitEntry, now time.Time, key string, free int) {
	e := m[key]
	if e != nil && expired(e, now) {
		e = nil
	}
	if e == nil {
		if len(m) >= maxLimiterKeys {
			evict(m, now)
		}
		e = &limitEntry{}
		m[key] = e
	}
	e.fails++
	e.lastFail = now
	if e.fails >= free {
		lock := lockBase << min(e.fails-free, 20)
		e.until = now.Add(min(lock, lockMax))
		e.reported = false
	}
}

// expired reports whether a key has served its lockout and been quiet
// for forgetAfter.
func expired(e *limitEntry, now time.Time) bool {
	return !now.Before(e.until) && now.Sub(e.lastFail) >= forgetAfter
}

// evict makes room in a full map: every expired key, or else the one
// with the fewest failures (the oldest among equals).
func evict(m map[string]*limitEntry, now time.Time) {
	victim := ""
	var ve *limitEntry
	for k, e := range m {
		if expired(e, now) {
			delete(m, k)
			continue
		}
		if ve == nil || e.fails < ve.fails || (e.fails == ve.fails && e.lastFail.Before(ve.lastFail)) {
			victim, ve = k, e
		}
	}
	if len(m) >= maxLimiterKeys && ve != nil {
		delete(m, victim)
	}
}

// loginGate admits password checks: at most slots hash at once (each
// argon2id hash takes 19 MiB and a core for a moment), and at most queue
// logins are in flight, hashing or waiting. Admission is one atomic step
// on the in-flight count: past queue a login is refused at once (a flood,
// not a team); within it a login waits for a slot as long as its client
// does, up to maxWait, however slow the machine is. So a team behind one
// address logging in together on a machine busy with an import is served
// in turn, never refused for the time its colleagues' checks take.
type loginGate struct {
	slots    chan struct{}
	inFlight atomic.Int64
	queue    int64
	maxWait  time.Duration
}

func newLoginGate(slots, queue int, maxWait time.Duration) *loginGate {
	return &loginGate{slots: make(chan struct{}, slots), queue: int64(queue), maxWait: maxWait}
}

// errLoginsBusy is enter's refusal: too many logins in flight.
var errLoginsBusy = errors.New("too many logins in progress")

// enter takes a slot, waiting for one while ctx lives (at most maxWait).
// It returns errLoginsBusy when the queue is full or the wait ran out, or
// ctx's error when the client went away. Call release once done.
func (g *loginGate) enter(ctx context.Context) (release func(), err error) {
	if g.inFlight.Add(1) > g.queue {
		g.inFlight.Add(-1)
		return nil, errLoginsBusy
	}
	wctx, cancel := context.WithTimeout(ctx, g.maxWait)
	defer cancel()
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots; g.inFlight.Add(-1) }, nil
	case <-wctx.Done():
		g.inFlight.Add(-1)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, errLoginsBusy
	}
}
