package web

import (
	"net/http"
	"strconv"
	"time"

	"casescope/engine"
	"casescope/store"
)

// exportTypes are the download formats of GET /api/cases/{case}/export
// and their content types.
var exportTypes = map[string]struct{ ext, contentType string }{
	engine.FormatCSV:      {"csv", "text/csv; charset=utf-8"},
	engine.FormatJSONL:    {"jsonl", "application/x-ndjson"},
	engine.FormatSigmaCSV: {"csv", "text/csv; charset=utf-8"},
}

// handleExport downloads a case's events (oldest first) as a file:
// format csv (Timeline Explorer), jsonl (Timesketch) or sigma-csv (one row
// per Sigma hit); q (query language), tagged=1 (starred or tagged events
// only), from/to (RFC 3339). It streams page by page; nothing is written
// on the server, so no parameter names a path.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	req := engine.ExportRequest{Format: q.Get("format"), Query: q.Get("q"), Tagged: q.Get("tagged") == "1"}
	if req.Format == "" {
		req.Format = engine.FormatCSV
	}
	noteAudit(r, "case "+strconv.FormatUint(c.ID, 10)+" ("+c.Name+")", "format "+req.Format+" query "+strconv.Quote(req.Query))
	t, ok := exportTypes[req.Format]
	if !ok {
		s.writeError(w, r, badRequest("format must be csv, jsonl or sigma-csv, not %q", req.Format))
		return
	}
	if err := store.ValidateQuery(req.Query, store.QueryOptions{}); err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &req.From}, {"to", &req.To}} {
		if v := q.Get(p.name); v != "" {
			tm, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				s.writeError(w, r, badRequest("%s must be an RFC 3339 time such as 2024-05-01T10:00:00Z", p.name))
				return
			}
			*p.dst = tm.UTC()
		}
	}
	if q.Get("from") != "" && q.Get("to") != "" && !req.From.Before(req.To) {
		s.writeError(w, r, badRequest("from (%s) must be before to (%s)", q.Get("from"), q.Get("to")))
		return
	}
	// Search and timeline downloads, and each download, get names of
	// their own: browsers would otherwise number or overwrite them.
	what := "search"
	if req.Tagged {
		what = "timeline"
	}
	name := "case-" + strconv.FormatUint(c.ID, 10) + "-" + what + "-" + req.Format + "-" + time.Now().UTC().Format("20060102T150405Z") + "." + t.ext
	w.Header().Set("Content-Type", t.contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	n, err := s.eng.Export(r.Context(), c.ID, req, w)
	if err != nil {
		// The download has started; a cut-short file is all the client
		// can get. The audit entry still says ok: it records the request.
		s.log.Error("export failed midway", "case_id", c.ID, "rows", n, "err", err)
		return
	}
	s.log.Info("case exported", "case_id", c.ID, "format", req.Format, "rows", n)
}
