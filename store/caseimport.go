package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CaseWriter writes an imported case's records inside ImportCase's one
// transaction. IDs of files and IOCs are kept as the archive has them
// (document IDs, hits and tags name them), so the case reads as it did;
// the buckets' sequences move past them so later records never collide.
type CaseWriter struct {
	tx *bolt.Tx
	id uint64
}

// CaseID is the new case's ID.
func (w *CaseWriter) CaseID() uint64 { return w.id }

// PutFile writes a file record (Path absolute, inside the data
// directory) under the new case, with its state and sha256 entries.
func (w *CaseWriter) PutFile(f File) error {
	f.CaseID = w.id
	fb := w.tx.Bucket(bktFiles)
	if fb.Get(key2(w.id, f.ID)) != nil {
		return fmt.Errorf("file %d twice in the archive: %w", f.ID, ErrInvalid)
	}
	if err := bumpSequence(fb, f.ID); err != nil {
		return err
	}
	if f.SHA256 != "" && f.State != StateDuplicate && f.State != StateFailed {
		sk := append(u64(w.id), []byte(f.SHA256)...)
		if w.tx.Bucket(bktSHA).Get(sk) == nil {
			if err := w.tx.Bucket(bktSHA).Put(sk, u64(f.ID)); err != nil {
				return err
			}
		}
	}
	// Not putFile: an import keeps the record's own Updated time.
	stored := f
	stored.Path = relPath(w.tx, f.Path)
	if err := putJSON(fb, key2(w.id, f.ID), &stored); err != nil {
		return err
	}
	return setState(w.tx, &f, "")
}

// PutIOC writes an IOC under the new case, keeping its ID.
func (w *CaseWriter) PutIOC(i IOC) error {
	i.CaseID = w.id
	b := w.tx.Bucket(bktIOCs)
	if err := bumpSequence(b, i.ID); err != nil {
		return err
	}
	return putJSON(b, key2(w.id, i.ID), i)
}

// PutTag writes an event's tag under the new case as it was; the note of
// an archive made before comment threads becomes the event's first
// comment.
func (w *CaseWriter) PutTag(t Tag) error {
	if _, err := noteToComment(w.tx, w.id, &t); err != nil {
		return err
	}
	if t.Empty() {
		return nil
	}
	return putJSON(w.tx.Bucket(bktTags), tagKey(w.id, t.DocID), t)
}

// SetRulePacks records the new case's choice of Sigma rule packs (nil:
// the defaults).
func (w *CaseWriter) SetRulePacks(packs []string) error {
	var c Case
	if err := getJSON(w.tx.Bucket(bktCases), u64(w.id), &c); err != nil {
		return fmt.Errorf("case %d: %w", w.id, err)
	}
	c.RulePacks = packs
	return putJSON(w.tx.Bucket(bktCases), u64(w.id), c)
}

// PutHit writes one event's stored detections under the new case.
func (w *CaseWriter) PutHit(h EventHits) error {
	k := append(hitPrefix(w.id, h.FileID), []byte(h.DocID)...)
	return putJSON(w.tx.Bucket(bktHits), k, &h)
}

func bumpSequence(b *bolt.Bucket, id uint64) error {
	if id > b.Sequence() {
		return b.SetSequence(id)
	}
	return nil
}

// ImportCase creates a case and fills it in one transaction: fill writes
// the records through w and may do must-succeed work of its own (the
// engine moves the verified evidence into place last); if fill fails,
// nothing of the case exists. ErrExists when the name is taken.
func (l *Ledger) ImportCase(name, description string, created time.Time, fill func(w *CaseWriter) error) (Case, error) {
	name, err := CheckCaseName(name)
	if err != nil {
		return Case{}, err
	}
	var c Case
	err = l.db.Update(func(tx *bolt.Tx) error {
		names := tx.Bucket(bktNames)
		if names.Get([]byte(strings.ToLower(name))) != nil {
			return fmt.Errorf("case %q: %w", name, ErrExists)
		}
		cases := tx.Bucket(bktCases)
		id, err := cases.NextSequence()
		if err != nil {
			return err
		}
		// Leftovers under a never-committed ID (a crash mid-import) must
		// not leak into this case.
		for _, b := range [][]byte{bktFiles, bktIOCs, bktTags, bktHits, bktSHA} {
			if err := deletePrefix(tx.Bucket(b), u64(id)); err != nil {
				return err
			}
		}
		for _, name := range [][]byte{bktMembers, bktComments} {
			if b := tx.Bucket(name); b != nil {
				if err := deletePrefix(b, u64(id)); err != nil {
					return err
				}
			}
		}
		c = Case{ID: id, Name: name, Description: description, Created: created}
		if c.Created.IsZero() {
			c.Created = time.Now().UTC()
		}
		if err := putJSON(cases, u64(id), c); err != nil {
			return err
		}
		if err := names.Put([]byte(strings.ToLower(name)), u64(id)); err != nil {
			return err
		}
		return fill(&CaseWriter{tx: tx, id: id})
	})
	return c, err
}

// CaseAudit calls fn for the audit entries about a case, oldest first:
// those whose target names it as the web layer does ("case 3 (name)").
func (l *Ledger) CaseAudit(c Case, fn func(e AuditEntry) error) error {
	prefix := fmt.Sprintf("case %d (", c.ID)
	return l.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bktAudit).Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			if !bytes.Contains(v, []byte(prefix)) {
				continue // cheap pre-filter before decoding
			}
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if strings.HasPrefix(e.Target, prefix) {
				if err := fn(e); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// DeleteCase removes a case and every record of it (files, their states
// and sha256 entries, move intents, IOCs, hits, tags) in one
// transaction. The audit log keeps what happened to it.
func (l *Ledger) DeleteCase(caseID uint64) (Case, error) {
	var c Case
	err := l.db.Update(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bktCases), u64(caseID), &c); err != nil {
			return fmt.Errorf("case %d: %w", caseID, err)
		}
		p := u64(caseID)
		for _, b := range [][]byte{bktFiles, bktSHA, bktMoves, bktIOCs, bktHits, bktTags} {
			if err := deletePrefix(tx.Bucket(b), p); err != nil {
				return err
			}
		}
		for _, name := range [][]byte{bktSuppress, bktSaved, bktHistory, bktMembers, bktComments} {
			if b := tx.Bucket(name); b != nil {
				if err := deletePrefix(b, p); err != nil {
					return err
				}
			}
		}
		states := tx.Bucket(bktByState)
		if err := states.ForEachBucket(func(k []byte) error {
			return deletePrefix(states.Bucket(k), p)
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bktNames).Delete([]byte(strings.ToLower(c.Name))); err != nil {
			return err
		}
		return tx.Bucket(bktCases).Delete(u64(caseID))
	})
	return c, err
}

// Case statuses. A closed or archived case is read-only: the web layer
// and the CLI refuse changes to it (ErrReadOnly) until it is reopened.
const (
	CaseOpen     = "open"
	CaseClosed   = "closed"
	CaseArchived = "archived"
)

// ErrReadOnly reports a change refused because the case is closed or
// archived.
var ErrReadOnly = errors.New("case is read-only")

// ReadOnly reports whether the case refuses changes.
func (c Case) ReadOnly() bool { return c.Status == CaseClosed || c.Status == CaseArchived }

// CheckWritable returns ErrReadOnly, with the case's status and how to
// lift it, when the case refuses changes.
func (c Case) CheckWritable() error {
	if c.ReadOnly() {
		return fmt.Errorf("case %s is %s; reopen it to make changes: %w", c.Name, c.Status, ErrReadOnly)
	}
	return nil
}

// SetCaseStatus sets a case's status (open, closed or archived).
func (l *Ledger) SetCaseStatus(caseID uint64, status string) (Case, error) {
	switch status {
	case CaseOpen, CaseClosed, CaseArchived:
	default:
		return Case{}, fmt.Errorf("status %q: want open, closed or archived: %w", status, ErrInvalid)
	}
	var c Case
	err := l.db.Update(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bktCases), u64(caseID), &c); err != nil {
			return fmt.Errorf("case %d: %w", caseID, err)
		}
		c.Status = status
		return putJSON(tx.Bucket(bktCases), u64(caseID), c)
	})
	return c, err
}

// SetCaseRulePacks records the Sigma rule packs a case runs (nil: the
// default packs). The names are the caller's to check.
func (l *Ledger) SetCaseRulePacks(caseID uint64, packs []string) (Case, error) {
	var c Case
	err := l.db.Update(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bktCases), u64(caseID), &c); err != nil {
			return fmt.Errorf("case %d: %w", caseID, err)
		}
		c.RulePacks = packs
		return putJSON(tx.Bucket(bktCases), u64(caseID), c)
	})
	return c, err
}

// SetCaseStore records where a case's events live (a StoreURL's String)
// and the origin naming this ledger's events there. Chosen once, when the
// case's events are first opened.
func (l *Ledger) SetCaseStore(caseID uint64, storeURL, origin string) (Case, error) {
	var c Case
	err := l.db.Update(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bktCases), u64(caseID), &c); err != nil {
			return fmt.Errorf("case %d: %w", caseID, err)
		}
		c.Store, c.Origin = storeURL, origin
		return putJSON(tx.Bucket(bktCases), u64(caseID), c)
	})
	return c, err
}
