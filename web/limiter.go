package web

import (
	"sync"
	"time"
)

// Login rate limiting. Failures are counted per remote address and per
// user name; after freeFailures, each further failure locks that key for
// twice as long as the last (lockBase, 2×, 4×… up to lockMax). A key
// forgets its failures after forgetAfter without one. Nothing sleeps: a
// locked attempt is answered 429 at once, before any password is hashed.
const (
	freeFailures = 5
	lockBase     = time.Second
	lockMax      = 15 * time.Minute
	forgetAfter  = 15 * time.Minute
	// maxLimiterKeys bounds each map. When full, expired keys go first,
	// then the key with the fewest failures, so a flood of new names or
	// addresses cannot push out the account actually under attack.
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
	ips   map[string]*limitEntry
	names map[string]*limitEntry
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{ips: map[string]*limitEntry{}, names: map[string]*limitEntry{}}
}

// check returns how long ip or name is still locked (0: not locked), and
// whether this is the first refusal of that lockout (for the audit log).
func (l *loginLimiter) check(now time.Time, ip, name string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	first := false
	for _, e := range []*limitEntry{l.ips[ip], l.names[name]} {
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

// fail records a failed attempt for ip and name.
func (l *loginLimiter) fail(now time.Time, ip, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	failKey(l.ips, now, ip)
	failKey(l.names, now, name)
}

// succeed forgets ip's and name's failures.
func (l *loginLimiter) succeed(ip, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.ips, ip)
	delete(l.names, name)
}

// size returns the number of keys held (tests).
func (l *loginLimiter) size() (ips, names int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ips), len(l.names)
}

func failKey(m map[string]*limitEntry, now time.Time, key string) {
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
	if e.fails >= freeFailures {
		lock := lockBase << min(e.fails-freeFailures, 20)
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
