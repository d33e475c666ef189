package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"casescope/engine"
	"casescope/internal/corpus"
	"casescope/store"
	"casescope/web"
)

// rig is a real engine and ledger in a temp dir behind an httptest server,
// with one account and one live session per role.
type rig struct {
	srv      *httptest.Server
	web      *web.Server
	eng      *engine.Engine
	ledger   *store.Ledger
	data     string
	tls      bool
	sessions map[string]testSession // by role
}

// testSession is a logged-in session: the cookie value and CSRF token.
type testSession struct {
	user, token, csrf string
}

// Test accounts: one per role, named after it, with these passwords.
var testPasswords = map[string]string{
	store.RoleAdmin:    "admin-password-for-tests",
	store.RoleAnalyst:  "analyst-password-for-tests",
	store.RoleReadOnly: "reader-password-for-tests",
}

// roleUser is the test account of a role.
func roleUser(role string) string {
	if role == store.RoleReadOnly {
		return "reader"
	}
	return role
}

type rigOptions struct {
	web   web.Config
	sigma bool // load the embedded SigmaHQ rules
	tls   bool // serve HTTPS (httptest's certificate)
	// wrap, when set, wraps the server's handler (test-only routes and
	// response rewriting).
	wrap func(http.Handler) http.Handler
}

func newRig(t testing.TB, opts rigOptions) *rig {
	t.Helper()
	data := t.TempDir()
	led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() && os.Getenv("CASESCOPE_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	eng := engine.New(engine.Config{DataDir: data, BatchSize: 500}, log, led, nil)
	if opts.sigma {
		rs, err := engine.LoadRules(engine.RuleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		eng.Detection().SetRules(rs)
	}
	if err := eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	sessions := map[string]testSession{}
	for role, pw := range testPasswords {
		u, err := led.CreateUser(roleUser(role), role, pw)
		if err != nil {
			t.Fatal(err)
		}
		token, sess, err := led.CreateSession(u, "test")
		if err != nil {
			t.Fatal(err)
		}
		sessions[role] = testSession{user: u.Name, token: token, csrf: sess.CSRF}
	}
	ws := web.New(opts.web, log, led, eng)
	h := ws.Handler()
	if opts.wrap != nil {
		h = opts.wrap(h)
	}
	var srv *httptest.Server
	if opts.tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	r := &rig{srv: srv, web: ws, eng: eng, ledger: led, data: data, tls: opts.tls, sessions: sessions}
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := eng.Close(ctx); err != nil {
			t.Errorf("close engine: %v", err)
		}
		if err := led.Close(); err != nil {
			t.Errorf("close ledger: %v", err)
		}
	})
	return r
}

// portOf is raw URL's port.
func portOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u.Port()
}

// cookieName is the session cookie's name on this rig's server.
func (r *rig) cookieName() string {
	u, err := url.Parse(r.srv.URL)
	if err != nil {
		panic(err)
	}
	if r.tls {
		return "__Host-casescope_session_" + u.Port()
	}
	return "casescope_session_" + u.Port()
}

// authorize makes req act as role's session: its cookie and, for methods
// that change state, its CSRF token. An empty role leaves req anonymous.
func (r *rig) authorize(req *http.Request, role string) {
	if role == "" {
		return
	}
	s := r.sessions[role]
	// The cookie is named for the port the request goes to, which is the
	// rig's server unless a test serves the ledger on a second one.
	name := r.cookieName()
	if p := req.URL.Port(); p != "" {
		name = name[:len(name)-len(portOf(r.srv.URL))] + p
	}
	req.AddCookie(&http.Cookie{Name: name, Value: s.token})
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		req.Header.Set("X-CSRF-Token", s.csrf)
	}
}

// call sends a request as the admin with an optional JSON body and
// decodes a JSON answer into out (when non-nil). It returns the status and
// raw body.
func (r *rig) call(t testing.TB, method, path string, body any, out any) (int, string) {
	t.Helper()
	return r.callAs(t, store.RoleAdmin, method, path, body, out)
}

// callAs is call acting as role's session ("" = anonymous).
func (r *rig) callAs(t testing.TB, role, method, path string, body any, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, r.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	r.authorize(req, role)
	res, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && res.StatusCode < 300 && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return res.StatusCode, string(raw)
}

// errorOf extracts the "error" field of an error answer.
func errorOf(t testing.TB, raw string) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", raw, err)
	}
	return e.Error
}

func (r *rig) createCase(t testing.TB, name string) store.Case {
	t.Helper()
	var c store.Case
	if st, raw := r.call(t, "POST", "/api/cases", map[string]string{"name": name}, &c); st != http.StatusCreated {
		t.Fatalf("create case: got %d %s, want 201", st, raw)
	}
	// The admin made it; the analyst and reader join with their global
	// roles, so tests of those roles reach the case.
	for _, role := range []string{store.RoleAnalyst, store.RoleReadOnly} {
		if st, raw := r.call(t, "PUT", "/api/cases/"+itoa(c.ID)+"/members/"+roleUser(role), map[string]string{"role": role}, nil); st != http.StatusOK {
			t.Fatalf("add %s to the case: got %d %s, want 200", role, st, raw)
		}
	}
	return c
}

// uploadFile is one multipart file part.
type uploadFile struct {
	name string
	data []byte
}

// upload posts files as one streamed multipart body, as the admin.
func (r *rig) upload(t testing.TB, caseID uint64, files ...uploadFile) (int, string) {
	t.Helper()
	return r.uploadAs(t, store.RoleAdmin, caseID, files...)
}

// uploadAs is upload acting as role's session.
func (r *rig) uploadAs(t testing.TB, role string, caseID uint64, files ...uploadFile) (int, string) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, f := range files {
			w, err := mw.CreateFormFile("file", f.name)
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := w.Write(f.data); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	req, err := http.NewRequestWithContext(t.Context(), "POST", r.srv.URL+"/api/cases/"+itoa(caseID)+"/upload", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	r.authorize(req, role)
	res, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}

// waitIdle waits until the engine has processed everything queued.
func (r *rig) waitIdle(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := r.eng.WaitIdle(ctx); err != nil {
		t.Fatalf("wait for the engine: %v", err)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// fixture reads a file of the repo's testdata/.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(corpus.Fixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
