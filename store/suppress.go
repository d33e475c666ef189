package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bktSuppress holds the false-positive suppressions: caseID|id →
// Suppression JSON. It is created on first use, so ledgers made before it
// need no migration.
var bktSuppress = []byte("suppressions")

// Suppression marks a Sigma rule's hits in a case as false positives:
// every hit of the rule, or only those on events whose Field equals Value
// (case-insensitive; a data field, or Computer/Channel/Provider). The
// engine applies active suppressions when it detects (ingest, re-process,
// Sigma re-run), so they survive re-processing; suppressed hits are kept
// apart (EventHits.Suppressed), out of counts and searches. Suppressions
// are never deleted: turning one off (Active false) is recorded with who
// and when.
type Suppression struct {
	ID      uint64    `json:"id"`
	CaseID  uint64    `json:"case_id"`
	RuleID  string    `json:"rule_id"`
	Title   string    `json:"title,omitempty"` // the rule's title when suppressed
	Field   string    `json:"field,omitempty"` // "" = every hit of the rule
	Value   string    `json:"value,omitempty"`
	Reason  string    `json:"reason"`
	Author  string    `json:"author"`
	Created time.Time `json:"created"`
	Active  bool      `json:"active"`
	// ChangedBy and Changed record the last switch on or off.
	ChangedBy string    `json:"changed_by,omitempty"`
	Changed   time.Time `json:"changed,omitzero"`
}

// Applies reports whether s suppresses a hit of ruleID on an event
// whose value of s.Field is value (ignored when s.Field is empty).
func (s Suppression) Applies(ruleID, value string) bool {
	return s.Active && s.RuleID == ruleID && (s.Field == "" || strings.EqualFold(s.Value, value))
}

// AddSuppression stores a new active suppression for s.CaseID.
func (l *Ledger) AddSuppression(s Suppression) (Suppression, error) {
	s.RuleID, s.Field, s.Reason = strings.TrimSpace(s.RuleID), strings.TrimSpace(s.Field), strings.TrimSpace(s.Reason)
	switch {
	case s.RuleID == "":
		return Suppression{}, fmt.Errorf("suppression needs a rule id: %w", ErrInvalid)
	case s.Reason == "":
		return Suppression{}, fmt.Errorf("suppression needs a reason: %w", ErrInvalid)
	case s.Field == "" && s.Value != "":
		return Suppression{}, fmt.Errorf("suppression value %q without a field: %w", s.Value, ErrInvalid)
	}
	if _, err := l.Case(s.CaseID); err != nil {
		return Suppression{}, err
	}
	s.Active, s.Created = true, time.Now().UTC()
	err := l.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktSuppress)
		if err != nil {
			return err
		}
		if s.ID, err = b.NextSequence(); err != nil {
			return err
		}
		return putJSON(b, key2(s.CaseID, s.ID), s)
	})
	if err != nil {
		return Suppression{}, fmt.Errorf("store suppression: %w", err)
	}
	return s, nil
}

// Suppressions lists a case's suppressions, oldest first.
func (l *Ledger) Suppressions(caseID uint64) ([]Suppression, error) {
	var out []Suppression
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktSuppress)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		prefix := u64(caseID)
		for k, v := c.Seek(prefix); k != nil && len(k) >= 8 && string(k[:8]) == string(prefix); k, v = c.Next() {
			var s Suppression
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("decode suppression: %w", err)
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read suppressions: %w", err)
	}
	return out, nil
}

// SetSuppressionActive switches a suppression on or off, recording who.
func (l *Ledger) SetSuppressionActive(caseID, id uint64, active bool, by string) (Suppression, error) {
	var s Suppression
	err := l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktSuppress)
		var raw []byte
		if b != nil {
			raw = b.Get(key2(caseID, id))
		}
		if raw == nil {
			return fmt.Errorf("suppression %d: %w", id, ErrNotFound)
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("decode suppression: %w", err)
		}
		s.Active, s.ChangedBy, s.Changed = active, by, time.Now().UTC()
		return putJSON(b, key2(caseID, id), s)
	})
	if err != nil {
		return Suppression{}, err
	}
	return s, nil
}

// PutSuppression writes a suppression under an imported case, keeping
// its ID and history.
func (w *CaseWriter) PutSuppression(s Suppression) error {
	s.CaseID = w.id
	b, err := w.tx.CreateBucketIfNotExists(bktSuppress)
	if err != nil {
		return err
	}
	if err := bumpSequence(b, s.ID); err != nil {
		return err
	}
	return putJSON(b, key2(w.id, s.ID), s)
}
