package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"casescope/store"
)

// caseStatsPath is GET /api/cases/{id}: the top bar's counts.
var caseStatsPath = regexp.MustCompile(`^/api/cases/[0-9]+/?$`)

// busyTopBar makes the top bar's counts as wide as a real large case's:
// all five Sigma levels with six- and seven-digit counts, IOC and tag
// counters, failed and pending files. Only those counts are rewritten;
// the page's layout is what the test checks.
func busyTopBar(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !caseStatsPath.MatchString(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var v map[string]any
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &v) != nil {
			for k, vs := range rec.Header() {
				w.Header()[k] = vs
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		v["sigma_by_level"] = map[string]int{"critical": 12345, "high": 3663, "medium": 456789, "low": 1234567, "informational": 2345678}
		v["ioc_events"], v["tagged_events"], v["failed_files"], v["pending_files"], v["events"] = 98765, 4321, 12, 345, 123456789
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(http.StatusOK)
		json.NewEncoder(w).Encode(v)
	})
}

// TestBrowserWorkspaceB walks the items 5–7 in Chromium as an
// analyst who is a member of the case: free text 4625, an invalid query,
// the event panel (%%NNNN explained, pivots shown, Star saved at once, a
// comment thread), the timeline (g t, its row opening the event), the
// top bar at 1440 px with every counter, the narrow layout at 1024 px,
// the IOC type reset, and an admin managing members; screenshots at both
// widths.
func TestBrowserWorkspaceB(t *testing.T) {
	r := newRig(t, rigOptions{web: webConfig(), wrap: busyTopBar})
	b := newBrowser(t, r.srv.URL)
	c := r.createCase(t, "workspace-b")
	if st, raw := r.upload(t, c.ID, uploadFile{"Security_short_selected.evtx", fixture(t, "Security_short_selected.evtx")}); st != http.StatusOK {
		t.Fatalf("upload: %d %s", st, raw)
	}
	r.waitIdle(t)
	if _, err := r.ledger.CreateUser("outsider", store.RoleAnalyst, "outsider-password-1"); err != nil {
		t.Fatal(err)
	}
	base := r.srv.URL + "/#/case/" + itoa(c.ID) + "/"

	b.login("analyst", testPasswords[store.RoleAnalyst])
	b.do("open search", chromedp.Navigate(base+"search"), chromedp.WaitVisible(chromedp.CSS("#q")))
	b.waitFor("results", `document.querySelector('#results tbody tr[data-id]') !== null`, 30*time.Second)

	// Top bar at 1440 px: every counter inside the bar and the viewport,
	// none under the buttons on the right.
	b.waitFor("five Sigma badges", `document.querySelectorAll('#stat-sigma .badge').length === 5`, 15*time.Second)
	clipped := eval[string](b, `(() => {
		const right = document.querySelector('.topbar-right').getBoundingClientRect();
		const bar = document.querySelector('.topbar').getBoundingClientRect();
		const out = [];
		for (const el of document.querySelectorAll('#case-stats .stat, #case-stats .badge')) {
			const r = el.getBoundingClientRect();
			const sameRow = r.bottom > right.top && r.top < right.bottom;
			if (r.width === 0 || r.right > window.innerWidth || r.bottom > bar.bottom + 0.5 || (sameRow && r.right > right.left))
				out.push(el.textContent);
		}
		return out.join(' | ');
	})()`)
	if clipped != "" {
		t.Errorf("top bar at 1440 px clips: %s", clipped)
	}
	if got := eval[string](b, `document.querySelector('#stat-sigma').title`); !strings.Contains(got, "hits") {
		t.Errorf("Sigma counter title: got %q, want it to explain events vs hits", got)
	}
	if got := eval[string](b, `document.querySelector('#stat-sigma').textContent`); !strings.Contains(got, "informational") || strings.Contains(got, "info ") {
		t.Errorf("levels spelt: got %q, want informational", got)
	}

	// Facets in the case Windows wrote them.
	b.waitFor("facets", `document.querySelectorAll('#facets .facet-v').length > 0`, 15*time.Second)
	if got := eval[string](b, `[...document.querySelectorAll('#facets .facet-v')].map((e) => e.textContent).join(',')`); !strings.Contains(got, "Security") || strings.Contains(got, ",security,") {
		t.Errorf("facet values: got %q, want Security in its case", got)
	}

	// An invalid query: the error, and a pager that says so.
	b.do("invalid query", chromedp.SetValue(chromedp.CSS("#q"), "EventID:("), chromedp.Click(chromedp.CSS("#run-search")))
	b.waitFor("the query error", `document.querySelector('#search-error').textContent.length > 0`, 15*time.Second)
	if got := eval[string](b, `document.querySelector('#page-info').textContent`); strings.Contains(got, "No more") || !strings.Contains(got, "Query error") {
		t.Errorf("pager after an invalid query: got %q", got)
	}

	// Free text 4625: the one failed logon (evtxexport: one 4625).
	b.do("free text 4625", chromedp.SetValue(chromedp.CSS("#q"), "4625"), chromedp.Click(chromedp.CSS("#run-search")))
	b.waitFor("one result", `document.querySelector('#page-info').textContent.includes('of 1')`, 15*time.Second)

	// 5152 holds %%14592 (Direction): explained beside the raw value.
	b.do("free text 5152", chromedp.SetValue(chromedp.CSS("#q"), "5152"), chromedp.Click(chromedp.CSS("#run-search")))
	b.waitFor("5152 results", `(() => { const rows = [...document.querySelectorAll('#results tbody tr[data-id] .eid-col')];
		return rows.length > 0 && rows.every((e) => e.textContent === '5152'); })()`, 15*time.Second)
	b.do("open the event", chromedp.Click(chromedp.CSS(`#results tbody tr[data-id] .event-col`)), chromedp.WaitVisible(chromedp.CSS(`#event-detail[data-state="fresh"] #event-data`)))
	b.waitFor("the explained message parameter", `[...document.querySelectorAll('#event-data .val-explain')].some((e) => e.textContent.includes('%%14592 = Inbound'))`, 15*time.Second)
	// Pivots: shown without hovering, and focusable.
	if got := eval[string](b, `(() => { const td = document.querySelector('#event-data td.pivot'); const btn = td.querySelector('button');
		return getComputedStyle(td).opacity + ' ' + btn.tabIndex; })()`); got != "0.6 0" {
		t.Errorf("pivot cell opacity and tab index: got %q, want \"0.6 0\"", got)
	}
	eval[chromedp.Void](b, `document.querySelector('#event-data td.pivot button').focus()`)
	if got := eval[string](b, `getComputedStyle(document.activeElement.closest('td.pivot')).opacity`); got != "1" {
		t.Errorf("focused pivot opacity: got %q, want 1", got)
	}
	// Star in the panel saves at once: closed with Esc, no Save.
	id := eval[string](b, `document.querySelector('#results tbody tr.sel').dataset.id`)
	b.do("star in the panel", chromedp.Click(chromedp.CSS("#tag-star")))
	b.waitFor("starred", `document.querySelector('#tag-star').textContent.includes('Starred')`, 15*time.Second)
	if tg, err := r.ledger.Tag(c.ID, id); err != nil || !tg.Starred {
		t.Errorf("star saved: got %+v %v, want starred without Save", tg, err)
	}
	// A comment thread.
	b.do("comment", chromedp.SetValue(chromedp.CSS("#comment-text"), "Inbound RDP from 23.94.153.202 blocked; check the firewall"),
		chromedp.Click(chromedp.CSS("#comment-add")))
	b.waitFor("the comment", `document.querySelector('#comment-list').textContent.includes('check the firewall') && document.querySelector('#comment-list .comment-author').textContent === 'analyst'`, 15*time.Second)
	// A long tag stays inside the Detections cell.
	long := strings.Repeat("lateral-movement-", 3) + "suspect" // 58 characters: tags hold up to 64
	b.do("long tag", chromedp.SetValue(chromedp.CSS("#tag-words"), long), chromedp.Click(chromedp.CSS("#tag-save")))
	b.waitFor("the tag badge", `!!document.querySelector('#results tbody tr.sel .badge.tagb')`, 15*time.Second)
	if got := eval[bool](b, `(() => { const b = document.querySelector('#results tbody tr.sel .badge.tagb').getBoundingClientRect();
		const c = document.querySelector('#results tbody tr.sel .det-cell').getBoundingClientRect(); return b.right <= c.right + 0.5; })()`); !got {
		t.Errorf("the long tag badge overflows its cell")
	}
	b.shot("1440-search-event-comments")

	// 24-hour UTC range inputs.
	eval[chromedp.Void](b, `(() => { const s = document.querySelector('#f-time'); s.value = 'custom'; s.dispatchEvent(new Event('change')); })()`)
	if got := eval[string](b, `document.querySelector('#f-from').type + ' ' + document.querySelector('#f-from').placeholder`); got != "text YYYY-MM-DD HH:MM:SS" {
		t.Errorf("range input: got %q, want a 24-hour text input", got)
	}

	// g t opens the timeline; a row opens its event with the thread.
	eval[chromedp.Void](b, `document.activeElement && document.activeElement.blur()`)
	b.do("g t", chromedp.KeyEvent("g"), chromedp.KeyEvent("t"))
	b.waitFor("the timeline", `!!document.querySelector('#timeline-table tbody tr.clickable')`, 15*time.Second)
	if got := eval[string](b, `document.querySelector('#timeline-table tbody tr.clickable .comments-cell').textContent`); !strings.Contains(got, "check the firewall") {
		t.Errorf("timeline comments: got %q", got)
	}
	b.shot("1440-timeline")
	b.do("open from the timeline", chromedp.Click(chromedp.CSS("#timeline-table tbody tr.clickable td")))
	b.waitFor("the event panel from the timeline", `!!document.querySelector('#event-detail:not([hidden]) #comment-list') && document.querySelector('#comment-list').textContent.includes('check the firewall')`, 30*time.Second)

	// The IOC type goes back to auto-detect after an add.
	b.do("iocs", chromedp.Navigate(base+"iocs"), chromedp.WaitVisible(chromedp.CSS("#ioc-type")))
	eval[chromedp.Void](b, `(() => { const s = document.querySelector('#ioc-type'); s.value = 'username'; })()`)
	b.do("add a username IOC", chromedp.SetValue(chromedp.CSS("#ioc-value"), "jdoe"), chromedp.Click(chromedp.CSS("#ioc-add")))
	b.waitFor("the IOC listed", `document.querySelector('#ioc-table').textContent.includes('jdoe')`, 30*time.Second)
	if got := eval[string](b, `document.querySelector('#ioc-type').value`); got != "" {
		t.Errorf("IOC type after an add: got %q, want auto-detect", got)
	}

	// 1024 px: facets and counters stay, names do not wrap per letter,
	// the IOC table does not scroll sideways.
	b.do("1024 px", chromedp.EmulateViewport(1024, 768))
	b.waitFor("IOC table laid out", `document.querySelector('#ioc-table').getBoundingClientRect().width > 0`, 10*time.Second)
	if got := eval[bool](b, `(() => { const w = document.querySelector('#ioc-table').closest('.table-wrap'); return w.scrollWidth <= w.clientWidth + 1; })()`); !got {
		t.Errorf("the IOC table scrolls sideways at 1024 px")
	}
	b.shot("1024-iocs")
	b.do("evidence", chromedp.Navigate(base+"evidence"), chromedp.WaitVisible(chromedp.CSS("#files-table")))
	b.waitFor("the file row", `!!document.querySelector('#files-table td.file-name')`, 15*time.Second)
	if w := eval[float64](b, `document.querySelector('#files-table td.file-name').getBoundingClientRect().width`); w < 100 {
		t.Errorf("evidence file name column at 1024 px: %.0f px wide, want room for a name", w)
	}
	b.shot("1024-evidence")
	b.do("search", chromedp.Navigate(base+"search"), chromedp.WaitVisible(chromedp.CSS("#q")))
	b.waitFor("facets at 1024 px", `document.querySelectorAll('#facets .facet-v').length > 0 && document.querySelector('#facets').getBoundingClientRect().width > 100`, 15*time.Second)
	if got := eval[bool](b, `(() => { const s = document.querySelector('#case-stats'); return getComputedStyle(s).display !== 'none' && s.getBoundingClientRect().width > 0 && document.querySelectorAll('#stat-sigma .badge').length === 5; })()`); !got {
		t.Errorf("case counters hidden at 1024 px")
	}
	b.shot("1024-search")

	// An admin adds the outsider as a read-only member from the Cases page.
	b.do("log out", chromedp.Click(chromedp.CSS("#logout-btn")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	b.login("admin", testPasswords[store.RoleAdmin])
	b.do("cases", chromedp.Navigate(r.srv.URL+"/#/cases"), chromedp.WaitVisible(chromedp.CSS("#cases-table tbody tr[data-id] .case-members")))
	b.do("members", chromedp.Click(chromedp.CSS("#cases-table tbody tr[data-id] .case-members")), chromedp.WaitVisible(chromedp.CSS("#members-dialog")))
	b.waitFor("members listed", `document.querySelector('#members-table').textContent.includes('analyst')`, 15*time.Second)
	eval[chromedp.Void](b, `document.querySelector('#member-role').value = 'read-only'`)
	b.do("add the outsider", chromedp.SetValue(chromedp.CSS("#member-name"), "outsider"), chromedp.Click(chromedp.CSS("#member-add")))
	b.waitFor("the outsider listed", `document.querySelector('#members-table').textContent.includes('outsider')`, 15*time.Second)
	if m, err := r.ledger.Membership(c.ID, "outsider"); err != nil || m.Role != store.MemberReadOnly {
		t.Errorf("outsider's membership: got %+v %v, want read-only", m, err)
	}
	b.shot("1024-members")
	b.do("1440 px", chromedp.EmulateViewport(1440, 900))
	b.shot("1440-members")
	b.checkClean()
}
