package store

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/argon2"
)

// Roles.
const (
	RoleAdmin    = "admin"     // users, settings, everything
	RoleAnalyst  = "analyst"   // cases, uploads, tags, IOCs, rules
	RoleReadOnly = "read-only" // view, search, export
)

// ErrBadCredentials reports a failed login; it never says which part was
// wrong.
var ErrBadCredentials = errors.New("bad user name or password")

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return r == RoleAdmin || r == RoleAnalyst || r == RoleReadOnly }

// User is an account. The password is kept only as an argon2id hash.
type User struct {
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Hash      string    `json:"hash"`
	Disabled  bool      `json:"disabled"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	LastLogin time.Time `json:"last_login,omitzero"`
}

// Argon2id parameters (OWASP's minimum recommendation: 19 MiB, t=2, p=1),
// kept modest so a burst of logins cannot eat the ingest memory budget.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an encoded argon2id hash of pw.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches an encoded argon2id hash.
func CheckPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || m > 1<<20 || t > 16 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// ValidatePassword enforces the minimum password rules.
func ValidatePassword(pw string) error {
	if len(pw) < 12 {
		return fmt.Errorf("password must be at least 12 characters: %w", ErrInvalid)
	}
	if len(pw) > 1024 {
		return fmt.Errorf("password longer than 1024 characters: %w", ErrInvalid)
	}
	return nil
}

// RandomPassword returns a random 20-character password.
func RandomPassword() string {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func validUserName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if !(r == '-' || r == '_' || r == '.' || r == '@' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// CreateUser adds an account.
func (l *Ledger) CreateUser(name, role, password string) (User, error) {
	if !validUserName(name) {
		return User{}, fmt.Errorf("user name must be 1-64 letters, digits, - _ . @: %w", ErrInvalid)
	}
	if !ValidRole(role) {
		return User{}, fmt.Errorf("role %q (want admin, analyst or read-only): %w", role, ErrInvalid)
	}
	if err := ValidatePassword(password); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, err
	}
	now := time.Now().UTC()
	u := User{Name: name, Role: role, Hash: hash, Created: now, Updated: now}
	err = l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktUsers)
		if b.Get([]byte(strings.ToLower(name))) != nil {
			return fmt.Errorf("user %q: %w", name, ErrExists)
		}
		return putJSON(b, []byte(strings.ToLower(name)), u)
	})
	return u, err
}

// User returns one account.
func (l *Ledger) User(name string) (User, error) {
	var u User
	err := l.db.View(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bktUsers), []byte(strings.ToLower(name)), &u); err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		return nil
	})
	return u, err
}

// Users lists accounts.
func (l *Ledger) Users() ([]User, error) {
	var out []User
	err := l.db.View(func(tx *bolt.Tx) (err error) {
		out, err = scanJSON[User](tx.Bucket(bktUsers), nil)
		return err
	})
	return out, err
}

// UpdateUser applies fn to an account (role, disabled, password via
// SetPassword).
func (l *Ledger) UpdateUser(name string, fn func(u *User) error) (User, error) {
	var u User
	err := l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktUsers)
		if err := getJSON(b, []byte(strings.ToLower(name)), &u); err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		if err := fn(&u); err != nil {
			return err
		}
		if !ValidRole(u.Role) {
			return fmt.Errorf("role %q: %w", u.Role, ErrInvalid)
		}
		u.Updated = time.Now().UTC()
		return putJSON(b, []byte(strings.ToLower(name)), u)
	})
	return u, err
}

// SetPassword replaces an account's password.
func (l *Ledger) SetPassword(name, password string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	_, err = l.UpdateUser(name, func(u *User) error {
		u.Hash = hash
		return nil
	})
	return err
}

// Authenticate checks a user name and password; a disabled or unknown
// account and a wrong password all return ErrBadCredentials. The password
// is hashed even for unknown users so timing does not reveal them.
func (l *Ledger) Authenticate(name, password string) (User, error) {
	u, err := l.User(name)
	if err != nil {
		CheckPassword(dummyHash, password)
		return User{}, ErrBadCredentials
	}
	if !CheckPassword(u.Hash, password) || u.Disabled {
		return User{}, ErrBadCredentials
	}
	u, err = l.UpdateUser(name, func(u *User) error {
		u.LastLogin = time.Now().UTC()
		return nil
	})
	return u, err
}

// dummyHash is checked for unknown users (fixed salt, never a real
// account's hash).
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// Session is a logged-in browser session, stored under the sha256 of its
// token so a copy of the ledger does not hand out live sessions.
type Session struct {
	User     string    `json:"user"`
	Role     string    `json:"role"`
	CSRF     string    `json:"csrf"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
	Remote   string    `json:"remote"`
	// Gen identifies the password the session was opened with: a
	// password change or reset ends every session opened before it.
	Gen string `json:"gen"`
}

func passwordGen(hash string) string {
	h := sha256.Sum256([]byte(hash))
	return hex.EncodeToString(h[:8])
}

func tokenKey(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// CreateSession starts a session for u and returns its token.
func (l *Ledger) CreateSession(u User, remote string) (string, Session, error) {
	token := randomToken()
	now := time.Now().UTC()
	s := Session{User: u.Name, Role: u.Role, CSRF: randomToken(), Created: now, LastSeen: now, Remote: remote, Gen: passwordGen(u.Hash)}
	err := l.db.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bktSessions), tokenKey(token), s)
	})
	return token, s, err
}

// TouchSession returns the session for token if it exists and has been
// used within idle, and records this use. A session of a disabled or
// deleted user, or one whose role or password changed, ends — checked
// against the ledger on every use, so it holds across restarts.
func (l *Ledger) TouchSession(token string, idle time.Duration) (Session, error) {
	var s Session
	err := l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktSessions)
		k := tokenKey(token)
		if err := getJSON(b, k, &s); err != nil {
			return ErrNotFound
		}
		now := time.Now().UTC()
		var u User
		uerr := getJSON(tx.Bucket(bktUsers), []byte(strings.ToLower(s.User)), &u)
		if now.Sub(s.LastSeen) > idle || uerr != nil || u.Disabled || u.Role != s.Role || s.Gen != passwordGen(u.Hash) {
			if err := b.Delete(k); err != nil {
				return err
			}
			return ErrNotFound
		}
		// Write back at most once a minute: a busy UI polls often.
		if now.Sub(s.LastSeen) > time.Minute {
			s.LastSeen = now
			return putJSON(b, k, s)
		}
		return nil
	})
	return s, err
}

// DeleteSession ends a session (logout).
func (l *Ledger) DeleteSession(token string) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bktSessions).Delete(tokenKey(token))
	})
}

// AuditEntry records one state-changing action.
type AuditEntry struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`
	Role    string    `json:"role"`
	Remote  string    `json:"remote"`
	Action  string    `json:"action"` // e.g. "login", "upload", "file.delete", "user.create"
	Target  string    `json:"target"`
	Outcome string    `json:"outcome"` // "ok", "denied", "failed", "error"
	Detail  string    `json:"detail,omitempty"`
	// Count is how many requests a coalesced refusal entry stands for
	// (the web server writes a flood of refusals as one entry per
	// client, path and minute); 0 for ordinary entries.
	Count int `json:"count,omitempty"`
}

// Audit appends an entry (group-committed with concurrent writers).
func (l *Ledger) Audit(e AuditEntry) error {
	return l.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktAudit)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		e.Seq = seq
		if e.Time.IsZero() {
			e.Time = time.Now().UTC()
		}
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], seq)
		return putJSON(b, k[:], e)
	})
}

// AuditLog calls fn for entries newest first, starting before seq
// (0 = from the newest); fn returns false to stop.
func (l *Ledger) AuditLog(before uint64, fn func(e AuditEntry) bool) error {
	return l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktAudit).Cursor()
		var k, v []byte
		if before == 0 {
			k, v = c.Last()
		} else {
			var key [8]byte
			binary.BigEndian.PutUint64(key[:], before)
			k, v = c.Seek(key[:])
			if k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		}
		for ; k != nil; k, v = c.Prev() {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if !fn(e) {
				return nil
			}
		}
		return nil
	})
}
