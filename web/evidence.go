package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"casescope/engine"
	"casescope/store"
)

// maxSkippedListed caps the per-file notes an import answer carries; the
// counts stay exact and the files table shows every record.
const maxSkippedListed = 200

// skippedFile is a file an import recorded but did not queue: refused
// (state failed, with the reason) or a byte-identical duplicate.
type skippedFile struct {
	FileID      uint64 `json:"file_id"`
	Name        string `json:"name"`
	State       string `json:"state"`
	Reason      string `json:"reason"`
	DuplicateOf uint64 `json:"duplicate_of,omitempty"`
}

// importView is the answer to an upload part or a folder import.
type importView struct {
	Name string `json:"name,omitempty"` // the uploaded file's name (uploads only)
	engine.ImportResult
	Skipped []skippedFile `json:"skipped"`
}

// uploadView is POST /api/cases/{case}/upload: one entry per file part.
type uploadView struct {
	Files []importView `json:"files"`
}

func (s *Server) handleFiles(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	files, err := s.ledger.Files(c.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]store.File, 0, len(files))
	hidden := r.URL.Query().Get("hidden") // "" or "1": all; "0": visible only
	for _, f := range files {
		if hidden == "0" && f.Hidden {
			continue
		}
		out = append(out, f)
	}
	writeJSON(w, http.StatusOK, out)
}

// handleUpload streams a multipart body part by part: each file part goes
// straight to engine.ImportUpload (to disk, hashed on the way), so no part
// is ever held in memory, whatever its size. The size limit applies per
// file. Non-file fields are ignored. The first part that fails ends the
// request with its error; parts before it stay imported.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		s.writeError(w, r, badRequest("upload must be multipart/form-data with one part per file: %s", err.Error()))
		return
	}
	out := uploadView{Files: []importView{}}
	var notes []string
	defer func() { noteAudit(r, caseTarget(c), strings.Join(notes, ", ")) }()
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &mbe) && r.Context().Err() == nil {
				// A malformed part header is the client's fault, not ours.
				err = badRequest("malformed multipart body: %s", err.Error())
			}
			s.writeError(w, r, fmt.Errorf("read upload: %w", err))
			return
		}
		name := partFileName(p.Header.Get("Content-Disposition"))
		if name == "" {
			p.Close()
			continue
		}
		res, err := s.eng.ImportUpload(r.Context(), c.ID, name, p, s.cfg.MaxUploadBytes)
		p.Close()
		notes = append(notes, uploadNote(name, res, err))
		if err != nil {
			s.writeError(w, r, fmt.Errorf("upload %s: %w", name, err))
			return
		}
		v := s.importView(c.ID, res)
		v.Name = name
		s.log.Info("upload recorded", "case_id", c.ID, "name", name, "queued", res.Queued,
			"rejected", res.Rejected, "duplicates", res.Dupes)
		out.Files = append(out.Files, v)
	}
	if len(out.Files) == 0 {
		s.writeError(w, r, badRequest("the upload holds no file parts"))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// uploadNote describes one uploaded file for the audit log.
func uploadNote(name string, res engine.ImportResult, err error) string {
	switch {
	case err != nil:
		return strconv.Quote(name) + " not recorded"
	case res.Queued > 0 && res.Rejected == 0 && res.Dupes == 0 && len(res.FileIDs) == 1:
		return fmt.Sprintf("%q file %d queued", name, res.FileIDs[0])
	}
	return fmt.Sprintf("%q %d queued, %d rejected, %d duplicates", name, res.Queued, res.Rejected, res.Dupes)
}

// partFileName returns a part's file name as the browser sent it,
// relative folder included ("logs/Security.evtx" from a dropped folder).
// multipart.Part.FileName would cut it to its base; the engine reduces the
// name to a safe base itself before it touches the disk, and keeps the
// full name only as the record's label. Empty means not a file part.
func partFileName(disposition string) string {
	_, params, err := mime.ParseMediaType(disposition)
	if err != nil {
		return ""
	}
	name, ok := params["filename"]
	if !ok {
		return ""
	}
	var parts []string
	for _, p := range strings.FieldsFunc(strings.ReplaceAll(name, "\\", "/"), func(r rune) bool { return r == '/' }) {
		if p == "." || p == ".." {
			continue
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "upload.evtx"
	}
	return strings.Join(parts, "/")
}

// importView adds the reason of every file the import did not queue.
func (s *Server) importView(caseID uint64, res engine.ImportResult) importView {
	v := importView{ImportResult: res, Skipped: []skippedFile{}}
	if v.FileIDs == nil {
		v.FileIDs = []uint64{}
	}
	if res.Rejected == 0 && res.Dupes == 0 {
		return v
	}
	for _, id := range res.FileIDs {
		if len(v.Skipped) >= maxSkippedListed {
			break
		}
		f, err := s.ledger.File(caseID, id)
		if err != nil {
			continue // deleted meanwhile
		}
		switch f.State {
		case store.StateFailed:
			v.Skipped = append(v.Skipped, skippedFile{FileID: f.ID, Name: f.Name, State: f.State, Reason: f.Error})
		case store.StateDuplicate:
			reason := fmt.Sprintf("duplicate of file %d", f.DuplicateOf)
			if orig, err := s.ledger.File(caseID, f.DuplicateOf); err == nil {
				reason = fmt.Sprintf("duplicate of file %d (%s)", orig.ID, orig.Name)
			}
			v.Skipped = append(v.Skipped, skippedFile{FileID: f.ID, Name: f.Name, State: f.State, Reason: reason,
				DuplicateOf: f.DuplicateOf})
		}
	}
	return v
}

// handleImport imports files or folders that already sit on this machine
// (a mounted evidence drive). Only absolute paths that exist are taken.
// The copy into the case happens within the request; processing then runs
// on the engine's workers.
func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Path  string   `json:"path"`
		Paths []string `json:"paths"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	paths := req.Paths
	if req.Path != "" {
		paths = append(paths, req.Path)
	}
	if len(paths) == 0 {
		s.writeError(w, r, badRequest(`give a folder or file as {"path": "/abs/path"}`))
		return
	}
	for i, p := range paths {
		p = strings.TrimSpace(p)
		if !filepath.IsAbs(p) {
			s.writeError(w, r, badRequest("path %q is not absolute", p))
			return
		}
		if _, err := os.Stat(p); err != nil {
			s.writeError(w, r, badRequest("path %q cannot be read: %s", p, statReason(err)))
			return
		}
		paths[i] = filepath.Clean(p)
	}
	noteAudit(r, caseTarget(c), strings.Join(paths, ", "))
	res, err := s.eng.Import(r.Context(), c.ID, paths)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.importView(c.ID, res))
}

func statReason(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "no such file or folder"
	case errors.Is(err, os.ErrPermission):
		return "permission denied"
	}
	return "not accessible"
}

func (s *Server) fileRef(r *http.Request) (store.Case, uint64, error) {
	c, err := s.caseFrom(r)
	if err != nil {
		return store.Case{}, 0, err
	}
	id, err := idParam(r, "id")
	return c, id, err
}

func (s *Server) handleRequeue(w http.ResponseWriter, r *http.Request) {
	c, id, err := s.fileRef(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := s.eng.RequeueFile(c.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) handleHide(hidden bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, id, err := s.fileRef(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		f, err := s.eng.SetHidden(c.ID, id, hidden)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, f)
	}
}

func (s *Server) handleDeleteFile(w http.ResponseWriter, r *http.Request) {
	c, id, err := s.fileRef(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if f, err := s.ledger.File(c.ID, id); err == nil {
		noteAudit(r, fmt.Sprintf("%s file %d (%s)", caseTarget(c), id, f.Name), "")
	}
	if err := s.eng.DeleteFile(r.Context(), c.ID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("file deleted", "case_id", c.ID, "file_id", id)
	w.WriteHeader(http.StatusNoContent)
}
