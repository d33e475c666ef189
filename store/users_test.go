package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"casescope/store"
)

func openLedger(t *testing.T) *store.Ledger {
	t.Helper()
	l, err := store.OpenLedger(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestUsersAndSessions(t *testing.T) {
	l := openLedger(t)
	if _, err := l.CreateUser("alice", store.RoleAnalyst, "short"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("short password: err = %v, want ErrInvalid", err)
	}
	if _, err := l.CreateUser("alice", "root", "a-long-enough-password"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad role: err = %v, want ErrInvalid", err)
	}
	u, err := l.CreateUser("alice", store.RoleAnalyst, "a-long-enough-password")
	if err != nil {
		t.Fatal(err)
	}
	if u.Hash == "a-long-enough-password" || len(u.Hash) < 40 {
		t.Fatalf("password stored as %q", u.Hash)
	}
	if _, err := l.CreateUser("ALICE", store.RoleAdmin, "a-long-enough-password"); !errors.Is(err, store.ErrExists) {
		t.Errorf("duplicate name: err = %v, want ErrExists", err)
	}
	for _, tc := range []struct{ name, pw string }{{"alice", "wrong-password-xx"}, {"bob", "a-long-enough-password"}} {
		if _, err := l.Authenticate(tc.name, tc.pw); !errors.Is(err, store.ErrBadCredentials) {
			t.Errorf("Authenticate(%s): err = %v, want ErrBadCredentials", tc.name, err)
		}
	}
	u, err = l.Authenticate("Alice", "a-long-enough-password")
	if err != nil || u.LastLogin.IsZero() {
		t.Fatalf("login: %v %+v", err, u)
	}
	tok, s, err := l.CreateSession(u, "127.0.0.1")
	if err != nil || s.CSRF == "" || len(tok) != 64 {
		t.Fatalf("session: %v %+v %q", err, s, tok)
	}
	if got, err := l.TouchSession(tok, time.Hour); err != nil || got.User != "alice" || got.CSRF != s.CSRF {
		t.Errorf("touch: %+v %v", got, err)
	}
	if _, err := l.TouchSession(tok, -time.Second); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("idle session: err = %v, want ErrNotFound", err)
	}
	tok, _, _ = l.CreateSession(u, "127.0.0.1")
	if err := l.SetPassword("alice", "another-long-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.TouchSession(tok, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session after password change: err = %v, want ErrNotFound", err)
	}
	u, _ = l.Authenticate("alice", "another-long-password")
	tok, _, _ = l.CreateSession(u, "127.0.0.1")
	if _, err := l.UpdateUser("alice", func(u *store.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := l.TouchSession(tok, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("disabled user's session: err = %v, want ErrNotFound", err)
	}
	if _, err := l.Authenticate("alice", "another-long-password"); !errors.Is(err, store.ErrBadCredentials) {
		t.Errorf("disabled login: err = %v", err)
	}
}

func TestAuditLog(t *testing.T) {
	l := openLedger(t)
	for _, a := range []string{"login", "upload", "file.delete"} {
		if err := l.Audit(store.AuditEntry{Actor: "alice", Action: a, Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := l.AuditLog(0, func(e store.AuditEntry) bool { got = append(got, e.Action); return true }); err != nil {
		t.Fatal(err)
	}
	want := []string{"file.delete", "upload", "login"}
	if len(got) != 3 || got[0] != want[0] || got[2] != want[2] {
		t.Errorf("audit newest first = %v, want %v", got, want)
	}
}
