package web

import (
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
