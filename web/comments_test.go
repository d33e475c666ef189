package web_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"casescope/engine"
	"casescope/store"
)

// TestComments runs a thread on one event through the API: members
// comment, read-only members read, only the author edits, owners and
// admins delete anyone's; edits and deletions are audited with the text
// before; the thread shows in the event, the search results, the
// exports and the report.
func TestComments(t *testing.T) {
	r, c := ingested(t)
	base := "/api/cases/" + itoa(c.ID)
	var all searchAnswer
	r.call(t, "GET", base+"/search?size=5&sort=asc", nil, &all)
	id := url.PathEscape(all.Hits[2].ID)
	thread := base + "/events/" + id + "/comments"

	var first, second store.Comment
	if st, raw := r.callAs(t, store.RoleAnalyst, "POST", thread, map[string]string{"text": "4624 from the jump host"}, &first); st != http.StatusCreated {
		t.Fatalf("analyst comments: got %d %s", st, raw)
	}
	if first.Author != "analyst" || first.Created.IsZero() || first.DocID != all.Hits[2].ID {
		t.Errorf("comment: got %+v", first)
	}
	if st, raw := r.callAs(t, store.RoleAdmin, "POST", thread, map[string]string{"text": "agreed <b>not</b> benign"}, &second); st != http.StatusCreated {
		t.Fatalf("admin comments: got %d %s", st, raw)
	}
	if st, _ := r.callAs(t, store.RoleReadOnly, "POST", thread, map[string]string{"text": "x"}, nil); st != http.StatusForbidden {
		t.Errorf("reader comments: got %d, want 403", st)
	}
	if st, _ := r.callAs(t, store.RoleAnalyst, "POST", thread, map[string]string{"text": "   "}, nil); st != http.StatusBadRequest {
		t.Errorf("empty comment: got %d, want 400", st)
	}
	var got []store.Comment
	if st, raw := r.callAs(t, store.RoleReadOnly, "GET", thread, nil, &got); st != http.StatusOK || len(got) != 2 || got[0].ID != first.ID || got[1].ID != second.ID {
		t.Fatalf("reader reads the thread: got %d %s", st, raw)
	}
	// Only the author edits; the analyst may not delete the admin's.
	if st, _ := r.callAs(t, store.RoleAdmin, "PATCH", thread+"/"+itoa(first.ID), map[string]string{"text": "changed by admin"}, nil); st != http.StatusForbidden {
		t.Errorf("admin edits the analyst's comment: got %d, want 403", st)
	}
	if st, _ := r.callAs(t, store.RoleAnalyst, "DELETE", thread+"/"+itoa(second.ID), nil, nil); st != http.StatusForbidden {
		t.Errorf("analyst deletes the admin's comment: got %d, want 403", st)
	}
	var edited store.Comment
	if st, raw := r.callAs(t, store.RoleAnalyst, "PATCH", thread+"/"+itoa(first.ID), map[string]string{"text": "4624 type 10 from the jump host"}, &edited); st != http.StatusOK {
		t.Fatalf("author edits: got %d %s", st, raw)
	}
	if edited.Text != "4624 type 10 from the jump host" || edited.Edited.IsZero() || !edited.Created.Equal(first.Created) {
		t.Errorf("edited: got %+v", edited)
	}

	// The event, the result row, the exports and the report carry it.
	var ev engine.EventView
	r.call(t, "GET", base+"/events/"+id, nil, &ev)
	if len(ev.Comments) != 2 || ev.Comments[0].Text != edited.Text {
		t.Errorf("event's comments: got %+v", ev.Comments)
	}
	var page searchAnswer
	r.call(t, "GET", base+"/search?size=5&sort=asc", nil, &page)
	if len(page.Hits[2].Comments) != 2 {
		t.Errorf("result row's comments: got %+v", page.Hits[2].Comments)
	}
	_, jsonl := r.call(t, "GET", base+"/export?format=jsonl", nil, nil)
	found := false
	for _, line := range strings.Split(strings.TrimSpace(jsonl), "\n") {
		var rec struct {
			ID       string              `json:"casescope_id"`
			Comments []map[string]string `json:"comments"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("jsonl line %q: %v", line, err)
		}
		if rec.ID == all.Hits[2].ID {
			found = len(rec.Comments) == 2 && rec.Comments[0]["author"] == "analyst" && rec.Comments[0]["text"] == edited.Text
		} else if len(rec.Comments) != 0 {
			t.Errorf("comments on another event %s: %v", rec.ID, rec.Comments)
		}
	}
	if !found {
		t.Errorf("jsonl export: the event's two comments missing")
	}
	if _, csv := r.call(t, "GET", base+"/export?format=csv", nil, nil); !strings.Contains(csv, "analyst (") || !strings.Contains(csv, edited.Text) {
		t.Errorf("csv export lacks the comment")
	}
	// The report lists tagged events: star it, then the thread shows,
	// its HTML escaped.
	if st, raw := r.call(t, "PUT", base+"/events/"+id+"/tag", map[string]any{"starred": true}, nil); st != http.StatusOK {
		t.Fatalf("star: got %d %s", st, raw)
	}
	_, report := r.call(t, "GET", base+"/report", nil, nil)
	if !strings.Contains(report, edited.Text) || !strings.Contains(report, "agreed &lt;b&gt;not&lt;/b&gt; benign") {
		t.Errorf("report lacks the escaped comments")
	}

	// An owner deletes anyone's; the audit log keeps the text.
	if st, raw := r.callAs(t, store.RoleAdmin, "DELETE", thread+"/"+itoa(first.ID), nil, nil); st != http.StatusNoContent {
		t.Fatalf("admin deletes: got %d %s", st, raw)
	}
	if st, _ := r.callAs(t, store.RoleAnalyst, "PATCH", thread+"/"+itoa(first.ID), map[string]string{"text": "x"}, nil); st != http.StatusNotFound {
		t.Errorf("edit a deleted comment: got %d, want 404", st)
	}
	var edit, del store.AuditEntry
	err := r.ledger.AuditLog(0, func(e store.AuditEntry) bool {
		switch {
		case e.Action == "event.comment.edit" && e.Outcome == "ok":
			edit = e
		case e.Action == "event.comment.delete" && e.Outcome == "ok":
			del = e
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if edit.Actor != "analyst" || !strings.Contains(edit.Detail, `before "4624 from the jump host"`) || !strings.Contains(edit.Detail, `after "4624 type 10`) {
		t.Errorf("edit audit: got %+v", edit)
	}
	if del.Actor != "admin" || !strings.Contains(del.Detail, "by analyst") || !strings.Contains(del.Detail, edited.Text) ||
		!strings.HasPrefix(del.Target, "case "+itoa(c.ID)+" (") {
		t.Errorf("delete audit: got %+v", del)
	}
}

// TestRejectedFileRecord: a file refused at import keeps its size and
// SHA-256 (of the bytes sent), and is not offered for requeueing (400:
// it would be refused again).
func TestRejectedFileRecord(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.createCase(t, "rejects")
	body := []byte("\x89PNG\r\n\x1a\nnot an event log at all")
	if st, raw := r.upload(t, c.ID, uploadFile{"picture.png", body}); st != http.StatusOK {
		t.Fatalf("upload: got %d %s", st, raw)
	}
	var files []store.File
	if st, raw := r.call(t, "GET", "/api/cases/"+itoa(c.ID)+"/files", nil, &files); st != http.StatusOK || len(files) != 1 {
		t.Fatalf("files: got %d %s", st, raw)
	}
	f := files[0]
	sum := sha256.Sum256(body)
	if f.State != store.StateFailed || !strings.HasPrefix(f.Error, "rejected: ") || f.Size != int64(len(body)) || f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("rejected record: got state %s error %q size %d sha256 %s, want failed/rejected, %d bytes, %x", f.State, f.Error, f.Size, f.SHA256, len(body), sum)
	}
	if st, raw := r.call(t, "POST", "/api/cases/"+itoa(c.ID)+"/files/"+itoa(f.ID)+"/requeue", nil, nil); st != http.StatusBadRequest {
		t.Errorf("requeue a rejected file: got %d %s, want 400", st, raw)
	}
}
