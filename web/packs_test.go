package web_test

import (
	"net/http"
	"testing"

	"casescope/engine"
	"casescope/store"
)

// TestRulePacksAPI: the packs a case runs are listed to every role; an
// analyst changes them (a Sigma re-run starts), a read-only user cannot,
// and an unknown pack is a 400 with the reason.
func TestRulePacksAPI(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.createCase(t, "packs")
	base := "/api/cases/" + itoa(c.ID) + "/rule-packs"
	enabled := func(rp engine.RulePacks) map[string]bool {
		m := map[string]bool{}
		for _, p := range rp.Packs {
			m[p.Name] = p.Enabled
		}
		return m
	}
	var rp engine.RulePacks
	if st, raw := r.callAs(t, store.RoleReadOnly, "GET", base, nil, &rp); st != http.StatusOK {
		t.Fatalf("GET: %d %s", st, raw)
	}
	if got := enabled(rp); !rp.Default || !got["core"] || !got["emerging-threats"] || got["threat-hunting"] || !got["custom"] {
		t.Errorf("default packs: %+v", rp)
	}
	if st, _ := r.callAs(t, store.RoleReadOnly, "PUT", base, map[string]any{"packs": []string{"core"}}, nil); st != http.StatusForbidden {
		t.Errorf("read-only PUT: %d, want 403", st)
	}
	if st, raw := r.callAs(t, store.RoleAnalyst, "PUT", base, map[string]any{"packs": []string{"core", "nope"}}, nil); st != http.StatusBadRequest {
		t.Errorf("unknown pack: %d %s, want 400", st, raw)
	}
	var ch struct {
		engine.RulePacks
		Case store.Case `json:"case"`
		Job  engine.Job `json:"job"`
	}
	if st, raw := r.callAs(t, store.RoleAnalyst, "PUT", base, map[string]any{"packs": []string{"core", "threat-hunting"}}, &ch); st != http.StatusOK {
		t.Fatalf("PUT: %d %s", st, raw)
	}
	if got := enabled(ch.RulePacks); ch.Default || !got["core"] || got["emerging-threats"] || !got["threat-hunting"] || ch.Job.ID == 0 {
		t.Errorf("after PUT: %+v", ch)
	}
	waitJobs(t, r)
	if got, err := r.ledger.Case(c.ID); err != nil || len(got.RulePacks) != 2 {
		t.Errorf("stored packs: %v %v", got.RulePacks, err)
	}
}
