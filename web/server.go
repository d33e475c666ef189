package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"casescope/engine"
	"casescope/store"
)

//go:embed static
var staticFS embed.FS

// Config holds the server's settings.
type Config struct {
	Addr    string
	Version string
}

// Ledger is what the web layer needs of the ledger.
type Ledger interface {
	Cases() ([]store.Case, error)
	CaseByName(name string) (store.Case, error)
	Case(id uint64) (store.Case, error)
	CreateCase(name, description string) (store.Case, error)
	Files(caseID uint64) ([]store.File, error)
}

// Engine is what the web layer needs of the engine.
type Engine interface {
	Search(ctx context.Context, caseID uint64, req store.SearchRequest) (engine.SearchPage, error)
	Event(ctx context.Context, caseID uint64, id string) (engine.EventView, error)
	Active() int
	Pending() (int, error)
	Invariants() []string
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
	return &Server{cfg: cfg, log: log.With("component", "web"), ledger: ledger, eng: eng}
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(securityHeaders)
	static, _ := fs.Sub(staticFS, "static")
	r.Handle("/static/*", http.StripPrefix("/static/", http.FileServer(http.FS(static))))
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "index.html")
	})
	r.Route("/api", func(r chi.Router) {
		r.Get("/system", s.handleSystem)
		r.Get("/cases", s.handleCases)
		r.Post("/cases", s.handleCreateCase)
		r.Get("/cases/{case}/files", s.handleFiles)
		r.Get("/cases/{case}/search", s.handleSearch)
		r.Get("/cases/{case}/events/{id}", s.handleEvent)
	})
	return r
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

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError is the one place errors become status codes.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	switch {
	case errors.Is(err, store.ErrNotFound):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, store.ErrExists):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrBadQuery), errors.Is(err, errBadRequest):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, engine.ErrBusy):
		status, msg = http.StatusServiceUnavailable, "busy, try again"
	}
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

var errBadRequest = errors.New("bad request")

func (s *Server) caseFrom(r *http.Request) (store.Case, error) {
	ref := chi.URLParam(r, "case")
	if id, err := strconv.ParseUint(ref, 10, 64); err == nil {
		return s.ledger.Case(id)
	}
	return s.ledger.CaseByName(ref)
}

func (s *Server) handleSystem(w http.ResponseWriter, r *http.Request) {
	pending, err := s.eng.Pending()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version": s.cfg.Version, "active_workers": s.eng.Active(), "pending_files": pending,
		"invariant_errors": s.eng.Invariants(),
	})
}

func (s *Server) handleCases(w http.ResponseWriter, r *http.Request) {
	cases, err := s.ledger.Cases()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if cases == nil {
		cases = []store.Case{}
	}
	writeJSON(w, http.StatusOK, cases)
}

func (s *Server) handleCreateCase(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		s.writeError(w, r, fmt.Errorf("%w: body must be JSON {\"name\": ...}", errBadRequest))
		return
	}
	c, err := s.ledger.CreateCase(req.Name, req.Description)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) handleFiles(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	files, err := s.ledger.Files(c.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if files == nil {
		files = []store.File{}
	}
	writeJSON(w, http.StatusOK, files)
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	req := store.SearchRequest{Query: q.Get("q"), Cursor: q.Get("cursor"), Asc: q.Get("sort") == "asc",
		Facets: q.Get("facets") != "0", Histogram: q.Get("histogram") == "1"}
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.writeError(w, r, fmt.Errorf("%w: size must be 1-1000", errBadRequest))
			return
		}
		req.Size = n
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &req.From}, {"to", &req.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				s.writeError(w, r, fmt.Errorf("%w: %s must be RFC 3339", errBadRequest, p.name))
				return
			}
			*p.dst = t
		}
	}
	page, err := s.eng.Search(r.Context(), c.ID, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ev, err := s.eng.Event(r.Context(), c.ID, chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ev)
}
