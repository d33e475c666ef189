package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Case membership roles. They sit under the global roles: a user acts
// on a case with the lesser of the two (an owner ranks as an analyst and
// may also manage the case's members), and admins act on every case
// without a membership.
const (
	MemberOwner    = "owner"
	MemberAnalyst  = "analyst"
	MemberReadOnly = "read-only"
)

// ValidMemberRole reports whether r is a membership role.
func ValidMemberRole(r string) bool {
	return r == MemberOwner || r == MemberAnalyst || r == MemberReadOnly
}

// bktMembers holds case memberships: caseID|lower(user) → Member JSON.
var bktMembers = []byte("members")

// metaMembersMigrated marks a ledger whose pre-membership cases were
// opened to the users that existed then (see migrateMembers).
var metaMembersMigrated = []byte("members_migrated")

// Member is one user's membership of one case.
type Member struct {
	CaseID uint64    `json:"case_id"`
	User   string    `json:"user"`
	Role   string    `json:"role"` // owner, analyst or read-only
	By     string    `json:"by,omitempty"`
	Added  time.Time `json:"added"`
}

func memberKey(caseID uint64, user string) []byte {
	return append(u64(caseID), []byte(strings.ToLower(user))...)
}

// SetMember adds user to a case or changes their membership role. The
// user must exist.
func (l *Ledger) SetMember(caseID uint64, user, role, by string) (Member, error) {
	if !ValidMemberRole(role) {
		return Member{}, fmt.Errorf("membership role %q (want owner, analyst or read-only): %w", role, ErrInvalid)
	}
	var m Member
	err := l.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bktCases).Get(u64(caseID)) == nil {
			return fmt.Errorf("case %d: %w", caseID, ErrNotFound)
		}
		var u User
		if err := getJSON(tx.Bucket(bktUsers), []byte(strings.ToLower(user)), &u); err != nil {
			return fmt.Errorf("user %q: %w", user, err)
		}
		b, err := tx.CreateBucketIfNotExists(bktMembers)
		if err != nil {
			return err
		}
		m = Member{CaseID: caseID, User: u.Name, Role: role, By: by, Added: time.Now().UTC()}
		var old Member
		if getJSON(b, memberKey(caseID, u.Name), &old) == nil {
			m.Added = old.Added
		}
		return putJSON(b, memberKey(caseID, u.Name), m)
	})
	return m, err
}

// RemoveMember ends user's membership of a case (ErrNotFound when there
// is none).
func (l *Ledger) RemoveMember(caseID uint64, user string) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktMembers)
		if b == nil || b.Get(memberKey(caseID, user)) == nil {
			return fmt.Errorf("member %q of case %d: %w", user, caseID, ErrNotFound)
		}
		return b.Delete(memberKey(caseID, user))
	})
}

// Membership returns user's membership of a case (ErrNotFound when the
// user is no member).
func (l *Ledger) Membership(caseID uint64, user string) (Member, error) {
	var m Member
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktMembers)
		if b == nil {
			return ErrNotFound
		}
		return getJSON(b, memberKey(caseID, user), &m)
	})
	if err != nil {
		return Member{}, fmt.Errorf("member %q of case %d: %w", user, caseID, err)
	}
	return m, nil
}

// Members lists a case's members by user name.
func (l *Ledger) Members(caseID uint64) ([]Member, error) {
	var out []Member
	err := l.db.View(func(tx *bolt.Tx) (err error) {
		b := tx.Bucket(bktMembers)
		if b == nil {
			return nil
		}
		out, err = scanJSON[Member](b, u64(caseID))
		return err
	})
	return out, err
}

// MemberCases returns the IDs of the cases user belongs to, with the
// membership role of each.
func (l *Ledger) MemberCases(user string) (map[uint64]string, error) {
	out := map[uint64]string{}
	lower := []byte(strings.ToLower(user))
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktMembers)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if len(k) < 8 || !bytes.Equal(k[8:], lower) {
				return nil
			}
			var m Member
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			out[m.CaseID] = m.Role
			return nil
		})
	})
	return out, err
}

// migrateMembers runs once per ledger, when memberships first exist:
// every case made before then is opened to every user of that time
// with their global role (analyst or read-only; admins need no
// membership), so an upgrade hides nothing anyone could see. Cases made
// later belong to their creator (and to whoever an owner or admin adds).
func migrateMembers(tx *bolt.Tx) error {
	meta := tx.Bucket(bktMeta)
	if meta.Get(metaMembersMigrated) != nil {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bktMembers)
	if err != nil {
		return err
	}
	cases, err := scanJSON[Case](tx.Bucket(bktCases), nil)
	if err != nil {
		return err
	}
	users, err := scanJSON[User](tx.Bucket(bktUsers), nil)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, c := range cases {
		for _, u := range users {
			role := ""
			switch u.Role {
			case RoleAnalyst:
				role = MemberAnalyst
			case RoleReadOnly:
				role = MemberReadOnly
			}
			if role == "" {
				continue
			}
			if err := putJSON(b, memberKey(c.ID, u.Name), Member{CaseID: c.ID, User: u.Name, Role: role, By: "migration", Added: now}); err != nil {
				return err
			}
		}
	}
	return meta.Put(metaMembersMigrated, []byte(now.Format(time.RFC3339)))
}
