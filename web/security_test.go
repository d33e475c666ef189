package web_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"casescope/store"
	"casescope/web"
)

// public marks routes anyone may call.
const public = "public"

// accessMatrix is the least role each route needs, written out by hand
// from the role list: admin (users, settings, everything), analyst
// (cases, uploads, tags, IOCs, rules), read-only (view, search, export).
// The folder import reads server-side paths: admin only.
var accessMatrix = map[string]string{
	"GET /":                      public,
	"GET /favicon.ico":           public,
	"GET /static/*":              public,
	"HEAD /static/*":             public,
	"POST /api/login":            public,
	"POST /api/logout":           store.RoleReadOnly,
	"GET /api/session":           store.RoleReadOnly,
	"POST /api/session/password": store.RoleReadOnly,
	"GET /api/system":            store.RoleReadOnly,
	"GET /api/jobs/{id}":         store.RoleReadOnly,
	"GET /api/cases":             store.RoleReadOnly,
	"POST /api/cases":            store.RoleAnalyst,
	"POST /api/case-archives":    store.RoleAnalyst,

	"GET /api/cases/{case}/":                       store.RoleReadOnly,
	"DELETE /api/cases/{case}/":                    store.RoleAdmin,
	"POST /api/cases/{case}/status":                store.RoleAnalyst,
	"GET /api/cases/{case}/archive":                store.RoleAnalyst,
	"GET /api/cases/{case}/files":                  store.RoleReadOnly,
	"GET /api/cases/{case}/members":                store.RoleReadOnly,
	"GET /api/cases/{case}/aggregate":              store.RoleReadOnly,
	"GET /api/cases/{case}/events/{id}/context":    store.RoleReadOnly,
	"GET /api/cases/{case}/history":                store.RoleReadOnly,
	"GET /api/cases/{case}/rule-packs":             store.RoleReadOnly,
	"PUT /api/cases/{case}/rule-packs":             store.RoleAnalyst,
	"GET /api/cases/{case}/saved-searches":         store.RoleReadOnly,
	"GET /api/cases/{case}/saved-searches/{id}":    store.RoleReadOnly,
	"POST /api/cases/{case}/saved-searches":        store.RoleAnalyst,
	"PUT /api/cases/{case}/saved-searches/{id}":    store.RoleAnalyst,
	"DELETE /api/cases/{case}/saved-searches/{id}": store.RoleAnalyst,
	"GET /api/search-templates":                    store.RoleReadOnly,
	"GET /api/search-templates/{id}":               store.RoleReadOnly,
	"POST /api/search-templates":                   store.RoleAdmin,
	"PUT /api/search-templates/{id}":               store.RoleAdmin,
	"DELETE /api/search-templates/{id}":            store.RoleAdmin,
	"GET /api/session/prefs":                       store.RoleReadOnly,
	"PUT /api/session/prefs":                       store.RoleReadOnly,
	// Members are managed by the case's owners and admins; the matrix's
	// analyst is an analyst member, not an owner (TestMembershipMatrix).
	"PUT /api/cases/{case}/members/{name}":                store.RoleAdmin,
	"DELETE /api/cases/{case}/members/{name}":             store.RoleAdmin,
	"POST /api/cases/{case}/upload":                       store.RoleAnalyst,
	"POST /api/cases/{case}/import":                       store.RoleAdmin,
	"POST /api/cases/{case}/files/{id}/requeue":           store.RoleAnalyst,
	"POST /api/cases/{case}/files/{id}/hide":              store.RoleAnalyst,
	"POST /api/cases/{case}/files/{id}/unhide":            store.RoleAnalyst,
	"DELETE /api/cases/{case}/files/{id}":                 store.RoleAnalyst,
	"GET /api/cases/{case}/search":                        store.RoleReadOnly,
	"GET /api/cases/{case}/export":                        store.RoleReadOnly,
	"GET /api/cases/{case}/events/{id}":                   store.RoleReadOnly,
	"GET /api/cases/{case}/events/{id}/xml":               store.RoleReadOnly,
	"PUT /api/cases/{case}/events/{id}/tag":               store.RoleAnalyst,
	"GET /api/cases/{case}/events/{id}/comments":          store.RoleReadOnly,
	"POST /api/cases/{case}/events/{id}/comments":         store.RoleAnalyst,
	"PATCH /api/cases/{case}/events/{id}/comments/{cid}":  store.RoleAnalyst,
	"DELETE /api/cases/{case}/events/{id}/comments/{cid}": store.RoleAnalyst,
	"POST /api/cases/{case}/tag-query":                    store.RoleAnalyst,
	"GET /api/cases/{case}/report":                        store.RoleReadOnly,
	"POST /api/rules/reload":                              store.RoleAnalyst,
	"GET /api/cases/{case}/sigma":                         store.RoleReadOnly,
	"GET /api/cases/{case}/iocs":                          store.RoleReadOnly,
	"GET /api/cases/{case}/hosts":                         store.RoleReadOnly,
	"GET /api/cases/{case}/accounts":                      store.RoleReadOnly,
	"GET /api/cases/{case}/logons":                        store.RoleReadOnly,
	"GET /api/cases/{case}/metrics":                       store.RoleReadOnly,
	"GET /api/cases/{case}/attack":                        store.RoleReadOnly,
	"GET /api/cases/{case}/suppressions":                  store.RoleReadOnly,
	"GET /api/cases/{case}/suppressed":                    store.RoleReadOnly,
	"POST /api/cases/{case}/suppressions":                 store.RoleAnalyst,
	"PATCH /api/cases/{case}/suppressions/{id}":           store.RoleAnalyst,
	"POST /api/cases/{case}/iocs":                         store.RoleAnalyst,
	"PATCH /api/cases/{case}/iocs/{id}":                   store.RoleAnalyst,
	"DELETE /api/cases/{case}/iocs/{id}":                  store.RoleAnalyst,

	"GET /api/cases/{case}/events/{id}/rules/{rule}": store.RoleReadOnly,

	"GET /api/users":                  store.RoleAdmin,
	"POST /api/users":                 store.RoleAdmin,
	"PATCH /api/users/{name}":         store.RoleAdmin,
	"POST /api/users/{name}/password": store.RoleAdmin,
	"GET /api/audit":                  store.RoleAdmin,
	"GET /api/audit/export":           store.RoleAdmin,
}

// rank orders the roles for the matrix.
var rank = map[string]int{public: 0, store.RoleReadOnly: 1, store.RoleAnalyst: 2, store.RoleAdmin: 3}

// concrete fills a route pattern's parameters with values that reach the
// handler: case 1 exists, the other IDs and names do not.
func concrete(pattern string) string {
	return strings.NewReplacer("{case}", "1", "{id}", "999999", "{cid}", "999999", "{name}", "nobody", "*", "app.css").Replace(pattern)
}

// walkRoutes lists every route of the server as "METHOD pattern".
func walkRoutes(t *testing.T, r *rig) []string {
	t.Helper()
	var routes []string
	err := chi.Walk(r.web.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return routes
}

// TestRoleMatrix calls every route as nobody and as each role, and
// checks each gets exactly the access the matrix lists: 401 without a
// session, 403 below the route's role, and through to the handler at or
// above it. Each call uses a fresh session, so logout cannot end the
// next. A route missing from the matrix fails the test.
func TestRoleMatrix(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.createCase(t, "matrix")
	// The admin's DELETE of a case takes case 2, so case 1 stays for the
	// routes after it (member routes refuse by the membership of a case
	// that exists).
	doomed := r.createCase(t, "doomed")
	routes := walkRoutes(t, r)
	for _, rt := range routes {
		if _, ok := accessMatrix[rt]; !ok {
			t.Errorf("route %s has no entry in the access matrix: add one", rt)
		}
	}
	for k := range accessMatrix {
		if !slices.Contains(routes, k) {
			t.Errorf("matrix entry %s matches no route", k)
		}
	}
	for _, rt := range routes {
		want, ok := accessMatrix[rt]
		if !ok {
			continue
		}
		method, pattern, _ := strings.Cut(rt, " ")
		for _, who := range []string{"", store.RoleReadOnly, store.RoleAnalyst, store.RoleAdmin} {
			name := who
			if name == "" {
				name = "anonymous"
			}
			t.Run(rt+"/"+name, func(t *testing.T) {
				path := concrete(pattern)
				if rt == "DELETE /api/cases/{case}/" {
					path = "/api/cases/" + itoa(doomed.ID) + "/"
				}
				st := r.matrixCall(t, who, method, path, true)
				switch {
				case want == public:
					if st == http.StatusForbidden || (st == http.StatusUnauthorized && pattern != "/api/login") {
						t.Errorf("got %d, want the public route to answer", st)
					}
				case who == "":
					if st != http.StatusUnauthorized {
						t.Errorf("got %d, want 401 without a session", st)
					}
				case rank[who] < rank[want]:
					if st != http.StatusForbidden {
						t.Errorf("got %d, want 403 (needs %s)", st, want)
					}
				default:
					if st == http.StatusUnauthorized || st == http.StatusForbidden {
						t.Errorf("got %d, want access (needs %s)", st, want)
					}
				}
			})
		}
		if safe(method) || want == public {
			continue
		}
		// State changes need the CSRF token, and a browser's cross-site
		// request is refused even with it.
		t.Run(rt+"/no CSRF token", func(t *testing.T) {
			if st := r.matrixCall(t, store.RoleAdmin, method, concrete(pattern), false); st != http.StatusForbidden {
				t.Errorf("admin without the CSRF header: got %d, want 403", st)
			}
		})
		t.Run(rt+"/cross-site", func(t *testing.T) {
			if st := r.matrixCall(t, store.RoleAdmin, method, concrete(pattern), true, "Sec-Fetch-Site", "cross-site"); st != http.StatusForbidden {
				t.Errorf("cross-site with the CSRF header: got %d, want 403", st)
			}
		})
	}
}

func safe(method string) bool { return method == "GET" || method == "HEAD" }

// matrixCall sends one request as a fresh session of role ("" = none),
// with the CSRF header when withCSRF, plus extra header pairs. Bodies are
// "{}" (a login with no credentials for /api/login).
func (r *rig) matrixCall(t *testing.T, role, method, path string, withCSRF bool, header ...string) int {
	t.Helper()
	var body io.Reader
	if !safe(method) {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequestWithContext(t.Context(), method, r.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if role != "" {
		u, err := r.ledger.User(roleUser(role))
		if err != nil {
			t.Fatal(err)
		}
		token, sess, err := r.ledger.CreateSession(u, "test")
		if err != nil {
			t.Fatal(err)
		}
		req.AddCookie(&http.Cookie{Name: r.cookieName(), Value: token})
		if withCSRF {
			req.Header.Set("X-CSRF-Token", sess.CSRF)
		}
	}
	res, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// login posts credentials; it returns the response (body read into raw).
func (r *rig) login(t *testing.T, name, password string, header ...string) (*http.Response, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"name": name, "password": password})
	req, err := http.NewRequestWithContext(t.Context(), "POST", r.srv.URL+"/api/login", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res, string(raw)
}

// sessionOf turns a successful login into a testSession.
func (r *rig) sessionOf(t *testing.T, res *http.Response, raw string) testSession {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login: got %d %s, want 200", res.StatusCode, raw)
	}
	var v struct {
		User string `json:"user"`
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies() {
		if c.Name == r.cookieName() {
			return testSession{user: v.User, token: c.Value, csrf: v.CSRF}
		}
	}
	t.Fatalf("login set no %s cookie: %v", r.cookieName(), res.Header["Set-Cookie"])
	return testSession{}
}

// as sends a request in session s.
func (r *rig) as(t *testing.T, s testSession, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, r.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.AddCookie(&http.Cookie{Name: r.cookieName(), Value: s.token})
	req.Header.Set("X-CSRF-Token", s.csrf)
	res, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}

func TestLoginSession(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run("tls="+strconv.FormatBool(useTLS), func(t *testing.T) {
			r := newRig(t, rigOptions{tls: useTLS})
			res, raw := r.login(t, "Analyst", testPasswords[store.RoleAnalyst])
			s := r.sessionOf(t, res, raw)
			var cookie *http.Cookie
			for _, c := range res.Cookies() {
				cookie = c
			}
			if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" || cookie.Secure != useTLS {
				t.Errorf("cookie: got %q, want HttpOnly, SameSite=Strict, Path=/, Secure=%v", res.Header.Get("Set-Cookie"), useTLS)
			}
			if s.user != "analyst" || len(s.csrf) < 32 {
				t.Errorf("login answer: got user %q csrf %q", s.user, s.csrf)
			}
			var me struct {
				User string `json:"user"`
				Role string `json:"role"`
				CSRF string `json:"csrf_token"`
			}
			if st, raw := r.as(t, s, "GET", "/api/session", nil); st != http.StatusOK || jsonUnmarshal(raw, &me) != nil ||
				me.User != "analyst" || me.Role != store.RoleAnalyst || me.CSRF != s.csrf {
				t.Fatalf("session: got %d %s", st, raw)
			}
			if st, raw := r.as(t, s, "POST", "/api/cases", map[string]string{"name": "by analyst"}); st != http.StatusCreated {
				t.Fatalf("create case in the new session: got %d %s", st, raw)
			}
			if st, _ := r.as(t, s, "POST", "/api/logout", nil); st != http.StatusNoContent {
				t.Fatalf("logout: got %d, want 204", st)
			}
			if st, _ := r.as(t, s, "GET", "/api/cases", nil); st != http.StatusUnauthorized {
				t.Fatalf("after logout: got %d, want 401", st)
			}
		})
	}
}

func TestLoginRefusals(t *testing.T) {
	r := newRig(t, rigOptions{})
	if _, err := r.ledger.UpdateUser("reader", func(u *store.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, password string
		ct                   string
		want                 int
	}{
		{"wrong password", "admin", "not-the-password!", "application/json", http.StatusUnauthorized},
		{"unknown user", "mallory", "whatever-password", "application/json", http.StatusUnauthorized},
		{"disabled user", "reader", testPasswords[store.RoleReadOnly], "application/json", http.StatusUnauthorized},
		{"form post", "admin", testPasswords[store.RoleAdmin], "application/x-www-form-urlencoded", http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := json.Marshal(map[string]string{"name": tc.user, "password": tc.password})
			req, _ := http.NewRequestWithContext(t.Context(), "POST", r.srv.URL+"/api/login", bytes.NewReader(b))
			req.Header.Set("Content-Type", tc.ct)
			res, err := r.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.want || len(res.Cookies()) != 0 {
				t.Fatalf("got %d with cookies %v, want %d and none", res.StatusCode, res.Cookies(), tc.want)
			}
		})
	}
	// A cross-site login is refused before any password is checked.
	if res, _ := r.login(t, "admin", testPasswords[store.RoleAdmin], "Origin", "http://evil.example"); res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin login: got %d, want 403", res.StatusCode)
	}
}

func TestLoginRateLimit(t *testing.T) {
	r := newRig(t, rigOptions{})
	for i := 1; i <= 5; i++ {
		if res, raw := r.login(t, "admin", "wrong-password-"+strconv.Itoa(i)); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: got %d %s, want 401", i, res.StatusCode, raw)
		}
	}
	// Now locked: even the right password is refused, without a check.
	res, raw := r.login(t, "admin", testPasswords[store.RoleAdmin])
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 5 failures: got %d %s, want 429", res.StatusCode, raw)
	}
	if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("Retry-After: got %q, want whole seconds", res.Header.Get("Retry-After"))
	}
	if len(res.Cookies()) != 0 {
		t.Errorf("a refused login set cookies: %v", res.Cookies())
	}
	// The lockout is that account's from this client: another account
	// from the same address (every browser is 127.0.0.1 on the default
	// bind) still logs in.
	if res, raw := r.login(t, "analyst", testPasswords[store.RoleAnalyst]); res.StatusCode != http.StatusOK {
		t.Errorf("other user, same address: got %d %s, want 200", res.StatusCode, raw)
	}
}

// TestLoginAbuserLocksOutNobodyElse is the case: 9 failed logins
// for a non-existent user from 127.0.0.1 lock that name (guessing stays
// slow) but not the other users on 127.0.0.1.
func TestLoginAbuserLocksOutNobodyElse(t *testing.T) {
	r := newRig(t, rigOptions{})
	locked := 0
	for i := 1; i <= 9; i++ {
		res, raw := r.login(t, "nosuchuser", "guess-"+strconv.Itoa(i))
		switch res.StatusCode {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			locked++
		default:
			t.Fatalf("guess %d: got %d %s, want 401 or 429", i, res.StatusCode, raw)
		}
	}
	if locked == 0 {
		t.Errorf("guesses refused 429: got none, want the guesses after the 5 free failures refused")
	}
	if res, _ := r.login(t, "nosuchuser", "guess-10"); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the guessed name: got %d, want 429", res.StatusCode)
	}
	for _, role := range []string{store.RoleAdmin, store.RoleAnalyst, store.RoleReadOnly} {
		if res, raw := r.login(t, roleUser(role), testPasswords[role]); res.StatusCode != http.StatusOK {
			t.Errorf("%s from the same address: got %d %s, want 200", roleUser(role), res.StatusCode, raw)
		}
	}
}

// TestLoginTeamBurst: 8 people behind one address log in at once; none is
// throttled (logins beyond the password-check slots wait their turn).
func TestLoginTeamBurst(t *testing.T) {
	r := newRig(t, rigOptions{})
	const team = 8
	for i := range team {
		if _, err := r.ledger.CreateUser("member"+strconv.Itoa(i), store.RoleAnalyst, "member-password-"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	codes := make(chan int, team)
	start := make(chan struct{})
	for i := range team {
		go func() {
			<-start
			b, _ := json.Marshal(map[string]string{"name": "member" + strconv.Itoa(i), "password": "member-password-" + strconv.Itoa(i)})
			req, _ := http.NewRequestWithContext(t.Context(), "POST", r.srv.URL+"/api/login", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			res, err := r.srv.Client().Do(req)
			if err != nil {
				codes <- 0
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	close(start)
	for range team {
		if c := <-codes; c != http.StatusOK {
			t.Errorf("a team login: got %d, want 200", c)
		}
	}
}

func TestSessionIdle(t *testing.T) {
	// An idle limit of a nanosecond: the session has expired by the time
	// the next request arrives.
	r := newRig(t, rigOptions{web: web.Config{SessionIdle: time.Nanosecond}})
	res, raw := r.login(t, "admin", testPasswords[store.RoleAdmin])
	s := r.sessionOf(t, res, raw)
	if st, _ := r.as(t, s, "GET", "/api/cases", nil); st != http.StatusUnauthorized {
		t.Fatalf("idle session: got %d, want 401", st)
	}
}

func TestLocalToken(t *testing.T) {
	const token = "local-token-0123456789abcdef"
	r := newRig(t, rigOptions{web: web.Config{LocalToken: token}})
	tests := []struct {
		name, method, path, auth string
		want                     int
	}{
		{"system", "GET", "/api/system", "Bearer " + token, http.StatusOK},
		{"wrong token", "GET", "/api/system", "Bearer nope", http.StatusUnauthorized},
		{"other route", "GET", "/api/cases", "Bearer " + token, http.StatusUnauthorized},
		{"other method", "POST", "/api/cases", "Bearer " + token, http.StatusUnauthorized},
		{"users", "GET", "/api/users", "Bearer " + token, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, r.srv.URL+tc.path, strings.NewReader(`{"name":"x"}`))
			req.Header.Set("Authorization", tc.auth)
			req.Header.Set("Content-Type", "application/json")
			res, err := r.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("got %d, want %d", res.StatusCode, tc.want)
			}
		})
	}
}

func TestHostCheck(t *testing.T) {
	r := newRig(t, rigOptions{web: web.Config{AllowedHosts: []string{"casescope.lab"}}})
	_, port, _ := strings.Cut(r.srv.Listener.Addr().String(), ":")
	tests := []struct {
		host string
		want int
	}{
		{"127.0.0.1:" + port, http.StatusOK},
		{"localhost:" + port, http.StatusOK},
		{"LOCALHOST", http.StatusOK},
		{"ui.localhost:" + port, http.StatusOK},
		{"[::1]:" + port, http.StatusOK},
		{"casescope.lab:" + port, http.StatusOK},
		{"evil.example:" + port, http.StatusMisdirectedRequest},
		{"127.0.0.1.evil.example", http.StatusMisdirectedRequest},
		{"10.0.0.1", http.StatusMisdirectedRequest},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", r.srv.URL+"/", nil)
			req.Host = tc.host
			res, err := r.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("got %d, want %d", res.StatusCode, tc.want)
			}
			if res.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("refusal without security headers")
			}
		})
	}
}

// auditEntries reads the whole audit log through the API, as the admin.
func (r *rig) auditEntries(t *testing.T) []store.AuditEntry {
	t.Helper()
	var all []store.AuditEntry
	path := "/api/audit?limit=7"
	for range 1000 {
		var page struct {
			Entries []store.AuditEntry `json:"entries"`
			Next    uint64             `json:"next"`
		}
		if st, raw := r.call(t, "GET", path, nil, &page); st != http.StatusOK {
			t.Fatalf("audit: got %d %s", st, raw)
		}
		all = append(all, page.Entries...)
		if page.Next == 0 {
			return all
		}
		path = "/api/audit?limit=7&before=" + strconv.FormatUint(page.Next, 10)
	}
	t.Fatal("audit paging does not end")
	return nil
}

// findAudit returns the newest entry matching, or fails.
func findAudit(t *testing.T, entries []store.AuditEntry, action, actor, outcome string) store.AuditEntry {
	t.Helper()
	for _, e := range entries {
		if e.Action == action && e.Actor == actor && e.Outcome == outcome {
			return e
		}
	}
	t.Errorf("no audit entry %s by %s with outcome %s in %d entries", action, actor, outcome, len(entries))
	return store.AuditEntry{}
}

// TestAuditTrail drives a login, an upload, a delete and user changes
// through the HTTP API and checks the audit log names the right actor,
// action, target and outcome for each, refusals included.
func TestAuditTrail(t *testing.T) {
	r := newRig(t, rigOptions{})
	res, raw := r.login(t, "analyst", testPasswords[store.RoleAnalyst])
	analyst := r.sessionOf(t, res, raw)
	if res, _ := r.login(t, "analyst", "a-wrong-password"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("failed login: got %d", res.StatusCode)
	}
	var c store.Case
	st, raw := r.as(t, analyst, "POST", "/api/cases", map[string]string{"name": "audited"})
	if st != http.StatusCreated || jsonUnmarshal(raw, &c) != nil {
		t.Fatalf("create case: %d %s", st, raw)
	}
	if st, raw := r.uploadAs(t, store.RoleAnalyst, c.ID, uploadFile{"Security.evtx", fixture(t, "Security_short_selected.evtx")}); st != http.StatusOK {
		t.Fatalf("upload: %d %s", st, raw)
	}
	r.waitIdle(t)
	files, err := r.ledger.Files(c.ID)
	if err != nil || len(files) != 1 {
		t.Fatalf("files: %v %v", files, err)
	}
	filePath := "/api/cases/" + itoa(c.ID) + "/files/" + itoa(files[0].ID)
	if st, _ := r.callAs(t, store.RoleReadOnly, "DELETE", filePath, nil, nil); st != http.StatusForbidden {
		t.Fatalf("read-only delete: got %d, want 403", st)
	}
	if st, raw := r.as(t, analyst, "DELETE", filePath, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d %s", st, raw)
	}
	var created struct {
		Password string `json:"password"`
	}
	if st, raw := r.call(t, "POST", "/api/users", map[string]string{"name": "carol", "role": store.RoleReadOnly}, &created); st != http.StatusCreated || created.Password == "" {
		t.Fatalf("create user: %d %s, want a generated password", st, raw)
	}
	if st, raw := r.call(t, "PATCH", "/api/users/carol", map[string]any{"role": store.RoleAnalyst}, nil); st != http.StatusOK {
		t.Fatalf("change role: %d %s", st, raw)
	}
	if st, _ := r.callAs(t, store.RoleAnalyst, "PATCH", "/api/users/carol", map[string]any{"role": store.RoleAdmin}, nil); st != http.StatusForbidden {
		t.Fatalf("analyst changing a role: got %d, want 403", st)
	}

	entries := r.auditEntries(t)
	for i := 1; i < len(entries); i++ {
		if entries[i].Seq >= entries[i-1].Seq {
			t.Fatalf("audit not newest first at %d", i)
		}
	}
	tests := []struct {
		action, actor, outcome string
		target                 string // substring
	}{
		{"login", "analyst", "ok", "analyst"},
		{"login", "analyst", "failed", "analyst"},
		{"case.create", "analyst", "ok", "(audited)"},
		{"file.upload", "analyst", "ok", "(audited)"},
		{"file.delete", "reader", "denied", filePath},
		{"file.delete", "analyst", "ok", "Security.evtx"},
		{"user.create", "admin", "ok", "carol"},
		{"user.update", "admin", "ok", "carol"},
		{"user.update", "analyst", "denied", "carol"},
	}
	for _, tc := range tests {
		t.Run(tc.action+"/"+tc.actor+"/"+tc.outcome, func(t *testing.T) {
			e := findAudit(t, entries, tc.action, tc.actor, tc.outcome)
			if !strings.Contains(e.Target, tc.target) {
				t.Errorf("target: got %q, want it to contain %q", e.Target, tc.target)
			}
			if e.Remote != "127.0.0.1" || e.Time.IsZero() {
				t.Errorf("entry without where or when: %+v", e)
			}
			if tc.outcome != "failed" && e.Role != roleOf(tc.actor) {
				t.Errorf("role: got %q, want %q", e.Role, roleOf(tc.actor))
			}
		})
	}
	if e := findAudit(t, entries, "file.upload", "analyst", "ok"); !strings.Contains(e.Detail, "Security.evtx") {
		t.Errorf("upload detail: got %q, want the file name", e.Detail)
	}
	if e := findAudit(t, entries, "user.update", "admin", "ok"); !strings.Contains(e.Detail, "role analyst") {
		t.Errorf("user change detail: got %q, want the new role", e.Detail)
	}
	if e := findAudit(t, entries, "user.create", "admin", "ok"); strings.Contains(e.Detail+e.Target, created.Password) {
		t.Errorf("audit entry holds the generated password: %+v", e)
	}
}

func roleOf(user string) string {
	if user == "reader" {
		return store.RoleReadOnly
	}
	return user
}

func TestAuditExport(t *testing.T) {
	r := newRig(t, rigOptions{})
	// A user name that is a spreadsheet formula, tried at login.
	if res, _ := r.login(t, "=HYPERLINK(\"http://evil\")", "x-password-x"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login: %d", res.StatusCode)
	}
	r.createCase(t, "exported")
	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", r.srv.URL+"/api/audit/export?format="+format, nil)
			r.authorize(req, store.RoleAdmin)
			res, err := r.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment;") {
				t.Fatalf("got %d %q", res.StatusCode, res.Header.Get("Content-Disposition"))
			}
			var actions []string
			switch format {
			case "csv":
				rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
				if err != nil {
					t.Fatalf("csv: %v", err)
				}
				for _, row := range rows[1:] {
					actions = append(actions, row[5])
					if strings.HasPrefix(row[2], "=") {
						t.Errorf("formula cell not defused: %q", row[2])
					}
				}
			case "json":
				var entries []store.AuditEntry
				if err := json.Unmarshal(body, &entries); err != nil {
					t.Fatalf("json: %v (%s)", err, body)
				}
				for _, e := range entries {
					actions = append(actions, e.Action)
				}
			}
			if !slices.Contains(actions, "login") || !slices.Contains(actions, "case.create") {
				t.Errorf("export actions: got %v, want login and case.create", actions)
			}
		})
	}
	if st, _ := r.callAs(t, store.RoleAnalyst, "GET", "/api/audit/export", nil, nil); st != http.StatusForbidden {
		t.Errorf("analyst export: got %d, want 403", st)
	}
}

func TestUserAdmin(t *testing.T) {
	r := newRig(t, rigOptions{})
	var created struct {
		User struct {
			Name string `json:"name"`
			Role string `json:"role"`
			Hash string `json:"hash"`
		} `json:"user"`
		Password string `json:"password"`
	}
	if st, raw := r.call(t, "POST", "/api/users", map[string]string{"name": "dave", "role": store.RoleAnalyst}, &created); st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, raw)
	}
	if created.Password == "" || created.User.Hash != "" {
		t.Fatalf("create: got %+v, want a generated password shown once and no hash", created)
	}
	res, raw := r.login(t, "dave", created.Password)
	dave := r.sessionOf(t, res, raw)

	var list []map[string]any
	if st, raw := r.call(t, "GET", "/api/users", nil, &list); st != http.StatusOK || len(list) != 4 {
		t.Fatalf("list: %d %s", st, raw)
	}
	for _, u := range list {
		if _, ok := u["hash"]; ok {
			t.Fatalf("user list exposes hashes: %v", u)
		}
	}
	// Disabling ends dave's session, even when he is enabled again
	// before his next request.
	if st, raw := r.call(t, "PATCH", "/api/users/dave", map[string]any{"disabled": true}, nil); st != http.StatusOK {
		t.Fatalf("disable: %d %s", st, raw)
	}
	if st, _ := r.call(t, "PATCH", "/api/users/dave", map[string]any{"disabled": false}, nil); st != http.StatusOK {
		t.Fatalf("enable: %d", st)
	}
	if st, _ := r.as(t, dave, "GET", "/api/cases", nil); st != http.StatusUnauthorized {
		t.Errorf("session from before the disable: got %d, want 401", st)
	}
	var reset struct {
		Password string `json:"password"`
	}
	if st, raw := r.call(t, "POST", "/api/users/dave/password", nil, &reset); st != http.StatusOK || reset.Password == "" || reset.Password == created.Password {
		t.Fatalf("reset: %d %s", st, raw)
	}
	if res, _ := r.login(t, "dave", created.Password); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("old password after reset: got %d, want 401", res.StatusCode)
	}
	if st, _ := r.as(t, dave, "GET", "/api/cases", nil); st != http.StatusUnauthorized {
		t.Errorf("session from before the reset: got %d, want 401", st)
	}
	res, raw = r.login(t, "dave", reset.Password)
	dave = r.sessionOf(t, res, raw)
	// dave changes his own password.
	if st, raw := r.as(t, dave, "POST", "/api/session/password", map[string]string{"current": "wrong", "new": "daves-new-password"}); st != http.StatusBadRequest {
		t.Errorf("own password with a wrong current one: got %d %s, want 400", st, raw)
	}
	if st, raw := r.as(t, dave, "POST", "/api/session/password", map[string]string{"current": reset.Password, "new": "daves-new-password"}); st != http.StatusNoContent {
		t.Errorf("own password: got %d %s, want 204", st, raw)
	}

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		want   int
	}{
		{"bad role", "POST", "/api/users", map[string]string{"name": "eve", "role": "root"}, http.StatusBadRequest},
		{"bad name", "POST", "/api/users", map[string]string{"name": "../eve", "role": store.RoleAnalyst}, http.StatusBadRequest},
		{"short password", "POST", "/api/users", map[string]string{"name": "eve", "role": store.RoleAnalyst, "password": "short"}, http.StatusBadRequest},
		{"duplicate", "POST", "/api/users", map[string]string{"name": "DAVE", "role": store.RoleAnalyst}, http.StatusConflict},
		{"unknown user", "PATCH", "/api/users/nobody", map[string]any{"disabled": true}, http.StatusNotFound},
		{"nothing to change", "PATCH", "/api/users/dave", map[string]any{}, http.StatusBadRequest},
		{"last admin demoted", "PATCH", "/api/users/admin", map[string]any{"role": store.RoleAnalyst}, http.StatusConflict},
		{"last admin disabled", "PATCH", "/api/users/admin", map[string]any{"disabled": true}, http.StatusConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if st, raw := r.call(t, tc.method, tc.path, tc.body, nil); st != tc.want {
				t.Fatalf("got %d %s, want %d", st, raw, tc.want)
			}
		})
	}
	// With a second admin, the first may step down.
	if st, _ := r.call(t, "PATCH", "/api/users/dave", map[string]any{"role": store.RoleAdmin}, nil); st != http.StatusOK {
		t.Fatalf("promote: %d", st)
	}
	if st, raw := r.call(t, "PATCH", "/api/users/admin", map[string]any{"role": store.RoleAnalyst}, nil); st != http.StatusOK {
		t.Fatalf("step down with another admin: %d %s", st, raw)
	}
}

func TestExport(t *testing.T) {
	r, c := ingested(t)
	base := "/api/cases/" + itoa(c.ID) + "/export?"
	tests := []struct {
		params      string
		want        int
		contentType string
	}{
		{"format=csv", http.StatusOK, "text/csv"},
		{"format=jsonl&q=" + url.QueryEscape("EventID:*"), http.StatusOK, "application/x-ndjson"},
		{"format=sigma-csv", http.StatusOK, "text/csv"},
		{"format=../../etc/passwd", http.StatusBadRequest, ""},
		{"q=" + url.QueryEscape("EventID:(4624"), http.StatusBadRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.params, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", r.srv.URL+base+tc.params, nil)
			r.authorize(req, store.RoleReadOnly)
			res, err := r.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("got %d %s, want %d", res.StatusCode, body, tc.want)
			}
			if tc.contentType != "" && (!strings.HasPrefix(res.Header.Get("Content-Type"), tc.contentType) || len(body) == 0) {
				t.Errorf("content: got %q, %d bytes", res.Header.Get("Content-Type"), len(body))
			}
		})
	}
	entries := r.auditEntries(t)
	if e := findAudit(t, entries, "case.export", "reader", "ok"); !strings.Contains(e.Detail, "jsonl") && !strings.Contains(e.Detail, "csv") {
		t.Errorf("export audit detail: %q", e.Detail)
	}
}

// TestSecurityHeadersTLS checks the headers of the login page, the login
// answers and the API over HTTPS and plain HTTP: HSTS only over HTTPS.
func TestSecurityHeadersTLS(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run("tls="+strconv.FormatBool(useTLS), func(t *testing.T) {
			r := newRig(t, rigOptions{tls: useTLS})
			if useTLS {
				if tr, ok := r.srv.Client().Transport.(*http.Transport); !ok || tr.TLSClientConfig == nil {
					t.Fatal("test client is not set up for TLS")
				}
			}
			type call struct {
				name, method, path, body string
			}
			calls := []call{
				{"login page", "GET", "/", ""},
				{"login script", "GET", "/static/js/login.js", ""},
				{"no session", "GET", "/api/session", ""},
				{"failed login", "POST", "/api/login", `{"name":"admin","password":"wrong-password"}`},
				{"login", "POST", "/api/login", `{"name":"admin","password":"` + testPasswords[store.RoleAdmin] + `"}`},
				{"api", "GET", "/api/cases", ""},
			}
			for _, c := range calls {
				t.Run(c.name, func(t *testing.T) {
					var body io.Reader
					if c.body != "" {
						body = strings.NewReader(c.body)
					}
					req, _ := http.NewRequestWithContext(t.Context(), c.method, r.srv.URL+c.path, body)
					req.Header.Set("Content-Type", "application/json")
					res, err := r.srv.Client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					res.Body.Close()
					if (res.TLS != nil) != useTLS {
						t.Fatalf("TLS state: got %v", res.TLS != nil)
					}
					checkHeaders(t, res.Header)
					hsts := res.Header.Get("Strict-Transport-Security")
					if useTLS && !strings.Contains(hsts, "max-age=") {
						t.Errorf("HSTS over HTTPS: got %q", hsts)
					}
					if !useTLS && hsts != "" {
						t.Errorf("HSTS over plain HTTP: got %q, want none", hsts)
					}
				})
			}
		})
	}
}

// checkHeaders asserts the security headers every response carries.
func checkHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP: got %q, want it to contain %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
}

// TestNoPathEscape sends names built to leave the data directory (file
// names in uploads, case names) and checks every file the case records
// lies inside it and nothing appeared beside it.
func TestNoPathEscape(t *testing.T) {
	r := newRig(t, rigOptions{})
	parent := filepath.Dir(r.data)
	before := dirEntries(t, parent)
	// A case name with a path in it is refused (it could not be
	// addressed either); one with dots is fine.
	if st, raw := r.call(t, "POST", "/api/cases", map[string]string{"name": "../../../escape"}, nil); st != http.StatusBadRequest {
		t.Errorf("case name with slashes: got %d %s, want 400", st, raw)
	}
	c := r.createCase(t, "..escape..")
	evtxBytes := fixture(t, "Security_short_selected.evtx")
	names := []string{"../../../outside.evtx", "/etc/outside.evtx", `..\..\outside.evtx`, "a/../../../outside.evtx", "..", ".evtx"}
	for i, n := range names {
		data := append(append([]byte{}, evtxBytes...), byte(i)) // distinct, so none is a duplicate
		if st, raw := r.upload(t, c.ID, uploadFile{n, data}); st != http.StatusOK {
			t.Fatalf("upload %q: %d %s", n, st, raw)
		}
	}
	r.waitIdle(t)
	files, err := r.ledger.Files(c.ID)
	if err != nil || len(files) != len(names) {
		t.Fatalf("files: got %d (%v), want %d", len(files), err, len(names))
	}
	root, _ := filepath.Abs(r.data)
	for _, f := range files {
		rel, err := filepath.Rel(root, f.Path)
		if err != nil || strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
			t.Errorf("file %q stored at %s, outside the data dir %s", f.Name, f.Path, root)
		}
	}
	// A NUL in a part's header is refused as a bad request.
	if st, raw := r.upload(t, c.ID, uploadFile{"\x00.evtx", evtxBytes}); st != http.StatusBadRequest {
		t.Errorf("NUL in the file name: got %d %s, want 400", st, raw)
	}
	if after := dirEntries(t, parent); !slices.Equal(before, after) {
		t.Errorf("beside the data dir: got %v, had %v", after, before)
	}
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range des {
		out = append(out, d.Name())
	}
	return out
}
