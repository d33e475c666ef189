package engine

import (
	"casescope/internal/level"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"casescope/engine/ioc"
	"casescope/store"
)

// RuleSummary is one Sigma rule's hits in a case.
type RuleSummary struct {
	RuleID string   `json:"rule_id"`
	Title  string   `json:"title"`
	Level  string   `json:"level"`
	Tags   []string `json:"tags,omitempty"`
	Pack   string   `json:"pack"` // the rule's pack (sigma.Packs)
	// Correlation is the type of a correlation rule (event_count,
	// value_count, temporal, temporal_ordered); Count is then the events
	// of its matches.
	Correlation string    `json:"correlation,omitempty"`
	Count       int       `json:"count"`
	First       time.Time `json:"first_seen"`
	Last        time.Time `json:"last_seen"`
	Computers   []string  `json:"computers"`
}

// SigmaSummary summarises a case's Sigma hits by rule, highest level and
// count first.
func (e *Engine) SigmaSummary(caseID uint64) ([]RuleSummary, error) {
	by := map[string]*RuleSummary{}
	comps := map[string]map[string]bool{}
	err := e.ledger.Hits(caseID, 0, func(h *store.EventHits) error {
		for _, s := range h.Sigma {
			r := by[s.RuleID]
			if r == nil {
				r = &RuleSummary{RuleID: s.RuleID, Title: s.Title, Level: s.Level, Tags: s.Tags, Pack: s.Pack,
					Correlation: s.Correlation, First: h.Time, Last: h.Time}
				by[s.RuleID] = r
				comps[s.RuleID] = map[string]bool{}
			}
			r.Count++
			if h.Time.Before(r.First) {
				r.First = h.Time
			}
			if h.Time.After(r.Last) {
				r.Last = h.Time
			}
			comps[s.RuleID][h.Computer] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var packOf map[string]string // hits stored before packs: the loaded rule's
	out := make([]RuleSummary, 0, len(by))
	for id, r := range by {
		if r.Pack == "" {
			if packOf == nil {
				packOf = map[string]string{}
				if rs := e.det.Rules(); rs != nil {
					for _, x := range rs.Rules() {
						packOf[x.ID] = x.Pack
					}
				}
			}
			r.Pack = packOf[id]
		}
		for c := range comps[id] {
			r.Computers = append(r.Computers, c)
		}
		sort.Strings(r.Computers)
		out = append(out, *r)
	}
	sort.Slice(out, func(a, b int) bool {
		ra, rb := level.Rank(out[a].Level), level.Rank(out[b].Level)
		if ra != rb {
			return ra > rb
		}
		if out[a].Count != out[b].Count {
			return out[a].Count > out[b].Count
		}
		return out[a].Title < out[b].Title
	})
	return out, nil
}

// IOCView is an IOC with its hits in the case.
type IOCView struct {
	store.IOC
	Hits      int       `json:"hits"` // events matched
	First     time.Time `json:"first_seen,omitzero"`
	Last      time.Time `json:"last_seen,omitzero"`
	Computers []string  `json:"computers"`
}

// IOCs lists a case's IOCs with per-IOC hit counts, first/last seen and
// computers.
func (e *Engine) IOCs(caseID uint64) ([]IOCView, error) {
	iocs, err := e.ledger.IOCs(caseID)
	if err != nil {
		return nil, err
	}
	views := make([]IOCView, len(iocs))
	pos := map[string]int{}
	comps := make([]map[string]bool, len(iocs))
	for i, c := range iocs {
		views[i] = IOCView{IOC: c, Computers: []string{}}
		pos[c.Key()] = i
		comps[i] = map[string]bool{}
	}
	err = e.ledger.Hits(caseID, 0, func(h *store.EventHits) error {
		seen := map[int]bool{}
		for _, ih := range h.IOCs {
			i, ok := pos[ih.IOCID]
			if !ok || seen[i] {
				continue
			}
			seen[i] = true
			v := &views[i]
			v.Hits++
			if v.First.IsZero() || h.Time.Before(v.First) {
				v.First = h.Time
			}
			if h.Time.After(v.Last) {
				v.Last = h.Time
			}
			comps[i][h.Computer] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range views {
		for c := range comps[i] {
			views[i].Computers = append(views[i].Computers, c)
		}
		sort.Strings(views[i].Computers)
	}
	return views, nil
}

// AddIOCs validates and stores IOCs, installs the case's new matcher and
// starts a re-hunt. It returns the stored IOCs and the re-hunt job.
func (e *Engine) AddIOCs(caseID uint64, in []ioc.IOC, source string) ([]store.IOC, Job, error) {
	recs := make([]store.IOC, 0, len(in))
	for _, i := range in {
		v, err := ioc.Validate(i)
		if err != nil {
			return nil, Job{}, fmt.Errorf("%w: %w", store.ErrInvalid, err)
		}
		src := v.Source
		if src == "" {
			src = source
		}
		recs = append(recs, store.IOC{Type: string(v.Type), Value: v.Value, Enabled: true, Description: v.Description, Source: src})
	}
	stored, err := e.ledger.AddIOCs(caseID, recs)
	if err != nil {
		return nil, Job{}, err
	}
	j, err := e.iocsChanged(caseID)
	return stored, j, err
}

// UpdateIOC changes an IOC (enable/disable, description, value) and
// re-hunts.
func (e *Engine) UpdateIOC(caseID, id uint64, fn func(i *store.IOC) error) (store.IOC, Job, error) {
	v, err := e.ledger.UpdateIOC(caseID, id, func(i *store.IOC) error {
		if err := fn(i); err != nil {
			return err
		}
		nv, err := ioc.Validate(ioc.IOC{Type: ioc.Type(i.Type), Value: i.Value, Enabled: i.Enabled})
		if err != nil {
			return fmt.Errorf("%w: %w", store.ErrInvalid, err)
		}
		i.Type, i.Value = string(nv.Type), nv.Value
		return nil
	})
	if err != nil {
		return store.IOC{}, Job{}, err
	}
	j, err := e.iocsChanged(caseID)
	return v, j, err
}

// DeleteIOC removes an IOC and re-hunts.
func (e *Engine) DeleteIOC(caseID, id uint64) (Job, error) {
	if err := e.ledger.DeleteIOC(caseID, id); err != nil {
		return Job{}, err
	}
	return e.iocsChanged(caseID)
}

func (e *Engine) iocsChanged(caseID uint64) (Job, error) {
	all, err := e.ledger.IOCs(caseID)
	if err != nil {
		return Job{}, err
	}
	if err := e.det.SetIOCs(caseID, all); err != nil {
		return Job{}, err
	}
	return e.Rescan(caseID, RescanIOC)
}

// LoadIOCs installs the stored IOCs of every case (at start-up).
func (e *Engine) LoadIOCs() error {
	cases, err := e.ledger.Cases()
	if err != nil {
		return err
	}
	for _, c := range cases {
		all, err := e.ledger.IOCs(c.ID)
		if err != nil {
			return err
		}
		if err := e.det.SetIOCs(c.ID, all); err != nil {
			return fmt.Errorf("case %s: %w", c.Name, err)
		}
	}
	return nil
}

// TagEvent sets an event's star, tags and note, and re-indexes the event
// so the tags are searchable.
func (e *Engine) TagEvent(ctx context.Context, caseID uint64, t store.Tag) (store.Tag, error) {
	tags, err := store.NormalizeTags(t.Tags)
	if err != nil {
		return store.Tag{}, err
	}
	t.Tags = tags
	if len(t.Note) > store.MaxCommentLen {
		return store.Tag{}, fmt.Errorf("note longer than %d characters: %w", store.MaxCommentLen, store.ErrInvalid)
	}
	v, err := e.Event(ctx, caseID, t.DocID)
	if err != nil {
		return store.Tag{}, err
	}
	// Keyed by the event's current document ID, whatever form (a legacy
	// "file-chunk-recordID" link) named it.
	t.DocID, t.FileID, t.Time = store.DocID(v.FileID, v.Event), v.FileID, v.Event.TimeCreated
	// A note (what clients before comment threads send) is a comment
	// by the tag's author.
	if strings.TrimSpace(t.Note) != "" {
		if _, err := e.ledger.AddComment(caseID, store.Comment{DocID: t.DocID, FileID: t.FileID, Time: t.Time, Author: t.By, Text: t.Note}); err != nil {
			return store.Tag{}, err
		}
	}
	t.Note = ""
	if err := e.ledger.PutTag(caseID, t); err != nil {
		return store.Tag{}, err
	}
	if err := e.reindex(ctx, caseID, v, t); err != nil {
		return store.Tag{}, err
	}
	return t, nil
}

// CommentEvent adds a comment by author to an event's thread, keyed by
// the event's current document ID (as TagEvent).
func (e *Engine) CommentEvent(ctx context.Context, caseID uint64, docID, author, text string) (store.Comment, error) {
	v, err := e.Event(ctx, caseID, docID)
	if err != nil {
		return store.Comment{}, err
	}
	return e.ledger.AddComment(caseID, store.Comment{DocID: store.DocID(v.FileID, v.Event), FileID: v.FileID,
		Time: v.Event.TimeCreated, Author: author, Text: text})
}

// reindex writes one event's document again with its current hits and tag.
func (e *Engine) reindex(ctx context.Context, caseID uint64, v EventView, t store.Tag) error {
	idx, err := e.Index(caseID)
	if err != nil {
		return err
	}
	d := store.Doc{FileID: v.FileID, FileName: v.FileName, Event: v.Event, Tags: t.Terms()}
	id := store.DocID(v.FileID, v.Event)
	err = e.ledger.Hits(caseID, v.FileID, func(h *store.EventHits) error {
		if h.DocID == id {
			d.Sigma, d.IOCs = h.Sigma, h.IOCs
		}
		return nil
	})
	if err != nil {
		return err
	}
	return idx.IndexDocs([]store.Doc{d}, true)
}

// CaseStats are the counts shown per case.
type CaseStats struct {
	store.Case
	Files        int            `json:"files"`
	Hidden       int            `json:"hidden_files"`
	Failed       int            `json:"failed_files"`
	Pending      int            `json:"pending_files"`
	Events       int64          `json:"events"`
	SigmaByLevel map[string]int `json:"sigma_by_level"`
	IOCEvents    int            `json:"ioc_events"`
	Tagged       int            `json:"tagged_events"`
}

// Stats computes a case's counts from the ledger.
func (e *Engine) Stats(caseID uint64) (CaseStats, error) {
	c, err := e.ledger.Case(caseID)
	if err != nil {
		return CaseStats{}, err
	}
	st := CaseStats{Case: c, SigmaByLevel: map[string]int{}}
	files, err := e.ledger.Files(caseID)
	if err != nil {
		return CaseStats{}, err
	}
	for _, f := range files {
		st.Files++
		st.Events += f.Events
		if f.Hidden {
			st.Hidden++
		}
		switch {
		case f.State == store.StateFailed:
			st.Failed++
		case store.Pending(f.State):
			st.Pending++
		}
	}
	err = e.ledger.Hits(caseID, 0, func(h *store.EventHits) error {
		levels := map[string]bool{}
		for _, s := range h.Sigma {
			levels[strings.ToLower(s.Level)] = true
		}
		for l := range levels {
			st.SigmaByLevel[l]++
		}
		if len(h.IOCs) > 0 {
			st.IOCEvents++
		}
		return nil
	})
	if err != nil {
		return CaseStats{}, err
	}
	err = e.ledger.Tags(caseID, 0, func(*store.Tag) error { st.Tagged++; return nil })
	return st, err
}

// SetRuleOptions records the options the rule set was loaded with, for
// ReloadRules.
func (e *Engine) SetRuleOptions(o RuleOptions) {
	e.jobs.mu.Lock()
	e.ruleOpts = o
	e.jobs.mu.Unlock()
}

// ReloadRules compiles the rule set again with the recorded options (e.g.
// after rules were added to the --rules directory), installs it, and
// re-runs Sigma over every case.
// It returns the new rule set's load report and the rescan jobs.
func (e *Engine) ReloadRules() (loaded, skipped int, jobs []Job, err error) {
	e.jobs.mu.Lock()
	opts := e.ruleOpts
	e.jobs.mu.Unlock()
	rs, err := LoadRules(opts)
	if err != nil {
		return 0, 0, nil, err
	}
	e.det.SetRules(rs)
	cases, err := e.ledger.Cases()
	if err != nil {
		return rs.Len(), len(rs.Skipped()), nil, err
	}
	for _, c := range cases {
		j, err := e.Rescan(c.ID, RescanSigma)
		if err != nil {
			return rs.Len(), len(rs.Skipped()), jobs, err
		}
		jobs = append(jobs, j)
	}
	e.log.Info("sigma rules reloaded", "rules", rs.Len(), "skipped", len(rs.Skipped()), "cases", len(cases))
	return rs.Len(), len(rs.Skipped()), jobs, nil
}
