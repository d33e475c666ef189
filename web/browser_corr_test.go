package web_test

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"casescope/engine"
	"casescope/store"
)

// browserCorrRules: a detection rule that only feeds a correlation (the
// specification's default, generate: false) and a value_count
// correlation over it.
const browserCorrRules = `title: Explicit credentials logon
id: c0000000-0000-0000-0000-000000004648
name: explicit_creds
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4648
    condition: selection
---
title: Password spray with explicit credentials
id: c0000000-0000-0000-0000-00000000000a
correlation:
    type: value_count
    rules:
        - explicit_creds
    group-by:
        - SubjectUserName
    timespan: 30s
    condition:
        field: TargetUserName
        gte: 20
level: high
`

// TestBrowserCorrelationsAndPacks: the Detections page shows a
// correlation's hits with their type and the case's rule packs; an
// analyst switches threat-hunting on there (a Sigma re-run); an event of
// the correlation opens its rule context with the definition and the
// event's group value.
func TestBrowserCorrelationsAndPacks(t *testing.T) {
	r := newRig(t, rigOptions{web: webConfig()})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mr_spray.yml"), []byte(browserCorrRules), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := engine.RuleOptions{Dir: dir, NoBuiltin: true}
	rs, err := engine.LoadRules(opts)
	if err != nil || len(rs.Skipped()) > 0 {
		t.Fatalf("load: %v %v", err, rs.Skipped())
	}
	r.eng.Detection().SetRules(rs)
	r.eng.SetRuleOptions(opts)
	c := r.createCase(t, "spray")
	path := filepath.Join(sharedCorpus(t), "evtx", "deepbluecli", "password-spray.evtx")
	if _, err := r.eng.Import(t.Context(), c.ID, []string{path}); err != nil {
		t.Fatal(err)
	}
	r.waitIdle(t)
	const corr = "c0000000-0000-0000-0000-00000000000a"

	b := newBrowser(t, r.srv.URL)
	b.login("analyst", testPasswords[store.RoleAnalyst])
	b.do("open detections", chromedp.Navigate(r.srv.URL+"/#/case/"+itoa(c.ID)+"/detections"),
		chromedp.WaitVisible(chromedp.CSS(`#sigma-table tr[data-rule="`+corr+`"]`)), chromedp.WaitVisible(chromedp.CSS("#pack-threat-hunting")))
	if got := eval[string](b, `document.querySelector('#sigma-table tr[data-rule="`+corr+`"] .badge.corr').textContent`); got != "correlation · value_count" {
		t.Errorf("correlation badge %q", got)
	}
	if eval[bool](b, `document.querySelector('#sigma-table tr[data-rule="c0000000-0000-0000-0000-000000004648"]') !== null`) {
		t.Error("the rule that only feeds the correlation is listed")
	}
	if eval[bool](b, `document.querySelector('#pack-threat-hunting').checked`) || !eval[bool](b, `document.querySelector('#pack-core').checked`) {
		t.Error("default packs: threat-hunting on or core off")
	}
	b.shot("corr-01-detections")
	b.do("switch threat-hunting on", chromedp.Click(chromedp.CSS("#pack-threat-hunting")), chromedp.Click(chromedp.CSS("#packs-apply")))
	b.waitFor("the packs saved", `document.querySelector('#pack-threat-hunting').checked && document.querySelector('.toast') !== null`, 30*time.Second)
	waitJobs(t, r)
	var rp engine.RulePacks
	r.call(t, "GET", "/api/cases/"+itoa(c.ID)+"/rule-packs", nil, &rp)
	for _, p := range rp.Packs {
		if p.Name == "threat-hunting" && !p.Enabled {
			t.Error("threat-hunting not enabled after Apply")
		}
	}

	q := url.Values{"q": {`sigma.rule:"` + corr + `"`}}.Encode()
	b.do("search the correlation's events", chromedp.Navigate(r.srv.URL+"/#/case/"+itoa(c.ID)+"/search?"+q),
		chromedp.WaitVisible(chromedp.CSS("#results tbody tr[data-id]")))
	b.do("open an event and the correlation's context", chromedp.Click(chromedp.CSS(`#results tbody tr[data-id] .event-col`)),
		chromedp.WaitVisible(chromedp.CSS(`#event-detail[data-state="fresh"] .det-row[data-rule="`+corr+`"] .rule-why`)),
		chromedp.Click(chromedp.CSS(`#event-detail .det-row[data-rule="`+corr+`"] .rule-why`)),
		chromedp.WaitVisible(chromedp.CSS("#rule-ctx-correlation")))
	if got := eval[string](b, `document.querySelector('#rule-ctx-group tr:first-child').textContent`); got != "SubjectUserNamejwrig" {
		t.Errorf("group value row %q, want SubjectUserName jwrig", got)
	}
	b.shot("corr-02-rule-context")
	b.checkClean()
}
