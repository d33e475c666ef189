package store

import (
	"bytes"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bktIOCs     = []byte("iocs")     // caseID|iocID → IOC JSON
	bktHits     = []byte("hits")     // caseID|fileID|docID → EventHits JSON
	bktTags     = []byte("tags")     // caseID|docID → Tag JSON
	bktUsers    = []byte("users")    // name → User JSON
	bktAudit    = []byte("audit")    // seq → AuditEntry JSON
	bktSessions = []byte("sessions") // token hash → Session JSON
)

// SigmaHit is one Sigma rule that matched an event.
type SigmaHit struct {
	RuleID string   `json:"rule_id"`
	Title  string   `json:"title"`
	Level  string   `json:"level"`
	Tags   []string `json:"tags,omitempty"`
	// Pack is the rule's pack (core, emerging-threats, threat-hunting,
	// custom); empty in hits stored before packs.
	Pack string `json:"pack,omitempty"`
	// Correlation is the type of a Sigma correlation rule's hit
	// (event_count, value_count, temporal, temporal_ordered): the event
	// is one of the events of a correlation match. "" for a detection
	// rule's hit.
	Correlation string `json:"correlation,omitempty"`
}

// CorrInput records that a rule some correlation refers to hit the
// event, with the event's values of the fields the correlations need
// (group-by, value_count field), so correlations are evaluated over the
// ledger without reading the events.
type CorrInput struct {
	RuleID string            `json:"rule_id"`
	Fields map[string]string `json:"fields,omitempty"`
}

// IOCHit is one IOC found in an event field.
type IOCHit struct {
	IOCID string `json:"ioc_id"`
	Type  string `json:"type"`
	Field string `json:"field"`
	Value string `json:"value"`
}

// EventHits are the detections of one event, kept in the ledger so
// summaries, re-hunts and the doctor do not need the index.
type EventHits struct {
	DocID    string     `json:"doc_id"`
	FileID   uint64     `json:"file_id"`
	Time     time.Time  `json:"time"`
	Computer string     `json:"computer"`
	Channel  string     `json:"channel"`
	EventID  uint32     `json:"event_id"`
	Sigma    []SigmaHit `json:"sigma,omitempty"`
	IOCs     []IOCHit   `json:"iocs,omitempty"`
	// Suppressed are Sigma hits an active Suppression kept out of Sigma
	// (and so out of counts, summaries and the index).
	Suppressed []SigmaHit `json:"suppressed,omitempty"`
	// Corr are the event's inputs to correlation rules.
	Corr []CorrInput `json:"corr,omitempty"`
}

func hitPrefix(caseID, fileID uint64) []byte { return key2(caseID, fileID) }

// PutHits replaces the stored hits of a file's events: hits lists the
// events with detections; events of the file not in hits lose theirs.
func (l *Ledger) PutHits(caseID, fileID uint64, hits []EventHits) error {
	recs, err := encodeHits(caseID, fileID, hits)
	if err != nil {
		return err
	}
	return l.group.do(func(tx *bolt.Tx) error {
		if err := deletePrefix(tx.Bucket(bktHits), hitPrefix(caseID, fileID)); err != nil {
			return err
		}
		return putHitRecords(tx, recs)
	})
}

// hitRecord is one event's hits as the ledger stores them.
type hitRecord struct{ k, v []byte }

// encodeHits renders hits for the ledger before the transaction, on the
// caller's goroutine: the group committer's one goroutine then only
// writes them, and is not the pipeline's JSON encoder.
func encodeHits(caseID, fileID uint64, hits []EventHits) ([]hitRecord, error) {
	out := make([]hitRecord, len(hits))
	p := hitPrefix(caseID, fileID)
	for i := range hits {
		v, err := json.Marshal(&hits[i])
		if err != nil {
			return nil, err
		}
		out[i] = hitRecord{append(p[:len(p):len(p)], hits[i].DocID...), v}
	}
	return out, nil
}

// hitsFill is how full the hits bucket's pages are left when a
// transaction splits them. A file's hits are written once, under a key
// range of their own (case, file), and not touched again until the file
// is re-read (which deletes them first): the pages they fill are never
// inserted into later, so bbolt's default of half-full pages for random
// inserts only doubled the pages each commit wrote.
const hitsFill = 0.9

func putHitRecords(tx *bolt.Tx, recs []hitRecord) error {
	b := tx.Bucket(bktHits)
	b.FillPercent = hitsFill
	for _, r := range recs {
		if err := b.Put(r.k, r.v); err != nil {
			return err
		}
	}
	return nil
}

// CompleteFile stores the last of a file's hits beside those AddHits
// stored during the attempt and applies fn to its record in one
// transaction, committed with the other files' writes in flight (group
// commit); it returns once the completion is durable. The attempt starts
// with DropHits, so the file's stored hits are then exactly the
// attempt's. fn may run more than once.
func (l *Ledger) CompleteFile(caseID, fileID uint64, hits []EventHits, fn func(f *File) error) (File, error) {
	recs, err := encodeHits(caseID, fileID, hits)
	if err != nil {
		return File{}, err
	}
	var f File
	// Lazy: the pipeline completes files off its workers, so the
	// completion may wait a little to share its fsync with others.
	err = l.group.doLazy(func(tx *bolt.Tx) (err error) {
		if err := putHitRecords(tx, recs); err != nil {
			return err
		}
		f, err = updateFile(tx, caseID, fileID, fn)
		return err
	})
	return f, err
}

// AddHits stores hits of a file's events beside those already stored
// (an event's earlier record is overwritten), through the group
// committer. The pipeline stores a file's hits in pieces as it reads it,
// so that neither memory nor one transaction holds a large file's hits
// whole.
func (l *Ledger) AddHits(caseID, fileID uint64, hits []EventHits) error {
	if len(hits) == 0 {
		return nil
	}
	recs, err := encodeHits(caseID, fileID, hits)
	if err != nil {
		return err
	}
	return l.group.do(func(tx *bolt.Tx) error { return putHitRecords(tx, recs) })
}

// dropHitsPiece bounds the hit records one DropHits transaction deletes:
// bbolt keeps every page a transaction touches in memory until it
// commits, and a large file has millions of hits.
const dropHitsPiece = 8192

// DropHits deletes a file's stored hits in transactions of at most
// dropHitsPiece records each. It writes nothing when the file has none
// (a read-only look), so a file's first attempt costs no commit.
func (l *Ledger) DropHits(caseID, fileID uint64) error {
	p := hitPrefix(caseID, fileID)
	for {
		var any bool
		if err := l.db.View(func(tx *bolt.Tx) error {
			k, _ := tx.Bucket(bktHits).Cursor().Seek(p)
			any = k != nil && bytes.HasPrefix(k, p)
			return nil
		}); err != nil || !any {
			return err
		}
		if err := l.group.do(func(tx *bolt.Tx) error {
			c := tx.Bucket(bktHits).Cursor()
			n := 0
			for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && n < dropHitsPiece; k, _ = c.Seek(p) {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			return nil
		}); err != nil {
			return err
		}
	}
}

// Hits calls fn for every stored event hit of a case (fileID 0 = all
// files).
func (l *Ledger) Hits(caseID, fileID uint64, fn func(h *EventHits) error) error {
	return l.db.View(func(tx *bolt.Tx) error {
		p := u64(caseID)
		if fileID != 0 {
			p = hitPrefix(caseID, fileID)
		}
		c := tx.Bucket(bktHits).Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			var h EventHits
			if err := json.Unmarshal(v, &h); err != nil {
				return err
			}
			if err := fn(&h); err != nil {
				return err
			}
		}
		return nil
	})
}

// EventHitsOf returns one event's stored hits (ErrNotFound when it has
// none).
func (l *Ledger) EventHitsOf(caseID, fileID uint64, docID string) (EventHits, error) {
	var h EventHits
	err := l.db.View(func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bktHits), append(hitPrefix(caseID, fileID), []byte(docID)...), &h)
	})
	return h, err
}
