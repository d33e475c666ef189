package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"casescope/internal/corpus"
	"casescope/store"
	"casescope/web"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// browser is a headless Chromium tab on a test server, recording every
// request the page makes, every script error, and calls of the
// casescopePwned binding.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base *url.URL
	dir  string // screenshots

	mu         sync.Mutex
	requests   []string
	exceptions []string
	consoleErr []string
	pwned      []string
	docHeaders []network.Headers
}

// newBrowser starts Chromium for base (the test server's URL). Without
// Chromium the test is skipped, except under CI=true where it fails.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser test needs %s (install Debian's chromium package): %v", chromiumPath, err)
		}
		t.Skipf("browser test skipped: %s not found (apt-get install chromium to run it)", chromiumPath)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, base: u, dir: artifactsDir(t)}
	if err := chromedp.Listen(ctx, b.onEvent); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable network events: %v", err)
	}
	if _, err := chromedp.Call(ctx, runtime.AddBinding, runtime.AddBindingParams{Name: "casescopePwned"}); err != nil {
		t.Fatalf("add binding: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(1440, 900)); err != nil {
		t.Fatalf("viewport: %v", err)
	}
	return b
}

// onEvent runs on chromedp's reader goroutine: record and return.
func (b *browser) onEvent(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, e.Request.URL)
	case *network.EventResponseReceived:
		if e.Type == network.ResourceTypeDocument && e.Response != nil {
			b.docHeaders = append(b.docHeaders, e.Response.Headers)
		}
	case *runtime.EventExceptionThrown:
		msg := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
		b.exceptions = append(b.exceptions, msg)
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			b.consoleErr = append(b.consoleErr, strings.Join(parts, " "))
		}
	case *runtime.EventBindingCalled:
		if e.Name == "casescopePwned" {
			b.pwned = append(b.pwned, e.Payload)
		}
	}
}

// do runs actions with a deadline.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (script errors: %v)", what, err, b.errors())
	}
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it is truthy.
func (b *browser) waitFor(what, predicate string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("waiting for %s: %v (script errors: %v)", what, err, b.errors())
	}
}

// shot saves a PNG screenshot of the viewport and logs its path.
func (b *browser) shot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	p := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Errorf("write screenshot: %v", err)
		return ""
	}
	b.t.Logf("screenshot %s", p)
	return p
}

func (b *browser) errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append(append([]string(nil), b.exceptions...), b.consoleErr...)
}

// checkClean fails on script exceptions and on any request that left the
// test server (the UI must work with the network cut).
func (b *browser) checkClean() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.requests) == 0 {
		b.t.Error("no requests recorded; network events are not being seen")
	}
	for _, r := range b.requests {
		u, err := url.Parse(r)
		if err == nil && u.Scheme == "data" {
			continue // inline (Chromium's own date picker icon): no network
		}
		if err != nil || u.Scheme != b.base.Scheme || u.Host != b.base.Host {
			b.t.Errorf("request left the test server: %s", r)
		}
	}
	for _, e := range b.exceptions {
		b.t.Errorf("uncaught script exception: %s", e)
	}
	for _, e := range b.consoleErr {
		b.t.Errorf("console error: %s", e)
	}
	if len(b.docHeaders) == 0 {
		b.t.Error("no document response seen")
	}
	for _, h := range b.docHeaders {
		csp, _ := h["Content-Security-Policy"].(string)
		if !strings.Contains(csp, "script-src 'self'") {
			b.t.Errorf("document without a script-src 'self' CSP: %v", h)
		}
	}
}

// artifactsDir is where screenshots go: $CASESCOPE_ARTIFACTS/<test>, or a
// temp dir.
func artifactsDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("CASESCOPE_ARTIFACTS")
	if root == "" {
		return t.TempDir()
	}
	dir := filepath.Join(root, regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// login opens the page, which shows the login form, and logs in.
func (b *browser) login(user, password string) {
	b.t.Helper()
	b.do("open the login page", chromedp.Navigate(b.base.String()+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	b.do("log in as "+user, chromedp.SendKeys(chromedp.CSS("#login-name"), user),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password), chromedp.Click(chromedp.CSS("#login-btn")))
	b.waitFor("the user in the top bar", `document.querySelector('#user-name').textContent === `+js(user)+
		` && !document.querySelector('#user-box').hidden`, 15*time.Second)
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestBrowserEndToEnd(t *testing.T) {
	r := newRig(t, rigOptions{sigma: true, web: webConfig()})
	b := newBrowser(t, r.srv.URL)
	shared := sharedCorpus(t)
	files := []string{
		filepath.Join(shared, "evtx", "evtx-attack-samples", "Credential Access", "CA_4624_4625_LogonType2_LogonProc_chrome.evtx"),
		filepath.Join(shared, "evtx", "evtx-attack-samples", "Privilege Escalation", "4624 LT3 AnonymousLogon Localhost - JuicyPotato.evtx"),
		filepath.Join(shared, "evtx", "evtx-attack-samples", "Lateral Movement", "LM_Remote_Service02_7045.evtx"),
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("corpus file missing: %v", err)
		}
	}

	b.login("analyst", testPasswords[store.RoleAnalyst])
	b.do("open the page", chromedp.WaitVisible(chromedp.CSS("#new-case-form")))
	b.waitFor("the cases table", `document.querySelector('#cases-table tbody tr') !== null`, 30*time.Second)
	b.shot("01-cases")

	b.do("create a case",
		chromedp.SendKeys(chromedp.CSS("#new-case-name"), "IR-2024-017 e2e"),
		chromedp.SendKeys(chromedp.CSS("#new-case-desc"), "three corpus files dropped in the browser"),
		chromedp.Click(chromedp.CSS("#create-case")),
		chromedp.WaitVisible(chromedp.CSS("#dropzone")))
	b.waitFor("the case name in the top bar", `document.querySelector('#case-name').textContent === 'IR-2024-017 e2e'`, 30*time.Second)
	b.shot("02-case-created")

	// A marker that a reload would wipe.
	eval[chromedp.Void](b, `window.__sameDocument = 'yes'`)
	// The test (not the product) makes a file input, fills it with the
	// corpus files, and drops its files on the drop zone as a user would.
	eval[chromedp.Void](b, `(() => { const i = document.createElement('input'); i.type = 'file'; i.multiple = true;
		i.id = 'e2e-files'; i.hidden = true; document.body.appendChild(i); })()`)
	b.do("give the files to the page", chromedp.SetUploadFiles(chromedp.CSS("#e2e-files"), files, chromedp.NodeReady))
	n := eval[int](b, `(() => {
		const files = document.getElementById('e2e-files').files;
		const dt = new DataTransfer();
		for (const f of files) dt.items.add(f);
		const zone = document.getElementById('dropzone');
		for (const type of ['dragenter', 'dragover', 'drop']) {
			zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
		}
		return files.length;
	})()`)
	if n != len(files) {
		t.Fatalf("dropped %d files, want %d", n, len(files))
	}
	b.waitFor("the uploads to be queued", `document.querySelectorAll('#upload-list .upload-row[data-state="queued"]').length === 3`, 60*time.Second)
	b.shot("03-dropped")
	b.waitFor("three completed files", `document.querySelectorAll('#files-table tbody tr[data-state="completed"]').length === 3`, 90*time.Second)
	b.waitFor("the case counts", `(() => {
		const t = document.querySelector('#case-stats').textContent;
		return /Events10/.test(t) && !/Processing/.test(t);
	})()`, 30*time.Second)
	if got := eval[string](b, `window.__sameDocument || 'reloaded'`); got != "yes" {
		t.Fatalf("the page reloaded while files were processed")
	}
	b.shot("04-files-completed")

	// Search for an event ID through the UI, then open one event.
	b.do("open search", chromedp.Click(chromedp.CSS(`.nav-item[data-view="search"]`)), chromedp.WaitVisible(chromedp.CSS("#q")))
	b.do("search 4624", chromedp.SendKeys(chromedp.CSS("#q"), "EventID:4624\r"))
	b.waitFor("4624 results", `(() => {
		const ids = Array.from(document.querySelectorAll('#results tbody tr[data-id] .eid-col')).map((td) => td.textContent);
		return ids.length > 0 && ids.every((x) => x === '4624') && /of/.test(document.querySelector('#page-info').textContent);
	})()`, 20*time.Second)
	var want searchAnswer
	r.call(t, "GET", "/api/cases/1/search?q=EventID:4624&size=1", nil, &want)
	gotRows := eval[int](b, `document.querySelectorAll('#results tbody tr[data-id]').length`)
	if want.Total == 0 || uint64(gotRows) != min(want.Total, 50) {
		t.Fatalf("results: got %d rows, want %d (API total %d)", gotRows, min(want.Total, 50), want.Total)
	}
	b.shot("05-search-4624")
	b.do("open the first event", chromedp.Click(chromedp.CSS(`#results tbody tr[data-id] .event-col`)),
		chromedp.WaitVisible(chromedp.CSS("#event-detail .eid-big")))
	b.waitFor("the event's data fields", `document.querySelectorAll('#event-data tr').length > 3`, 30*time.Second)
	if got := eval[string](b, `document.querySelector('#event-detail .eid-big').textContent`); got != "4624" {
		t.Fatalf("detail event ID: got %q, want 4624", got)
	}
	if got := eval[string](b, `document.querySelector('#event-detail .detail-desc').textContent`); !strings.Contains(strings.ToLower(got), "logged on") {
		t.Errorf("detail description: got %q, want the 4624 description", got)
	}
	b.shot("06-event-detail")

	// j/k move through the results; star from the keyboard.
	b.do("keyboard: close the panel, then next", chromedp.KeyEvent("\x1b"), chromedp.WaitNotVisible(chromedp.CSS("#event-detail")),
		chromedp.KeyEvent("j"), chromedp.KeyEvent("j"), chromedp.KeyEvent("k"))
	b.waitFor("the second row selected", `document.querySelector('#results tbody tr.sel') === document.querySelectorAll('#results tbody tr')[1]`, 5*time.Second)
	b.do("keyboard star", chromedp.KeyEvent("s"))
	b.waitFor("a starred row", `document.querySelector('#results tbody tr.sel .star.on') !== null`, 30*time.Second)
	b.do("keyboard: / focuses the search box", chromedp.KeyEvent("/"))
	b.waitFor("the focused search box", `document.activeElement === document.querySelector('#q')`, 5*time.Second)

	// The other views, for the record and for script errors.
	b.do("open detections", chromedp.Click(chromedp.CSS(`.nav-item[data-view="detections"]`)), chromedp.WaitVisible(chromedp.CSS("#sigma-table")))
	b.waitFor("the Sigma table", `document.querySelector('#sigma-table tbody tr') !== null`, 30*time.Second)
	b.shot("07-detections")
	// Drill down: the rule's events, found by searching sigma.rule:<id>.
	wantHits := eval[string](b, `document.querySelector('#sigma-table tr[data-rule] td.num').textContent`)
	b.do("open the first rule's events", chromedp.Click(chromedp.CSS(`#sigma-table tr[data-rule] .rule-title`)), chromedp.WaitVisible(chromedp.CSS("#q")))
	b.waitFor("the rule's events", `document.querySelectorAll('#results tbody tr[data-id]').length === `+wantHits+
		` && document.querySelector('#q').value.startsWith('sigma.rule:')`, 20*time.Second)
	b.do("open IOCs", chromedp.Click(chromedp.CSS(`.nav-item[data-view="iocs"]`)), chromedp.WaitVisible(chromedp.CSS("#ioc-add-form")))
	b.do("add an IOC", chromedp.SendKeys(chromedp.CSS("#ioc-value"), "JuicyPotato"), chromedp.SendKeys(chromedp.CSS("#ioc-desc"), "tool name"),
		chromedp.Click(chromedp.CSS("#ioc-add")))
	b.waitFor("the IOC row", `document.querySelector('#ioc-table tbody tr[data-id]') !== null`, 30*time.Second)
	b.shot("08-iocs")
	// The timeline lists the event starred above, with its star.
	b.do("open the timeline", chromedp.Click(chromedp.CSS(`.nav-item[data-view="timeline"]`)), chromedp.WaitVisible(chromedp.CSS("#timeline-table")))
	b.waitFor("the starred event on the timeline", `document.querySelectorAll('#timeline-table tbody tr[data-id]').length === 1`+
		` && document.querySelector('#timeline-table tbody tr[data-id]').textContent.includes('★')`, 30*time.Second)
	b.shot("08b-timeline")
	b.do("open the dashboard", chromedp.Click(chromedp.CSS(`.nav-item[data-view="dashboard"]`)), chromedp.WaitVisible(chromedp.CSS("#dash .dash-card")))
	b.shot("09-dashboard")
	before := eval[string](b, `getComputedStyle(document.body).backgroundColor`)
	b.do("toggle the theme", chromedp.Click(chromedp.CSS("#theme-btn")), chromedp.Click(chromedp.CSS(`.nav-item[data-view="search"]`)),
		chromedp.WaitVisible(chromedp.CSS("#results tbody tr")))
	if after := eval[string](b, `getComputedStyle(document.body).backgroundColor`); after == before {
		t.Errorf("theme toggle: background stayed %s", after)
	}
	b.shot("10-search-other-theme")
	b.do("evidence", chromedp.Click(chromedp.CSS(`.nav-item[data-view="evidence"]`)), chromedp.WaitVisible(chromedp.CSS("#files-table tbody tr[data-id]")))
	b.shot("11-evidence-other-theme")
	b.checkClean()
}

// The hostile strings. Each one, if it ever ran, would set window.__pwned
// and call the casescopePwned binding.
const (
	xssImg    = `<img src=x onerror="window.__pwned='img';casescopePwned('img')">`
	xssScript = `<script>window.__pwned='script';casescopePwned('script')</script>`
	xssURL    = `javascript:window.__pwned='url';casescopePwned('url')`
	xssSVG    = `"><svg onload="window.__pwned='svg';casescopePwned('svg')">`
)

func TestBrowserXSS(t *testing.T) {
	r := newRig(t, rigOptions{web: webConfig(), wrap: hostileEvents})
	b := newBrowser(t, r.srv.URL)
	// With the CSP bypassed, nothing but the UI's own escaping stands
	// between the payloads and execution; the CSP itself is checked on
	// the document response in checkClean.
	if _, err := chromedp.Call(b.ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatalf("bypass CSP: %v", err)
	}
	// Case names may not hold "/" (store.CheckCaseName), so the script
	// payload's end tag uses a look-alike; the img payload needs none.
	caseName := "case " + xssImg + strings.ReplaceAll(xssScript, "/", "\u2215") + xssURL
	b.login("admin", testPasswords[store.RoleAdmin])
	b.do("open the page", chromedp.WaitVisible(chromedp.CSS("#new-case-form")))
	b.do("create a hostile case", chromedp.SetValue(chromedp.CSS("#new-case-name"), caseName),
		chromedp.SetValue(chromedp.CSS("#new-case-desc"), xssSVG+xssURL), chromedp.Click(chromedp.CSS("#create-case")),
		chromedp.WaitVisible(chromedp.CSS("#dropzone")))
	b.waitFor("the hostile case name as text", `document.querySelector('#case-name').textContent === `+js(caseName), 30*time.Second)

	// Evidence whose file name is hostile, uploaded through the API.
	if st, raw := r.upload(t, 1, uploadFile{xssImg + ".evtx", fixture(t, "Security_short_selected.evtx")},
		uploadFile{xssScript + ".txt", []byte("not a log " + xssSVG)}); st != 200 {
		t.Fatalf("upload: %d %s", st, raw)
	}
	r.waitIdle(t)
	b.waitFor("the hostile file names", `document.querySelectorAll('#files-table tbody tr[data-state]').length === 2`, 20*time.Second)
	b.assertInert("evidence", xssImg+".evtx")

	// IOCs with hostile values and descriptions, through the form.
	b.do("open IOCs", chromedp.Click(chromedp.CSS(`.nav-item[data-view="iocs"]`)), chromedp.WaitVisible(chromedp.CSS("#ioc-add-form")))
	for _, v := range []string{xssImg, xssURL, xssScript} {
		b.do("add IOC", chromedp.SetValue(chromedp.CSS("#ioc-type"), "string"), chromedp.SetValue(chromedp.CSS("#ioc-value"), v),
			chromedp.SetValue(chromedp.CSS("#ioc-desc"), xssSVG), chromedp.Click(chromedp.CSS("#ioc-add")))
		b.waitFor("the IOC form to clear", `document.querySelector('#ioc-value').value === ''`, 30*time.Second)
	}
	b.waitFor("three IOC rows", `document.querySelectorAll('#ioc-table tbody tr[data-id]').length === 3`, 30*time.Second)
	// A CSV row the server refuses; its message repeats the value.
	b.do("bulk paste a hostile IOC", chromedp.Click(chromedp.CSS("#fmt-csv")),
		chromedp.SetValue(chromedp.CSS("#ioc-bulk"), `ip,"`+strings.ReplaceAll(xssImg, `"`, `""`)+`",x`+"\n"),
		chromedp.Click(chromedp.CSS("#ioc-bulk-add")))
	b.waitFor("the bulk paste error", `document.querySelector('#ioc-bulk-error').textContent.includes('<img')`, 30*time.Second)
	b.assertInert("iocs", xssURL)

	// Search results and the event panel with hostile field values.
	b.do("open search", chromedp.Click(chromedp.CSS(`.nav-item[data-view="search"]`)), chromedp.WaitVisible(chromedp.CSS("#q")))
	b.waitFor("results", `document.querySelector('#results tbody tr[data-id]') !== null`, 20*time.Second)
	b.do("open an event", chromedp.Click(chromedp.CSS(`#results tbody tr[data-id] .event-col`)), chromedp.WaitVisible(chromedp.CSS(`#event-detail[data-state="fresh"] #event-data`)))
	b.waitFor("the hostile data field", `document.querySelector('#event-data').textContent.includes(`+js(xssScript)+`)`, 30*time.Second)
	// Clicked again if the panel re-renders with the fresh event meanwhile.
	b.waitFor("the hostile XML as text", `(() => {
		const pre = document.querySelector('#event-xml');
		if (pre && pre.hidden) document.querySelector('#view-xml').click();
		return !!pre && pre.textContent.includes(`+js(xssScript)+`);
	})()`, 30*time.Second)
	b.assertInert("event xml", xssImg)
	// A tag the server refuses (its message repeats the value), then a
	// hostile comment it accepts.
	b.do("bad tag", chromedp.SetValue(chromedp.CSS("#tag-words"), xssImg), chromedp.Click(chromedp.CSS("#tag-save")))
	b.waitFor("the tag error", `document.querySelector('#tag-msg').textContent.includes('<img')`, 30*time.Second)
	b.do("hostile comment", chromedp.SetValue(chromedp.CSS("#tag-words"), "suspicious"), chromedp.Click(chromedp.CSS("#tag-save")))
	// Saving the tags re-renders the panel (and its comment box): wait
	// for the saved tag in the row before typing the comment.
	b.waitFor("the tag saved", `[...document.querySelectorAll('#results tbody tr .tagb')].some((b) => b.textContent.includes('suspicious')) && `+
		`!!document.querySelector('#comment-text')`, 30*time.Second)
	b.do("hostile comment", chromedp.SetValue(chromedp.CSS("#comment-text"), xssImg+xssURL+xssScript), chromedp.Click(chromedp.CSS("#comment-add")))
	b.waitFor("the saved comment", `(document.querySelector('#comment-list') || {textContent: ''}).textContent.includes(`+js(xssImg)+`)`, 30*time.Second)
	b.assertInert("search", xssSVG)
	b.shot("xss-search")
	// The events around it and the top values of a field, hostile too.
	b.do("events around it", chromedp.Click(chromedp.CSS("#ctx-open")), chromedp.WaitVisible(chromedp.CSS("#context-view")))
	b.waitFor("the hostile context rows", `document.querySelector('#ctx-table tr.anchor') !== null && document.querySelector('#ctx-info').textContent.includes(`+js(xssSVG)+`)`, 30*time.Second)
	b.assertInert("context", xssScript)
	b.do("close the context", chromedp.Click(chromedp.CSS("#ctx-close")), chromedp.WaitNotPresent(chromedp.CSS("#context-view")))
	b.do("close the event", chromedp.Click(chromedp.CSS("#event-detail .detail-head .icon-btn")))
	b.do("top values", chromedp.SendKeys(chromedp.CSS("#agg-field"), "TargetUserName"), chromedp.Click(chromedp.CSS("#agg-go")))
	b.waitFor("the hostile top values", `document.querySelectorAll('#agg-values .agg-row').length === 2`, 30*time.Second)
	b.do("the chart", chromedp.Click(chromedp.CSS("#agg-chart-btn")), chromedp.WaitVisible(chromedp.CSS("#agg-table")))
	b.assertInert("top values", xssURL)
	// A hostile query: its error message must stay text too.
	b.do("hostile query", chromedp.SetValue(chromedp.CSS("#q"), xssImg), chromedp.Click(chromedp.CSS("#run-search")))
	b.waitFor("the query error", `document.querySelector('#search-error').textContent.length > 0`, 30*time.Second)
	b.assertInert("search error", "")

	b.do("open detections", chromedp.Click(chromedp.CSS(`.nav-item[data-view="detections"]`)), chromedp.WaitVisible(chromedp.CSS("#sigma-table")))
	b.waitFor("the hostile rule", `document.querySelector('#sigma-table').textContent.includes(`+js(xssImg)+`)`, 30*time.Second)
	b.assertInert("detections", xssScript)
	b.do("open cases", chromedp.Click(chromedp.CSS(`.nav-item[data-view="cases"]`)), chromedp.WaitVisible(chromedp.CSS("#cases-table")))
	b.waitFor("the case row", `document.querySelector('#cases-table tbody tr[data-id]') !== null`, 30*time.Second)
	b.assertInert("cases", caseName)
	b.shot("xss-cases")

	if got := eval[string](b, `typeof window.__pwned`); got != "undefined" {
		t.Errorf("a payload ran: window.__pwned is %s", eval[string](b, `String(window.__pwned)`))
	}
	b.mu.Lock()
	if len(b.pwned) > 0 {
		t.Errorf("payloads ran: %v", b.pwned)
	}
	b.mu.Unlock()
	b.checkClean()
}

// assertInert checks that the page holds no element or attribute a payload
// could have created, and that want (when set) shows as text.
func (b *browser) assertInert(view, want string) {
	b.t.Helper()
	bad := eval[[]string](b, `(() => {
		const bad = [];
		for (const el of document.querySelectorAll('*')) {
			const tag = el.tagName.toLowerCase();
			if (['img', 'iframe', 'object', 'embed', 'svg', 'frame', 'base'].includes(tag)) bad.push('element ' + tag);
			if (tag === 'script' && !el.src) bad.push('inline script');
			if (tag === 'a' && el.hasAttribute('href')) bad.push('link ' + el.getAttribute('href'));
			for (const a of el.attributes) {
				if (/^on/i.test(a.name)) bad.push(tag + ' handler ' + a.name);
				if (['href', 'src', 'action', 'formaction', 'xlink:href', 'data'].includes(a.name) && !(tag === 'link' || tag === 'script')) bad.push(tag + ' ' + a.name + '=' + a.value);
				// The UI sizes bars, the histogram brush and a wide results
				// table through the CSSOM; nothing else may style an
				// element, and nothing may load from a style.
				if (a.name === 'style' && !/^((height|width|min-width|left): [\d.]+(%|px); ?)+$/.test(a.value)) bad.push(tag + ' style=' + a.value);
			}
		}
		return bad;
	})()`)
	if len(bad) > 0 {
		b.t.Errorf("%s: the page holds markup a payload could have made: %v", view, bad)
	}
	if want != "" {
		if !eval[bool](b, `document.getElementById('main').textContent.includes(`+js(want)+`)`) {
			b.t.Errorf("%s: %q is not shown as text", view, want)
		}
	}
	if got := eval[string](b, `typeof window.__pwned`); got != "undefined" {
		b.t.Errorf("%s: a payload ran (window.__pwned = %s)", view, eval[string](b, `String(window.__pwned)`))
	}
}

func TestBrowserStatic(t *testing.T) {
	// The UI must load its scripts and styles without a network: the page
	// alone, with every view opened, touches nothing but the server.
	r := newRig(t, rigOptions{web: webConfig()})
	b := newBrowser(t, r.srv.URL)
	b.login("admin", testPasswords[store.RoleAdmin])
	b.do("open the page", chromedp.WaitVisible(chromedp.CSS("#new-case-form")))
	b.do("dashboard", chromedp.Click(chromedp.CSS(`.nav-item[data-view="dashboard"]`)), chromedp.WaitVisible(chromedp.CSS("#dash .dash-card")))
	fonts := eval[string](b, `getComputedStyle(document.body).fontFamily`)
	if strings.Contains(fonts, "http") {
		t.Errorf("remote font: %s", fonts)
	}
	b.checkClean()
}

// hostileEvents rewrites search, event and Sigma answers so every event
// carries hostile field values, file names, descriptions and detections:
// the corpus holds no such events, and the UI must treat whatever the
// server sends as text.
func hostileEvents(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		kind := ""
		switch {
		case r.Method != http.MethodGet:
		case strings.HasSuffix(p, "/search"):
			kind = "search"
		case strings.HasSuffix(p, "/context"):
			kind = "context"
		case strings.HasSuffix(p, "/aggregate"):
			kind = "aggregate"
		case strings.Contains(p, "/events/") && strings.HasSuffix(p, "/xml"):
			// The record's XML, hostile whatever the reader renders.
			writeJSONTest(w, map[string]string{"id": p, "xml": "<Event><EventData><Data>" + xssScript + xssImg + "</Data></EventData></Event>"})
			return
		case strings.Contains(p, "/events/"):
			kind = "event"
		case strings.HasSuffix(p, "/sigma"):
			kind = "sigma"
		}
		if kind == "" {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusOK {
			body = poison(kind, body)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

func writeJSONTest(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func poison(kind string, body []byte) []byte {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return body
	}
	switch kind {
	case "search":
		m, _ := v.(map[string]any)
		hits, _ := m["hits"].([]any)
		for _, h := range hits {
			poisonHit(h)
		}
		if f, ok := m["facets"].(map[string]any); ok {
			f["computer"] = []any{map[string]any{"value": xssImg, "count": 1}}
		}
	case "event":
		poisonHit(v)
	case "context":
		m, _ := v.(map[string]any)
		for _, h := range asList(m["hits"]) {
			poisonHit(h)
		}
		m["key"] = xssSVG
	case "aggregate":
		m, _ := v.(map[string]any)
		m["field"] = xssScript
		m["values"] = []any{map[string]any{"value": xssImg, "count": 3}, map[string]any{"value": xssURL, "count": 2}}
	case "sigma":
		list, _ := v.([]any)
		v = append(list, map[string]any{"rule_id": xssURL, "title": xssImg, "level": "high", "tags": []any{xssScript},
			"count": 1, "first_seen": "2020-01-01T00:00:00Z", "last_seen": "2020-01-01T00:00:00Z", "computers": []any{xssSVG}})
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}

func poisonHit(h any) {
	hit, ok := h.(map[string]any)
	if !ok {
		return
	}
	hit["description"] = xssImg
	hit["file_name"] = xssScript
	hit["sigma"] = append(asList(hit["sigma"]), map[string]any{"rule_id": xssURL, "title": xssSVG, "level": "critical", "tags": []any{xssImg}})
	hit["iocs"] = append(asList(hit["iocs"]), map[string]any{"ioc_id": "1", "type": xssImg, "field": xssScript, "value": xssURL})
	ev, ok := hit["event"].(map[string]any)
	if !ok {
		return
	}
	ev["computer"] = xssSVG
	ev["channel"] = xssURL
	ev["data"] = append(asList(ev["data"]),
		map[string]any{"name": "CommandLine", "value": xssScript},
		map[string]any{"name": xssImg, "value": xssImg},
		map[string]any{"name": "Url", "value": xssURL})
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func webConfig() web.Config { return web.Config{Version: "test"} }

// sharedCorpus is corpus.Shared, named for this package's tests.
func sharedCorpus(t *testing.T) string { return corpus.Shared(t) }

func TestBrowserFolderAndZipDrop(t *testing.T) {
	r := newRig(t, rigOptions{web: webConfig()})
	b := newBrowser(t, r.srv.URL)
	// A dropped folder (with a sub-folder and a stray non-EVTX file) and a
	// ZIP, dropped natively through the DevTools input domain, so the page
	// gets real file-system entries to walk.
	root := t.TempDir()
	folder := filepath.Join(root, "HOST-7 logs")
	mustWrite(t, filepath.Join(folder, "Security.evtx"), fixture(t, "Security_short_selected.evtx"))
	mustWrite(t, filepath.Join(folder, "sub", "LanguagePackSetup.evtx"), fixture(t, "LanguagePackSetup_truncated.evtx"))
	mustWrite(t, filepath.Join(folder, "sub", "readme.txt"), []byte("not evidence"))
	zipPath := filepath.Join(root, "collection.zip")
	mustWrite(t, zipPath, zipOf(t, map[string][]byte{"Windows/Logs/Application.evtx": fixture(t, "Application_no_crc32.evtx")}))

	b.login("admin", testPasswords[store.RoleAdmin])
	b.do("open the page", chromedp.WaitVisible(chromedp.CSS("#new-case-form")))
	b.do("create a case", chromedp.SendKeys(chromedp.CSS("#new-case-name"), "folders"), chromedp.Click(chromedp.CSS("#create-case")),
		chromedp.WaitVisible(chromedp.CSS("#dropzone")))
	xy := eval[[]float64](b, `(() => { const r = document.getElementById('dropzone').getBoundingClientRect();
		return [r.x + r.width / 2, r.y + r.height / 2]; })()`)
	data := &input.DragData{Files: []string{folder, zipPath}, DragOperationsMask: 1}
	for _, typ := range []input.DispatchDragEventType{input.DispatchDragEventTypeDragEnter, input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop} {
		if _, err := chromedp.Call(b.ctx, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: xy[0], Y: xy[1], Data: data}); err != nil {
			t.Fatalf("drag %s: %v", typ, err)
		}
	}
	b.waitFor("three uploads", `document.querySelectorAll('#upload-list .upload-row[data-state="queued"]').length === 3`, 60*time.Second)
	names := eval[[]string](b, `Array.from(document.querySelectorAll('#upload-list .up-name')).map((e) => e.textContent).sort()`)
	want := []string{"HOST-7 logs/Security.evtx", "HOST-7 logs/sub/LanguagePackSetup.evtx", "collection.zip"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Fatalf("uploaded: got %q, want %q (readme.txt skipped)", names, want)
	}
	b.waitFor("the files processed", `(() => {
		const rows = document.querySelectorAll('#files-table tbody tr[data-id]');
		return rows.length === 3 && Array.from(rows).every((r) => ['completed', 'failed'].includes(r.dataset.state));
	})()`, 90*time.Second)
	got := eval[[]string](b, `Array.from(document.querySelectorAll('#files-table tbody tr[data-id] .file-name')).map((e) => e.textContent).sort()`)
	wantFiles := []string{"HOST-7 logs/Security.evtx", "HOST-7 logs/sub/LanguagePackSetup.evtx", "collection.zip/Windows/Logs/Application.evtx"}
	if strings.Join(got, "|") != strings.Join(wantFiles, "|") {
		t.Fatalf("files: got %q, want %q", got, wantFiles)
	}
	b.shot("folder-and-zip-drop")
	b.checkClean()
}

func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func zipOf(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
