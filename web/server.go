package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"casescope/engine"
	"casescope/engine/ioc"
	"casescope/store"
)

//go:embed static
var staticFS embed.FS

// DefaultMaxUploadBytes is the per-file upload limit when Config leaves it
// zero: 8 GiB, enough for any single EVTX file or a large ZIP of them.
const DefaultMaxUploadBytes int64 = 8 << 30

// Size limits of JSON request bodies, in bytes.
const (
	maxJSONBody = 64 << 10 // cases, tags, file and IOC edits
	maxIOCBody  = 16 << 20 // a bulk paste of IOCs
)

// Config holds the server's settings.
type Config struct {
	Addr    string
	Version string
	// MaxUploadBytes limits each uploaded file (not the whole request);
	// 0 means DefaultMaxUploadBytes.
	MaxUploadBytes int64
}

// Ledger is what the web layer needs of the ledger.
type Ledger interface {
	Cases() ([]store.Case, error)
	CaseByName(name string) (store.Case, error)
	Case(id uint64) (store.Case, error)
	CreateCase(name, description string) (store.Case, error)
	Files(caseID uint64) ([]store.File, error)
	File(caseID, fileID uint64) (store.File, error)
}

// Engine is what the web layer needs of the engine.
type Engine interface {
	Search(ctx context.Context, caseID uint64, req store.SearchRequest) (engine.SearchPage, error)
	Event(ctx context.Context, caseID uint64, id string) (engine.EventView, error)
	TagEvent(ctx context.Context, caseID uint64, t store.Tag) (store.Tag, error)
	Index(caseID uint64) (*store.Index, error)
	Stats(caseID uint64) (engine.CaseStats, error)
	Status() (engine.Status, error)
	Import(ctx context.Context, caseID uint64, paths []string) (engine.ImportResult, error)
	ImportUpload(ctx context.Context, caseID uint64, name string, r io.Reader, maxBytes int64) (engine.ImportResult, error)
	RequeueFile(caseID, fileID uint64) (store.File, error)
	SetHidden(caseID, fileID uint64, hidden bool) (store.File, error)
	DeleteFile(ctx context.Context, caseID, fileID uint64) error
	SigmaSummary(caseID uint64) ([]engine.RuleSummary, error)
	IOCs(caseID uint64) ([]engine.IOCView, error)
	AddIOCs(caseID uint64, in []ioc.IOC, source string) ([]store.IOC, engine.Job, error)
	UpdateIOC(caseID, id uint64, fn func(i *store.IOC) error) (store.IOC, engine.Job, error)
	DeleteIOC(caseID, id uint64) (engine.Job, error)
	Job(id uint64) (engine.Job, error)
}

// Server is the HTTP front end.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ledger Ledger
	eng    Engine
}

// New builds a server.
func New(cfg Config, log *slog.Logger, ledger Ledger, eng Engine) *Server {
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	return &Server{cfg: cfg, log: log.With("component", "web"), ledger: ledger, eng: eng}
}

// Handler returns the routes: the embedded UI at / and /static/, the JSON
// API under /api/. Every response carries the security headers; requests
// that change state are refused when a browser marks them cross-origin.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(securityHeaders)
	static, _ := fs.Sub(staticFS, "static") // fails only for an invalid path
	files := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	r.Handle("/static/*", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Assets are embedded without modification times; revalidating
		// is cheap on localhost and never serves a stale UI after an
		// upgrade.
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
	index := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	}
	r.Get("/", index)
	r.Get("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "favicon.svg")
	})
	r.Route("/api", func(r chi.Router) {
		r.Use(apiHeaders)
		r.Get("/system", s.handleSystem)
		r.Get("/jobs/{id}", s.handleJob)
		r.Get("/cases", s.handleCases)
		r.Post("/cases", s.handleCreateCase)
		r.Route("/cases/{case}", func(r chi.Router) {
			r.Get("/", s.handleCase)
			r.Get("/files", s.handleFiles)
			r.Post("/upload", s.handleUpload)
			r.Post("/import", s.handleImport)
			r.Post("/files/{id}/requeue", s.handleRequeue)
			r.Post("/files/{id}/hide", s.handleHide(true))
			r.Post("/files/{id}/unhide", s.handleHide(false))
			r.Delete("/files/{id}", s.handleDeleteFile)
			r.Get("/search", s.handleSearch)
			r.Get("/events/{id}", s.handleEvent)
			r.Put("/events/{id}/tag", s.handleTag)
			r.Get("/sigma", s.handleSigma)
			r.Get("/iocs", s.handleIOCs)
			r.Post("/iocs", s.handleAddIOCs)
			r.Patch("/iocs/{id}", s.handleUpdateIOC)
			r.Delete("/iocs/{id}", s.handleDeleteIOC)
		})
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			s.writeError(w, r, fmt.Errorf("no API route %s %s: %w", r.Method, r.URL.Path, store.ErrNotFound))
		})
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method not allowed"})
		})
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusForbidden, errorBody{Error: "cross-origin request refused"})
		})).ServeHTTP(w, r)
	}))
	return cop.Handler(r)
}

// Run serves until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// contentSecurityPolicy allows only the server's own scripts, styles and
// connections: no inline script, no inline style attributes, no plugins,
// no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// apiHeaders keeps API answers (event data) out of caches.
func apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorBody is every error response: {"error": "readable reason"}.
type errorBody struct {
	Error string `json:"error"`
}

// errBadRequest marks input the handlers themselves refuse (bad
// parameters, unreadable bodies).
var errBadRequest = errors.New("bad request")

// badRequest builds an errBadRequest error whose message is the reason
// alone.
func badRequest(format string, args ...any) error {
	return &reasonError{msg: fmt.Sprintf(format, args...), kind: errBadRequest}
}

// reasonError is an error with a message for the client and a sentinel
// for writeError.
type reasonError struct {
	msg  string
	kind error
}

func (e *reasonError) Error() string { return e.msg }
func (e *reasonError) Unwrap() error { return e.kind }

// writeError is the one place errors become status codes. 4xx bodies say
// what was wrong; 5xx bodies reveal nothing and the cause is logged.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, store.ErrNotFound):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, store.ErrExists):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, engine.ErrTooLarge):
		status, msg = http.StatusRequestEntityTooLarge, err.Error()
	case errors.As(err, &mbe):
		status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrBadQuery), errors.Is(err, ioc.ErrInvalid),
		errors.Is(err, errBadRequest):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, engine.ErrBusy):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, io.ErrUnexpectedEOF), r.Context().Err() != nil:
		// The client went away or cut the body short; nobody reads this.
		status, msg = http.StatusBadRequest, "request interrupted"
	}
	switch {
	case status >= 500:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case status == http.StatusBadRequest && msg == "request interrupted":
		s.log.Warn("request interrupted", "method", r.Method, "path", r.URL.Path, "err", err)
	default:
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusRequestEntityTooLarge {
		// The client may still be sending; do not read the rest.
		w.Header().Set("Connection", "close")
	}
	writeJSON(w, status, errorBody{Error: msg})
}

// decodeJSON reads a JSON body of at most limit bytes into dst, refusing
// unknown fields so typos in API calls are reported, not ignored.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return badRequest("body must be application/json, not %s", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("read body: %w", err)
		}
		return badRequest("body is not valid JSON for this request: %s", err.Error())
	}
	if dec.More() {
		return badRequest("body must hold one JSON value")
	}
	return nil
}

// caseFrom resolves the {case} URL parameter: a numeric ID or a name.
func (s *Server) caseFrom(r *http.Request) (store.Case, error) {
	ref := chi.URLParam(r, "case")
	if id, err := strconv.ParseUint(ref, 10, 64); err == nil {
		return s.ledger.Case(id)
	}
	return s.ledger.CaseByName(ref)
}

// idParam parses a numeric URL parameter.
func idParam(r *http.Request, name string) (uint64, error) {
	v := chi.URLParam(r, name)
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 {
		return 0, badRequest("%s %q is not a positive number", name, v)
	}
	return id, nil
}
