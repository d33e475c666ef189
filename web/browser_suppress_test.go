package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"casescope/engine"
	"casescope/store"
)

// TestBrowserSuppression: an analyst suppresses a rule's hits for one
// field value from an event's rule context; the hits leave the rule's
// count and the search, are listed on the False positives page, and come
// back when the suppression is switched off there.
func TestBrowserSuppression(t *testing.T) {
	r := newRig(t, rigOptions{sigma: true, web: webConfig()})
	c := r.createCase(t, "fp")
	path := filepath.Join(sharedCorpus(t), "evtx", "evtx-attack-samples", "Command and Control", "DE_RDP_Tunnel_5156.evtx")
	if _, err := r.eng.Import(t.Context(), c.ID, []string{path}); err != nil {
		t.Fatal(err)
	}
	r.waitIdle(t)
	const rule = "e54979bd-c5f9-4d6c-967b-a04b19ac4c74" // Uncommon Outbound Kerberos Connection
	base := "/api/cases/" + itoa(c.ID)
	count := func() int {
		t.Helper()
		var sum []engine.RuleSummary
		r.call(t, "GET", base+"/sigma", nil, &sum)
		for _, s := range sum {
			if s.RuleID == rule {
				return s.Count
			}
		}
		return 0
	}
	n := count()
	if n == 0 {
		t.Fatalf("rule %s has no hits in %s", rule, path)
	}

	b := newBrowser(t, r.srv.URL)
	b.login("analyst", testPasswords[store.RoleAnalyst])
	q := url.Values{"q": {`sigma.rule:"` + rule + `"`}}.Encode()
	b.do("search the rule's events", chromedp.Navigate(r.srv.URL+"/#/case/"+itoa(c.ID)+"/search?"+q), chromedp.WaitVisible(chromedp.CSS("#results tbody tr[data-id]")))
	b.do("open an event and its rule context", chromedp.Click(chromedp.CSS(`#results tbody tr[data-id] .event-col`)),
		chromedp.WaitVisible(chromedp.CSS(`#event-detail[data-state="fresh"] .rule-why`)), chromedp.Click(chromedp.CSS(`#event-detail .rule-why`)),
		chromedp.WaitVisible(chromedp.CSS("#supp-form")))
	// Scope it to the event's DestPort (the rule's DestinationPort, renamed
	// by the Security 5156 log source).
	idx := eval[string](b, `[...document.querySelectorAll('#supp-scope option')].find((o) => o.textContent === 'only where DestPort = 88').value`)
	b.do("suppress for DestPort 88", chromedp.SetValue(chromedp.CSS("#supp-scope"), idx),
		chromedp.SendKeys(chromedp.CSS("#supp-reason"), "Kerberos to our DCs"))
	b.shot("fp-01-suppress-form")
	b.do("submit", chromedp.Click(chromedp.CSS("#supp-add")), chromedp.WaitNotPresent(chromedp.CSS("#rule-context")))
	waitJobs(t, r)
	if got := count(); got != 0 {
		t.Fatalf("after suppressing: rule count %d, want 0", got)
	}
	b.do("open false positives", chromedp.Navigate(r.srv.URL+"/#/case/"+itoa(c.ID)+"/suppressions"), chromedp.WaitVisible(chromedp.CSS("#suppressions-table")))
	b.waitFor("the suppression and its hits", fmt.Sprintf(`(() => { const td = document.querySelector('#suppressions-table tr[data-active="true"] td.num');`+
		` return td !== null && td.textContent === '%d' && document.querySelectorAll('#suppressed-table tbody tr[data-doc]').length === %d; })()`, n, n), 30*time.Second)
	b.waitFor("the top bar without the suppressed hits", fmt.Sprintf(`(() => { const t = document.querySelector('#case-stats').textContent;`+
		` return /Sigma/.test(t) && !t.includes('medium %d'); })()`, n), 30*time.Second)
	b.shot("fp-02-false-positives")
	var sups []engine.SuppressionView
	if st, raw := r.call(t, "GET", base+"/suppressions", nil, &sups); st != http.StatusOK || len(sups) != 1 ||
		sups[0].Field != "DestPort" || sups[0].Value != "88" || sups[0].Author != "analyst" || sups[0].Reason != "Kerberos to our DCs" {
		t.Fatalf("suppressions: %d %s", st, raw)
	}
	b.do("switch it off", chromedp.Click(chromedp.CSS(`#suppressions-table .supp-toggle`)))
	b.waitFor("the suppression off", `document.querySelector('#suppressions-table tr[data-active="false"]') !== null`, 30*time.Second)
	waitJobs(t, r)
	if got := count(); got != n {
		t.Errorf("after switching off: rule count %d, want %d", got, n)
	}
	b.checkClean()
}

// waitJobs waits for every Sigma re-run the engine started (the UI's
// changes answer before their jobs end).
func waitJobs(t *testing.T, r *rig) {
	t.Helper()
	for _, j := range r.eng.Jobs() {
		if _, err := r.eng.WaitJob(t.Context(), j.ID); err != nil {
			t.Fatal(err)
		}
	}
}
