package store_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"casescope/store"
)

// TestMembersUpgrade opens a ledger as a release before memberships and
// comment threads left it (no members bucket, no migration mark, a tag
// carrying a note) and checks the upgrade: old cases open to the users
// of that time with their global role, the note moved into a comment.
func TestMembersUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := store.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, role := range map[string]string{"ann": store.RoleAnalyst, "rob": store.RoleReadOnly, "boss": store.RoleAdmin} {
		if _, err := l.CreateUser(name, role, "a-long-password-1"); err != nil {
			t.Fatal(err)
		}
	}
	old, err := l.CreateCase("old", "")
	if err != nil {
		t.Fatal(err)
	}
	noted := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// What an older release left: no memberships, a tag with a note.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte("members")); err != nil {
			return err
		}
		if err := tx.Bucket([]byte("meta")).Delete([]byte("members_migrated")); err != nil {
			return err
		}
		raw, _ := json.Marshal(store.Tag{DocID: "1-0-5", FileID: 1, Note: "looks like the first login", By: "ann", Updated: noted})
		k := append(binaryID(old.ID), []byte("1-0-5")...)
		if err := tx.Bucket([]byte("tags")).Put(k, raw); err != nil {
			return err
		}
		raw, _ = json.Marshal(store.Tag{DocID: "1-0-6", FileID: 1, Starred: true, Note: "second"})
		return tx.Bucket([]byte("tags")).Put(append(binaryID(old.ID), []byte("1-0-6")...), raw)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	l, err = store.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got, err := l.MemberCases("ann")
	if err != nil || got[old.ID] != store.MemberAnalyst {
		t.Errorf("ann's cases after upgrade: got %v %v, want case %d as analyst", got, err, old.ID)
	}
	got, _ = l.MemberCases("rob")
	if got[old.ID] != store.MemberReadOnly {
		t.Errorf("rob's cases after upgrade: got %v, want case %d as read-only", got, old.ID)
	}
	if got, _ := l.MemberCases("boss"); len(got) != 0 {
		t.Errorf("admins need no membership: got %v", got)
	}
	cs, err := l.Comments(old.ID, "1-0-5")
	if err != nil || len(cs) != 1 || cs[0].Text != "looks like the first login" || cs[0].Author != "ann" || !cs[0].Created.Equal(noted) {
		t.Errorf("note as first comment: got %+v %v", cs, err)
	}
	if _, err := l.Tag(old.ID, "1-0-5"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a tag that held only a note: got %v, want it gone (ErrNotFound)", err)
	}
	if tg, err := l.Tag(old.ID, "1-0-6"); err != nil || !tg.Starred || tg.Note != "" {
		t.Errorf("starred tag with a note: got %+v %v, want starred, note moved", tg, err)
	}
	if cs, _ := l.Comments(old.ID, "1-0-6"); len(cs) != 1 || cs[0].Author != "(unknown)" {
		t.Errorf("note without author: got %+v", cs)
	}

	// Later cases belong to their creator only; a user added later does
	// not see the old case.
	if _, err := l.CreateUser("newbie", store.RoleAnalyst, "a-long-password-2"); err != nil {
		t.Fatal(err)
	}
	nc, err := l.CreateCaseFor("new", "", "ann")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := l.MemberCases("newbie"); len(got) != 0 {
		t.Errorf("user made after the upgrade: got %v, want no cases", got)
	}
	if m, err := l.Membership(nc.ID, "ANN"); err != nil || m.Role != store.MemberOwner {
		t.Errorf("creator: got %+v %v, want owner", m, err)
	}
	if _, err := l.Membership(nc.ID, "rob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rob on the new case: got %v, want ErrNotFound", err)
	}
	// Reopening does not migrate again.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = store.OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := l.MemberCases("newbie"); len(got) != 0 {
		t.Errorf("after reopening: newbie got %v, want no cases", got)
	}
	if _, err := l.SetMember(nc.ID, "nobody", store.MemberAnalyst, "ann"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: got %v, want ErrNotFound", err)
	}
	if _, err := l.SetMember(nc.ID, "rob", "boss", "ann"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad role: got %v, want ErrInvalid", err)
	}
	if _, err := l.SetMember(nc.ID, "rob", store.MemberReadOnly, "ann"); err != nil {
		t.Fatal(err)
	}
	if ms, _ := l.Members(nc.ID); len(ms) != 2 {
		t.Errorf("members: got %+v, want ann and rob", ms)
	}
	if err := l.RemoveMember(nc.ID, "rob"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.DeleteCase(nc.ID); err != nil {
		t.Fatal(err)
	}
	if ms, _ := l.Members(nc.ID); len(ms) != 0 {
		t.Errorf("members of a deleted case: got %+v", ms)
	}
}

func binaryID(id uint64) []byte {
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = byte(id)
		id >>= 8
	}
	return b
}

func TestCommentThread(t *testing.T) {
	l := openLedger(t)
	c, err := l.CreateCase("c", "")
	if err != nil {
		t.Fatal(err)
	}
	a, err := l.AddComment(c.ID, store.Comment{DocID: "2-1-9", FileID: 2, Author: "ann", Text: "  first  "})
	if err != nil || a.Text != "first" || a.ID == 0 {
		t.Fatalf("add: got %+v %v", a, err)
	}
	b, err := l.AddComment(c.ID, store.Comment{DocID: "2-1-9", FileID: 2, Author: "rob", Text: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddComment(c.ID, store.Comment{DocID: "2-1-9", Author: "rob", Text: "  "}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty comment: got %v, want ErrInvalid", err)
	}
	before, after, err := l.EditComment(c.ID, "2-1-9", a.ID, "first, edited")
	if err != nil || before.Text != "first" || after.Text != "first, edited" || after.Edited.IsZero() || !after.Created.Equal(a.Created) {
		t.Errorf("edit: got %+v → %+v %v", before, after, err)
	}
	if _, err := l.DeleteComment(c.ID, "2-1-9", b.ID); err != nil {
		t.Fatal(err)
	}
	cs, err := l.Comments(c.ID, "2-1-9")
	if err != nil || len(cs) != 1 || cs[0].Text != "first, edited" {
		t.Errorf("thread: got %+v %v", cs, err)
	}
	if cs, _ := l.Comments(c.ID, "2-1-90"); len(cs) != 0 {
		t.Errorf("another event's thread (a longer ID with the same start): got %+v", cs)
	}
	if _, err := l.DeleteComment(c.ID, "2-1-9", b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: got %v, want ErrNotFound", err)
	}
}
