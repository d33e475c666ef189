package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"casescope/store"
)

// Session cookie names, before the port (see cookieName). Under TLS the __Host- prefix makes the browser
// insist on Secure, Path=/ and no Domain, so no other site or subdomain
// can plant or read it.
const (
	sessionCookie    = "casescope_session"
	sessionCookieTLS = "__Host-casescope_session"
)

// csrfHeader carries the session's CSRF token on every request that
// changes state.
const csrfHeader = "X-CSRF-Token"

// localUser is the principal of the local bearer token (Config.LocalToken).
const localUser = "local"

// principal is who a request acts as.
type principal struct {
	User  string
	Role  string
	CSRF  string // the session's CSRF token ("" for the local token)
	Token string // the session token, for logout ("" for the local token)
	Local bool   // authenticated by Config.LocalToken
}

type ctxKey int

const (
	principalKey ctxKey = iota
	auditKey
)

func principalOf(r *http.Request) (principal, bool) {
	p, ok := r.Context().Value(principalKey).(principal)
	return p, ok
}

// roleLevel orders the roles; 0 is no role.
func roleLevel(role string) int {
	switch role {
	case store.RoleReadOnly:
		return 1
	case store.RoleAnalyst:
		return 2
	case store.RoleAdmin:
		return 3
	}
	return 0
}

// cookieName is the session cookie's name on this connection: the base
// name and the port the server listens on ("casescope_session_8080").
// Browsers keep cookies per host, not per port, so two instances on one
// host would otherwise overwrite each other's session and log each
// other out.
func cookieName(r *http.Request) string {
	name := sessionCookie
	if r.TLS != nil {
		name = sessionCookieTLS
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(a.String()); err == nil && port != "" {
			name += "_" + port
		}
	}
	return name
}

// remoteIP is the client's address as the connection shows it. Proxy
// headers are not trusted: casescope is meant to be reached directly.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// validToken reports whether t looks like a session token (64 hex
// digits), so junk cookies never reach the ledger.
func validToken(t string) bool {
	if len(t) != 64 {
		return false
	}
	for _, c := range t {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// authenticate finds the request's principal: the local bearer token (on
// GET /api/system only) or a live session cookie, whose idle clock it
// resets. It never refuses; route's guard does.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := s.bearer(r); ok {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
			return
		}
		c, err := r.Cookie(cookieName(r))
		if err != nil || !validToken(c.Value) {
			next.ServeHTTP(w, r)
			return
		}
		sess, err := s.ledger.TouchSession(c.Value, s.cfg.SessionIdle)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Expired, logged out, or its user changed: the UI shows
			// the login page on the 401 that follows.
			next.ServeHTTP(w, r)
			return
		case err != nil:
			s.writeError(w, r, fmt.Errorf("check session: %w", err))
			return
		}
		if s.isRevoked(sess) {
			if err := s.ledger.DeleteSession(c.Value); err != nil {
				s.log.Warn("end revoked session", "user", sess.User, "err", err)
			}
			next.ServeHTTP(w, r)
			return
		}
		p := principal{User: sess.User, Role: sess.Role, CSRF: sess.CSRF, Token: c.Value}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	})
}

// revokeSessions ends, at their next request, every session of user
// created before now.
func (s *Server) revokeSessions(user string) {
	s.revokedMu.Lock()
	defer s.revokedMu.Unlock()
	s.revoked[strings.ToLower(user)] = time.Now().UTC()
}

// isRevoked reports whether sess began before its user's sessions were
// revoked.
func (s *Server) isRevoked(sess store.Session) bool {
	s.revokedMu.Lock()
	defer s.revokedMu.Unlock()
	t, ok := s.revoked[strings.ToLower(sess.User)]
	return ok && !sess.Created.After(t)
}

// bearer accepts Config.LocalToken as the local admin, on GET
// /api/system only: the token lets casescope status on this machine read
// the engine's state and nothing else.
func (s *Server) bearer(r *http.Request) (principal, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || s.cfg.LocalToken == "" || r.Method != http.MethodGet || r.URL.Path != "/api/system" {
		return principal{}, false
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.LocalToken)) != 1 {
		return principal{}, false
	}
	return principal{User: localUser, Role: store.RoleAdmin, Local: true}, true
}

// safeMethod reports methods that must not change state.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// route registers an API route that role (or a higher one) may call.
// action names the audit log entry written for every call, allowed or
// denied ("" for reads that are not audited).
func (s *Server) route(r chi.Router, method, pattern, role, action string, h http.HandlerFunc) {
	if !safeMethod(method) && !lifecycleActions[action] {
		h = s.writableCase(h)
	}
	r.With(s.guard(role, action)).Method(method, pattern, h)
}

// guard refuses a request without a session (401), one that changes
// state without the session's CSRF token (403), one whose role is below
// role (403), and, on a route under /api/cases/{case}, one by a user who
// is no member of the case (404, as if it did not exist) or whose
// membership ranks below role (403); see caseRole. With an action, it records the outcome in the audit
// log, refusals of a known user included.
func (s *Server) guard(role, action string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := principalOf(r)
			if !ok {
				s.writeError(w, r, refuse(errUnauthenticated, "log in first (no session, or it expired)"))
				return
			}
			if action != "" {
				a := &auditRecord{}
				r = r.WithContext(context.WithValue(r.Context(), auditKey, a))
				rec := &statusRecorder{ResponseWriter: w}
				w = rec
				defer func() { s.audit(r, p, action, a, rec.status()) }()
			}
			if !safeMethod(r.Method) && !p.Local {
				got := r.Header.Get(csrfHeader)
				if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRF)) != 1 {
					s.writeError(w, r, refuse(errForbidden, "missing or wrong %s header (reload the page)", csrfHeader))
					return
				}
			}
			if roleLevel(p.Role) < roleLevel(role) {
				s.writeError(w, r, refuse(errForbidden, "role %s may not do this (needs %s)", p.Role, role))
				return
			}
			if chi.URLParam(r, "case") != "" {
				if err := s.checkCase(r, p, role); err != nil {
					s.writeError(w, r, err)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// checkHost refuses requests that reached a loopback address under a
// Host name that is not a loopback name: a page of another site whose
// DNS name was re-pointed at 127.0.0.1 (DNS rebinding). When the server
// is bound to another address it cannot know its names, and every Host
// passes.
func (s *Server) checkHost(next http.Handler) http.Handler {
	bindLoopback := true
	if host, _, err := net.SplitHostPort(s.cfg.Addr); err == nil && host != "" {
		bindLoopback = loopbackName(host)
	} else if s.cfg.Addr != "" {
		bindLoopback = false // ":8080": every interface
	}
	allowed := map[string]bool{}
	for _, h := range s.cfg.AllowedHosts {
		allowed[strings.ToLower(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bindLoopback && onLoopback(r) {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
			if !loopbackName(host) && !allowed[host] {
				s.log.Debug("request for a foreign host name refused", "host", r.Host, "remote", remoteIP(r))
				s.refused(r, "host", http.StatusMisdirectedRequest, fmt.Sprintf("host %q is not this server's name", auditName(r.Host)))
				writeJSON(w, http.StatusMisdirectedRequest, errorBody{Error: fmt.Sprintf(
					"host %q is not this server's name; open casescope as http://localhost or 127.0.0.1", r.Host)})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// onLoopback reports whether the request arrived on a loopback address.
func onLoopback(r *http.Request) bool {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackName reports whether h (no port, no brackets) is a name or IP
// of this machine's loopback interface.
func loopbackName(h string) bool {
	h = strings.ToLower(strings.Trim(h, "[]"))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// sessionView is the answer to a login and to GET /api/session.
type sessionView struct {
	User      string `json:"user"`
	Role      string `json:"role"`
	CSRFToken string `json:"csrf_token,omitempty"`
	Local     bool   `json:"local,omitempty"`
}

// handleLogin checks a user name and password and starts a session.
// Repeated failures for a user name from one address (and, with much
// higher ceilings, from one address or for one name overall: see
// loginLimiter) are refused for a growing time (429 with Retry-After)
// before any password is checked.
// Every attempt that reaches the password check, and the first refusal
// of each lockout, goes to the audit log.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.writeError(w, r, badRequest("log in with a JSON body {\"name\", \"password\"}"))
		return
	}
	var req struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	ip := remoteIP(r)
	name := limiterName(req.Name)
	entry := store.AuditEntry{Actor: auditName(req.Name), Remote: ip, Action: "login", Target: auditName(req.Name)}
	now := time.Now()
	if wait, _ := s.limiter.check(now, ip, name); wait > 0 {
		entry.Action, entry.Target, entry.Outcome = "refused.throttled", auditPath(r), "denied"
		entry.Detail = fmt.Sprintf("429 login as %s: too many failed logins; locked for %s", entry.Actor, wait.Round(time.Second))
		s.refusals.refuse(now, "throttled "+name, entry)
		s.writeError(w, r, &rateLimitError{wait: wait})
		return
	}
	// A burst (a team logging in at once) waits its turn for a slot; only
	// a flood beyond the gate's queue is refused (see loginGate).
	release, err := s.logins.enter(r.Context())
	if errors.Is(err, errLoginsBusy) {
		s.refused(r, "throttled", http.StatusTooManyRequests, "too many logins in progress")
		s.writeError(w, r, &rateLimitError{wait: time.Second, busy: true})
		return
	}
	if err != nil {
		return // the client went away
	}
	u, err := s.ledger.Authenticate(req.Name, req.Password)
	release()
	if errors.Is(err, store.ErrBadCredentials) {
		s.limiter.fail(time.Now(), ip, name)
		entry.Outcome, entry.Detail = "failed", "bad user name or password"
		s.writeAudit(entry)
		s.writeError(w, r, err)
		return
	}
	if err != nil {
		s.writeError(w, r, fmt.Errorf("authenticate: %w", err))
		return
	}
	s.limiter.succeed(ip, name)
	token, sess, err := s.ledger.CreateSession(u, ip)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("create session: %w", err))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName(r), Value: token, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	entry.Actor, entry.Role, entry.Target, entry.Outcome = u.Name, u.Role, u.Name, "ok"
	s.writeAudit(entry)
	s.log.Info("login", "user", u.Name, "role", u.Role, "remote", ip)
	writeJSON(w, http.StatusOK, sessionView{User: u.Name, Role: u.Role, CSRFToken: sess.CSRF})
}

// handleLogout ends the session and clears the cookie.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r)
	noteAudit(r, p.User, "")
	if p.Token != "" {
		if err := s.ledger.DeleteSession(p.Token); err != nil {
			s.writeError(w, r, fmt.Errorf("end session: %w", err))
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName(r), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// handleSession tells the UI who is logged in, and the CSRF token its
// requests must carry (the cookie itself is HttpOnly).
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r)
	writeJSON(w, http.StatusOK, sessionView{User: p.User, Role: p.Role, CSRFToken: p.CSRF, Local: p.Local})
}

// handleOwnPassword changes the caller's own password, given the current
// one. Wrong guesses count against the user name like failed logins.
func (s *Server) handleOwnPassword(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r)
	if p.Local {
		s.writeError(w, r, refuse(errForbidden, "the local token has no password"))
		return
	}
	var req struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	ip, name := remoteIP(r), limiterName(p.User)
	if wait, _ := s.limiter.check(time.Now(), ip, name); wait > 0 {
		s.writeError(w, r, &rateLimitError{wait: wait})
		return
	}
	u, err := s.ledger.User(p.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !store.CheckPassword(u.Hash, req.Current) {
		s.limiter.fail(time.Now(), ip, name)
		s.writeError(w, r, badRequest("the current password is wrong"))
		return
	}
	if err := s.ledger.SetPassword(p.User, req.New); err != nil {
		s.writeError(w, r, err)
		return
	}
	noteAudit(r, p.User, "")
	w.WriteHeader(http.StatusNoContent)
}

// limiterName is the rate limiter's key for a user name.
func limiterName(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if len(name) > 64 {
		name = name[:64]
	}
	return name
}

// auditName makes an attempted user name safe to record: printable and
// short.
func auditName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, strings.TrimSpace(name))
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	if name == "" {
		name = "(empty)"
	}
	return name
}

// rateLimitError refuses a login for wait (429 with Retry-After).
type rateLimitError struct {
	wait time.Duration
	busy bool // too many logins in progress, not a lockout
}

func (e *rateLimitError) Error() string {
	if e.busy {
		return "too many logins in progress; try again in a second"
	}
	return fmt.Sprintf("too many failed logins; try again in %d seconds", e.retryAfterSeconds())
}

// retryAfterSeconds rounds the wait up to whole seconds, at least 1.
func (e *rateLimitError) retryAfterSeconds() int {
	n := int((e.wait + time.Second - 1) / time.Second)
	return max(n, 1)
}
