package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"casescope/store"
)

// The investigation workspace: saved searches per case (seen by everyone
// who can see the case; changed by their owner or an admin), search
// templates for every case (changed by admins), each user's recent
// searches per case and result columns, aggregations on any field, and
// the events around an event.

// savedScope is the case of a saved-search route (its ID), or 0 on the
// template routes, with the audit target.
func (s *Server) savedScope(r *http.Request) (uint64, string, error) {
	if chi.URLParam(r, "case") == "" {
		return 0, "search templates", nil
	}
	c, err := s.caseFrom(r)
	if err != nil {
		return 0, "", err
	}
	return c.ID, caseTarget(c), nil
}

func (s *Server) handleSavedSearches(w http.ResponseWriter, r *http.Request) {
	caseID, _, err := s.savedScope(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.ledger.SavedSearches(caseID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) handleSavedSearch(w http.ResponseWriter, r *http.Request) {
	caseID, _, err := s.savedScope(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := idParam(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ss, err := s.ledger.SavedSearch(caseID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ss)
}

// savedBody is a saved search or template as posted.
type savedBody struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Query       string            `json:"query"`
	Params      map[string]string `json:"params"`
	Columns     []string          `json:"columns"`
}

func (s *Server) handleAddSavedSearch(w http.ResponseWriter, r *http.Request) {
	caseID, target, err := s.savedScope(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b savedBody
	if err := decodeJSON(w, r, maxJSONBody, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalOf(r)
	noteAudit(r, target, "name "+strconv.Quote(b.Name)+" query "+strconv.Quote(b.Query))
	ss, err := s.ledger.AddSavedSearch(store.SavedSearch{CaseID: caseID, Name: b.Name, Description: b.Description,
		Query: b.Query, Params: b.Params, Columns: b.Columns, Owner: p.User})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	noteAudit(r, target, "saved search "+strconv.FormatUint(ss.ID, 10)+" name "+strconv.Quote(ss.Name)+" query "+strconv.Quote(ss.Query))
	writeJSON(w, http.StatusCreated, ss)
}

// mayChange refuses a change to a case's saved search by someone who is
// neither its owner nor an admin (templates are admins' by route).
func mayChange(p principal, ss store.SavedSearch) error {
	if ss.CaseID == 0 || p.Role == store.RoleAdmin || p.User == ss.Owner {
		return nil
	}
	return refuse(errForbidden, "only %s (its owner) or an admin may change the saved search %q", ss.Owner, ss.Name)
}

func (s *Server) handleUpdateSavedSearch(w http.ResponseWriter, r *http.Request) {
	caseID, target, err := s.savedScope(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := idParam(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b savedBody
	if err := decodeJSON(w, r, maxJSONBody, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalOf(r)
	noteAudit(r, target, "saved search "+strconv.FormatUint(id, 10)+" name "+strconv.Quote(b.Name)+" query "+strconv.Quote(b.Query))
	ss, err := s.ledger.UpdateSavedSearch(caseID, id, p.User, func(ss *store.SavedSearch) error {
		if err := mayChange(p, *ss); err != nil {
			return err
		}
		ss.Name, ss.Description, ss.Query, ss.Params, ss.Columns = b.Name, b.Description, b.Query, b.Params, b.Columns
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ss)
}

func (s *Server) handleDeleteSavedSearch(w http.ResponseWriter, r *http.Request) {
	caseID, target, err := s.savedScope(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := idParam(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalOf(r)
	ss, err := s.ledger.SavedSearch(caseID, id)
	if err == nil {
		err = mayChange(p, ss)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	noteAudit(r, target, "saved search "+strconv.FormatUint(id, 10)+" name "+strconv.Quote(ss.Name)+" query "+strconv.Quote(ss.Query))
	if _, err := s.ledger.DeleteSavedSearch(caseID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalOf(r)
	h, err := s.ledger.SearchHistory(c.ID, p.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) handlePrefs(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r)
	prefs, err := s.ledger.UserPrefs(p.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, prefs)
}

func (s *Server) handleSetPrefs(w http.ResponseWriter, r *http.Request) {
	var prefs store.Prefs
	if err := decodeJSON(w, r, maxJSONBody, &prefs); err != nil {
		s.writeError(w, r, err)
		return
	}
	if prefs.Columns == nil {
		prefs.Columns = []string{}
	}
	p, _ := principalOf(r)
	noteAudit(r, "user "+p.User, "columns "+strings.Join(prefs.Columns, ","))
	if err := s.ledger.SetUserPrefs(p.User, prefs); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, prefs)
}

// handleAggregate answers the top values of a field over a search:
// field (any field name the query language takes), size (1-1000, default
// 10) and the search's parameters (q, from, to, last, filters).
func (s *Server) handleAggregate(w http.ResponseWriter, r *http.Request) {
	s.searching.Add(1)
	defer s.searching.Add(-1)
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, _, err := s.searchRequest(r, c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	size := 10
	if v := q.Get("size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 1000 {
			s.writeError(w, r, badRequest("size must be 1-1000"))
			return
		}
	}
	field := strings.TrimSpace(q.Get("field"))
	if field == "" || len(field) > 200 {
		s.writeError(w, r, badRequest("field must name a field (1-200 bytes)"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.SearchTimeout)
	defer cancel()
	agg, err := s.eng.Aggregate(ctx, c.ID, req, field, size)
	if err != nil {
		if ctx.Err() != nil && r.Context().Err() == nil {
			err = &searchTimeoutError{limit: s.cfg.SearchTimeout}
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, agg)
}

// handleContext answers the events around one: by=computer (default),
// session or process; minutes (±, default 5); size (events each side,
// default 25).
func (s *Server) handleContext(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	num := func(name string, def int) (int, error) {
		v := q.Get(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, badRequest("%s must be a number, not %q", name, v)
		}
		return n, nil
	}
	minutes, err := num("minutes", 5)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	size, err := num("size", 25)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	by := q.Get("by")
	if by == "" {
		by = "computer"
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.SearchTimeout)
	defer cancel()
	page, err := s.eng.Context(ctx, c.ID, chi.URLParam(r, "id"), by, minutes, size)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}
