package web

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"casescope/store"
)

// auditRecord collects what a handler says about its action: a readable
// target and detail, and writeError's reason when it fails.
type auditRecord struct {
	target string
	detail string
	reason string
}

func auditOf(r *http.Request) *auditRecord {
	a, _ := r.Context().Value(auditKey).(*auditRecord)
	return a
}

// noteAudit sets the audit entry's target (when not empty) and detail for
// the request's action; a no-op on routes that are not audited.
func noteAudit(r *http.Request, target, detail string) {
	if a := auditOf(r); a != nil {
		if target != "" {
			a.target = target
		}
		a.detail = detail
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusRecorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// outcome names an HTTP status for the audit log.
func outcome(status int) string {
	switch {
	case status < 400:
		return "ok"
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return "denied"
	case status < 500:
		return "failed"
	}
	return "error"
}

// maxAuditDetail bounds the detail text of one entry, in bytes.
const maxAuditDetail = 2000

// audit records an action's outcome for principal p.
func (s *Server) audit(r *http.Request, p principal, action string, a *auditRecord, status int) {
	target := a.target
	if target == "" {
		target = r.URL.Path
	}
	detail := a.detail
	if a.reason != "" && status >= 400 {
		if detail != "" {
			detail += "; "
		}
		detail += a.reason
	}
	if len(detail) > maxAuditDetail {
		detail = detail[:maxAuditDetail] + "…"
	}
	e := store.AuditEntry{Actor: p.User, Role: p.Role, Remote: remoteIP(r), Action: action, Target: target,
		Outcome: outcome(status), Detail: detail}
	if status == http.StatusForbidden || status == http.StatusTooManyRequests {
		// A refusal (CSRF token, role): coalesced, so a session
		// replaying a refused request cannot fill the disk.
		s.refusals.refuse(time.Now(), action+" "+strconv.Itoa(status)+" "+p.User, e)
		return
	}
	s.writeAudit(e)
}

// writeAudit appends an entry; a failure is logged, since the response
// has gone out.
func (s *Server) writeAudit(e store.AuditEntry) {
	if err := s.ledger.Audit(e); err != nil {
		s.log.Error("write audit entry", "action", e.Action, "actor", e.Actor, "err", err)
	}
}

// auditPage is GET /api/audit: entries newest first, and the seq to pass
// as before= for the next page (0 at the end).
type auditPage struct {
	Entries []store.AuditEntry `json:"entries"`
	Next    uint64             `json:"next"`
}

// Audit page sizes.
const (
	defaultAuditPage = 200
	maxAuditPage     = 1000
)

// handleAudit lists the audit log newest first: before (a seq; 0 or
// absent = from the newest), limit (1-1000, default 200).
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var before uint64
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.writeError(w, r, badRequest("before must be an entry's seq number"))
			return
		}
		before = n
	}
	limit := defaultAuditPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAuditPage {
			s.writeError(w, r, badRequest("limit must be 1-%d", maxAuditPage))
			return
		}
		limit = n
	}
	page, err := s.auditPage(before, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// auditPage reads up to limit entries before the seq before. The read
// transaction ends before anything is sent, so a slow client never holds
// the ledger.
func (s *Server) auditPage(before uint64, limit int) (auditPage, error) {
	p := auditPage{Entries: []store.AuditEntry{}}
	more := false
	err := s.ledger.AuditLog(before, func(e store.AuditEntry) bool {
		if len(p.Entries) == limit {
			more = true
			return false
		}
		p.Entries = append(p.Entries, e)
		return true
	})
	if err != nil {
		return p, fmt.Errorf("read audit log: %w", err)
	}
	if more && len(p.Entries) > 0 {
		p.Next = p.Entries[len(p.Entries)-1].Seq
	}
	return p, nil
}

// handleAuditExport downloads the whole audit log, newest first, as CSV
// (format=csv, the default) or a JSON array (format=json). It is read a
// page at a time.
func (s *Server) handleAuditExport(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		s.writeError(w, r, badRequest("format must be csv or json, not %q", format))
		return
	}
	noteAudit(r, "audit log", "format "+format)
	name := "casescope-audit-" + time.Now().UTC().Format("20060102-150405") + "." + format
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if format == "csv" {
		_ = cw.Write([]string{"seq", "time", "actor", "role", "remote", "action", "target", "outcome", "detail"})
	} else {
		bw.WriteString("[")
	}
	before, n := uint64(0), 0
	for {
		page, err := s.auditPage(before, maxAuditPage)
		if err != nil {
			// Headers are out; the truncated download is all we can do.
			s.log.Error("audit export", "err", err)
			return
		}
		for _, e := range page.Entries {
			if format == "csv" {
				_ = cw.Write([]string{strconv.FormatUint(e.Seq, 10), e.Time.UTC().Format(time.RFC3339Nano), csvSafe(e.Actor),
					csvSafe(e.Role), csvSafe(e.Remote), csvSafe(e.Action), csvSafe(e.Target), csvSafe(e.Outcome), csvSafe(e.Detail)})
				continue
			}
			b, err := json.Marshal(e)
			if err != nil {
				s.log.Error("audit export", "err", err)
				return
			}
			if n > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n")
			bw.Write(b)
			n++
		}
		if page.Next == 0 || r.Context().Err() != nil {
			break
		}
		before = page.Next
	}
	if format == "csv" {
		cw.Flush()
	} else {
		bw.WriteString("\n]\n")
	}
	if err := bw.Flush(); err != nil {
		s.log.Warn("audit export cut short", "err", err)
	}
}

// csvSafe defuses spreadsheet formulas: a cell an attacker controls (a
// user name tried at login, a file name) must not run as a formula when
// the export is opened in a spreadsheet.
func csvSafe(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
		return "'" + v
	}
	return v
}
