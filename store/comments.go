package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bktComments holds the comment threads on events:
// caseID|docID|0x00|commentID → Comment JSON, so one event's thread is
// one prefix scan, oldest first.
var bktComments = []byte("comments")

// MaxCommentLen is the longest comment, in bytes.
const MaxCommentLen = 4000

// Comment is one entry of an event's thread. Edits keep the first
// Created and set Edited; the web layer audits edits and deletions with
// the text before and after.
type Comment struct {
	ID      uint64    `json:"id"`
	DocID   string    `json:"doc_id"`
	FileID  uint64    `json:"file_id"`
	Time    time.Time `json:"event_time"` // the event's time, for the timeline and report
	Author  string    `json:"author"`
	Text    string    `json:"text"`
	Created time.Time `json:"created"`
	Edited  time.Time `json:"edited,omitzero"`
}

func commentPrefix(caseID uint64, docID string) []byte {
	k := append(u64(caseID), []byte(docID)...)
	return append(k, 0)
}

func commentKey(caseID uint64, docID string, id uint64) []byte {
	k := commentPrefix(caseID, docID)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	return append(k, b[:]...)
}

// checkComment trims a comment's text and refuses an empty or long one.
func checkComment(text string) (string, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", fmt.Errorf("comment is empty: %w", ErrInvalid)
	}
	if len(text) > MaxCommentLen {
		return "", fmt.Errorf("comment longer than %d characters: %w", MaxCommentLen, ErrInvalid)
	}
	return text, nil
}

// AddComment appends c to its event's thread (c.DocID, c.FileID, c.Time,
// c.Author and c.Text set by the caller) and returns it with its ID and
// creation time.
func (l *Ledger) AddComment(caseID uint64, c Comment) (Comment, error) {
	text, err := checkComment(c.Text)
	if err != nil {
		return Comment{}, err
	}
	c.Text = text
	err = l.db.Update(func(tx *bolt.Tx) error {
		return putComment(tx, caseID, &c)
	})
	return c, err
}

// putComment gives c an ID (and a creation time when it has none) and
// stores it.
func putComment(tx *bolt.Tx, caseID uint64, c *Comment) error {
	b := tx.Bucket(bktComments)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	c.ID = id
	if c.Created.IsZero() {
		c.Created = time.Now().UTC()
	}
	return putJSON(b, commentKey(caseID, c.DocID, c.ID), c)
}

// Comments returns one event's thread, oldest first (empty, not an
// error, when it has none).
func (l *Ledger) Comments(caseID uint64, docID string) ([]Comment, error) {
	var out []Comment
	err := l.db.View(func(tx *bolt.Tx) (err error) {
		out, err = scanJSON[Comment](tx.Bucket(bktComments), commentPrefix(caseID, docID))
		return err
	})
	return out, err
}

// Comment returns one comment of an event's thread.
func (l *Ledger) Comment(caseID uint64, docID string, id uint64) (Comment, error) {
	var c Comment
	err := l.db.View(func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bktComments), commentKey(caseID, docID, id), &c)
	})
	if err != nil {
		return Comment{}, fmt.Errorf("comment %d: %w", id, err)
	}
	return c, nil
}

// EditComment replaces a comment's text; it returns the comment before
// and after.
func (l *Ledger) EditComment(caseID uint64, docID string, id uint64, text string) (before, after Comment, err error) {
	text, err = checkComment(text)
	if err != nil {
		return Comment{}, Comment{}, err
	}
	err = l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktComments)
		k := commentKey(caseID, docID, id)
		if err := getJSON(b, k, &before); err != nil {
			return fmt.Errorf("comment %d: %w", id, err)
		}
		after = before
		after.Text, after.Edited = text, time.Now().UTC()
		return putJSON(b, k, after)
	})
	return before, after, err
}

// DeleteComment removes a comment and returns what it was.
func (l *Ledger) DeleteComment(caseID uint64, docID string, id uint64) (Comment, error) {
	var c Comment
	err := l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktComments)
		k := commentKey(caseID, docID, id)
		if err := getJSON(b, k, &c); err != nil {
			return fmt.Errorf("comment %d: %w", id, err)
		}
		return b.Delete(k)
	})
	return c, err
}

// CaseComments calls fn for every comment of a case, grouped by event
// (document ID order), each thread oldest first.
func (l *Ledger) CaseComments(caseID uint64, fn func(c *Comment) error) error {
	return l.db.View(func(tx *bolt.Tx) error {
		p := u64(caseID)
		cur := tx.Bucket(bktComments).Cursor()
		for k, v := cur.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = cur.Next() {
			var c Comment
			if err := json.Unmarshal(v, &c); err != nil {
				return err
			}
			if err := fn(&c); err != nil {
				return err
			}
		}
		return nil
	})
}

// PutComment writes a comment under the imported case as the archive has
// it (its own ID, author and times).
func (w *CaseWriter) PutComment(c Comment) error {
	b := w.tx.Bucket(bktComments)
	if err := bumpSequence(b, c.ID); err != nil {
		return err
	}
	return putJSON(b, commentKey(w.id, c.DocID, c.ID), c)
}

// noteAuthor is the author of a comment made from a note whose tag did
// not record who wrote it.
const noteAuthor = "(unknown)"

// noteToComment moves a tag's note (what one event carried before
// comment threads) into the event's thread as its first comment, by the
// tag's author at the tag's time, and clears the note. It reports
// whether the tag changed.
func noteToComment(tx *bolt.Tx, caseID uint64, t *Tag) (bool, error) {
	if t.Note == "" {
		return false, nil
	}
	author := t.By
	if author == "" {
		author = noteAuthor
	}
	c := Comment{DocID: t.DocID, FileID: t.FileID, Time: t.Time, Author: author, Text: t.Note, Created: t.Updated}
	if err := putComment(tx, caseID, &c); err != nil {
		return false, err
	}
	t.Note = ""
	return true, nil
}

// migrateNotes turns every tag's note into the first comment of its
// event's thread (see noteToComment); a tag left empty is deleted. Run
// at every open: it finds nothing once done, and tags are few.
func migrateNotes(tx *bolt.Tx) error {
	b := tx.Bucket(bktTags)
	type change struct {
		key []byte
		tag Tag
	}
	var changes []change
	err := b.ForEach(func(k, v []byte) error {
		if !bytes.Contains(v, []byte(`"note":"`)) || bytes.Contains(v, []byte(`"note":""`)) {
			return nil
		}
		var t Tag
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		if t.Note != "" && len(k) > 8 {
			changes = append(changes, change{key: bytes.Clone(k), tag: t})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, ch := range changes {
		caseID := binary.BigEndian.Uint64(ch.key[:8])
		t := ch.tag
		if _, err := noteToComment(tx, caseID, &t); err != nil {
			return err
		}
		if t.Empty() {
			if err := b.Delete(ch.key); err != nil {
				return err
			}
			continue
		}
		if err := putJSON(b, ch.key, t); err != nil {
			return err
		}
	}
	return nil
}
