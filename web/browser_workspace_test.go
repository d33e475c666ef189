package web_test

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"casescope/evtx"
	"casescope/store"
)

// TestBrowserWorkspaceA drives issue 18's workspace in Chromium at 1440
// and 1024 px: top values of any field (counts from the parsed file),
// filter, exclude and multi-select from them; chosen columns, sorting on
// a data field and the columns kept for the user; a saved search opened
// from its link, recent searches and a template; the histogram's y-axis
// and brush-to-zoom; and the events around an event, opening at it,
// with the main search left as it was.
func TestBrowserWorkspaceA(t *testing.T) {
	r := newRig(t, rigOptions{web: webConfig()})
	c, evs := workspaceCase(t, r, "deepbluecli/password-spray.evtx")
	b := newBrowser(t, r.srv.URL)
	b.login("analyst", testPasswords[store.RoleAnalyst])
	caseURL := r.srv.URL + "/#/case/" + itoa(c.ID) + "/search"
	pageTotal := `(() => { const m = /of ([\d,]+)/.exec(document.querySelector('#page-info').textContent); return m ? +m[1].replace(/,/g, '') : -1; })()`
	waitTotal := func(what string, n int) {
		t.Helper()
		b.waitFor(what, fmt.Sprintf(`%s === %d && !document.querySelector('.results-col').classList.contains('loading')`, pageTotal, n), 20*time.Second)
	}

	// Ground truth from the parsed file.
	users := map[string]int{}
	var spray []*evtx.Event
	for _, ev := range evs {
		if ev.EventID == 4648 {
			spray = append(spray, ev)
			if v := eventData(ev, "TargetUserName"); v != "" {
				users[v]++
			}
		}
	}
	type vc struct {
		v string
		n int
	}
	var top []vc
	for v, n := range users {
		top = append(top, vc{v, n})
	}
	slices.SortFunc(top, func(a, b vc) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(strings.ToLower(a.v), strings.ToLower(b.v))
	})
	if len(top) < 3 {
		t.Fatalf("want several TargetUserName values, got %v", top)
	}

	// 1. Top values of TargetUserName for EventID:4648.
	b.do("open search", chromedp.Navigate(caseURL+"?q="+url.QueryEscape("EventID:4648")), chromedp.WaitVisible(chromedp.CSS("#agg-field")))
	waitTotal("the 4648 events", len(spray))
	b.do("count TargetUserName", chromedp.SendKeys(chromedp.CSS("#agg-field"), "TargetUserName"), chromedp.Click(chromedp.CSS("#agg-go")))
	b.waitFor("the top values", `document.querySelectorAll('#agg-values .agg-row').length > 0`, 20*time.Second)
	type aggRow struct {
		Value string `json:"value"`
		Count string `json:"count"`
	}
	rows := eval[[]aggRow](b, `[...document.querySelectorAll('#agg-values .agg-row')].map((r) => ({value: r.dataset.value, count: r.dataset.count}))`)
	if len(rows) != min(20, len(top)) {
		t.Errorf("top values: %d rows, want %d", len(rows), min(20, len(top)))
	}
	for _, row := range rows {
		if fmt.Sprint(users[row.Value]) != row.Count {
			t.Errorf("top value %q: shown %s events, the file has %d", row.Value, row.Count, users[row.Value])
		}
	}
	b.do("show the chart", chromedp.Click(chromedp.CSS("#agg-chart-btn")), chromedp.WaitVisible(chromedp.CSS("#agg-table")))
	if n := eval[int](b, `document.querySelectorAll('#agg-table tbody tr').length`); n != len(rows) {
		t.Errorf("chart rows %d, want %d", n, len(rows))
	}
	b.shot("01-top-values-chart-1440")

	// Click filters, alt-click excludes, − excludes, ticks filter together.
	b.do("filter on the top value", chromedp.Click(chromedp.CSS(`#agg-values .agg-row .agg-pick`)))
	waitTotal("the top value's events", top[0].n)
	wantQ := `EventID:4648 TargetUserName:` + fmt.Sprintf("%q", top[0].v)
	if got := eval[string](b, `document.querySelector('#q').value`); got != wantQ {
		t.Errorf("query after a click: got %q, want %q", got, wantQ)
	}
	b.do("back to 4648", chromedp.Navigate(caseURL+"?q="+url.QueryEscape("EventID:4648")), chromedp.WaitVisible(chromedp.CSS("#agg-field")))
	waitTotal("the 4648 events", len(spray))
	b.do("count TargetUserName", chromedp.SendKeys(chromedp.CSS("#agg-field"), "TargetUserName"), chromedp.Click(chromedp.CSS("#agg-go")))
	b.waitFor("the top values", `document.querySelectorAll('#agg-values .agg-row').length > 2`, 20*time.Second)
	eval[chromedp.Void](b, `document.querySelector('#agg-values .agg-row .agg-pick').dispatchEvent(new MouseEvent('click', {bubbles: true, altKey: true}))`)
	waitTotal("all but the top value", len(spray)-top[0].n)
	b.waitFor("the top values again", `document.querySelectorAll('#agg-values .agg-row').length > 1 && !document.querySelector('#agg-values').classList.contains('loading')`, 20*time.Second)
	second := eval[string](b, `document.querySelector('#agg-values .agg-row').dataset.value`)
	if second != top[1].v {
		t.Errorf("after excluding %q the top value is %q, want %q", top[0].v, second, top[1].v)
	}
	b.do("exclude with the − control", chromedp.Click(chromedp.CSS(`#agg-values .agg-row .agg-x`)))
	waitTotal("all but the top two values", len(spray)-top[0].n-top[1].n)
	b.do("back to 4648", chromedp.Navigate(caseURL+"?q="+url.QueryEscape("EventID:4648")), chromedp.WaitVisible(chromedp.CSS("#agg-field")))
	waitTotal("the 4648 events", len(spray))
	b.do("count TargetUserName", chromedp.SendKeys(chromedp.CSS("#agg-field"), "TargetUserName"), chromedp.Click(chromedp.CSS("#agg-go")))
	b.waitFor("the top values", `document.querySelectorAll('#agg-values .agg-row').length > 2`, 20*time.Second)
	eval[chromedp.Void](b, `(() => { const c = document.querySelectorAll('#agg-values .agg-check'); c[1].click(); c[2].click(); })()`)
	b.do("filter on two ticked values", chromedp.Click(chromedp.CSS("#agg-filter-sel")))
	waitTotal("the two ticked values' events", top[1].n+top[2].n)

	// 2. Columns: TargetUserName and EventRecordID, sorted on TargetUserName.
	b.do("back to 4648", chromedp.Navigate(caseURL+"?q="+url.QueryEscape("EventID:4648")), chromedp.WaitVisible(chromedp.CSS("#cols-btn")))
	waitTotal("the 4648 events", len(spray))
	b.do("open columns", chromedp.Click(chromedp.CSS("#cols-btn")), chromedp.WaitVisible(chromedp.CSS("#col-add")))
	for _, col := range []string{"TargetUserName", "EventRecordID"} {
		b.do("add column "+col, chromedp.SendKeys(chromedp.CSS("#col-add"), col), chromedp.Click(chromedp.CSS("#col-add-btn")))
		b.waitFor("column "+col, `[...document.querySelectorAll('#results th.xcol-h')].some((th) => th.dataset.field === `+js(col)+`)`, 10*time.Second)
	}
	waitTotal("the 4648 events", len(spray))
	b.do("sort on TargetUserName", chromedp.Click(chromedp.CSS(`#results th.xcol-h[data-field="TargetUserName"]`)))
	b.waitFor("sorted on TargetUserName", `document.querySelector('#results th.sorted') && document.querySelector('#results th.sorted').dataset.field === 'TargetUserName' && `+
		`new URLSearchParams(location.hash.split('?')[1]).get('sort_field') === 'TargetUserName' && !document.querySelector('.results-col').classList.contains('loading')`, 20*time.Second)
	waitTotal("the sorted 4648 events", len(spray))
	type cell struct {
		User   string `json:"user"`
		Record string `json:"record"`
	}
	cells := eval[[]cell](b, `[...document.querySelectorAll('#results tbody tr[data-id]')].map((tr) => { const x = tr.querySelectorAll('td.xcol'); return {user: x[0].textContent, record: x[1].textContent}; })`)
	sorted := slices.Clone(spray)
	slices.SortStableFunc(sorted, func(a, b *evtx.Event) int {
		return cmp.Or(strings.Compare(strings.ToLower(eventData(a, "TargetUserName")), strings.ToLower(eventData(b, "TargetUserName"))),
			a.TimeCreated.Compare(b.TimeCreated))
	})
	if len(cells) != min(50, len(sorted)) {
		t.Fatalf("sorted page: %d rows, want %d", len(cells), min(50, len(sorted)))
	}
	byRecord := map[string]*evtx.Event{}
	for _, ev := range spray {
		byRecord[fmt.Sprint(ev.RecordID)] = ev
	}
	for i, cl := range cells {
		ev := byRecord[cl.Record]
		if ev == nil || eventData(ev, "TargetUserName") != cl.User {
			t.Fatalf("row %d: record %s shows TargetUserName %q; the file has %v", i, cl.Record, cl.User, ev)
		}
		if want := strings.ToLower(eventData(sorted[i], "TargetUserName")); strings.ToLower(cl.User) != want {
			t.Errorf("row %d: TargetUserName %q, want %q (ascending)", i, cl.User, want)
		}
	}
	b.shot("02-columns-sorted-1440")
	// The columns stay for the user: a fresh search without cols shows them.
	b.do("reopen search", chromedp.Navigate(caseURL), chromedp.WaitVisible(chromedp.CSS("#results")))
	b.waitFor("the user's columns", `[...document.querySelectorAll('#results th.xcol-h')].map((th) => th.dataset.field).join(',') === 'TargetUserName,EventRecordID'`, 20*time.Second)

	// 3. Save the sorted search; open it from its link.
	b.do("back to the sorted search", chromedp.Navigate(caseURL+"?q="+url.QueryEscape("EventID:4648")+"&sort=asc&sort_field=TargetUserName&cols=TargetUserName,EventRecordID"),
		chromedp.WaitVisible(chromedp.CSS("#saved-btn")))
	waitTotal("the sorted 4648 events", len(spray))
	b.do("open saved searches", chromedp.Click(chromedp.CSS("#saved-btn")), chromedp.WaitVisible(chromedp.CSS("#save-name")))
	b.do("save it", chromedp.SendKeys(chromedp.CSS("#save-name"), "Spray targets A-Z"), chromedp.Click(chromedp.CSS("#save-search")))
	b.waitFor("the saved search listed", `[...document.querySelectorAll('#saved-list .ws-name')].some((s) => s.textContent === 'Spray targets A-Z')`, 10*time.Second)
	b.waitFor("the recent searches", `[...document.querySelectorAll('#history-list .ws-q, #history-list .ws-name')].some((s) => s.textContent === 'EventID:4648')`, 10*time.Second)
	b.waitFor("the templates", `document.querySelectorAll('#template-list .ws-item').length === 7`, 10*time.Second)
	b.shot("03-saved-panel-1440")
	var saved []store.SavedSearch
	if st, raw := r.callAs(t, store.RoleReadOnly, "GET", "/api/cases/"+itoa(c.ID)+"/saved-searches", nil, &saved); st != http.StatusOK || len(saved) != 1 {
		t.Fatalf("saved searches: %d %s", st, raw)
	}
	if s := saved[0]; s.Query != "EventID:4648" || s.Params["sort_field"] != "TargetUserName" || s.Params["sort"] != "asc" ||
		!slices.Equal(s.Columns, []string{"TargetUserName", "EventRecordID"}) || s.Owner != "analyst" {
		t.Errorf("saved: %+v", s)
	}
	b.do("clear the columns", chromedp.Navigate(caseURL+"?cols="), chromedp.WaitVisible(chromedp.CSS("#results")))
	b.do("open the link", chromedp.Navigate(caseURL+"?saved="+itoa(saved[0].ID)), chromedp.WaitVisible(chromedp.CSS("#results")))
	b.waitFor("the saved search", `document.querySelector('#q').value === 'EventID:4648' && document.querySelector('#results th.sorted') && `+
		`document.querySelector('#results th.sorted').dataset.field === 'TargetUserName'`, 20*time.Second)
	waitTotal("the saved search's events", len(spray))
	if got := eval[string](b, `document.querySelector('#results tbody tr[data-id] td.xcol').textContent`); !strings.EqualFold(got, eventData(sorted[0], "TargetUserName")) {
		t.Errorf("saved search's first row: %q, want %q", got, eventData(sorted[0], "TargetUserName"))
	}
	// A template: Log clearing.
	clears := 0
	for _, ev := range evs {
		if (ev.Channel == "Security" && ev.EventID == 1102) || (ev.Channel == "System" && ev.EventID == 104) {
			clears++
		}
	}
	b.do("open saved searches", chromedp.Click(chromedp.CSS("#saved-btn")), chromedp.WaitVisible(chromedp.CSS("#template-list")))
	b.waitFor("the templates", `document.querySelectorAll('#template-list .ws-item').length === 7`, 10*time.Second)
	eval[chromedp.Void](b, `[...document.querySelectorAll('#template-list .ws-open')].find((b) => b.querySelector('.ws-name').textContent === 'Log clearing').click()`)
	waitTotal("the log clearing events", clears)

	// 4. Histogram: y-axis and brush.
	b.do("all events", chromedp.Navigate(caseURL+"?q="), chromedp.WaitVisible(chromedp.CSS("#hist-bars")))
	waitTotal("every event", len(evs))
	var hist searchAnswerHist
	if st, raw := r.call(t, "GET", "/api/cases/"+itoa(c.ID)+"/search?size=1&histogram=1", nil, &hist); st != http.StatusOK {
		t.Fatalf("histogram: %d %s", st, raw)
	}
	maxCount := 0
	for _, bk := range hist.Histogram {
		maxCount = max(maxCount, bk.Count)
	}
	if got := eval[string](b, `document.querySelector('#hist-y span').textContent`); got != commas(maxCount) {
		t.Errorf("y-axis top: %q, want %s", got, commas(maxCount))
	}
	// Brush across the first half of the bars that hold events.
	var nz []int
	for i, bk := range hist.Histogram {
		if bk.Count > 0 {
			nz = append(nz, i)
		}
	}
	a, z := nz[0], nz[max(0, len(nz)/2-1)]
	lo := hist.Histogram[a].Start
	var hi time.Time
	if z+1 < len(hist.Histogram) {
		hi = hist.Histogram[z+1].Start
	}
	inRange := 0
	for _, ev := range evs {
		if !ev.TimeCreated.Before(lo) && (hi.IsZero() || ev.TimeCreated.Before(hi)) {
			inRange++
		}
	}
	type pt struct{ X, Y float64 }
	at := func(i int) pt {
		return eval[pt](b, fmt.Sprintf(`(() => { const r = document.querySelectorAll('#hist-bars .hbar')[%d].getBoundingClientRect(); return {X: r.left + r.width / 2, Y: r.top + r.height / 2}; })()`, i))
	}
	p0, p1 := at(a), at(z)
	y := eval[float64](b, `(() => { const r = document.querySelector('#hist-bars').getBoundingClientRect(); return r.top + r.height / 2; })()`)
	b.do("brush across the bars", chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, p0.X, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, (p0.X+p1.X)/2, y, chromedp.ButtonLeft), chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, p1.X, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, p1.X, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	waitTotal("the brushed range's events", inRange)
	if got := eval[string](b, `document.querySelector('#f-time').value`); got != "custom" {
		t.Errorf("after the brush the range is %q, want custom", got)
	}
	b.shot("04-histogram-brushed-1440")

	// 5. Events around one: the middle event by time.
	byTime := slices.Clone(evs)
	slices.SortStableFunc(byTime, func(a, b *evtx.Event) int {
		return cmp.Or(a.TimeCreated.Compare(b.TimeCreated), cmp.Compare(a.ChunkOffset, b.ChunkOffset), cmp.Compare(a.RecordOffset, b.RecordOffset))
	})
	anchor := byTime[len(byTime)/2]
	window := func(minutes int, same func(ev *evtx.Event) bool) []*evtx.Event {
		span := time.Duration(minutes) * time.Minute
		var out []*evtx.Event
		for _, ev := range byTime {
			if same(ev) && !ev.TimeCreated.Before(anchor.TimeCreated.Add(-span)) && !ev.TimeCreated.After(anchor.TimeCreated.Add(span)) {
				out = append(out, ev)
			}
		}
		return out
	}
	sameComputer := func(ev *evtx.Event) bool { return ev.Computer == anchor.Computer }
	checkContext := func(what string, want []*evtx.Event) {
		t.Helper()
		b.waitFor(what, fmt.Sprintf(`!document.querySelector('#context-view').classList.contains('loading') && `+
			`/^%s events /.test(document.querySelector('#ctx-info').textContent) && document.querySelector('#ctx-table tr.anchor') !== null`, commas(len(want))), 20*time.Second)
		pos := slices.Index(want, anchor)
		var wantRec []string
		for _, ev := range want[max(0, pos-50):min(len(want), pos+51)] {
			wantRec = append(wantRec, fmt.Sprint(ev.RecordID))
		}
		got := eval[[]string](b, `[...document.querySelectorAll('#ctx-table tbody tr')].map((tr) => tr.dataset.record)`)
		if !slices.Equal(got, wantRec) {
			t.Errorf("%s: rows %v, want %v", what, got, wantRec)
		}
		if got := eval[string](b, `document.querySelector('#ctx-table tr.anchor').dataset.record`); got != fmt.Sprint(anchor.RecordID) {
			t.Errorf("%s: anchor row is record %s, want %d", what, got, anchor.RecordID)
		}
		if !eval[bool](b, `(() => { const a = document.querySelector('#ctx-table tr.anchor').getBoundingClientRect(); `+
			`const v = document.querySelector('#ctx-list').getBoundingClientRect(); return a.top >= v.top && a.bottom <= v.bottom; })()`) {
			t.Errorf("%s: the anchor row is not in view", what)
		}
	}
	mainQ := "EventRecordID:" + fmt.Sprint(anchor.RecordID)
	b.do("search the anchor", chromedp.Navigate(caseURL+"?q="+url.QueryEscape(mainQ)), chromedp.WaitVisible(chromedp.CSS("#results")))
	waitTotal("the anchor", 1)
	b.do("open it", chromedp.Click(chromedp.CSS(`#results tbody tr[data-id] .event-col`)), chromedp.WaitVisible(chromedp.CSS(`#event-detail[data-state="fresh"] #ctx-open`)))
	b.do("events around it", chromedp.Click(chromedp.CSS("#ctx-open")), chromedp.WaitVisible(chromedp.CSS("#context-view")))
	checkContext("±5 min on the computer", window(5, sameComputer))
	b.shot("05-context-computer-1440")
	b.do("±1 min", chromedp.SetValue(chromedp.CSS("#ctx-preset"), "1"))
	eval[chromedp.Void](b, `document.querySelector('#ctx-preset').dispatchEvent(new Event('change'))`)
	checkContext("±1 min on the computer", window(1, sameComputer))
	for _, m := range []struct {
		mode   string
		fields []string
	}{{"session", []string{"TargetLogonId", "SubjectLogonId", "LogonId"}}, {"process", []string{"ProcessId"}}} {
		key := ""
		for _, f := range m.fields {
			if v := eventData(anchor, f); v != "" && v != "-" {
				key = v
				break
			}
		}
		if key == "" {
			t.Fatalf("anchor has no %s value", m.mode)
		}
		same := func(ev *evtx.Event) bool {
			if ev.Computer != anchor.Computer {
				return false
			}
			for _, f := range m.fields {
				if strings.EqualFold(eventData(ev, f), key) {
					return true
				}
			}
			return false
		}
		b.do("by "+m.mode, chromedp.Click(chromedp.CSS(`#context-view .ctx-mode[data-mode="`+m.mode+`"]`)))
		checkContext("±1 min by "+m.mode, window(1, same))
	}
	if got := eval[string](b, `document.querySelector('#q').value`); got != mainQ {
		t.Errorf("main query under the context view: %q, want %q", got, mainQ)
	}
	waitTotal("the main search unchanged", 1)
	b.do("close the context", chromedp.Click(chromedp.CSS("#ctx-close")), chromedp.WaitNotPresent(chromedp.CSS("#context-view")))

	// 1024 px: the same views.
	b.do("1024 px", chromedp.EmulateViewport(1024, 768))
	b.do("search at 1024", chromedp.Navigate(caseURL+"?q="+url.QueryEscape("EventID:4648")+"&cols=TargetUserName,IpAddress"), chromedp.WaitVisible(chromedp.CSS("#results")))
	waitTotal("the 4648 events", len(spray))
	b.do("open saved searches", chromedp.Click(chromedp.CSS("#saved-btn")), chromedp.WaitVisible(chromedp.CSS("#saved-list")))
	b.waitFor("the lists", `document.querySelectorAll('#template-list .ws-item').length === 7`, 10*time.Second)
	b.shot("06-saved-panel-1024")
	b.do("close saved searches", chromedp.Click(chromedp.CSS("#saved-btn")))
	b.do("open an event", chromedp.Click(chromedp.CSS(`#results tbody tr[data-id] .event-col`)), chromedp.WaitVisible(chromedp.CSS(`#event-detail[data-state="fresh"] #ctx-open`)))
	b.shot("07-columns-detail-1024")
	b.do("events around it", chromedp.Click(chromedp.CSS("#ctx-open")), chromedp.WaitVisible(chromedp.CSS("#context-view")))
	b.waitFor("the context", `document.querySelector('#ctx-table tr.anchor') !== null`, 20*time.Second)
	b.shot("08-context-1024")
	b.checkClean()
}

// searchAnswerHist is the histogram of a search answer.
type searchAnswerHist struct {
	Histogram []store.Bucket `json:"histogram"`
}
