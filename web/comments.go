package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"casescope/store"
)

// commentTarget names an event's comment in the audit log.
func commentTarget(c store.Case, docID string, id uint64) string {
	return caseTarget(c) + " event " + docID + " comment " + strconv.FormatUint(id, 10)
}

// auditText shortens a comment's text for an audit entry's detail.
func auditText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return strconv.Quote(s)
}

// handleComments lists an event's comment thread, oldest first.
func (s *Server) handleComments(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cs, err := s.ledger.Comments(c.ID, chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if cs == nil {
		cs = []store.Comment{}
	}
	writeJSON(w, http.StatusOK, cs)
}

// handleAddComment adds a comment by the caller: {"text": "..."}.
func (s *Server) handleAddComment(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Text string `json:"text"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, _ := principalOf(r)
	cm, err := s.eng.CommentEvent(r.Context(), c.ID, chi.URLParam(r, "id"), p.User, req.Text)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	noteAudit(r, commentTarget(c, cm.DocID, cm.ID), "text "+auditText(cm.Text))
	writeJSON(w, http.StatusCreated, cm)
}

// commentFor loads the comment of the URL and checks that the caller
// may change it: its author may edit and delete it; the case's owners
// and admins may delete anyone's (edit is the author's alone, so a
// comment never speaks for someone else).
func (s *Server) commentFor(r *http.Request, del bool) (store.Case, store.Comment, error) {
	c, err := s.caseFrom(r)
	if err != nil {
		return store.Case{}, store.Comment{}, err
	}
	id, err := idParam(r, "cid")
	if err != nil {
		return c, store.Comment{}, err
	}
	cm, err := s.ledger.Comment(c.ID, chi.URLParam(r, "id"), id)
	if err != nil {
		return c, store.Comment{}, err
	}
	p, _ := principalOf(r)
	if strings.EqualFold(cm.Author, p.User) {
		return c, cm, nil
	}
	if del {
		if _, owner, err := s.caseRole(p, c.ID); err == nil && owner {
			return c, cm, nil
		}
		return c, cm, refuse(errForbidden, "only its author, the case's owners and admins delete a comment")
	}
	return c, cm, refuse(errForbidden, "only its author edits a comment")
}

// handleEditComment replaces a comment's text: {"text": "..."}. The
// audit entry keeps the text before and after.
func (s *Server) handleEditComment(w http.ResponseWriter, r *http.Request) {
	c, cm, err := s.commentFor(r, false)
	if cm.ID != 0 {
		noteAudit(r, commentTarget(c, cm.DocID, cm.ID), "")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Text string `json:"text"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	before, after, err := s.ledger.EditComment(c.ID, cm.DocID, cm.ID, req.Text)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	noteAudit(r, "", fmt.Sprintf("by %s; before %s; after %s", before.Author, auditText(before.Text), auditText(after.Text)))
	writeJSON(w, http.StatusOK, after)
}

// handleDeleteComment removes a comment; the audit entry keeps its text.
func (s *Server) handleDeleteComment(w http.ResponseWriter, r *http.Request) {
	c, cm, err := s.commentFor(r, true)
	if cm.ID != 0 {
		noteAudit(r, commentTarget(c, cm.DocID, cm.ID), "")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.ledger.DeleteComment(c.ID, cm.DocID, cm.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	noteAudit(r, "", fmt.Sprintf("by %s at %s; text %s", cm.Author, cm.Created.UTC().Format("2006-01-02T15:04:05Z"), auditText(cm.Text)))
	w.WriteHeader(http.StatusNoContent)
}
