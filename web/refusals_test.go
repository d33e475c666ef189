package web_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"casescope/store"
)

// TestRefusalFloodAudited sends 10,000 refused requests (cross-origin
// 403s from three clients on two paths, 421 foreign Host names, CSRF
// 403s of a session, throttled logins) straight to the handler: every
// refusal is counted in the audit log, in a bounded number of entries.
func TestRefusalFloodAudited(t *testing.T) {
	r := newRig(t, rigOptions{})
	h := r.web.Handler()
	loopback := context.WithValue(t.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080})
	const (
		crossOrigin = 6000
		badHost     = 2000
		csrf        = 1500
		throttled   = 500
	)
	clients := []string{"127.0.0.1:5000", "127.0.0.2:5000", "127.0.0.3:5000"}
	paths := []string{"/api/cases", "/api/rules/reload"}
	send := func(req *http.Request, want int) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Fatalf("%s %s: got %d %s, want %d", req.Method, req.URL, rec.Code, rec.Body, want)
		}
	}
	for i := range crossOrigin {
		req := httptest.NewRequestWithContext(loopback, "POST", paths[i%2], strings.NewReader(`{}`))
		req.RemoteAddr, req.Host = clients[i%3], "127.0.0.1:8080"
		req.Header.Set("Origin", "http://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		send(req, http.StatusForbidden)
	}
	for i := range badHost {
		req := httptest.NewRequestWithContext(loopback, "GET", fmt.Sprintf("/api/cases?n=%d", i), nil)
		req.RemoteAddr = clients[0]
		req.Host = "rebound.example"
		send(req, http.StatusMisdirectedRequest)
	}
	for range csrf {
		req := httptest.NewRequestWithContext(loopback, "POST", "/api/cases", strings.NewReader(`{"name":"x"}`))
		req.RemoteAddr, req.Host = clients[1], "127.0.0.1:8080"
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(&http.Cookie{Name: "casescope_session_8080", Value: r.sessions[store.RoleAnalyst].token}) // named for the local port above
		send(req, http.StatusForbidden)                                                                         // no CSRF header
	}
	for i := range throttled + 5 {
		req := httptest.NewRequestWithContext(loopback, "POST", "/api/login", strings.NewReader(`{"name":"nosuchuser","password":"guess"}`))
		req.RemoteAddr, req.Host = clients[2], "127.0.0.1:8080"
		req.Header.Set("Content-Type", "application/json")
		want := http.StatusTooManyRequests
		if i < 5 {
			want = http.StatusUnauthorized // the free failures
		}
		send(req, want)
	}
	r.web.FlushAudit()

	counts := map[string]int{}
	entries := 0
	for _, e := range r.auditEntries(t) {
		if !strings.HasPrefix(e.Action, "refused.") && !(e.Action == "case.create" && e.Outcome == "denied") {
			continue
		}
		entries++
		if e.Count < 1 {
			t.Errorf("refusal entry %+v has count %d, want at least 1", e, e.Count)
		}
		counts[e.Action] += e.Count
	}
	want := map[string]int{"refused.cross-origin": crossOrigin, "refused.host": badHost, "case.create": csrf, "refused.throttled": throttled}
	for action, n := range want {
		if counts[action] != n {
			t.Errorf("%s: audit counts %d refusals, want %d", action, counts[action], n)
		}
	}
	// One entry at the first refusal of each (kind, client, path) and
	// one with the count of the rest: 6 cross-origin keys, 1 host (the
	// path is recorded without the query), 1 CSRF, 1 throttled.
	if entries > 18 {
		t.Errorf("refusal entries: got %d for 10,000 refusals, want at most 18", entries)
	}
	t.Logf("%d refused requests written as %d audit entries", crossOrigin+badHost+csrf+throttled, entries)
}

// TestCaseNames: names that could not address their case are refused
// with the reason; the rest are trimmed and kept.
func TestCaseNames(t *testing.T) {
	r := newRig(t, rigOptions{})
	bad := []struct{ name, reason string }{
		{"a/b", `may not contain '/'`},
		{`a\b`, `may not contain '\\'`},
		{"a\x00b", "control character (U+0000)"},
		{"a\nb", "control character (U+000A)"},
		{"a\x7fb", "control character (U+007F)"},
		{"12345", "all digits"},
		{" 42 ", "all digits"},
		{"", "empty"},
		{"   ", "empty"},
		{"..", "not allowed"},
		{strings.Repeat("x", 201), "longer than 200"},
		{"bad\xffutf8", "U+FFFD"}, // JSON turns the byte into U+FFFD
	}
	for _, tc := range bad {
		st, raw := r.call(t, "POST", "/api/cases", map[string]string{"name": tc.name}, nil)
		if st != http.StatusBadRequest {
			t.Errorf("create %q: got %d %s, want 400", tc.name, st, raw)
			continue
		}
		if got := errorOf(t, raw); !strings.Contains(got, tc.reason) {
			t.Errorf("create %q: reason %q, want it to contain %q", tc.name, got, tc.reason)
		}
	}
	for _, name := range []string{"  Case 7 ", "2024-05 incident", "Überfall #3", "dc01.corp.local"} {
		var c store.Case
		if st, raw := r.call(t, "POST", "/api/cases", map[string]string{"name": name}, &c); st != http.StatusCreated {
			t.Errorf("create %q: got %d %s, want 201", name, st, raw)
			continue
		}
		if c.Name != strings.TrimSpace(name) {
			t.Errorf("create %q: name %q, want it trimmed", name, c.Name)
		}
		// Addressable by name and by ID.
		for _, ref := range []string{url.PathEscape(c.Name), itoa(c.ID)} {
			if st, raw := r.call(t, "GET", "/api/cases/"+ref, nil, nil); st != http.StatusOK {
				t.Errorf("GET case %q as %q: got %d %s, want 200", c.Name, ref, st, raw)
			}
		}
	}
}
