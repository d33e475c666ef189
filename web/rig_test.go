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

// rig is a real engine and ledger in a temp dir behind an httptest server.
type rig struct {
	srv    *httptest.Server
	eng    *engine.Engine
	ledger *store.Ledger
	data   string
}

type rigOptions struct {
	web   web.Config
	sigma bool // load the embedded SigmaHQ rules
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
	h := web.New(opts.web, log, led, eng).Handler()
	if opts.wrap != nil {
		h = opts.wrap(h)
	}
	srv := httptest.NewServer(h)
	r := &rig{srv: srv, eng: eng, ledger: led, data: data}
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

// call sends a request with an optional JSON body and decodes a JSON
// answer into out (when non-nil). It returns the status and raw body.
func (r *rig) call(t testing.TB, method, path string, body any, out any) (int, string) {
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
	return c
}

// uploadFile is one multipart file part.
type uploadFile struct {
	name string
	data []byte
}

// upload posts files as one streamed multipart body.
func (r *rig) upload(t testing.TB, caseID uint64, files ...uploadFile) (int, string) {
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
