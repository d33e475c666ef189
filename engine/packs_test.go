package engine_test

import (
	"path/filepath"
	"testing"

	"casescope/engine"
	"casescope/engine/sigma"
	"casescope/evtx"
	"casescope/internal/corpus"
	"casescope/store"
)

// One embedded rule of each pack that fires on sliver-sysmon.evtx (the
// same three process creations): loading three rules keeps the test
// cheap under -race.
var packRules = []struct{ pack, id, path string }{
	{sigma.PackCore, "058f4380-962d-40a5-afce-50207d36d7e2", "windows/process_creation/proc_creation_win_hktl_crackmapexec_execution_patterns.yml"},
	{sigma.PackEmergingThreats, "2f974656-6d83-4059-bbdf-68ac5403422f", "emerging-threats/2022/Malware/Hermetic-Wiper/proc_creation_win_malware_hermetic_wiper_activity.yml"},
	{sigma.PackThreatHunting, "4f4eaa9f-5ad4-410c-a4be-bc6132b0175a", "threat-hunting/windows/process_creation/proc_creation_win_cmd_redirect.yml"},
}

// TestRulePacks: a case runs the core and emerging-threats packs by
// default (threat-hunting off); choosing packs re-runs Sigma, so a
// dropped pack's hits leave the summary and the index and an added
// pack's come in, each rule with the count it has with every pack on.
func TestRulePacks(t *testing.T) {
	r := newRig(t, true)
	var paths []string
	for _, p := range packRules {
		paths = append(paths, p.path)
	}
	src, err := sigma.EmbeddedFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := sigma.Load(sigma.Options{}, src)
	if err != nil || rs.Len() != 3 {
		t.Fatalf("load: %v (%d rules, skipped %v)", err, rs.Len(), rs.Skipped())
	}
	for _, ru := range rs.Rules() {
		for _, p := range packRules {
			if p.id == ru.ID && p.pack != ru.Pack {
				t.Errorf("rule %s: pack %q, want %q", ru.ID, ru.Pack, p.pack)
			}
		}
	}
	r.eng.Detection().SetRules(rs)
	path := filepath.Join(corpus.Shared(t), "evtx", "deepbluecli", "sliver-sysmon.evtx")
	c, _ := r.ingest(t, "packs", path)

	// What each rule hits with every pack on: the reference counts.
	all := map[string]int{}
	if _, err := evtx.StreamFile(t.Context(), path, func(ev *evtx.Event) error {
		for _, h := range rs.Match(ev, nil) {
			all[h.RuleID]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range packRules {
		if all[p.id] == 0 {
			t.Fatalf("rule %s (%s) hits nothing in %s", p.id, p.pack, path)
		}
	}
	check := func(step string, on ...string) {
		t.Helper()
		sum, err := r.eng.SigmaSummary(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]engine.RuleSummary{}
		for _, s := range sum {
			got[s.RuleID] = s
		}
		enabled := map[string]bool{}
		for _, n := range on {
			enabled[n] = true
		}
		for _, p := range packRules {
			want := 0
			if enabled[p.pack] {
				want = all[p.id]
			}
			if got[p.id].Count != want {
				t.Errorf("%s: rule %s (%s): %d hits, want %d", step, p.id, p.pack, got[p.id].Count, want)
			}
			if want > 0 && got[p.id].Pack != p.pack {
				t.Errorf("%s: rule %s summary pack %q, want %q", step, p.id, got[p.id].Pack, p.pack)
			}
			res, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Query: "sigma.pack:" + p.pack, Size: 1})
			if err != nil {
				t.Fatal(err)
			}
			if int(res.Total) != want {
				t.Errorf("%s: sigma.pack:%s finds %d events, want %d", step, p.pack, res.Total, want)
			}
		}
		rp, err := r.eng.CaseRulePacks(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range rp.Packs {
			if p.Enabled != (enabled[p.Name] || p.Name == sigma.PackCustom) {
				t.Errorf("%s: pack %s enabled %v", step, p.Name, p.Enabled)
			}
		}
	}
	check("default", sigma.PackCore, sigma.PackEmergingThreats)

	for _, step := range []struct {
		name  string
		packs []string
	}{
		{"all three", []string{sigma.PackCore, sigma.PackEmergingThreats, sigma.PackThreatHunting}},
		{"threat-hunting only", []string{sigma.PackThreatHunting}},
	} {
		_, job, err := r.eng.SetRulePacks(c.ID, step.packs)
		if err != nil {
			t.Fatal(err)
		}
		if job.ID == 0 {
			t.Fatalf("%s: no Sigma re-run started", step.name)
		}
		if job, err = r.eng.WaitJob(t.Context(), job.ID); err != nil || job.State != "done" {
			t.Fatalf("%s: re-run %v %+v", step.name, err, job)
		}
		check(step.name, step.packs...)
	}
	// The same choice again changes nothing and runs nothing.
	if _, job, err := r.eng.SetRulePacks(c.ID, []string{sigma.PackThreatHunting}); err != nil || job.ID != 0 {
		t.Errorf("same packs again: job %d, %v", job.ID, err)
	}
	if _, _, err := r.eng.SetRulePacks(c.ID, []string{"nope"}); err == nil {
		t.Error("an unknown pack was accepted")
	}
}
