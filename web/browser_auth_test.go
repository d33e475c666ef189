package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"casescope/store"
)

// TestBrowserRoles logs in as each role in turn: the read-only user sees
// no control it cannot use, the admin adds a user (the generated password
// shown once), changes its role and reads the audit log, and the new user
// logs in with the generated password. A hostile user name tried at login
// shows in the audit log as text.
func TestBrowserRoles(t *testing.T) {
	r := newRig(t, rigOptions{web: webConfig()})
	c := r.createCase(t, "roles")
	if st, raw := r.upload(t, c.ID, uploadFile{"Security.evtx", fixture(t, "Security_short_selected.evtx")}); st != http.StatusOK {
		t.Fatalf("upload: %d %s", st, raw)
	}
	r.waitIdle(t)
	if res, _ := r.login(t, xssImg, "not-a-password"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("hostile login: %d", res.StatusCode)
	}
	b := newBrowser(t, r.srv.URL)

	// Read-only: no create, upload, import, file actions, tagging, IOC
	// edits; no Users or Audit log.
	b.login("reader", testPasswords[store.RoleReadOnly])
	b.do("cases", chromedp.WaitVisible(chromedp.CSS("#cases-table tbody tr[data-id]")))
	if got := eval[string](b, `document.querySelector('#user-role').textContent`); got != "read-only" {
		t.Errorf("role pill: got %q, want read-only", got)
	}
	b.shot("roles-01-reader-cases")
	hidden := func(what, sel string) {
		t.Helper()
		if eval[bool](b, `(() => { const e = document.querySelector(`+js(sel)+`); return !!e && e.offsetParent !== null; })()`) {
			t.Errorf("%s: %s is visible to %s", what, sel, eval[string](b, `document.body.dataset.role`))
		}
	}
	hidden("cases", "#new-case-form")
	hidden("nav", `.nav-item[data-view="users"]`)
	hidden("nav", `.nav-item[data-view="audit"]`)
	b.do("open the case", chromedp.Click(chromedp.CSS(`#cases-table tbody tr[data-id]`)), chromedp.WaitVisible(chromedp.CSS("#results")))
	b.waitFor("results", `document.querySelector('#results tbody tr[data-id]') !== null`, 20*time.Second)
	if !eval[bool](b, `document.querySelector('#results tbody tr[data-id] .star').disabled`) {
		t.Errorf("search: the star button is enabled for read-only")
	}
	// Read-only may export: the download request reaches the server.
	eval[chromedp.Void](b, `(() => { const s = document.querySelector('#export-format'); s.value = 'csv'; s.dispatchEvent(new Event('change')); })()`)
	r.waitAudit(t, "case.export", "reader")
	b.do("open an event", chromedp.Click(chromedp.CSS(`#results tbody tr[data-id] .event-col`)), chromedp.WaitVisible(chromedp.CSS(`#event-detail[data-state="fresh"] #event-data`)))
	hidden("event", "#tag-save")
	b.do("evidence", chromedp.Click(chromedp.CSS(`.nav-item[data-view="evidence"]`)), chromedp.WaitVisible(chromedp.CSS("#files-table tbody tr[data-id]")))
	hidden("evidence", "#dropzone")
	hidden("evidence", "#import-form")
	hidden("evidence", "#files-table td.actions button")
	b.do("iocs", chromedp.Click(chromedp.CSS(`.nav-item[data-view="iocs"]`)), chromedp.WaitVisible(chromedp.CSS("#ioc-table")))
	hidden("iocs", "#ioc-add-form")
	hidden("iocs", "#ioc-bulk-form")
	b.shot("roles-02-reader-iocs")
	b.do("log out", chromedp.Click(chromedp.CSS("#logout-btn")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if st, _ := r.callAs(t, store.RoleReadOnly, "GET", "/api/cases", nil, nil); st != http.StatusOK {
		t.Fatalf("the rig's own reader session should be untouched: %d", st)
	}

	// Admin: Users and Audit log.
	b.login("admin", testPasswords[store.RoleAdmin])
	b.do("users", chromedp.Click(chromedp.CSS(`.nav-item[data-view="users"]`)), chromedp.WaitVisible(chromedp.CSS("#new-user-form")))
	b.waitFor("the user list", `document.querySelectorAll('#users-table tbody tr[data-user]').length === 3`, 30*time.Second)
	b.do("add a user", chromedp.SendKeys(chromedp.CSS("#new-user-name"), "erin"), chromedp.SetValue(chromedp.CSS("#new-user-role"), "read-only"),
		chromedp.Click(chromedp.CSS("#add-user")))
	b.waitFor("the generated password", `(document.querySelector('#secret-password') || {textContent: ''}).textContent.length >= 12`, 30*time.Second)
	password := eval[string](b, `document.querySelector('#secret-password').textContent`)
	b.waitFor("erin in the list", `document.querySelector('#users-table tr[data-user="erin"]') !== null`, 30*time.Second)
	b.shot("roles-03-user-added")
	eval[chromedp.Void](b, `(() => { const s = document.querySelector('#users-table tr[data-user="erin"] select');
		s.value = 'analyst'; s.dispatchEvent(new Event('change')); })()`)
	b.waitFor("erin an analyst", `document.querySelector('#toasts').textContent.includes('erin is now analyst')`, 30*time.Second)
	u, err := r.ledger.User("erin")
	if err != nil || u.Role != store.RoleAnalyst {
		t.Fatalf("erin in the ledger: %+v %v, want analyst", u, err)
	}
	b.do("audit log", chromedp.Click(chromedp.CSS(`.nav-item[data-view="audit"]`)), chromedp.WaitVisible(chromedp.CSS("#audit-table")))
	b.waitFor("the user change in the log", `Array.from(document.querySelectorAll('#audit-table tbody tr')).some((tr) =>
		tr.textContent.includes('user.update') && tr.textContent.includes('erin'))`, 30*time.Second)
	b.assertInert("audit", xssImg[:30])
	b.shot("roles-04-audit")
	b.do("log out", chromedp.Click(chromedp.CSS("#logout-btn")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	b.shot("roles-05-logged-out")

	// The new user, with the password shown once.
	b.login("erin", password)
	b.do("erin sees the cases", chromedp.WaitVisible(chromedp.CSS("#new-case-form")))
	hidden("nav", `.nav-item[data-view="users"]`)
	// Her role changes under her: the next request ends the session and
	// the login page comes back.
	if _, err := r.ledger.UpdateUser("erin", func(u *store.User) error { u.Role = store.RoleReadOnly; return nil }); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the login page after the role change", `document.querySelector('#login-form') !== null &&
		document.querySelector('#login-note').textContent.includes('session ended')`, 15*time.Second)
	if got := eval[string](b, `document.querySelector('#main').textContent`); strings.Contains(got, "roles") {
		t.Errorf("case data still on the page after the session ended")
	}
	b.checkClean()
}

// waitAudit polls the ledger until an entry of action by actor shows up,
// for up to 20 s.
func (r *rig) waitAudit(t *testing.T, action, actor string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		found := false
		err := r.ledger.AuditLog(0, func(e store.AuditEntry) bool {
			found = e.Action == action && e.Actor == actor
			return !found
		})
		if err != nil {
			t.Fatal(err)
		}
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit entry %s by %s within 20 s", action, actor)
		}
		<-tick.C
	}
}
