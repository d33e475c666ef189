package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Tag is what an analyst attached to one event: a star and free-word
// tags. Note is what tags carried before comment threads: the ledger
// and the engine turn it into the event's first comment (see
// migrateNotes), so stored tags have none. It is keyed by the event's stable document ID, so it survives
// re-indexing.
type Tag struct {
	DocID   string    `json:"doc_id"`
	FileID  uint64    `json:"file_id"`
	Time    time.Time `json:"time"` // the event's time, for the timeline
	Starred bool      `json:"starred"`
	Tags    []string  `json:"tags"`
	Note    string    `json:"note"`
	By      string    `json:"by,omitempty"`
	Updated time.Time `json:"updated"`
}

// Empty reports whether the tag carries nothing (and can be deleted).
func (t Tag) Empty() bool { return !t.Starred && len(t.Tags) == 0 && t.Note == "" }

// Terms returns what the index stores for the tag: each tag word, and
// "starred" when starred.
func (t Tag) Terms() []string {
	out := make([]string, 0, len(t.Tags)+1)
	out = append(out, t.Tags...)
	if t.Starred {
		out = append(out, "starred")
	}
	return out
}

func tagKey(caseID uint64, docID string) []byte { return append(u64(caseID), []byte(docID)...) }

// NormalizeTags lower-cases tag words, trims them, drops empties and
// duplicates; a word may hold letters, digits, '-', '_', '.', ':'.
func NormalizeTags(in []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || seen[t] {
			continue
		}
		if len(t) > 64 || strings.ContainsFunc(t, func(r rune) bool {
			return !(r == '-' || r == '_' || r == '.' || r == ':' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'))
		}) {
			return nil, fmt.Errorf("tag %q: use up to 64 letters, digits, - _ . : : %w", t, ErrInvalid)
		}
		seen[t] = true
		out = append(out, t)
	}
	return out, nil
}

// PutTag stores (or, when empty, deletes) an event's tag.
func (l *Ledger) PutTag(caseID uint64, t Tag) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktTags)
		if t.Empty() {
			return b.Delete(tagKey(caseID, t.DocID))
		}
		t.Updated = time.Now().UTC()
		return putJSON(b, tagKey(caseID, t.DocID), t)
	})
}

// Tag returns one event's tag (ErrNotFound when untagged).
func (l *Ledger) Tag(caseID uint64, docID string) (Tag, error) {
	var t Tag
	err := l.db.View(func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bktTags), tagKey(caseID, docID), &t)
	})
	return t, err
}

// Tags calls fn for each tagged event of a case (fileID 0 = all files).
func (l *Ledger) Tags(caseID, fileID uint64, fn func(t *Tag) error) error {
	return l.db.View(func(tx *bolt.Tx) error {
		p := u64(caseID)
		if fileID != 0 {
			p = append(p, []byte(strconv.FormatUint(fileID, 16)+"-")...)
		}
		c := tx.Bucket(bktTags).Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			var t Tag
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			if err := fn(&t); err != nil {
				return err
			}
		}
		return nil
	})
}

// PutTags stores (or, when empty, deletes) many events' tags in one
// transaction: a bulk-tag job writes a batch at a time.
func (l *Ledger) PutTags(caseID uint64, tags []Tag) error {
	if len(tags) == 0 {
		return nil
	}
	now := time.Now().UTC()
	return l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktTags)
		for _, t := range tags {
			if t.Empty() {
				if err := b.Delete(tagKey(caseID, t.DocID)); err != nil {
					return err
				}
				continue
			}
			t.Updated = now
			if err := putJSON(b, tagKey(caseID, t.DocID), t); err != nil {
				return err
			}
		}
		return nil
	})
}
