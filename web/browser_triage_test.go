package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"casescope/engine"
	"casescope/engine/triage"
	"casescope/store"
)

// commas formats n as the UI does (en-US grouping).
func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestBrowserTriage opens the hosts, accounts, logons and metrics pages
// of a case holding every kind of logon event, as a read-only user: each
// table shows what its API answers, the logon filters narrow the rows,
// failure reasons are decoded, and a row's click-through search finds
// exactly the row's events.
func TestBrowserTriage(t *testing.T) {
	r := newRig(t, rigOptions{sigma: true, web: webConfig()})
	shared := sharedCorpus(t)
	c := r.createCase(t, "triage")
	var paths []string
	for _, f := range []string{
		"evtx-attack-samples/Command and Control/DE_RDP_Tunnel_5156.evtx",
		"evtx-attack-samples/Credential Access/CA_4624_4625_LogonType2_LogonProc_chrome.evtx",
		"evtx-attack-samples/Command and Control/DE_RDP_Tunneling_TerminalServices-RemoteConnectionManagerOperational_1149.evtx",
		"velociraptor/RDPAuth_LocalSessionManager.evtx",
	} {
		paths = append(paths, filepath.Join(shared, "evtx", filepath.FromSlash(f)))
	}
	if _, err := r.eng.Import(t.Context(), c.ID, paths); err != nil {
		t.Fatal(err)
	}
	r.waitIdle(t)
	base := "/api/cases/" + itoa(c.ID)
	var hosts []triage.Host
	var accounts []triage.Account
	var logons []triage.Logon
	var metrics triage.Metrics
	var attack triage.Attack
	for _, g := range []struct {
		path string
		out  any
	}{{"/hosts", &hosts}, {"/accounts", &accounts}, {"/logons", &logons}, {"/metrics", &metrics}, {"/attack", &attack}} {
		if st, raw := r.callAs(t, store.RoleReadOnly, "GET", base+g.path, nil, g.out); st != http.StatusOK {
			t.Fatalf("GET %s: %d %s", g.path, st, raw)
		}
	}
	if len(hosts) == 0 || len(logons) == 0 || len(accounts) == 0 || metrics.Total == 0 {
		t.Fatalf("empty triage answers: %d hosts, %d logons, %d accounts, %d events", len(hosts), len(logons), len(accounts), metrics.Total)
	}
	if st, raw := r.callAs(t, store.RoleReadOnly, "GET", base+"/metrics?csv=nope", nil, nil); st != http.StatusBadRequest {
		t.Errorf("metrics?csv=nope: got %d %s, want 400", st, raw)
	}
	if st, raw := r.callAs(t, store.RoleReadOnly, "GET", base+"/metrics?csv=computer", nil, nil); st != http.StatusOK ||
		raw[:len("computer,count,percent\n")] != "computer,count,percent\n" {
		t.Errorf("metrics?csv=computer: got %d %q", st, raw)
	}

	b := newBrowser(t, r.srv.URL)
	b.login("reader", testPasswords[store.RoleReadOnly])
	caseURL := r.srv.URL + "/#/case/" + itoa(c.ID) + "/"

	// Hosts: one row per host, the first (most events) opening its search.
	b.do("open hosts", chromedp.Navigate(caseURL+"hosts"), chromedp.WaitVisible(chromedp.CSS("#hosts-table")))
	b.waitFor("the host rows", fmt.Sprintf(`document.querySelectorAll('#hosts-table tbody tr[data-computer]').length === %d`, len(hosts)), 30*time.Second)
	if got := eval[string](b, `document.querySelector('#hosts-table tbody tr[data-computer] td.num').textContent`); got != commas(hosts[0].Events) {
		t.Errorf("first host's events: got %s, want %d", got, hosts[0].Events)
	}
	// Logon sources without events of their own are listed apart.
	known := map[string]bool{}
	for _, h := range hosts {
		short, _, _ := strings.Cut(h.Computer, ".")
		known[strings.ToLower(h.Computer)], known[strings.ToLower(short)] = true, true
	}
	sources := map[string]bool{}
	for _, h := range hosts {
		for src := range h.LogonSources {
			short, _, _ := strings.Cut(src, ".")
			if !known[strings.ToLower(src)] && !known[strings.ToLower(short)] {
				sources[src] = true
			}
		}
	}
	b.waitFor("the source-only rows", fmt.Sprintf(`document.querySelectorAll('#sources-table tbody tr[data-source]').length === %d`, len(sources)), 10*time.Second)
	b.shot("triage-01-hosts")
	b.do("open the first host", chromedp.Click(chromedp.CSS(`#hosts-table tbody tr[data-computer] td`)), chromedp.WaitVisible(chromedp.CSS("#q")))
	b.waitFor("the host's events", `document.querySelector('#q').value.startsWith('Computer:') && `+
		`/ of `+commas(hosts[0].Events)+`( |$)/.test(document.querySelector('#page-info').textContent)`, 30*time.Second)

	// Accounts: machine accounts hidden by default.
	b.do("open accounts", chromedp.Navigate(caseURL+"accounts"), chromedp.WaitVisible(chromedp.CSS("#accounts-table")))
	people := 0
	for _, a := range accounts {
		if !a.Machine {
			people++
		}
	}
	b.waitFor("the account rows", fmt.Sprintf(`document.querySelectorAll('#accounts-table tbody tr[data-account]').length === %d`, people), 30*time.Second)
	b.shot("triage-02-accounts")

	// Logons: every row, then only failures, whose reasons are decoded.
	b.do("open logons", chromedp.Navigate(caseURL+"logons"), chromedp.WaitVisible(chromedp.CSS("#logons-table")))
	b.waitFor("the logon rows", fmt.Sprintf(`document.querySelectorAll('#logons-table tbody tr[data-result]').length === %d`, len(logons)), 30*time.Second)
	b.shot("triage-03-logons")
	failures := 0
	var failure triage.Logon
	for _, l := range logons {
		if l.Result == "failure" {
			failures++
			failure = l
		}
	}
	if failures == 0 || len(failure.Reasons) == 0 {
		t.Fatalf("no failure rows with reasons among %d logon rows", len(logons))
	}
	b.do("show failures only", chromedp.SetValue(chromedp.CSS("#logon-result"), "failure"))
	eval[chromedp.Void](b, `document.querySelector('#logon-result').dispatchEvent(new Event('change'))`)
	b.waitFor("the failure rows", fmt.Sprintf(`document.querySelectorAll('#logons-table tbody tr[data-result]').length === %d && `+
		`[...document.querySelectorAll('#logons-table tbody tr[data-result]')].every((tr) => tr.dataset.result === 'failure')`, failures), 10*time.Second)
	want := failure.Reasons[0]
	if got := eval[string](b, `document.querySelector('#logons-table tbody tr[data-result] .reason[data-code] .reason-text').textContent`); got != want.Reason || want.Reason == "unknown status" {
		t.Errorf("decoded failure reason: got %q, want %q (%s)", got, want.Reason, want.Code)
	}
	b.shot("triage-04-logon-failures")
	// Each kind of row finds exactly its events: the first row of each
	// event ID, clicked through to the search.
	for _, id := range []uint32{4625, 4624, 4648, 1149, 21} {
		var row triage.Logon
		for _, l := range logons {
			if l.EventID == id {
				row = l
				break
			}
		}
		if row.Count == 0 {
			t.Errorf("no %d row", id)
			continue
		}
		b.do("open logons", chromedp.Navigate(caseURL+"logons"), chromedp.WaitVisible(chromedp.CSS("#logons-table")))
		b.waitFor("the logon rows", `document.querySelectorAll('#logons-table tbody tr[data-result]').length > 0`, 30*time.Second)
		sel := fmt.Sprintf(`#logons-table tbody tr[data-eid="%d"][data-count="%d"] td`, id, row.Count)
		b.do(fmt.Sprintf("open a %d row", id), chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS("#q")))
		b.waitFor(fmt.Sprintf("the %d row's %d events", id, row.Count), fmt.Sprintf(`document.querySelector('#q').value.startsWith('EventID:%d ') && `+
			`/ of %s( |$)/.test(document.querySelector('#page-info').textContent)`, id, commas(row.Count)), 30*time.Second)
	}

	// Metrics: the event table lists every event ID × channel.
	b.do("open metrics", chromedp.Navigate(caseURL+"metrics"), chromedp.WaitVisible(chromedp.CSS("#metrics")))
	b.waitFor("the metrics tables", fmt.Sprintf(`document.querySelectorAll('#m-event-table tbody tr[data-eid]').length === %d && `+
		`document.querySelectorAll('#m-file-table tbody tr[data-file]').length === %d`, len(metrics.ByEvent), len(paths)), 30*time.Second)
	b.shot("triage-05-metrics")

	// ATT&CK: one cell per tactic × technique; the busiest cell's search
	// finds exactly its events.
	cells := 0
	var top triage.AttackTechnique
	for _, col := range attack.Tactics {
		cells += len(col.Techniques)
		for _, c := range col.Techniques {
			if c.Events > top.Events {
				top = c
			}
		}
	}
	if cells == 0 {
		t.Fatal("no ATT&CK cells: the case's Sigma hits carry no technique tags")
	}
	b.do("open ATT&CK", chromedp.Navigate(caseURL+"attack"), chromedp.WaitVisible(chromedp.CSS("#attack-matrix")))
	b.waitFor("the matrix cells", fmt.Sprintf(`document.querySelectorAll('#attack-matrix .attack-cell').length === %d`, cells), 30*time.Second)
	b.shot("triage-06-attack")
	b.do("open the busiest technique", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#attack-matrix .attack-cell[data-technique=%q][data-events="%d"]`, top.Technique, top.Events))),
		chromedp.WaitVisible(chromedp.CSS("#q")))
	b.waitFor("the technique's events", `document.querySelector('#q').value.startsWith('sigma.rule:') && `+
		`/ of `+commas(top.Events)+`( |$)/.test(document.querySelector('#page-info').textContent)`, 30*time.Second)

	// Rule context, from the first of those events: the rule's YAML and
	// which of its selections match the event.
	b.do("open the first event", chromedp.Click(chromedp.CSS(`#results tbody tr[data-id] .event-col`)),
		chromedp.WaitVisible(chromedp.CSS(`#event-detail[data-state="fresh"] .rule-why`)))
	docID := eval[string](b, `document.querySelector('#results tbody tr.sel, #results tbody tr[data-id]').dataset.id`)
	b.do("ask why the rule matched", chromedp.Click(chromedp.CSS(`#event-detail .rule-why`)), chromedp.WaitVisible(chromedp.CSS("#rule-ctx-why")))
	var ev struct {
		Sigma []struct {
			RuleID string `json:"rule_id"`
			Title  string `json:"title"`
		} `json:"sigma"`
	}
	if st, raw := r.callAs(t, store.RoleReadOnly, "GET", base+"/events/"+url.PathEscape(docID), nil, &ev); st != http.StatusOK || len(ev.Sigma) == 0 {
		t.Fatalf("event %s: %d %s", docID, st, raw)
	}
	var rc engine.RuleContext
	if st, raw := r.callAs(t, store.RoleReadOnly, "GET", base+"/events/"+url.PathEscape(docID)+"/rules/"+url.PathEscape(ev.Sigma[0].RuleID), nil, &rc); st != http.StatusOK {
		t.Fatalf("rule context: %d %s", st, raw)
	}
	if !rc.Loaded || rc.Hit == nil || !strings.Contains(rc.YAML, rc.Rule.ID) || rc.Explanation == nil {
		t.Fatalf("rule context: loaded %v, hit %v, YAML with id %v, explanation %v", rc.Loaded, rc.Hit != nil, strings.Contains(rc.YAML, rc.Rule.ID), rc.Explanation != nil)
	}
	matched := 0
	for _, sel := range rc.Explanation.Selections {
		if !sel.Matched {
			continue
		}
		matched++
		fields := 0
		for _, f := range sel.Fields {
			if f.Matched {
				fields++
			}
		}
		if fields == 0 {
			t.Errorf("selection %s matches, but none of its fields does: %+v", sel.Name, sel.Fields)
		}
	}
	if matched == 0 {
		t.Errorf("rule %s matched the event, but no selection of it does: %+v", rc.Rule.ID, rc.Explanation.Selections)
	}
	b.waitFor("the rule's title and matching selections", `document.querySelector('#rule-ctx-title').textContent === `+js(rc.Rule.Title)+
		fmt.Sprintf(` && document.querySelectorAll('#rule-ctx-why .rule-ctx-sel[data-matched="true"]').length === %d`, matched), 10*time.Second)
	b.shot("triage-07-rule-context")
	b.checkClean()
}
