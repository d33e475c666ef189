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

// IOC is an indicator of compromise of a case, as stored.
type IOC struct {
	ID          uint64    `json:"id"`
	CaseID      uint64    `json:"case_id"`
	Type        string    `json:"type"`
	Value       string    `json:"value"`
	Enabled     bool      `json:"enabled"`
	Description string    `json:"description"`
	Source      string    `json:"source"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// Key is the IOC's ID as used in hits and the index ("12").
func (i IOC) Key() string { return strconv.FormatUint(i.ID, 10) }

// AddIOCs stores new IOCs of a case in one transaction; an IOC with the
// same type and value as an existing one updates it instead.
func (l *Ledger) AddIOCs(caseID uint64, iocs []IOC) ([]IOC, error) {
	out := make([]IOC, 0, len(iocs))
	err := l.db.Update(func(tx *bolt.Tx) error {
		out = out[:0]
		if tx.Bucket(bktCases).Get(u64(caseID)) == nil {
			return fmt.Errorf("case %d: %w", caseID, ErrNotFound)
		}
		b := tx.Bucket(bktIOCs)
		existing := map[string]IOC{}
		c := b.Cursor()
		p := u64(caseID)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			var i IOC
			if err := json.Unmarshal(v, &i); err != nil {
				return err
			}
			existing[i.Type+"\x00"+strings.ToLower(i.Value)] = i
		}
		now := time.Now().UTC()
		for _, in := range iocs {
			key := in.Type + "\x00" + strings.ToLower(in.Value)
			if old, ok := existing[key]; ok {
				old.Enabled = in.Enabled
				if in.Description != "" {
					old.Description = in.Description
				}
				if in.Source != "" {
					old.Source = in.Source
				}
				old.Updated = now
				if err := putJSON(b, key2(caseID, old.ID), old); err != nil {
					return err
				}
				existing[key] = old
				out = append(out, old)
				continue
			}
			id, err := b.NextSequence()
			if err != nil {
				return err
			}
			in.ID, in.CaseID, in.Created, in.Updated = id, caseID, now, now
			if err := putJSON(b, key2(caseID, id), in); err != nil {
				return err
			}
			existing[key] = in
			out = append(out, in)
		}
		return nil
	})
	return out, err
}

// IOCs lists a case's IOCs in creation order.
func (l *Ledger) IOCs(caseID uint64) ([]IOC, error) {
	var out []IOC
	err := l.db.View(func(tx *bolt.Tx) (err error) {
		out, err = scanJSON[IOC](tx.Bucket(bktIOCs), u64(caseID))
		return err
	})
	return out, err
}

// UpdateIOC applies fn to one IOC.
func (l *Ledger) UpdateIOC(caseID, id uint64, fn func(i *IOC) error) (IOC, error) {
	var i IOC
	err := l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktIOCs)
		if err := getJSON(b, key2(caseID, id), &i); err != nil {
			return fmt.Errorf("ioc %d: %w", id, err)
		}
		if err := fn(&i); err != nil {
			return err
		}
		i.ID, i.CaseID, i.Updated = id, caseID, time.Now().UTC()
		return putJSON(b, key2(caseID, id), i)
	})
	return i, err
}

// DeleteIOC removes one IOC.
func (l *Ledger) DeleteIOC(caseID, id uint64) error {
	return l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktIOCs)
		if b.Get(key2(caseID, id)) == nil {
			return fmt.Errorf("ioc %d: %w", id, ErrNotFound)
		}
		return b.Delete(key2(caseID, id))
	})
}
