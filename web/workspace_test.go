package web_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"casescope/engine"
	"casescope/evtx"
	"casescope/store"
)

// workspaceCase imports one shared-corpus EVTX file into a new case and
// returns the case and the file's events parsed by the evtx reader (the
// ground truth).
func workspaceCase(t *testing.T, r *rig, rel string) (store.Case, []*evtx.Event) {
	t.Helper()
	path := filepath.Join(sharedCorpus(t), "evtx", filepath.FromSlash(rel))
	c := r.createCase(t, "workspace")
	if _, err := r.eng.Import(t.Context(), c.ID, []string{path}); err != nil {
		t.Fatal(err)
	}
	r.waitIdle(t)
	var evs []*evtx.Event
	if _, err := evtx.StreamFile(t.Context(), path, func(ev *evtx.Event) error {
		evs = append(evs, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return c, evs
}

func eventData(ev *evtx.Event, name string) string {
	for _, f := range ev.Data {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// TestWorkspaceAPI: aggregations count what the parsed file holds (values
// in their original case), the context window holds exactly the events on
// the computer within ±N minutes and opens at the event, and saved
// searches, templates, history and column settings keep what was stored,
// for whom the roles allow, audited.
func TestWorkspaceAPI(t *testing.T) {
	r := newRig(t, rigOptions{web: webConfig()})
	c, evs := workspaceCase(t, r, "deepbluecli/password-spray.evtx")
	base := "/api/cases/" + itoa(c.ID)

	// Aggregation of TargetUserName over EventID:4648.
	want := map[string]uint64{}
	for _, ev := range evs {
		if ev.EventID == 4648 {
			if v := eventData(ev, "TargetUserName"); v != "" {
				want[v]++
			}
		}
	}
	var agg store.Aggregation
	if st, raw := r.callAs(t, store.RoleReadOnly, "GET", base+"/aggregate?field=TargetUserName&size=1000&q="+url.QueryEscape("EventID:4648"), nil, &agg); st != http.StatusOK {
		t.Fatalf("aggregate: %d %s", st, raw)
	}
	if len(agg.Values) != len(want) || len(want) < 3 {
		t.Errorf("aggregate: %d values, want %d", len(agg.Values), len(want))
	}
	for _, v := range agg.Values {
		if want[v.Value] != v.Count {
			t.Errorf("aggregate %q: got %d, want %d (values keep their case)", v.Value, v.Count, want[v.Value])
		}
	}
	if st, _ := r.callAs(t, store.RoleReadOnly, "GET", base+"/aggregate?field=time", nil, nil); st != http.StatusBadRequest {
		t.Errorf("aggregate on time: got %d, want 400", st)
	}

	// Context: ±3 minutes on the computer around the middle event.
	anchor := evs[len(evs)/2]
	const minutes = 3
	span := minutes * time.Minute
	var inWindow []uint64
	for _, ev := range evs {
		if ev.Computer == anchor.Computer && !ev.TimeCreated.Before(anchor.TimeCreated.Add(-span)) && !ev.TimeCreated.After(anchor.TimeCreated.Add(span)) {
			inWindow = append(inWindow, ev.RecordID)
		}
	}
	var page engine.SearchPage
	if st, raw := r.call(t, "GET", base+"/search?size=1000&q="+url.QueryEscape("EventRecordID:"+itoa(anchor.RecordID)), nil, &page); st != http.StatusOK || len(page.Hits) != 1 {
		t.Fatalf("find the anchor: %d %s", st, raw)
	}
	id := page.Hits[0].ID
	var cp engine.ContextPage
	if st, raw := r.callAs(t, store.RoleReadOnly, "GET", base+"/events/"+id+"/context?by=computer&minutes=3&size=500", nil, &cp); st != http.StatusOK {
		t.Fatalf("context: %d %s", st, raw)
	}
	var got []uint64
	for _, h := range cp.Hits {
		got = append(got, h.Event.RecordID)
	}
	slices.Sort(got)
	slices.Sort(inWindow)
	if !slices.Equal(got, inWindow) || cp.Total != uint64(len(inWindow)) {
		t.Errorf("context: got %d events (total %d), want %d", len(got), cp.Total, len(inWindow))
	}
	if cp.Anchor < 0 || cp.Hits[cp.Anchor].ID != id || uint64(cp.Anchor) != cp.Position {
		t.Errorf("context anchor %d (position %d), want the event %s at its position", cp.Anchor, cp.Position, id)
	}
	if !slices.Contains(cp.Available, "process") {
		t.Errorf("available modes %v: want process (4648 has ProcessId)", cp.Available)
	}
	if st, _ := r.callAs(t, store.RoleReadOnly, "GET", base+"/events/"+id+"/context?by=nope", nil, nil); st != http.StatusBadRequest {
		t.Errorf("context by=nope: got %d, want 400", st)
	}

	// Saved searches: analysts save, readers see, owners and admins change.
	var ss store.SavedSearch
	body := map[string]any{"name": "spray users", "query": "EventID:4648", "params": map[string]string{"sort_field": "TargetUserName"},
		"columns": []string{"TargetUserName", "IpAddress"}}
	if st, raw := r.callAs(t, store.RoleReadOnly, "POST", base+"/saved-searches", body, nil); st != http.StatusForbidden {
		t.Errorf("reader saves: got %d %s, want 403", st, raw)
	}
	if st, raw := r.callAs(t, store.RoleAdmin, "POST", base+"/saved-searches", body, &ss); st != http.StatusCreated {
		t.Fatalf("save: %d %s", st, raw)
	}
	var list []store.SavedSearch
	if st, _ := r.callAs(t, store.RoleReadOnly, "GET", base+"/saved-searches", nil, &list); st != http.StatusOK || len(list) != 1 ||
		list[0].Query != "EventID:4648" || !slices.Equal(list[0].Columns, []string{"TargetUserName", "IpAddress"}) || list[0].Owner != "admin" {
		t.Errorf("list: %+v", list)
	}
	if st, _ := r.callAs(t, store.RoleAnalyst, "DELETE", base+"/saved-searches/"+itoa(ss.ID), nil, nil); st != http.StatusForbidden {
		t.Errorf("analyst deletes the admin's saved search: got %d, want 403", st)
	}
	body["name"] = "renamed"
	if st, raw := r.callAs(t, store.RoleAdmin, "PUT", base+"/saved-searches/"+itoa(ss.ID), body, &ss); st != http.StatusOK || ss.Name != "renamed" {
		t.Errorf("rename: %d %s", st, raw)
	}

	// Templates: the starter set for everyone; admins edit.
	var tpl []store.SavedSearch
	if st, _ := r.callAs(t, store.RoleReadOnly, "GET", "/api/search-templates", nil, &tpl); st != http.StatusOK || len(tpl) != 7 {
		t.Errorf("templates: %d", len(tpl))
	}
	tb := map[string]any{"name": "my template", "query": "EventID:4648"}
	if st, _ := r.callAs(t, store.RoleAnalyst, "POST", "/api/search-templates", tb, nil); st != http.StatusForbidden {
		t.Errorf("analyst adds a template: got %d, want 403", st)
	}
	var nt store.SavedSearch
	if st, raw := r.callAs(t, store.RoleAdmin, "POST", "/api/search-templates", tb, &nt); st != http.StatusCreated || nt.CaseID != 0 {
		t.Errorf("admin adds a template: %d %s", st, raw)
	}

	// History: the user's own searches, newest first.
	for _, q := range []string{"EventID:4648", "EventID:1102"} {
		if st, raw := r.callAs(t, store.RoleAnalyst, "GET", base+"/search?history=1&q="+url.QueryEscape(q), nil, nil); st != http.StatusOK {
			t.Fatalf("search: %d %s", st, raw)
		}
	}
	var hist []store.HistoryEntry
	if st, _ := r.callAs(t, store.RoleAnalyst, "GET", base+"/history", nil, &hist); st != http.StatusOK || len(hist) != 2 || hist[0].Query != "EventID:1102" {
		t.Errorf("analyst's history: %+v", hist)
	}
	if st, _ := r.callAs(t, store.RoleReadOnly, "GET", base+"/history", nil, &hist); st != http.StatusOK || len(hist) != 0 {
		t.Errorf("reader's history: %+v", hist)
	}

	// Columns per user.
	var prefs store.Prefs
	if st, raw := r.callAs(t, store.RoleReadOnly, "PUT", "/api/session/prefs", map[string]any{"columns": []string{"Image"}}, &prefs); st != http.StatusOK {
		t.Fatalf("set prefs: %d %s", st, raw)
	}
	if st, _ := r.callAs(t, store.RoleReadOnly, "GET", "/api/session/prefs", nil, &prefs); st != http.StatusOK || !slices.Equal(prefs.Columns, []string{"Image"}) {
		t.Errorf("prefs: %+v", prefs)
	}

	// Sorted on a field through the API: the values ascend.
	if st, raw := r.call(t, "GET", base+"/search?size=1000&data=all&sort=asc&sort_field=TargetUserName&q="+url.QueryEscape("EventID:4648"), nil, &page); st != http.StatusOK {
		t.Fatalf("sorted search: %d %s", st, raw)
	}
	var vals []string
	for _, h := range page.Hits {
		vals = append(vals, strings.ToLower(eventData(h.Event, "TargetUserName")))
	}
	if !slices.IsSorted(vals) || len(vals) == 0 {
		t.Errorf("sorted on TargetUserName: %q", vals)
	}

	// Per-case access: a user who is no member of the case sees none of
	// its saved searches, history, top values or context (404, as for a
	// case that does not exist); the templates stay theirs to use.
	u, err := r.ledger.CreateUser("outsider", store.RoleAnalyst, "outsider-password-for-tests")
	if err != nil {
		t.Fatal(err)
	}
	token, sess, err := r.ledger.CreateSession(u, "test")
	if err != nil {
		t.Fatal(err)
	}
	r.sessions["outsider"] = testSession{user: u.Name, token: token, csrf: sess.CSRF}
	for _, p := range []string{"/saved-searches", "/saved-searches/" + itoa(ss.ID), "/history", "/aggregate?field=TargetUserName",
		"/events/" + id + "/context"} {
		if st, raw := r.callAs(t, "outsider", "GET", base+p, nil, nil); st != http.StatusNotFound {
			t.Errorf("non-member GET %s: got %d %s, want 404", p, st, raw)
		}
	}
	if st, _ := r.callAs(t, "outsider", "POST", base+"/saved-searches", body, nil); st != http.StatusNotFound {
		t.Errorf("non-member saves a search: got %d, want 404", st)
	}
	if st, _ := r.callAs(t, "outsider", "GET", "/api/search-templates", nil, &tpl); st != http.StatusOK || len(tpl) != 8 {
		t.Errorf("non-member templates: %d, %d", st, len(tpl))
	}

	// Audit: each change recorded.
	actions := map[string]bool{}
	if err := r.ledger.AuditLog(0, func(e store.AuditEntry) bool {
		if e.Outcome == "ok" {
			actions[e.Action] = true
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"search.save", "search.update", "search.template.add", "user.prefs"} {
		if !actions[a] {
			t.Errorf("no audit entry %s", a)
		}
	}
}
