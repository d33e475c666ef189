package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The analyst's workspace: saved searches per case, search templates for
// every case, each user's recent searches per case and chosen result
// columns. The buckets are created on first use, so older ledgers need no
// migration; the starter templates are written when the templates bucket
// is first made.
var (
	bktSaved     = []byte("saved_searches")   // caseID|id → SavedSearch JSON
	bktTemplates = []byte("search_templates") // id → SavedSearch JSON (CaseID 0)
	bktHistory   = []byte("search_history")   // caseID|user → []HistoryEntry JSON, newest first
	bktPrefs     = []byte("user_prefs")       // user → Prefs JSON
)

// SavedSearch is a named search: its query and the rest of the search
// page's state (filters, time range, sort) as the page's URL parameters,
// and its result columns. In a case (CaseID > 0) it is a saved search,
// seen by everyone who can see the case; with CaseID 0 it is a template,
// usable in every case and edited by admins.
type SavedSearch struct {
	ID          uint64            `json:"id"`
	CaseID      uint64            `json:"case_id,omitempty"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Query       string            `json:"query"`
	Params      map[string]string `json:"params,omitempty"`
	Columns     []string          `json:"columns,omitempty"`
	Owner       string            `json:"owner,omitempty"`
	Created     time.Time         `json:"created"`
	UpdatedBy   string            `json:"updated_by,omitempty"`
	Updated     time.Time         `json:"updated,omitzero"`
}

// SearchParams are the search page's parameters a saved search may keep
// besides its query.
var SearchParams = []string{"time", "from", "to", "channel", "event_id", "computer", "provider", "sigma_level",
	"ioc", "starred", "sort", "sort_field"}

// Bounds of a saved search's parts.
const (
	maxSavedName    = 200
	maxSavedText    = 8000
	maxSavedColumns = 40
	maxHistory      = 25
)

// validSaved checks and trims a saved search or template.
func validSaved(s *SavedSearch) error {
	s.Name, s.Query, s.Description = strings.TrimSpace(s.Name), strings.TrimSpace(s.Query), strings.TrimSpace(s.Description)
	switch {
	case s.Name == "":
		return fmt.Errorf("a saved search needs a name: %w", ErrInvalid)
	case len(s.Name) > maxSavedName:
		return fmt.Errorf("name longer than %d bytes: %w", maxSavedName, ErrInvalid)
	case len(s.Query) > maxSavedText || len(s.Description) > maxSavedText:
		return fmt.Errorf("query or description longer than %d bytes: %w", maxSavedText, ErrInvalid)
	case len(s.Columns) > maxSavedColumns:
		return fmt.Errorf("more than %d columns: %w", maxSavedColumns, ErrInvalid)
	}
	if err := ValidateQuery(s.Query, QueryOptions{}); err != nil {
		return err
	}
	for k, v := range s.Params {
		if !slices.Contains(SearchParams, k) {
			return fmt.Errorf("unknown search parameter %q (known: %s): %w", k, strings.Join(SearchParams, ", "), ErrInvalid)
		}
		if len(v) > maxSavedText {
			return fmt.Errorf("parameter %s longer than %d bytes: %w", k, maxSavedText, ErrInvalid)
		}
		if v == "" {
			delete(s.Params, k)
		}
	}
	return validColumns(s.Columns)
}

func validColumns(cols []string) error {
	for _, c := range cols {
		if c = strings.TrimSpace(c); c == "" || len(c) > 200 {
			return fmt.Errorf("column name %q: empty or longer than 200 bytes: %w", c, ErrInvalid)
		}
	}
	return nil
}

// AddSavedSearch stores s in its case (s.CaseID > 0) or as a template
// (0), owned by s.Owner.
func (l *Ledger) AddSavedSearch(s SavedSearch) (SavedSearch, error) {
	if err := validSaved(&s); err != nil {
		return SavedSearch{}, err
	}
	if s.CaseID > 0 {
		if _, err := l.Case(s.CaseID); err != nil {
			return SavedSearch{}, err
		}
	}
	s.Created, s.Updated, s.UpdatedBy = time.Now().UTC(), time.Time{}, ""
	err := l.db.Update(func(tx *bolt.Tx) error {
		b, key, err := savedBucket(tx, s.CaseID)
		if err != nil {
			return err
		}
		if s.ID, err = b.NextSequence(); err != nil {
			return err
		}
		return putJSON(b, key(s.ID), s)
	})
	if err != nil {
		return SavedSearch{}, fmt.Errorf("store saved search: %w", err)
	}
	return s, nil
}

// savedBucket is the bucket of a case's saved searches (caseID > 0) or of
// the templates, and the key of an ID in it. The templates bucket is
// seeded with the starter set when made.
func savedBucket(tx *bolt.Tx, caseID uint64) (*bolt.Bucket, func(uint64) []byte, error) {
	if caseID > 0 {
		b, err := tx.CreateBucketIfNotExists(bktSaved)
		return b, func(id uint64) []byte { return key2(caseID, id) }, err
	}
	b, err := templatesBucket(tx)
	return b, u64, err
}

// templatesBucket returns the templates bucket, making and seeding it on
// first use.
func templatesBucket(tx *bolt.Tx) (*bolt.Bucket, error) {
	if b := tx.Bucket(bktTemplates); b != nil {
		return b, nil
	}
	b, err := tx.CreateBucket(bktTemplates)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	for _, t := range StarterTemplates() {
		if t.ID, err = b.NextSequence(); err != nil {
			return nil, err
		}
		t.Owner, t.Created = "casescope", now
		if err := putJSON(b, u64(t.ID), t); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// UpdateSavedSearch replaces the name, description, query, params and
// columns of a saved search (caseID > 0) or template (0).
func (l *Ledger) UpdateSavedSearch(caseID, id uint64, by string, fn func(s *SavedSearch) error) (SavedSearch, error) {
	var s SavedSearch
	err := l.db.Update(func(tx *bolt.Tx) error {
		b, key, err := savedBucket(tx, caseID)
		if err != nil {
			return err
		}
		if err := getJSON(b, key(id), &s); err != nil {
			return fmt.Errorf("saved search %d: %w", id, err)
		}
		if err := fn(&s); err != nil {
			return err
		}
		s.ID, s.CaseID = id, caseID
		if err := validSaved(&s); err != nil {
			return err
		}
		s.UpdatedBy, s.Updated = by, time.Now().UTC()
		return putJSON(b, key(id), s)
	})
	if err != nil {
		return SavedSearch{}, err
	}
	return s, nil
}

// DeleteSavedSearch removes a saved search (caseID > 0) or template (0).
func (l *Ledger) DeleteSavedSearch(caseID, id uint64) (SavedSearch, error) {
	var s SavedSearch
	err := l.db.Update(func(tx *bolt.Tx) error {
		b, key, err := savedBucket(tx, caseID)
		if err != nil {
			return err
		}
		if err := getJSON(b, key(id), &s); err != nil {
			return fmt.Errorf("saved search %d: %w", id, err)
		}
		return b.Delete(key(id))
	})
	if err != nil {
		return SavedSearch{}, err
	}
	return s, nil
}

// SavedSearch returns one saved search (caseID > 0) or template (0).
func (l *Ledger) SavedSearch(caseID, id uint64) (SavedSearch, error) {
	var s SavedSearch
	err := l.db.View(func(tx *bolt.Tx) error {
		bkt, key := bktSaved, key2(caseID, id)
		if caseID == 0 {
			bkt, key = bktTemplates, u64(id)
		}
		b := tx.Bucket(bkt)
		if b == nil {
			return fmt.Errorf("saved search %d: %w", id, ErrNotFound)
		}
		if err := getJSON(b, key, &s); err != nil {
			return fmt.Errorf("saved search %d: %w", id, err)
		}
		return nil
	})
	if err != nil && caseID == 0 && errors.Is(err, ErrNotFound) {
		// The templates bucket may not be made yet: seed it and retry.
		if _, lerr := l.SavedSearches(0); lerr != nil {
			return SavedSearch{}, lerr
		}
		err = l.db.View(func(tx *bolt.Tx) error {
			if err := getJSON(tx.Bucket(bktTemplates), u64(id), &s); err != nil {
				return fmt.Errorf("saved search %d: %w", id, err)
			}
			return nil
		})
	}
	return s, err
}

// SavedSearches lists a case's saved searches (caseID > 0) or the
// templates (0; the starter set is written on first use), by name.
func (l *Ledger) SavedSearches(caseID uint64) ([]SavedSearch, error) {
	var out []SavedSearch
	read := func(tx *bolt.Tx) error {
		var err error
		if caseID == 0 {
			out, err = scanJSON[SavedSearch](tx.Bucket(bktTemplates), nil)
		} else if b := tx.Bucket(bktSaved); b != nil {
			out, err = scanJSON[SavedSearch](b, u64(caseID))
		}
		return err
	}
	var err error
	if caseID == 0 {
		err = l.db.Update(func(tx *bolt.Tx) error {
			if _, err := templatesBucket(tx); err != nil {
				return err
			}
			return read(tx)
		})
	} else {
		err = l.db.View(read)
	}
	if err != nil {
		return nil, fmt.Errorf("read saved searches: %w", err)
	}
	slices.SortStableFunc(out, func(a, b SavedSearch) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	if out == nil {
		out = []SavedSearch{}
	}
	return out, nil
}

// HistoryEntry is one search a user ran in a case.
type HistoryEntry struct {
	Query  string            `json:"query"`
	Params map[string]string `json:"params,omitempty"`
	At     time.Time         `json:"at"`
}

// RecordSearch puts a search first in the user's history of the case,
// dropping an earlier entry with the same query and parameters; the
// history keeps the last maxHistory.
func (l *Ledger) RecordSearch(caseID uint64, user string, e HistoryEntry) error {
	if user == "" {
		return nil
	}
	e.At = time.Now().UTC()
	for k, v := range e.Params {
		if v == "" || !slices.Contains(SearchParams, k) {
			delete(e.Params, k)
		}
	}
	err := l.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktHistory)
		if err != nil {
			return err
		}
		k := append(u64(caseID), user...)
		var list []HistoryEntry
		if raw := b.Get(k); raw != nil {
			if err := json.Unmarshal(raw, &list); err != nil {
				return fmt.Errorf("decode history: %w", err)
			}
		}
		list = slices.DeleteFunc(list, func(o HistoryEntry) bool {
			return o.Query == e.Query && mapsEqual(o.Params, e.Params)
		})
		list = append([]HistoryEntry{e}, list...)
		if len(list) > maxHistory {
			list = list[:maxHistory]
		}
		return putJSON(b, k, list)
	})
	if err != nil {
		return fmt.Errorf("record search: %w", err)
	}
	return nil
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// SearchHistory returns the user's recent searches in a case, newest
// first.
func (l *Ledger) SearchHistory(caseID uint64, user string) ([]HistoryEntry, error) {
	out := []HistoryEntry{}
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktHistory)
		if b == nil {
			return nil
		}
		if raw := b.Get(append(u64(caseID), user...)); raw != nil {
			return json.Unmarshal(raw, &out)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read search history: %w", err)
	}
	return out, nil
}

// Prefs are a user's own settings of the search page: the result columns
// used when a search names none.
type Prefs struct {
	Columns []string `json:"columns"`
}

// UserPrefs returns a user's settings (empty when never set).
func (l *Ledger) UserPrefs(user string) (Prefs, error) {
	p := Prefs{Columns: []string{}}
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktPrefs)
		if b == nil || b.Get([]byte(user)) == nil {
			return nil
		}
		return getJSON(b, []byte(user), &p)
	})
	if err != nil {
		return Prefs{}, fmt.Errorf("read settings of %s: %w", user, err)
	}
	return p, nil
}

// SetUserPrefs stores a user's settings.
func (l *Ledger) SetUserPrefs(user string, p Prefs) error {
	if len(p.Columns) > maxSavedColumns {
		return fmt.Errorf("more than %d columns: %w", maxSavedColumns, ErrInvalid)
	}
	if err := validColumns(p.Columns); err != nil {
		return err
	}
	err := l.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktPrefs)
		if err != nil {
			return err
		}
		return putJSON(b, []byte(user), p)
	})
	if err != nil {
		return fmt.Errorf("store settings of %s: %w", user, err)
	}
	return nil
}

// StarterTemplates are the search templates a new ledger ships with.
func StarterTemplates() []SavedSearch {
	const (
		rcm = `"Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"`
		lsm = `"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"`
	)
	return []SavedSearch{
		{Name: "RDP logons", Description: "Remote interactive logons (4624 type 10), RDP authentications (1149) and session logon, logoff and reconnect (21, 23, 24, 25)",
			Query:   `(EventID:4624 AND LogonType:10) OR (Channel:` + rcm + ` AND EventID:1149) OR (Channel:` + lsm + ` AND EventID:(21 OR 23 OR 24 OR 25))`,
			Columns: []string{"TargetUserName", "IpAddress", "Param1", "Param3", "User", "Address"}},
		{Name: "Failed logons", Description: "Failed logons (4625) and Kerberos pre-authentication failures (4771)",
			Query:   `Channel:Security AND EventID:(4625 OR 4771)`,
			Columns: []string{"TargetUserName", "IpAddress", "WorkstationName", "LogonType", "SubStatus", "Status"}},
		{Name: "New services", Description: "Services installed (System 7045, Security 4697)",
			Query:   `(Channel:System AND EventID:7045) OR (Channel:Security AND EventID:4697)`,
			Columns: []string{"ServiceName", "ImagePath", "ServiceFileName", "AccountName", "SubjectUserName"}},
		{Name: "Scheduled tasks", Description: "Tasks created, deleted, enabled, disabled or changed (4698–4702) and Task Scheduler registrations and runs",
			Query:   `(Channel:Security AND EventID:(4698 OR 4699 OR 4700 OR 4701 OR 4702)) OR (Channel:"Microsoft-Windows-TaskScheduler/Operational" AND EventID:(106 OR 140 OR 141 OR 200 OR 201))`,
			Columns: []string{"TaskName", "SubjectUserName", "UserContext", "ActionName"}},
		{Name: "Log clearing", Description: "Security log cleared (1102) and other logs cleared (System 104)",
			Query:   `(Channel:Security AND EventID:1102) OR (Channel:System AND EventID:104)`,
			Columns: []string{"SubjectUserName", "Channel", "SubjectDomainName"}},
		{Name: "PowerShell script blocks", Description: "Script block logging (4104)",
			Query:   `Channel:"Microsoft-Windows-PowerShell/Operational" AND EventID:4104`,
			Columns: []string{"ScriptBlockText", "Path"}},
		{Name: "Account changes", Description: "Accounts created, enabled, disabled, deleted, changed, locked out, renamed, passwords reset, and group memberships changed",
			Query:   `Channel:Security AND EventID:(4720 OR 4722 OR 4723 OR 4724 OR 4725 OR 4726 OR 4738 OR 4740 OR 4767 OR 4781 OR 4728 OR 4729 OR 4732 OR 4733 OR 4756 OR 4757)`,
			Columns: []string{"TargetUserName", "SubjectUserName", "MemberName", "TargetDomainName"}},
	}
}
