package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"casescope/web"
)

// maxSessionIdle bounds --session-idle: a forgotten browser must not stay
// logged in for weeks.
const maxSessionIdle = 30 * 24 * time.Hour

// serveConfig is serve's validated settings.
type serveConfig struct {
	addr        string
	sessionIdle time.Duration
	tlsCert     string
	tlsKey      string
	selfSigned  bool
	hosts       []string // extra Host names accepted on loopback
	// searchTimeout stops a search still running after this long.
	searchTimeout time.Duration
}

func (sc serveConfig) tls() bool { return sc.tlsCert != "" || sc.selfSigned }

func parseServe(args []string, stderr io.Writer, c *common) (serveConfig, error) {
	fs := newFlags("serve", stderr, c)
	var sc serveConfig
	var hosts string
	fs.StringVar(&sc.addr, "addr", "127.0.0.1:8080", "listen address; anything but loopback without TLS is warned about (env CASESCOPE_ADDR)")
	fs.DurationVar(&sc.sessionIdle, "session-idle", web.DefaultSessionIdle, "log a browser session out after this long without a request (env CASESCOPE_SESSION_IDLE)")
	fs.StringVar(&sc.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate; needs --tls-key (env CASESCOPE_TLS_CERT)")
	fs.StringVar(&sc.tlsKey, "tls-key", "", "PEM private key of --tls-cert (env CASESCOPE_TLS_KEY)")
	fs.BoolVar(&sc.selfSigned, "tls-self-signed", false, "serve HTTPS with a self-signed ECDSA certificate kept in DATA/tls, made on first use (env CASESCOPE_TLS_SELF_SIGNED)")
	fs.DurationVar(&sc.searchTimeout, "search-timeout", web.DefaultSearchTimeout, "stop a search still running after this long and answer 400 (env CASESCOPE_SEARCH_TIMEOUT)")
	fs.StringVar(&hosts, "allowed-hosts", "", "comma-separated extra host names the browser may use while bound to loopback (env CASESCOPE_ALLOWED_HOSTS)")
	if err := parseFlags(fs, args); err != nil {
		return sc, err
	}
	if fs.NArg() > 0 {
		return sc, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	if _, _, err := net.SplitHostPort(sc.addr); err != nil {
		return sc, fmt.Errorf("--addr %q: want host:port, e.g. 127.0.0.1:8080: %w", sc.addr, err)
	}
	if sc.sessionIdle < time.Minute || sc.sessionIdle > maxSessionIdle {
		return sc, fmt.Errorf("--session-idle %s: want between 1m and %s", sc.sessionIdle, maxSessionIdle)
	}
	if sc.searchTimeout < time.Second || sc.searchTimeout > time.Hour {
		return sc, fmt.Errorf("--search-timeout %s: want between 1s and 1h", sc.searchTimeout)
	}
	if (sc.tlsCert == "") != (sc.tlsKey == "") {
		return sc, errors.New("--tls-cert and --tls-key go together")
	}
	if sc.selfSigned && sc.tlsCert != "" {
		return sc, errors.New("--tls-self-signed and --tls-cert exclude each other")
	}
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			sc.hosts = append(sc.hosts, h)
		}
	}
	return sc, nil
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	sc, err := parseServe(args, stderr, &c)
	if err != nil {
		return err
	}
	a, err := c.open(ctx, stderr, true)
	if err != nil {
		return err
	}
	defer a.close()
	if err := ensureAdmin(a.ledger, stdout); err != nil {
		return err
	}
	data := a.eng.Config().DataDir
	fingerprint := ""
	if sc.selfSigned {
		ss, err := web.EnsureSelfSigned(filepath.Join(data, "tls"), certHosts(sc.addr, sc.hosts), time.Now())
		if err != nil {
			return fmt.Errorf("self-signed certificate: %w", err)
		}
		verb := "reusing"
		if ss.Created {
			verb = "created"
		}
		fmt.Fprintf(stdout, "TLS: %s self-signed certificate %s (valid until %s)\n  SHA-256 fingerprint %s\n  (compare it with what the browser shows before accepting the certificate)\n",
			verb, ss.CertFile, ss.NotAfter.Format("2006-01-02"), ss.SHA256)
		sc.tlsCert, sc.tlsKey, fingerprint = ss.CertFile, ss.KeyFile, ss.SHA256
	}
	token, err := localToken()
	if err != nil {
		return err
	}
	srv := web.New(web.Config{Addr: sc.addr, Version: version, SessionIdle: sc.sessionIdle, TLSCert: sc.tlsCert,
		TLSKey: sc.tlsKey, LocalToken: token, AllowedHosts: sc.hosts, SearchTimeout: sc.searchTimeout}, a.log, a.ledger, a.eng)
	ln, err := srv.Listen()
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	if !sc.tls() && !loopbackAddr(sc.addr) {
		fmt.Fprintf(stderr, "WARNING: listening on %s without TLS: passwords, session cookies and evidence cross the network in clear text. Use --tls-self-signed or --tls-cert/--tls-key.\n", addr)
		a.log.Warn("listening beyond loopback without TLS", "addr", addr)
	}
	scheme := "http"
	if sc.tls() {
		scheme = "https"
	}
	info := serveInfoPath(data)
	if err := writeServeInfo(info, serveFile{serveInfo: serveInfo{Addr: addr, PID: os.Getpid(), Token: token},
		URL: scheme + "://" + addr, CertSHA256: fingerprint}); err != nil {
		ln.Close()
		return err
	}
	defer os.Remove(info)
	fmt.Fprintf(stdout, "casescope %s listening on %s://%s\n", version, scheme, addr)
	return srv.Serve(ctx, ln)
}

// localToken is a fresh random token for casescope status on this
// machine (web.Config.LocalToken).
func localToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("local token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// serveFile is serve.json: serveInfo plus the server's base URL (https
// under TLS) and, for a self-signed certificate, its SHA-256 fingerprint,
// so a local client can pin it.
type serveFile struct {
	serveInfo
	URL        string `json:"url"`
	CertSHA256 string `json:"cert_sha256,omitempty"`
}

// writeServeInfo writes serve.json (mode 0600: it holds the local token)
// through a temp file, so a reader never sees half of it.
func writeServeInfo(path string, si serveFile) error {
	b, err := json.Marshal(si)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return web.WriteFileAtomic(path, b, 0o600)
}

// loopbackAddr reports whether a listen address is on loopback only.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// certHosts are the names a self-signed certificate covers besides
// localhost: the bound host, this machine's name and --allowed-hosts.
func certHosts(addr string, extra []string) []string {
	var hosts []string
	if host, _, err := net.SplitHostPort(addr); err == nil && host != "" {
		hosts = append(hosts, host)
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		hosts = append(hosts, name)
	}
	return append(hosts, extra...)
}
