package web

import (
	"context"
	"crypto/tls"
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
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"casescope/engine"
	"casescope/engine/ioc"
	"casescope/engine/triage"
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

// DefaultSessionIdle is how long a session lasts without a request when
// Config leaves SessionIdle zero.
const DefaultSessionIdle = 8 * time.Hour

// Config holds the server's settings.
type Config struct {
	Addr    string
	Version string
	// MaxUploadBytes limits each uploaded file (not the whole request);
	// 0 means DefaultMaxUploadBytes.
	MaxUploadBytes int64
	// SessionIdle ends a session unused for this long; 0 means
	// DefaultSessionIdle.
	SessionIdle time.Duration
	// TLSCert and TLSKey are PEM files; when both are set, Serve speaks
	// HTTPS only (cookies then carry Secure, responses HSTS).
	TLSCert, TLSKey string
	// LocalToken, when set, is accepted as "Authorization: Bearer
	// <token>" on GET /api/system only, as the local admin "local"
	// (casescope status on this machine; serve writes the token to
	// <data>/serve.json, mode 0600).
	LocalToken string
	// AllowedHosts are extra Host header names accepted while the server
	// is reached on a loopback address (besides localhost, *.localhost and
	// loopback IPs); any other name there is refused as DNS rebinding.
	AllowedHosts []string
	// SearchTimeout stops a search (and a bulk-tag query's first page)
	// still running after this long; 0 means DefaultSearchTimeout.
	SearchTimeout time.Duration
}

// DefaultSearchTimeout is Config.SearchTimeout's default.
const DefaultSearchTimeout = 30 * time.Second

// Ledger is what the web layer needs of the ledger.
type Ledger interface {
	Cases() ([]store.Case, error)
	CaseByName(name string) (store.Case, error)
	Case(id uint64) (store.Case, error)
	CreateCaseFor(name, description, owner string) (store.Case, error)
	SetCaseStatus(caseID uint64, status string) (store.Case, error)
	Files(caseID uint64) ([]store.File, error)
	File(caseID, fileID uint64) (store.File, error)

	Authenticate(name, password string) (store.User, error)
	CreateSession(u store.User, remote string) (string, store.Session, error)
	TouchSession(token string, idle time.Duration) (store.Session, error)
	DeleteSession(token string) error
	User(name string) (store.User, error)
	Users() ([]store.User, error)
	CreateUser(name, role, password string) (store.User, error)
	UpdateUser(name string, fn func(u *store.User) error) (store.User, error)
	SetPassword(name, password string) error
	Audit(e store.AuditEntry) error
	AuditLog(before uint64, fn func(e store.AuditEntry) bool) error

	SavedSearches(caseID uint64) ([]store.SavedSearch, error)
	SavedSearch(caseID, id uint64) (store.SavedSearch, error)
	AddSavedSearch(ss store.SavedSearch) (store.SavedSearch, error)
	UpdateSavedSearch(caseID, id uint64, by string, fn func(ss *store.SavedSearch) error) (store.SavedSearch, error)
	DeleteSavedSearch(caseID, id uint64) (store.SavedSearch, error)
	RecordSearch(caseID uint64, user string, e store.HistoryEntry) error
	SearchHistory(caseID uint64, user string) ([]store.HistoryEntry, error)
	UserPrefs(user string) (store.Prefs, error)
	SetUserPrefs(user string, p store.Prefs) error

	SetMember(caseID uint64, user, role, by string) (store.Member, error)
	RemoveMember(caseID uint64, user string) error
	Membership(caseID uint64, user string) (store.Member, error)
	Members(caseID uint64) ([]store.Member, error)
	MemberCases(user string) (map[uint64]string, error)

	Comments(caseID uint64, docID string) ([]store.Comment, error)
	Comment(caseID uint64, docID string, id uint64) (store.Comment, error)
	EditComment(caseID uint64, docID string, id uint64, text string) (before, after store.Comment, err error)
	DeleteComment(caseID uint64, docID string, id uint64) (store.Comment, error)
}

// Engine is what the web layer needs of the engine.
type Engine interface {
	Search(ctx context.Context, caseID uint64, req store.SearchRequest) (engine.SearchPage, error)
	SearchData(ctx context.Context, caseID uint64, req store.SearchRequest, chunks int) (engine.SearchPage, error)
	Aggregate(ctx context.Context, caseID uint64, req store.SearchRequest, field string, size int) (store.Aggregation, error)
	Context(ctx context.Context, caseID uint64, id, by string, minutes, n int) (engine.ContextPage, error)
	Event(ctx context.Context, caseID uint64, id string) (engine.EventView, error)
	EventXML(ctx context.Context, caseID uint64, id string) (string, error)
	TagEvent(ctx context.Context, caseID uint64, t store.Tag) (store.Tag, error)
	CommentEvent(ctx context.Context, caseID uint64, docID, author, text string) (store.Comment, error)
	Index(caseID uint64) (store.Events, error)
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
	Export(ctx context.Context, caseID uint64, req engine.ExportRequest, w io.Writer) (uint64, error)
	Report(ctx context.Context, caseID uint64, w io.Writer) error
	StartBulkTag(caseID uint64, query string, words []string, star bool, by string) (engine.Job, error)
	ReloadRules() (loaded, skipped int, jobs []engine.Job, err error)
	ExportCase(ctx context.Context, caseID uint64, w io.Writer, opts engine.ExportOptions) (engine.ArchiveManifest, error)
	ImportCase(ctx context.Context, r io.Reader, opts engine.ImportOptions) (engine.CaseImport, error)
	DeleteCase(ctx context.Context, caseID uint64) (store.Case, error)
	Hosts(ctx context.Context, caseID uint64) ([]triage.Host, error)
	Accounts(ctx context.Context, caseID uint64) ([]triage.Account, error)
	Logons(ctx context.Context, caseID uint64) ([]triage.Logon, error)
	Metrics(ctx context.Context, caseID uint64) (triage.Metrics, error)
	Attack(caseID uint64) (triage.Attack, error)
	CaseRulePacks(caseID uint64) (engine.RulePacks, error)
	SetRulePacks(caseID uint64, packs []string) (store.Case, engine.Job, error)
	RuleContext(ctx context.Context, caseID uint64, docID, ruleID string) (engine.RuleContext, error)
	Suppressions(caseID uint64) ([]engine.SuppressionView, error)
	SuppressedHits(caseID uint64, limit int) ([]store.EventHits, error)
	AddSuppression(caseID uint64, s store.Suppression) (store.Suppression, engine.Job, error)
	SetSuppressionActive(caseID, id uint64, active bool, by string) (store.Suppression, engine.Job, error)
}

// Server is the HTTP front end.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ledger Ledger
	eng    Engine

	limiter *loginLimiter
	// logins bounds concurrent password checks: each argon2id hash
	// takes 19 MiB, and a burst of logins must not eat the ingest
	// budget; a burst queues (see loginGate).
	logins *loginGate
	// usersMu serialises account changes, so two admins cannot demote
	// each other at once and leave no admin.
	usersMu sync.Mutex
	// revokedMu guards revoked: per lower-cased user name, sessions
	// created up to this time are refused (an admin reset the password or
	// disabled the account). In memory only: the ledger cannot list a
	// user's sessions, and a restart forgets the list.
	revokedMu sync.Mutex
	revoked   map[string]time.Time
	// refusals coalesces the audit entries of refused requests.
	refusals *refusalLog
	// searching counts searches in progress, so tests can see a search
	// end when its client goes away.
	searching atomic.Int64
}

// SearchesRunning returns the number of searches in progress.
func (s *Server) SearchesRunning() int64 { return s.searching.Load() }

// maxConcurrentLogins is the number of password checks run at once.
const maxConcurrentLogins = 4

// maxQueuedLogins is how many logins may be in flight (checking or
// waiting for a check) before more are refused: a team or a classroom
// behind one address fits; a flood does not pile up goroutines.
const maxQueuedLogins = 64

// loginSlotWait bounds how long a queued login waits for a check: a
// check takes well under a second even on a busy machine, so only a
// stalled server reaches it.
const loginSlotWait = 2 * time.Minute

// New builds a server.
func New(cfg Config, log *slog.Logger, ledger Ledger, eng Engine) *Server {
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.SearchTimeout <= 0 {
		cfg.SearchTimeout = DefaultSearchTimeout
	}
	s := &Server{cfg: cfg, log: log.With("component", "web"), ledger: ledger, eng: eng,
		limiter: newLoginLimiter(), logins: newLoginGate(maxConcurrentLogins, maxQueuedLogins, loginSlotWait), revoked: map[string]time.Time{}}
	s.refusals = newRefusalLog(s.writeAudit)
	return s
}

// FlushAudit writes the pending counts of coalesced refusals (Serve does
// this every half minute and when it stops).
func (s *Server) FlushAudit() { s.refusals.flush(time.Time{}) }

// Handler returns the routes: the embedded UI at / and /static/, the JSON
// API under /api/. Every response carries the security headers; a Host
// header naming another site is refused while the server is reached on a
// loopback address (DNS rebinding); requests that change state are
// refused when a browser marks them cross-origin.
func (s *Server) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Debug("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "remote", remoteIP(r),
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		s.refused(r, "cross-origin", http.StatusForbidden, fmt.Sprintf("cross-origin request refused (Origin %q, Sec-Fetch-Site %q)",
			auditName(r.Header.Get("Origin")), auditName(r.Header.Get("Sec-Fetch-Site"))))
		writeJSON(w, http.StatusForbidden, errorBody{Error: "cross-origin request refused"})
	}))
	return securityHeaders(s.checkHost(cop.Handler(s.Routes())))
}

// Routes is the chi router behind Handler, without the outer guards
// (headers, Host check, cross-origin protection). Every API route but
// POST /api/login is registered through route, which states the least
// role that may call it; tests walk this router to check each one.
func (s *Server) Routes() chi.Router {
	r := chi.NewRouter()
	static, _ := fs.Sub(staticFS, "static") // fails only for an invalid path
	files := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	assets := func(w http.ResponseWriter, r *http.Request) {
		// Assets are embedded without modification times; revalidating
		// is cheap on localhost and never serves a stale UI after an
		// upgrade.
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}
	r.Get("/static/*", assets)
	r.Head("/static/*", assets)
	index := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	}
	r.Get("/", index)
	r.Get("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "favicon.svg")
	})
	const (
		ro      = store.RoleReadOnly
		analyst = store.RoleAnalyst
		admin   = store.RoleAdmin
	)
	r.Route("/api", func(r chi.Router) {
		r.Use(apiHeaders, s.authenticate)
		r.Post("/login", s.handleLogin)
		s.route(r, "POST", "/logout", ro, "logout", s.handleLogout)
		s.route(r, "GET", "/session", ro, "", s.handleSession)
		s.route(r, "POST", "/session/password", ro, "user.password.own", s.handleOwnPassword)
		s.route(r, "GET", "/system", ro, "", s.handleSystem)
		s.route(r, "GET", "/session/prefs", ro, "", s.handlePrefs)
		s.route(r, "PUT", "/session/prefs", ro, "user.prefs", s.handleSetPrefs)
		s.route(r, "GET", "/search-templates", ro, "", s.handleSavedSearches)
		s.route(r, "GET", "/search-templates/{id}", ro, "", s.handleSavedSearch)
		s.route(r, "POST", "/search-templates", admin, "search.template.add", s.handleAddSavedSearch)
		s.route(r, "PUT", "/search-templates/{id}", admin, "search.template.update", s.handleUpdateSavedSearch)
		s.route(r, "DELETE", "/search-templates/{id}", admin, "search.template.delete", s.handleDeleteSavedSearch)
		s.route(r, "GET", "/jobs/{id}", ro, "", s.handleJob)
		s.route(r, "GET", "/cases", ro, "", s.handleCases)
		s.route(r, "POST", "/cases", analyst, "case.create", s.handleCreateCase)
		s.route(r, "POST", "/case-archives", analyst, "case.import", s.handleCaseImport)
		r.Route("/cases/{case}", func(r chi.Router) {
			s.route(r, "GET", "/", ro, "", s.handleCase)
			s.route(r, "DELETE", "/", admin, "case.delete", s.handleDeleteCase)
			s.route(r, "POST", "/status", analyst, "case.status", s.handleCaseStatus)
			s.route(r, "GET", "/archive", analyst, "case.archive", s.handleCaseArchive)
			s.route(r, "GET", "/members", ro, "", s.handleMembers)
			s.route(r, "PUT", "/members/{name}", roleOwner, "case.member.set", s.handleSetMember)
			s.route(r, "DELETE", "/members/{name}", roleOwner, "case.member.remove", s.handleRemoveMember)
			s.route(r, "GET", "/files", ro, "", s.handleFiles)
			s.route(r, "POST", "/upload", analyst, "file.upload", s.handleUpload)
			s.route(r, "POST", "/import", admin, "file.import", s.handleImport)
			s.route(r, "POST", "/files/{id}/requeue", analyst, "file.requeue", s.handleRequeue)
			s.route(r, "POST", "/files/{id}/hide", analyst, "file.hide", s.handleHide(true))
			s.route(r, "POST", "/files/{id}/unhide", analyst, "file.unhide", s.handleHide(false))
			s.route(r, "DELETE", "/files/{id}", analyst, "file.delete", s.handleDeleteFile)
			s.route(r, "GET", "/search", ro, "", s.handleSearch)
			s.route(r, "GET", "/aggregate", ro, "", s.handleAggregate)
			s.route(r, "GET", "/events/{id}/context", ro, "", s.handleContext)
			s.route(r, "GET", "/history", ro, "", s.handleHistory)
			s.route(r, "GET", "/saved-searches", ro, "", s.handleSavedSearches)
			s.route(r, "GET", "/saved-searches/{id}", ro, "", s.handleSavedSearch)
			s.route(r, "POST", "/saved-searches", analyst, "search.save", s.handleAddSavedSearch)
			s.route(r, "PUT", "/saved-searches/{id}", analyst, "search.update", s.handleUpdateSavedSearch)
			s.route(r, "DELETE", "/saved-searches/{id}", analyst, "search.delete", s.handleDeleteSavedSearch)
			s.route(r, "GET", "/export", ro, "case.export", s.handleExport)
			s.route(r, "GET", "/events/{id}", ro, "", s.handleEvent)
			s.route(r, "GET", "/events/{id}/xml", ro, "", s.handleEventXML)
			s.route(r, "GET", "/events/{id}/rules/{rule}", ro, "", s.handleRuleContext)
			s.route(r, "PUT", "/events/{id}/tag", analyst, "event.tag", s.handleTag)
			s.route(r, "GET", "/events/{id}/comments", ro, "", s.handleComments)
			s.route(r, "POST", "/events/{id}/comments", analyst, "event.comment.add", s.handleAddComment)
			s.route(r, "PATCH", "/events/{id}/comments/{cid}", analyst, "event.comment.edit", s.handleEditComment)
			s.route(r, "DELETE", "/events/{id}/comments/{cid}", analyst, "event.comment.delete", s.handleDeleteComment)
			s.route(r, "POST", "/tag-query", analyst, "event.tag.bulk", s.handleBulkTag)
			s.route(r, "GET", "/report", ro, "case.report", s.handleReport)
			s.route(r, "GET", "/sigma", ro, "", s.handleSigma)
			s.route(r, "GET", "/rule-packs", ro, "", s.handleRulePacks)
			s.route(r, "PUT", "/rule-packs", analyst, "sigma.packs", s.handleSetRulePacks)
			s.route(r, "GET", "/iocs", ro, "", s.handleIOCs)
			s.route(r, "GET", "/hosts", ro, "", s.handleHosts)
			s.route(r, "GET", "/accounts", ro, "", s.handleAccounts)
			s.route(r, "GET", "/logons", ro, "", s.handleLogons)
			s.route(r, "GET", "/metrics", ro, "", s.handleMetrics)
			s.route(r, "GET", "/attack", ro, "", s.handleAttack)
			s.route(r, "GET", "/suppressions", ro, "", s.handleSuppressions)
			s.route(r, "GET", "/suppressed", ro, "", s.handleSuppressed)
			s.route(r, "POST", "/suppressions", analyst, "sigma.suppress", s.handleAddSuppression)
			s.route(r, "PATCH", "/suppressions/{id}", analyst, "sigma.suppression.update", s.handleUpdateSuppression)
			s.route(r, "POST", "/iocs", analyst, "ioc.add", s.handleAddIOCs)
			s.route(r, "PATCH", "/iocs/{id}", analyst, "ioc.update", s.handleUpdateIOC)
			s.route(r, "DELETE", "/iocs/{id}", analyst, "ioc.delete", s.handleDeleteIOC)
		})
		s.route(r, "POST", "/rules/reload", analyst, "rules.reload", s.handleReloadRules)
		s.route(r, "GET", "/users", admin, "", s.handleUsers)
		s.route(r, "POST", "/users", admin, "user.create", s.handleCreateUser)
		s.route(r, "PATCH", "/users/{name}", admin, "user.update", s.handleUpdateUser)
		s.route(r, "POST", "/users/{name}/password", admin, "user.password.reset", s.handleResetPassword)
		s.route(r, "GET", "/audit", admin, "", s.handleAudit)
		s.route(r, "GET", "/audit/export", admin, "audit.export", s.handleAuditExport)
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			s.writeError(w, r, fmt.Errorf("no API route %s %s: %w", r.Method, r.URL.Path, store.ErrNotFound))
		})
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method not allowed"})
		})
	})
	return r
}

// Listen opens the listening socket of Config.Addr.
func (s *Server) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	return ln, nil
}

// Run listens on Config.Addr and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ln, err := s.Listen()
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln (HTTPS when Config has a certificate) until ctx
// ends, then shuts down gracefully, waiting up to 10 s for requests in
// flight. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		// Handshake failures (a browser meeting a self-signed
		// certificate) are routine: debug level.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	scheme := "http"
	if s.cfg.TLSCert != "" || s.cfg.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	stop, flushed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(flushed)
		s.flushRefusals(stop)
	}()
	defer func() {
		close(stop)
		<-flushed
	}()
	s.log.Info("listening", "addr", ln.Addr().String(), "scheme", scheme)
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

// hstsValue asks browsers to use HTTPS only for a year (sent only on
// HTTPS responses).
const hstsValue = "max-age=31536000"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", hstsValue)
		}
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

// Sentinels of the refusals handlers make themselves; writeError maps
// each to its status.
var (
	// errBadRequest marks bad parameters and unreadable bodies (400).
	errBadRequest = errors.New("bad request")
	// errUnauthenticated: no valid session (401).
	errUnauthenticated = errors.New("log in first")
	// errForbidden: the role or the CSRF token does not allow it (403).
	errForbidden = errors.New("forbidden")
	// errConflict: the change would break a rule (409).
	errConflict = errors.New("conflict")
)

// refuse builds an error of kind (one of the sentinels above) whose
// message is the reason alone.
func refuse(kind error, format string, args ...any) error {
	return &reasonError{msg: fmt.Sprintf(format, args...), kind: kind}
}

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
	var rl *rateLimitError
	var ste *searchTimeoutError
	switch {
	case errors.Is(err, errUnauthenticated), errors.Is(err, store.ErrBadCredentials):
		status, msg = http.StatusUnauthorized, err.Error()
	case errors.Is(err, errForbidden):
		status, msg = http.StatusForbidden, err.Error()
	case errors.As(err, &rl):
		status, msg = http.StatusTooManyRequests, err.Error()
		w.Header().Set("Retry-After", strconv.Itoa(rl.retryAfterSeconds()))
	case errors.Is(err, errConflict):
		status, msg = http.StatusConflict, err.Error()
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
	case errors.Is(err, engine.ErrArchive):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, store.ErrReadOnly):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, engine.ErrBusy):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, engine.ErrDiskFull):
		// The cause (path, sizes) is logged, not sent.
		status, msg = http.StatusInsufficientStorage, "the server's disk is too full to store this; nothing was lost, and intake resumes once an administrator frees space"
	case errors.As(err, &ste):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, store.ErrUnavailable):
		// The cluster's address is logged, not sent.
		status, msg = http.StatusServiceUnavailable, "the case's event store (ClickHouse cluster) is unreachable; nothing was lost: searches work again and queued files resume once it answers"
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
	if a := auditOf(r); a != nil {
		a.reason = msg
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
