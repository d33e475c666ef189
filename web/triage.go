package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"casescope/engine/triage"
)

// Triage views: the case's hosts, accounts, logon summary and event
// metrics (engine/triage), read-only and computed on request from the
// files' kept summaries.

func (s *Server) handleHosts(w http.ResponseWriter, r *http.Request) {
	serveTriageList(s, w, r, s.eng.Hosts)
}

func (s *Server) handleAccounts(w http.ResponseWriter, r *http.Request) {
	serveTriageList(s, w, r, s.eng.Accounts)
}

func (s *Server) handleLogons(w http.ResponseWriter, r *http.Request) {
	serveTriageList(s, w, r, s.eng.Logons)
}

// serveTriageList answers with a triage list of the request's case, []
// when empty. The view stops when the client goes away.
func serveTriageList[T any](s *Server, w http.ResponseWriter, r *http.Request, get func(ctx context.Context, caseID uint64) ([]T, error)) {
	serveCaseList(s, w, r, func(caseID uint64) ([]T, error) { return get(r.Context(), caseID) })
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.eng.Metrics(r.Context(), c.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	table := r.URL.Query().Get("csv")
	if table == "" {
		writeJSON(w, http.StatusOK, m)
		return
	}
	// Rendered before the first byte goes out, so a bad table name is a
	// 400 rather than a broken download; the tables are small.
	var buf bytes.Buffer
	if err := m.WriteCSV(&buf, table); err != nil {
		if errors.Is(err, triage.ErrUnknownTable) {
			err = badRequest("%s", err.Error())
		}
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="case-`+strconv.FormatUint(c.ID, 10)+`-metrics-`+table+`.csv"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) handleAttack(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.eng.Attack(c.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) handleRuleContext(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rc, err := s.eng.RuleContext(r.Context(), c.ID, chi.URLParam(r, "id"), chi.URLParam(r, "rule"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rc)
}
