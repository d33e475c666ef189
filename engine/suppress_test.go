package engine_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"casescope/engine"
	"casescope/engine/sigma"
	"casescope/internal/corpus"
	"casescope/store"
)

// kerberosRule (SigmaHQ "Uncommon Outbound Kerberos Connection") fires on
// DE_RDP_Tunnel_5156.evtx's Security 5156 events to port 88.
const (
	kerberosRule = "e54979bd-c5f9-4d6c-967b-a04b19ac4c74"
	kerberosPath = "windows/network_connection/net_connection_win_susp_outbound_kerberos_connection.yml"
)

// TestSuppression suppresses a rule that fires on a corpus file, whole
// and for a field value: its hits leave the summary, the case counts and
// the index, stay listable, survive re-processing the file, and come back
// when the suppression is turned off.
func TestSuppression(t *testing.T) {
	r := newRig(t, true)
	// Only the rule under test (loading all of SigmaHQ costs seconds
	// under -race).
	rules := t.TempDir()
	src, err := sigma.RuleSource(kerberosRule, kerberosPath, sigma.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rules, "rule.yml"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	rs, err := engine.LoadRules(engine.RuleOptions{Dir: rules, NoBuiltin: true})
	if err != nil || rs.Len() != 1 {
		t.Fatalf("load the rule: %v (%d rules)", err, rs.Len())
	}
	r.eng.Detection().SetRules(rs)
	path := filepath.Join(corpus.Shared(t), "evtx", "evtx-attack-samples", "Command and Control", "DE_RDP_Tunnel_5156.evtx")
	c, _ := r.ingest(t, "fp", path)

	// The Kerberos rule fires on the file's 5156 events to port 88.
	const rule = kerberosRule
	ruleCount := func() int {
		t.Helper()
		sum, err := r.eng.SigmaSummary(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sum {
			if s.RuleID == rule {
				return s.Count
			}
		}
		return 0
	}
	searched := func() uint64 {
		t.Helper()
		p, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Query: `sigma.rule:"` + rule + `"`, Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}
	sigmaEvents := func() int {
		t.Helper()
		st, err := r.eng.Stats(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range st.SigmaByLevel {
			n += v
		}
		return n
	}
	wait := func(j engine.Job, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if j, err = r.eng.WaitJob(t.Context(), j.ID); err != nil || j.State != "done" {
			t.Fatalf("sigma re-run: %+v %v", j, err)
		}
	}
	n := ruleCount()
	if n == 0 || searched() != uint64(n) {
		t.Fatalf("rule %s: %d hits, %d found by search; want some, equal", rule, n, searched())
	}
	before := sigmaEvents()

	for _, tc := range []struct {
		name, field, value string
		suppressed         int
	}{
		{"another value", "DestPort", "89", 0},
		{"field value", "DestPort", "88", n},
		{"whole rule", "", "", n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s store.Suppression
			var j engine.Job
			s, j, err = r.eng.AddSuppression(c.ID, store.Suppression{RuleID: rule, Field: tc.field, Value: tc.value, Reason: "test", Author: "analyst"})
			wait(j, err)
			if got := ruleCount(); got != n-tc.suppressed || searched() != uint64(n-tc.suppressed) {
				t.Errorf("rule hits: got %d (search %d), want %d", got, searched(), n-tc.suppressed)
			}
			views, err := r.eng.Suppressions(c.ID)
			if err != nil || len(views) == 0 || views[len(views)-1].Events != tc.suppressed {
				t.Errorf("suppressions: got %+v %v, want the last with %d events", views, err, tc.suppressed)
			}
			listed, err := r.eng.SuppressedHits(c.ID, 1000)
			if err != nil || len(listed) != tc.suppressed {
				t.Errorf("suppressed hits: got %d %v, want %d", len(listed), err, tc.suppressed)
			}
			if tc.suppressed > 0 && sigmaEvents() >= before {
				t.Errorf("case Sigma events: got %d, want fewer than %d", sigmaEvents(), before)
			}
			if tc.suppressed == n {
				// Re-processing the file keeps the suppression.
				files, err := r.ledger.Files(c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := r.eng.RequeueFile(c.ID, files[0].ID); err != nil {
					t.Fatal(err)
				}
				if err := r.eng.WaitIdle(t.Context()); err != nil {
					t.Fatal(err)
				}
				if got := ruleCount(); got != 0 || searched() != 0 {
					t.Errorf("after re-processing: %d hits (search %d), want 0", got, searched())
				}
			}
			// Off again: the hits come back.
			wait2 := func(_ store.Suppression, j engine.Job, err error) { wait(j, err) }
			wait2(r.eng.SetSuppressionActive(c.ID, s.ID, false, "admin"))
			if got := ruleCount(); got != n || searched() != uint64(n) || sigmaEvents() != before {
				t.Errorf("after turning it off: %d hits (search %d), %d Sigma events; want %d, %d", got, searched(), sigmaEvents(), n, before)
			}
		})
	}
}

// TestSuppressionArchive: a case's suppressions travel in its archive
// (with their history) and leave the ledger with the deleted case.
func TestSuppressionArchive(t *testing.T) {
	a := newRig(t, true) // no rules: none are needed, and loading them costs seconds under -race
	c, err := a.ledger.CreateCase("fp-travel", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []store.Suppression{
		{RuleID: "r1", Reason: "noisy here", Author: "analyst"},
		{RuleID: "r2", Field: "TargetUserName", Value: "svc_backup", Reason: "backup account", Author: "analyst"},
	} {
		if _, err := a.ledger.AddSuppression(store.Suppression{CaseID: c.ID, RuleID: s.RuleID, Field: s.Field, Value: s.Value,
			Reason: s.Reason, Author: s.Author}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.ledger.SetSuppressionActive(c.ID, 1, false, "admin"); err != nil {
		t.Fatal(err)
	}
	want, err := a.ledger.Suppressions(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var blob bytes.Buffer
	if _, err := a.eng.ExportCase(t.Context(), c.ID, &blob, engine.ExportOptions{User: "tester", Version: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.DeleteCase(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	if left, err := a.ledger.Suppressions(c.ID); err != nil || len(left) != 0 {
		t.Errorf("suppressions of the deleted case: %d left, err %v", len(left), err)
	}
	b := newRig(t, true)
	res, err := b.eng.ImportCase(t.Context(), bytes.NewReader(blob.Bytes()), engine.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.ledger.Suppressions(res.Case.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("imported suppressions: got %d, want %d", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		w.CaseID = res.Case.ID
		if g := got[i]; g.ID != w.ID || g.RuleID != w.RuleID || g.Field != w.Field || g.Value != w.Value || g.Reason != w.Reason ||
			g.Author != w.Author || g.Active != w.Active || g.ChangedBy != w.ChangedBy || !g.Created.Equal(w.Created) {
			t.Errorf("suppression %d: got %+v, want %+v", i, g, w)
		}
	}
}
