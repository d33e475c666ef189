package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"casescope/evtx"
	"casescope/store"
)

// maxCaseRestored bounds the aggregation values whose original case is
// read back from an event (one EVTX chunk each at most).
const maxCaseRestored = 50

// Aggregate returns the top values of a field over a search's matches
// (see store.Index.Aggregate), each value in the case Windows wrote it,
// read from one event carrying it (the index holds values lower-cased).
func (e *Engine) Aggregate(ctx context.Context, caseID uint64, req store.SearchRequest, field string, size int) (store.Aggregation, error) {
	idx, err := e.Index(caseID)
	if err != nil {
		return store.Aggregation{}, err
	}
	agg, err := idx.Aggregate(ctx, req, field, size)
	if err != nil {
		return store.Aggregation{}, err
	}
	var ids []string
	for i, v := range agg.Values {
		if i < maxCaseRestored {
			ids = append(ids, v.Example)
		}
	}
	views, err := e.hydrate(ctx, caseID, ids)
	if err != nil {
		return store.Aggregation{}, err
	}
	byID := make(map[string]*evtx.Event, len(views))
	for _, v := range views {
		byID[v.ID] = v.Event
	}
	for i := range agg.Values {
		if ev := byID[agg.Values[i].Example]; ev != nil {
			agg.Values[i].Value = originalValue(ev, agg.Field, agg.Values[i].Value)
		}
	}
	return agg, nil
}

// originalValue finds the value of field in ev equal to lower (its
// lower-cased form), as written; lower itself when none is.
func originalValue(ev *evtx.Event, field, lower string) string {
	var cands []string
	switch strings.ToLower(field) {
	case "computer":
		cands = []string{ev.Computer}
	case "channel":
		cands = []string{ev.Channel}
	case "provider":
		cands = []string{ev.Provider}
	case "user":
		cands = []string{ev.UserID}
	}
	for _, f := range ev.Data {
		name := f.Name
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		if strings.EqualFold(name, field) {
			cands = append(cands, f.Value)
		}
	}
	for _, c := range cands {
		if strings.ToLower(c) == lower {
			return c
		}
	}
	return lower
}

// Context modes: the same computer, the same logon session, the same
// process.
const (
	ContextComputer = "computer"
	ContextSession  = "session"
	ContextProcess  = "process"
)

// ContextPage is the events around one event: the window's query and
// time range, the page of events with the anchor among them, and cursors
// to page on (see store.Around).
type ContextPage struct {
	By        string      `json:"by"`
	Minutes   int         `json:"minutes"`
	Query     string      `json:"query"`
	From      time.Time   `json:"from"`
	To        time.Time   `json:"to"`
	Total     uint64      `json:"total"`
	Position  uint64      `json:"position"`
	Anchor    int         `json:"anchor"`
	Hits      []EventView `json:"hits"`
	Earlier   string      `json:"earlier,omitempty"`
	Later     string      `json:"later,omitempty"`
	Available []string    `json:"available"` // the modes this event has values for
	Key       string      `json:"key,omitempty"`
}

// contextQuery is the query of a context mode for ev, and the value it
// keys on; ok is false when ev has no value for the mode.
func contextQuery(ev *evtx.Event, by string) (q, key string, ok bool) {
	computer := "Computer:" + quoteValue(ev.Computer)
	data := func(names ...string) (string, string) {
		for _, n := range names {
			for _, f := range ev.Data {
				if strings.EqualFold(f.Name, n) && strings.TrimSpace(f.Value) != "" && f.Value != "-" {
					return n, f.Value
				}
			}
		}
		return "", ""
	}
	switch by {
	case ContextComputer:
		return computer, ev.Computer, true
	case ContextSession:
		// A logon ID names a session on one computer: the new session of a
		// logon event, else the acting one.
		if _, v := data("TargetLogonId", "SubjectLogonId", "LogonId"); v != "" {
			qv := quoteValue(v)
			return computer + " AND (TargetLogonId:" + qv + " OR SubjectLogonId:" + qv + " OR LogonId:" + qv + ")", v, true
		}
	case ContextProcess:
		if _, v := data("ProcessGuid"); v != "" {
			return "ProcessGuid:" + quoteValue(v), v, true
		}
		if _, v := data("ProcessId"); v != "" {
			return computer + " AND ProcessId:" + quoteValue(v), v, true
		}
		if ev.ProcessID != 0 {
			v := strconv.FormatUint(uint64(ev.ProcessID), 10)
			return computer + " AND System.ProcessID:" + v, v, true
		}
	}
	return "", "", false
}

// quoteValue makes v one quoted value of the query language.
func quoteValue(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// Context returns the events around event id within ±minutes: on the same
// computer, in the same logon session or of the same process (by), up to
// n before and n after it, opening at the event.
func (e *Engine) Context(ctx context.Context, caseID uint64, id, by string, minutes, n int) (ContextPage, error) {
	if minutes <= 0 || minutes > 7*24*60 {
		return ContextPage{}, fmt.Errorf("minutes must be 1 to 10080, not %d: %w", minutes, store.ErrInvalid)
	}
	if n <= 0 || n > 500 {
		return ContextPage{}, fmt.Errorf("size must be 1 to 500, not %d: %w", n, store.ErrInvalid)
	}
	v, err := e.Event(ctx, caseID, id)
	if err != nil {
		return ContextPage{}, err
	}
	ev := v.Event
	page := ContextPage{By: by, Minutes: minutes, Available: []string{}, Anchor: -1, Hits: []EventView{}}
	for _, m := range []string{ContextComputer, ContextSession, ContextProcess} {
		if _, _, ok := contextQuery(ev, m); ok {
			page.Available = append(page.Available, m)
		}
	}
	q, key, ok := contextQuery(ev, by)
	if !ok {
		if by != ContextComputer && by != ContextSession && by != ContextProcess {
			return ContextPage{}, fmt.Errorf("context by %q: want computer, session or process: %w", by, store.ErrInvalid)
		}
		return ContextPage{}, fmt.Errorf("event %s has no %s to look around: %w", id, by, store.ErrInvalid)
	}
	page.Query, page.Key = q, key
	span := time.Duration(minutes) * time.Minute
	// To is exclusive: one tick past the window's end keeps it.
	page.From, page.To = ev.TimeCreated.Add(-span), ev.TimeCreated.Add(span+100*time.Nanosecond)
	idx, err := e.Index(caseID)
	if err != nil {
		return ContextPage{}, err
	}
	ar, err := idx.Around(ctx, store.SearchRequest{Query: q, From: page.From, To: page.To}, id, n, n)
	if err != nil {
		return ContextPage{}, err
	}
	page.Total, page.Position, page.Anchor, page.Earlier, page.Later = ar.Total, ar.Position, ar.Anchor, ar.Earlier, ar.Later
	files := map[uint64]store.File{}
	for _, h := range ar.Hits {
		page.Hits = append(page.Hits, e.summaryView(caseID, h, files))
	}
	e.fillData(page.Hits, files, maxListChunks)
	return page, nil
}
