package web

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"casescope/engine"
)

// lifecycleActions are the state-changing case routes a closed or
// archived case still accepts: changing its status (to reopen it),
// deleting it, and who may see it. Every other change to such a case is refused.
var lifecycleActions = map[string]bool{"case.status": true, "case.delete": true,
	"case.member.set": true, "case.member.remove": true}

// writableCase refuses a change to a closed or archived case (409 with
// how to reopen it) before the handler runs; routes outside a case pass.
func (s *Server) writableCase(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if chi.URLParam(r, "case") != "" {
			c, err := s.caseFrom(r)
			if err == nil {
				err = c.CheckWritable()
			}
			if err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		h(w, r)
	}
}

// handleCaseStatus sets a case's status: open, closed or archived.
func (s *Server) handleCaseStatus(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Status string `json:"status"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	noteAudit(r, caseTarget(c), "status "+req.Status)
	c, err = s.ledger.SetCaseStatus(c.ID, req.Status)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// handleDeleteCase deletes a case with all its files on disk (index,
// evidence, archive, staging); the audit entry stays.
func (s *Server) handleDeleteCase(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	noteAudit(r, caseTarget(c), "")
	if _, err := s.eng.DeleteCase(r.Context(), c.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("case deleted", "case_id", c.ID)
	writeJSON(w, http.StatusOK, map[string]any{"deleted": c.ID})
}

// handleCaseArchive streams the case archive (engine.ExportCase) as a
// download. Refusals (work pending) come before the first byte; a
// failure mid-stream cuts the download short, and the archive's missing
// manifest makes any import refuse it.
func (s *Server) handleCaseArchive(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalOf(r)
	noteAudit(r, caseTarget(c), "archive download")
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": c.Name + ".casescope.tar"}))
	rec := &firstWrite{ResponseWriter: w}
	m, err := s.eng.ExportCase(r.Context(), c.ID, rec, engine.ExportOptions{User: p.User, Version: s.cfg.Version})
	if err != nil {
		if !rec.wrote {
			w.Header().Del("Content-Disposition")
			s.writeError(w, r, err)
			return
		}
		s.log.Error("case archive cut short", "case_id", c.ID, "err", err)
		return
	}
	noteAudit(r, caseTarget(c), fmt.Sprintf("archive download: %d files, %d members", m.Files, len(m.Members)))
}

// firstWrite notes whether anything was written, so an error can still
// be answered as JSON before the first byte.
type firstWrite struct {
	http.ResponseWriter
	wrote bool
}

func (f *firstWrite) Write(b []byte) (int, error) {
	f.wrote = true
	return f.ResponseWriter.Write(b)
}

// handleCaseImport reads a case archive from the request body (the tar
// itself, streamed; at most MaxUploadBytes) into a new case, named by
// ?as= or the archive. Nothing is recorded unless every member verifies.
func (s *Server) handleCaseImport(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/x-tar") && !strings.HasPrefix(ct, "application/octet-stream") {
		s.writeError(w, r, badRequest("send the archive itself as the body (Content-Type application/x-tar)"))
		return
	}
	as := r.URL.Query().Get("as")
	noteAudit(r, "case archive", "as "+as)
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes)
	res, err := s.eng.ImportCase(r.Context(), body, engine.ImportOptions{As: as, Size: r.ContentLength})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.ownCase(r, res.Case.ID); err != nil {
		s.writeError(w, r, fmt.Errorf("own imported case: %w", err))
		return
	}
	noteAudit(r, caseTarget(res.Case), fmt.Sprintf("imported: %d files, exported by %s at %s with casescope %s", res.Files,
		res.Manifest.ExportedBy, res.Manifest.ExportedAt.Format("2006-01-02T15:04:05Z"), res.Manifest.Version))
	s.log.Info("case imported", "case_id", res.Case.ID, "files", res.Files)
	writeJSON(w, http.StatusCreated, res)
}
