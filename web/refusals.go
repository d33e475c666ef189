package web

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"casescope/store"
)

// Refusals (403 cross-origin or CSRF, 421 foreign Host, 429 throttled, a
// role refused) are audited, but a flood of them must not fill the disk
// with one ledger entry per request. They are coalesced per key (kind,
// client, path): the first refusal of a key in a window is written at
// once, and the ones after it in the same window are counted and written
// as one entry (Count = how many) when the window ends.
const (
	refusalWindow = time.Minute
	// maxRefusalKeys bounds the keys tracked in one window; past it, new
	// keys fold into one per (kind, client), then one per kind, so a
	// flood of distinct paths and addresses still writes a bounded number
	// of entries per window.
	maxRefusalKeys = 1000
)

// refusalKey identifies a kind of refusal from one client on one path.
type refusalKey struct {
	kind, client, path string
}

// refusalCount is a key's window: the first entry (written at once) and
// how many more came after it.
type refusalCount struct {
	first store.AuditEntry
	since time.Time
	more  int
}

// refusalLog coalesces refusals. Safe for concurrent use; write is
// called outside its lock.
type refusalLog struct {
	mu    sync.Mutex
	keys  map[refusalKey]*refusalCount
	write func(store.AuditEntry)
}

func newRefusalLog(write func(store.AuditEntry)) *refusalLog {
	return &refusalLog{keys: map[refusalKey]*refusalCount{}, write: write}
}

// refuse records one refusal of kind; e is its audit entry (Remote and
// Target are the key's client and path).
func (l *refusalLog) refuse(now time.Time, kind string, e store.AuditEntry) {
	k := refusalKey{kind, e.Remote, e.Target}
	l.mu.Lock()
	due := l.expire(now)
	c := l.keys[k]
	if c == nil && len(l.keys) >= maxRefusalKeys {
		k.path = "*"
		if c = l.keys[k]; c == nil && len(l.keys) >= maxRefusalKeys+maxRefusalKeys/10 {
			k.client = "*"
			c = l.keys[k]
		}
		e.Remote, e.Target = k.client, k.path
	}
	writeFirst := c == nil
	if writeFirst {
		e.Count = 1
		if e.Time.IsZero() {
			e.Time = now.UTC()
		}
		l.keys[k] = &refusalCount{first: e, since: now}
	} else {
		c.more++
	}
	l.mu.Unlock()
	for _, d := range due {
		l.write(d)
	}
	if writeFirst {
		l.write(e)
	}
}

// flush writes the counts of windows that ended by now (every window,
// with a zero now: at shutdown).
func (l *refusalLog) flush(now time.Time) {
	l.mu.Lock()
	due := l.expire(now)
	l.mu.Unlock()
	for _, d := range due {
		l.write(d)
	}
}

// expire ends the windows that started refusalWindow before now (all of
// them when now is zero) and returns the entries to write for those that
// counted more refusals, oldest first. Called with mu held.
func (l *refusalLog) expire(now time.Time) []store.AuditEntry {
	var out []store.AuditEntry
	for k, c := range l.keys {
		if !now.IsZero() && now.Sub(c.since) < refusalWindow {
			continue
		}
		delete(l.keys, k)
		if c.more == 0 {
			continue
		}
		e := c.first
		e.Count, e.Time = c.more, time.Time{} // stamped when written
		e.Detail = fmt.Sprintf("%d more refused in the %s from %s: %s", c.more,
			refusalWindow, c.since.UTC().Format(time.RFC3339), c.first.Detail)
		if len(e.Detail) > maxAuditDetail {
			e.Detail = e.Detail[:maxAuditDetail] + "…"
		}
		out = append(out, e)
	}
	return out
}

// refused audits a refusal the server made before any route ran (kind
// names it: cross-origin, host, throttled), coalesced per client and
// path.
func (s *Server) refused(r *http.Request, kind string, status int, detail string) {
	actor := "(anonymous)"
	if p, ok := principalOf(r); ok {
		actor = p.User
	}
	s.refusals.refuse(time.Now(), kind, store.AuditEntry{Actor: actor, Remote: remoteIP(r), Action: "refused." + kind,
		Target: auditPath(r), Outcome: "denied", Detail: fmt.Sprintf("%d %s %s: %s", status, r.Method, auditPath(r), detail)})
}

// auditPath is the request path as recorded: printable and bounded.
func auditPath(r *http.Request) string {
	return auditName(r.URL.Path)
}

// flushRefusals writes coalesced refusal counts every half window until
// stop closes, then all of them.
func (s *Server) flushRefusals(stop <-chan struct{}) {
	t := time.NewTicker(refusalWindow / 2)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			s.refusals.flush(now)
		case <-stop:
			s.refusals.flush(time.Time{})
			return
		}
	}
}
