package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"casescope/store"
)

// TestSessionCookiePerInstance logs in to two servers on one host
// (different ports): each session cookie is named after its server's
// port, so neither overwrites the other and both stay logged in.
func TestSessionCookiePerInstance(t *testing.T) {
	a, b := newRig(t, rigOptions{}), newRig(t, rigOptions{})
	var names []string
	for _, r := range []*rig{a, b} {
		res, raw := r.login(t, "analyst", testPasswords[store.RoleAnalyst])
		if res.StatusCode != http.StatusOK || len(res.Cookies()) != 1 {
			t.Fatalf("login: got %d %s cookies %v", res.StatusCode, raw, res.Cookies())
		}
		u, _ := url.Parse(r.srv.URL)
		name := res.Cookies()[0].Name
		if !strings.HasSuffix(name, "_"+u.Port()) {
			t.Errorf("cookie name: got %q, want it to end with the port _%s", name, u.Port())
		}
		names = append(names, name)
		s := r.sessionOf(t, res, raw)
		if st, _ := r.as(t, s, "GET", "/api/session", nil); st != http.StatusOK {
			t.Errorf("session on %s: got %d, want 200", r.srv.URL, st)
		}
	}
	if names[0] == names[1] {
		t.Errorf("two instances share the cookie name %q", names[0])
	}
}
