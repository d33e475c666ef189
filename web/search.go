package web

import (
	"bytes"
	"casescope/internal/level"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"casescope/engine"
	"casescope/store"
)

// searchView is GET /api/cases/{case}/search: a page of results plus the
// query and time range that actually ran (filters folded in, a relative
// range resolved against the case's newest event).
type searchView struct {
	engine.SearchPage
	Query string    `json:"query"`
	From  time.Time `json:"from,omitzero"`
	To    time.Time `json:"to,omitzero"`
}

// sigmaLevels are the values of the sigma_level filter, lowest first.
const sigmaLevels = "informational, low, medium, high, critical"

// handleSearch runs a search. Parameters: q (query language), strict=1
// (unknown field names are an error), from/to (RFC 3339), last (1h, 24h,
// 7d…: a range ending at the case's newest event), filters channel,
// event_id (comma list), computer, provider, sigma_level (a level: that
// level or higher; "any": has a Sigma hit), ioc=1, tag; size, cursor,
// sort=asc, sort_field (order by a field's values; see
// store.SearchRequest), facets=0, histogram=1, data=all (every row's data
// fields), history=1 (put the search in the user's history of the case).
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	s.searching.Add(1)
	defer s.searching.Add(-1)
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, query, err := s.searchRequest(r, c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	req.Cursor, req.Asc = q.Get("cursor"), q.Get("sort") == "asc"
	req.Facets, req.Histogram = q.Get("facets") != "0", q.Get("histogram") == "1"
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.writeError(w, r, badRequest("size must be 1-1000"))
			return
		}
		req.Size = n
	}
	// data=all: every row's data fields (the page shows data columns).
	chunks := 0
	if q.Get("data") == "all" {
		chunks = max(req.Size, 50)
	}
	if q.Get("history") == "1" && req.Cursor == "" {
		if p, ok := principalOf(r); ok {
			if err := s.ledger.RecordSearch(c.ID, p.User, historyEntry(q)); err != nil {
				s.log.Warn("record search history", "case_id", c.ID, "err", err)
			}
		}
	}
	// The request's context ends the search when the client goes away;
	// the timeout ends one that would run on regardless.
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.SearchTimeout)
	defer cancel()
	var page engine.SearchPage
	if chunks > 0 {
		page, err = s.eng.SearchData(ctx, c.ID, req, chunks)
	} else {
		page, err = s.eng.Search(ctx, c.ID, req)
	}
	if err != nil {
		if ctx.Err() != nil && r.Context().Err() == nil {
			err = &searchTimeoutError{limit: s.cfg.SearchTimeout}
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, searchView{SearchPage: page, Query: query, From: req.From, To: req.To})
}

// searchRequest reads a search's query and time range from the URL
// parameters (see handleSearch): the store request without paging, and
// the composed query. sort_field orders by a field's values.
func (s *Server) searchRequest(r *http.Request, c store.Case) (store.SearchRequest, string, error) {
	q := r.URL.Query()
	opts := store.QueryOptions{Strict: q.Get("strict") == "1"}
	// The analyst's own text is checked alone first, so the column in an
	// error message points into what they typed, not the combined query.
	if err := store.ValidateQuery(q.Get("q"), opts); err != nil {
		return store.SearchRequest{}, "", err
	}
	query, err := composeQuery(q)
	if err != nil {
		return store.SearchRequest{}, "", err
	}
	req := store.SearchRequest{Query: query, QueryOptions: opts, SortField: strings.TrimSpace(q.Get("sort_field"))}
	if len(req.SortField) > 200 {
		return store.SearchRequest{}, "", badRequest("sort_field longer than 200 bytes")
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &req.From}, {"to", &req.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return store.SearchRequest{}, "", badRequest("%s must be an RFC 3339 time such as 2024-05-01T10:00:00Z", p.name)
			}
			*p.dst = t.UTC()
		}
	}
	if q.Get("from") != "" && q.Get("to") != "" && !req.From.Before(req.To) {
		return store.SearchRequest{}, "", badRequest("from (%s) must be before to (%s)", q.Get("from"), q.Get("to"))
	}
	if v := q.Get("last"); v != "" {
		d, err := parseSpan(v)
		if err != nil {
			return store.SearchRequest{}, "", err
		}
		latest, err := s.latest(r, c)
		if err != nil {
			return store.SearchRequest{}, "", err
		}
		if !latest.IsZero() {
			req.From = latest.Add(-d)
			req.To = time.Time{} // up to and including the newest event
		}
	}
	return req, query, nil
}

// historyEntry is a search's URL parameters in the search page's terms
// (last is its time, tag=starred its starred box).
func historyEntry(q url.Values) store.HistoryEntry {
	e := store.HistoryEntry{Query: strings.TrimSpace(q.Get("q")), Params: map[string]string{}}
	for _, k := range store.SearchParams {
		if v := q.Get(k); v != "" {
			e.Params[k] = v
		}
	}
	if v := q.Get("last"); v != "" {
		e.Params["time"] = v
	} else if q.Get("from") != "" || q.Get("to") != "" {
		e.Params["time"] = "custom"
	}
	if q.Get("tag") == "starred" {
		e.Params["starred"] = "1"
	}
	return e
}

// searchTimeoutError is a search stopped by Config.SearchTimeout (400:
// the query, not the server, is at fault, and the same query would fail
// again).
type searchTimeoutError struct{ limit time.Duration }

func (e *searchTimeoutError) Error() string {
	return fmt.Sprintf("search stopped after %s: the query is too expensive for this case; "+
		"add a field (CommandLine:*x*), a time range, or fewer wildcards", e.limit)
}

// parseSpan reads a relative range: a Go duration (90m, 1h) or days (7d).
func parseSpan(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err == nil && days > 0 && days <= 36500 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	return 0, badRequest("last must be a span such as 1h, 24h or 7d, not %q", v)
}

// composeQuery ANDs the filter parameters onto the analyst's query, each
// value quoted, so a filter can never change the query's structure.
func composeQuery(q url.Values) (string, error) {
	var clauses []string
	if v := strings.TrimSpace(q.Get("q")); v != "" {
		clauses = append(clauses, "("+v+")")
	}
	for _, f := range []struct{ param, field string }{
		{"channel", "Channel"}, {"computer", "Computer"}, {"provider", "Provider"}, {"tag", "tag"},
	} {
		if v := strings.TrimSpace(q.Get(f.param)); v != "" {
			clauses = append(clauses, f.field+":"+quote(v))
		}
	}
	if v := strings.TrimSpace(q.Get("event_id")); v != "" {
		var ids []string
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if _, err := strconv.ParseUint(p, 10, 32); err != nil {
				return "", badRequest("event_id must be event ID numbers separated by commas, not %q", p)
			}
			ids = append(ids, p)
		}
		if len(ids) > 0 {
			clauses = append(clauses, "EventID:("+strings.Join(ids, " OR ")+")")
		}
	}
	switch v := strings.ToLower(strings.TrimSpace(q.Get("sigma_level"))); v {
	case "":
	case "any":
		clauses = append(clauses, "sigma:*")
	default:
		if level.Rank(v) == 0 {
			return "", badRequest("sigma_level must be any, %s, not %q", sigmaLevels, v)
		}
		clauses = append(clauses, "sigma.level:>="+v)
	}
	if q.Get("ioc") == "1" {
		clauses = append(clauses, "ioc:*")
	}
	return strings.Join(clauses, " AND "), nil
}

// quote makes v one quoted value of the query language.
func quote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ev, err := s.eng.Event(r.Context(), c.ID, chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ev)
}

// handleEventXML answers one event's Event Viewer-style XML as JSON
// {"id", "xml"}: never as an XML document, which a browser could render
// (the text is the evidence's, attacker-controlled).
func (s *Server) handleEventXML(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	x, err := s.eng.EventXML(r.Context(), c.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id, "xml": x})
}

// handleTag sets an event's star and tags (both replace what was there;
// an empty tag removes it). A note, which clients before comment threads
// send, is added to the event's thread as the caller's comment.
func (s *Server) handleTag(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Starred bool     `json:"starred"`
		Tags    []string `json:"tags"`
		Note    string   `json:"note"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalOf(r)
	t, err := s.eng.TagEvent(r.Context(), c.ID, store.Tag{DocID: chi.URLParam(r, "id"), Starred: req.Starred,
		Tags: req.Tags, Note: req.Note, By: p.User})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if t.Tags == nil {
		t.Tags = []string{}
	}
	writeJSON(w, http.StatusOK, t)
}

// handleBulkTag starts a job tagging every event matching a query:
// {"query": "...", "tags": ["lateral-movement"], "starred": false}. It
// answers 202 with the job (engine.Job; follow it at /api/jobs/{id} or
// in /api/system's jobs): tagging a whole case takes seconds to minutes.
func (s *Server) handleBulkTag(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Query   string   `json:"query"`
		Tags    []string `json:"tags"`
		Starred bool     `json:"starred"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalOf(r)
	j, err := s.eng.StartBulkTag(c.ID, req.Query, req.Tags, req.Starred, p.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	noteAudit(r, caseTarget(c), fmt.Sprintf("job %d: tags %q starred %t for query %q", j.ID, j.Tags, j.Starred, req.Query))
	writeJSON(w, http.StatusAccepted, j)
}

// handleReport serves the case summary as a self-contained HTML download.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := s.eng.Report(r.Context(), c.ID, &buf); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"casescope-report-%d.html\"", c.ID))
	_, _ = w.Write(buf.Bytes())
}

// handleReloadRules recompiles the Sigma rules and re-runs every case.
func (s *Server) handleReloadRules(w http.ResponseWriter, r *http.Request) {
	loaded, skipped, jobs, err := s.eng.ReloadRules()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if jobs == nil {
		jobs = []engine.Job{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"loaded": loaded, "skipped": skipped, "jobs": jobs})
}
