package web

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"
)

func TestLoginLimiter(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	type step struct {
		at       time.Duration // after t0
		op       string        // fail, check, succeed
		ip, name string
		wantWait time.Duration // for check
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"four failures are free", []step{
			{0, "fail", "1.1.1.1", "admin", 0}, {0, "fail", "1.1.1.1", "admin", 0},
			{0, "fail", "1.1.1.1", "admin", 0}, {0, "fail", "1.1.1.1", "admin", 0},
			{0, "check", "1.1.1.1", "admin", 0},
		}},
		{"fifth locks for a second, that pair only", []step{
			{0, "fail", "1.1.1.1", "admin", 0}, {0, "fail", "1.1.1.1", "admin", 0}, {0, "fail", "1.1.1.1", "admin", 0},
			{0, "fail", "1.1.1.1", "admin", 0}, {0, "fail", "1.1.1.1", "admin", 0},
			{0, "check", "1.1.1.1", "admin", time.Second},
			{0, "check", "2.2.2.2", "admin", 0},   // same name, other address
			{0, "check", "1.1.1.1", "analyst", 0}, // same address, other name
			{time.Second, "check", "1.1.1.1", "admin", 0},
		}},
		{"nine failures for a non-existent user lock nobody else", func() []step {
			var s []step
			for range 9 {
				s = append(s, step{0, "fail", "127.0.0.1", "nosuchuser", 0})
			}
			return append(s,
				step{0, "check", "127.0.0.1", "nosuchuser", 16 * time.Second},
				step{0, "check", "127.0.0.1", "admin", 0},
				step{0, "check", "127.0.0.1", "analyst", 0})
		}()},
		{"client ceiling: spraying many names from one address", func() []step {
			var s []step
			for i := range clientFreeFailures {
				s = append(s, step{0, "fail", "10.0.0.1", "user" + strconv.Itoa(i), 0})
			}
			return append(s,
				step{0, "check", "10.0.0.1", "fresh-name", time.Second},
				step{0, "check", "10.0.0.2", "fresh-name", 0})
		}()},
		{"account ceiling: one name from many addresses", func() []step {
			var s []step
			for i := range accountFreeFailures {
				s = append(s, step{0, "fail", "10.1.0." + strconv.Itoa(i), "admin", 0})
			}
			return append(s,
				step{0, "check", "10.2.0.1", "admin", time.Second},
				step{0, "check", "10.2.0.1", "analyst", 0})
		}()},
		{"lockout doubles", []step{
			{0, "fail", "a", "n", 0}, {0, "fail", "a", "n", 0}, {0, "fail", "a", "n", 0}, {0, "fail", "a", "n", 0},
			{0, "fail", "a", "n", 0}, {0, "fail", "a", "n", 0}, {0, "fail", "a", "n", 0},
			{0, "check", "a", "n", 4 * time.Second},
		}},
		{"lockout capped", func() []step {
			var s []step
			for range 40 {
				s = append(s, step{0, "fail", "a", "n", 0})
			}
			return append(s, step{0, "check", "a", "n", lockMax})
		}()},
		{"forgotten after quiet", []step{
			{0, "fail", "a", "n", 0}, {0, "fail", "a", "n", 0}, {0, "fail", "a", "n", 0}, {0, "fail", "a", "n", 0},
			{forgetAfter, "fail", "a", "n", 0}, // counts start again
			{forgetAfter, "check", "a", "n", 0},
		}},
		{"success resets", []step{
			{0, "fail", "a", "n", 0}, {0, "fail", "a", "n", 0}, {0, "fail", "a", "n", 0}, {0, "fail", "a", "n", 0},
			{0, "succeed", "a", "n", 0},
			{0, "fail", "a", "n", 0},
			{0, "check", "a", "n", 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLoginLimiter()
			for i, s := range tc.steps {
				now := t0.Add(s.at)
				switch s.op {
				case "fail":
					l.fail(now, s.ip, s.name)
				case "succeed":
					l.succeed(s.ip, s.name)
				case "check":
					if got, _ := l.check(now, s.ip, s.name); got != s.wantWait {
						t.Fatalf("step %d: check %s/%s: got %s, want %s", i, s.ip, s.name, got, s.wantWait)
					}
				}
			}
		})
	}
}

func TestLoginLimiterReportsOncePerLockout(t *testing.T) {
	l := newLoginLimiter()
	now := time.Now()
	for range pairFreeFailures {
		l.fail(now, "a", "n")
	}
	var firsts []bool
	for range 3 {
		_, first := l.check(now, "a", "n")
		firsts = append(firsts, first)
	}
	if !firsts[0] || firsts[1] || firsts[2] {
		t.Fatalf("first flags: got %v, want only the first refusal reported", firsts)
	}
}

// TestLoginLimiterBounded floods the limiter with new addresses and names:
// it stays within its bound and keeps the keys with the most failures.
func TestLoginLimiterBounded(t *testing.T) {
	l := newLoginLimiter()
	now := time.Now()
	for range 10 {
		l.fail(now, "attacker", "admin")
	}
	for i := range maxLimiterKeys + 500 {
		l.fail(now, "ip-"+strconv.Itoa(i), "name-"+strconv.Itoa(i))
	}
	pairs, ips, names := l.size()
	if pairs > maxLimiterKeys || ips > maxLimiterKeys || names > maxLimiterKeys {
		t.Fatalf("size: got %d pairs, %d addresses, %d names, want at most %d each", pairs, ips, names, maxLimiterKeys)
	}
	if wait, _ := l.check(now, "attacker", "admin"); wait == 0 {
		t.Fatal("the attacking pair was evicted by the flood")
	}
}

// TestLoginGate: a burst beyond the hashing slots queues instead of being
// refused, however long the checks ahead of it take; only logins beyond
// the queue are refused, and a login whose client leaves frees its place.
func TestLoginGate(t *testing.T) {
	const slots, queue = 2, 8
	g := newLoginGate(slots, queue, time.Hour)
	var held []func()
	for range slots {
		rel, err := g.enter(t.Context())
		if err != nil {
			t.Fatalf("slot: got %v, want a slot", err)
		}
		held = append(held, rel)
	}
	// A client that gives up while queued leaves the queue.
	gone, cancel := context.WithCancel(t.Context())
	left := make(chan error, 1)
	go func() { _, err := g.enter(gone); left <- err }()
	waitInFlight(t, g, slots+1)
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: got %v, want context.Canceled", err)
	}
	waitInFlight(t, g, slots)
	// The rest of the queue fills with waiting logins, none refused.
	results := make(chan error, queue)
	for range queue - slots {
		go func() {
			rel, err := g.enter(t.Context())
			if err == nil {
				rel()
			}
			results <- err
		}()
	}
	waitInFlight(t, g, queue)
	if _, err := g.enter(t.Context()); !errors.Is(err, errLoginsBusy) {
		t.Fatalf("login beyond the queue: got %v, want errLoginsBusy", err)
	}
	for _, rel := range held {
		rel()
	}
	for range queue - slots {
		if err := <-results; err != nil {
			t.Errorf("queued login: got %v, want a slot", err)
		}
	}
	waitInFlight(t, g, 0)
}

// waitInFlight polls until the gate holds n logins (with a deadline).
func waitInFlight(t *testing.T, g *loginGate, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for g.inFlight.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("in flight: got %d, want %d", g.inFlight.Load(), n)
		}
		runtime.Gosched()
	}
}
