package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseServe(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(sc serveConfig) bool
	}{
		{"defaults", nil, nil, "", func(sc serveConfig) bool {
			return sc.addr == "127.0.0.1:8080" && sc.sessionIdle == 8*time.Hour && !sc.tls()
		}},
		{"env idle", nil, map[string]string{"CASESCOPE_SESSION_IDLE": "30m"}, "", func(sc serveConfig) bool { return sc.sessionIdle == 30*time.Minute }},
		{"flag beats env", []string{"--session-idle", "2h"}, map[string]string{"CASESCOPE_SESSION_IDLE": "30m"}, "", func(sc serveConfig) bool {
			return sc.sessionIdle == 2*time.Hour
		}},
		{"self-signed", []string{"--tls-self-signed"}, nil, "", func(sc serveConfig) bool { return sc.tls() }},
		{"hosts", []string{"--allowed-hosts", "a.lab, b.lab"}, nil, "", func(sc serveConfig) bool { return len(sc.hosts) == 2 && sc.hosts[1] == "b.lab" }},
		{"search timeout env", nil, map[string]string{"CASESCOPE_SEARCH_TIMEOUT": "5s"}, "", func(sc serveConfig) bool { return sc.searchTimeout == 5*time.Second }},
		{"search timeout default", nil, nil, "", func(sc serveConfig) bool { return sc.searchTimeout == 30*time.Second }},
		{"search timeout too short", []string{"--search-timeout", "10ms"}, nil, "--search-timeout", nil},
		{"idle too short", []string{"--session-idle", "1s"}, nil, "--session-idle", nil},
		{"idle too long", []string{"--session-idle", "9000h"}, nil, "--session-idle", nil},
		{"cert without key", []string{"--tls-cert", "c.pem"}, nil, "go together", nil},
		{"both TLS modes", []string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-self-signed"}, nil, "exclude", nil},
		{"bad addr", []string{"--addr", "8080"}, nil, "host:port", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var c common
			sc, err := parseServe(tc.args, io.Discard, &c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(sc) {
				t.Fatalf("got %+v", sc)
			}
		})
	}
}

// server is a running casescope serve.
type server struct {
	cmd   *exec.Cmd
	lines chan string
	out   bytes.Buffer // everything read so far
	url   string
}

var listenRE = regexp.MustCompile(`listening on (https?://[^\s]+)`)

// startServe runs the binary's serve on a free loopback port and waits
// until it listens.
func startServe(t *testing.T, data string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--no-builtin-rules"}, extra...)
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "CASESCOPE_LOG_LEVEL=warn")
	pr, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				t.Fatalf("serve exited before listening:\n%s", s.out.String())
			}
			s.out.WriteString(line + "\n")
			if m := listenRE.FindStringSubmatch(line); m != nil {
				s.url = m[1]
				return s
			}
		case <-deadline:
			t.Fatalf("serve did not listen within a minute:\n%s", s.out.String())
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for range s.lines {
		}
		done <- s.cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exit: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop within a minute of SIGTERM")
	}
}

var passwordRE = regexp.MustCompile(`created user "admin" with password (\S+)`)

// TestServe runs the real binary: the first run prints a random admin
// password once, writes serve.json (0600) whose token lets status read
// the engine, serves the login page with its headers and refuses the
// API without a session; SIGTERM removes serve.json. A second run
// creates no second admin.
func TestServe(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, data)
	m := passwordRE.FindStringSubmatch(s.out.String())
	if m == nil {
		t.Fatalf("no first-run admin password in the output:\n%s", s.out.String())
	}
	info := filepath.Join(data, "serve.json")
	st, err := os.Stat(info)
	if err != nil {
		t.Fatalf("serve.json: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("serve.json mode: got %v, want 0600", st.Mode().Perm())
	}
	var sf struct {
		Addr  string `json:"addr"`
		PID   int    `json:"pid"`
		Token string `json:"token"`
		URL   string `json:"url"`
	}
	if b, err := os.ReadFile(info); err != nil || json.Unmarshal(b, &sf) != nil || sf.URL != s.url || sf.PID != s.cmd.Process.Pid || len(sf.Token) != 64 {
		t.Errorf("serve.json: got %+v (%v), want url %s, pid %d and a token", sf, err, s.url, s.cmd.Process.Pid)
	}
	out, _, err := runBin(t, nil, "status", "--data", data, "--json")
	if err != nil || !strings.Contains(out, "max_workers") {
		t.Fatalf("status through the running server: %v %s", err, out)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	res, err := client.Get(s.url + "/api/cases")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("API without a session: got %d, want 401", res.StatusCode)
	}
	body, _ := json.Marshal(map[string]string{"name": "admin", "password": m[1]})
	res, err = client.Post(s.url+"/api/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("login with the printed password: got %d", res.StatusCode)
	}
	s.stop(t)
	if _, err := os.Stat(info); !os.IsNotExist(err) {
		t.Errorf("serve.json after shutdown: %v, want it removed", err)
	}
	s = startServe(t, data)
	if strings.Contains(s.out.String(), "password") {
		t.Errorf("second run printed a password:\n%s", s.out.String())
	}
	s.stop(t)
}

var fingerprintRE = regexp.MustCompile(`SHA-256 fingerprint ([0-9a-f]{64})`)

// TestServeSelfSigned: --tls-self-signed makes a certificate on the first
// run and reuses it on the next; the server speaks HTTPS with it and
// sends HSTS.
func TestServeSelfSigned(t *testing.T) {
	data := t.TempDir()
	var prints []string
	for run := 0; run < 2; run++ {
		s := startServe(t, data, "--tls-self-signed")
		m := fingerprintRE.FindStringSubmatch(s.out.String())
		if m == nil || !strings.HasPrefix(s.url, "https://") {
			t.Fatalf("run %d: no fingerprint or not HTTPS:\n%s", run, s.out.String())
		}
		prints = append(prints, m[1])
		want := []string{"created", "reusing"}[run]
		if !strings.Contains(s.out.String(), want+" self-signed") {
			t.Errorf("run %d: want %q in:\n%s", run, want, s.out.String())
		}
		var seen string
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, // the fingerprint is checked below instead
			VerifyConnection: func(cs tls.ConnectionState) error {
				sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
				seen = hex.EncodeToString(sum[:])
				return nil
			},
		}}}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/", nil)
		res, err := client.Do(req)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if seen != m[1] {
			t.Errorf("run %d: served certificate %s, printed %s", run, seen, m[1])
		}
		if res.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("run %d: no HSTS over HTTPS", run)
		}
		// status reaches the HTTPS server, pinning the recorded certificate.
		if out, _, err := runBin(t, nil, "status", "--data", data, "--json"); err != nil || !strings.Contains(out, "memory_budget_bytes") {
			t.Errorf("run %d: status over TLS: %v %s", run, err, out)
		}
		s.stop(t)
	}
	if prints[0] != prints[1] {
		t.Errorf("certificate not reused: %s then %s", prints[0], prints[1])
	}
	st, err := os.Stat(filepath.Join(data, "tls", "key.pem"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v, want mode 0600", st, err)
	}
}
