package engine_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"casescope/engine"
	"casescope/internal/corpus"
	"casescope/store"
)

// Correlation rules over deepbluecli/password-spray.evtx (one 1102, then
// 294 explicit-credential logons 4648 by jwrig to 41 accounts in five
// minutes).
const sprayRules = `title: Explicit credentials logon
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
title: Security log cleared
id: c0000000-0000-0000-0000-000000001102
name: log_cleared
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 1102
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
        gte: 15
        lt: 25
level: high
---
title: Repeated explicit credentials for one account
id: c0000000-0000-0000-0000-00000000000b
correlation:
    type: event_count
    rules:
        - c0000000-0000-0000-0000-000000004648
    group-by:
        - TargetUserName
    timespan: 2m
    condition:
        gte: 5
level: medium
---
title: Log cleared, then explicit credentials
id: c0000000-0000-0000-0000-00000000000c
correlation:
    type: temporal_ordered
    rules:
        - log_cleared
        - explicit_creds
    group-by:
        - Computer
    timespan: 1m
level: high
`

// TestCorrelationsOnCorpus ingests password-spray.evtx with three
// correlations and compares the events carrying each correlation's hit
// (searched by sigma.rule, counted by SigmaSummary) with the events a
// brute-force reading of the correlation's definition marks on libevtx's
// rendering of the file; a suppression of a correlation for a group
// value and switching it off go through the re-run like a rule's.
func TestCorrelationsOnCorpus(t *testing.T) {
	r := newRig(t, true)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mr_spray.yml"), []byte(sprayRules), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := engine.RuleOptions{Dir: dir, NoBuiltin: true}
	rs, err := engine.LoadRules(opts)
	if err != nil || len(rs.Skipped()) > 0 || !rs.HasCorrelations() {
		t.Fatalf("load: %v, skipped %v", err, rs.Skipped())
	}
	r.eng.Detection().SetRules(rs)
	r.eng.SetRuleOptions(opts)
	path := filepath.Join(corpus.Shared(t), "evtx", "deepbluecli", "password-spray.evtx")
	plain := plainScan(t, []string{path})
	c, _ := r.ingest(t, "spray", path)

	// Ground truth: every window (events of one group within the
	// timespan up to one event) that meets the condition marks its
	// events.
	type ev struct {
		rec  uint64
		t    time.Time
		data map[string]string
		id   uint32
		comp string
	}
	var creds, cleared []ev
	for _, p := range plain {
		if p.channel != "Security" {
			continue
		}
		rec, err := strconv.ParseUint(p.recordID, 10, 64)
		if err != nil {
			t.Fatalf("record ID %q", p.recordID)
		}
		e := ev{rec: rec, t: p.time, data: p.data, id: p.id, comp: p.computer}
		switch p.id {
		case 4648:
			creds = append(creds, e)
		case 1102:
			cleared = append(cleared, e)
		}
	}
	mark := func(group func(e ev) string, span time.Duration, holds func(win []ev) bool) map[uint64]bool {
		out := map[uint64]bool{}
		for _, end := range creds {
			var win []ev
			for _, e := range creds {
				if group(e) == group(end) && !e.t.After(end.t) && !e.t.Before(end.t.Add(-span)) {
					win = append(win, e)
				}
			}
			if holds(win) {
				for _, e := range win {
					out[e.rec] = true
				}
			}
		}
		return out
	}
	want := map[string]map[uint64]bool{
		"c0000000-0000-0000-0000-00000000000a": mark(func(e ev) string { return e.data["SubjectUserName"] }, 30*time.Second,
			func(win []ev) bool {
				users := map[string]bool{}
				for _, e := range win {
					users[e.data["TargetUserName"]] = true
				}
				return len(users) >= 15 && len(users) < 25
			}),
		"c0000000-0000-0000-0000-00000000000b": mark(func(e ev) string { return e.data["TargetUserName"] }, 2*time.Minute,
			func(win []ev) bool { return len(win) >= 5 }),
	}
	// Ordered: a 4648 within a minute after a 1102 on its computer marks
	// itself and the latest such 1102.
	ordered := map[uint64]bool{}
	for _, e := range creds {
		var last *ev
		for i, l := range cleared {
			if l.comp == e.comp && l.t.Before(e.t) && !l.t.Before(e.t.Add(-time.Minute)) && (last == nil || l.t.After(last.t)) {
				last = &cleared[i]
			}
		}
		if last != nil {
			ordered[e.rec], ordered[last.rec] = true, true
		}
	}
	want["c0000000-0000-0000-0000-00000000000c"] = ordered
	for id, w := range want {
		if len(w) == 0 || len(w) == len(creds) {
			t.Fatalf("correlation %s: ground truth marks %d of %d events: the test data does not separate", id, len(w), len(creds))
		}
		t.Logf("correlation %s: %d events", id, len(w))
	}

	check := func(step string, suppressed string) {
		t.Helper()
		sum, err := r.eng.SigmaSummary(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, s := range sum {
			count[s.RuleID] = s.Count
			if s.RuleID == "c0000000-0000-0000-0000-000000004648" || s.RuleID == "c0000000-0000-0000-0000-000000001102" {
				t.Errorf("%s: a rule that only feeds correlations is shown: %+v", step, s)
			}
		}
		for id, w := range want {
			res, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Query: `sigma.rule:"` + id + `"`, Size: 1000})
			if err != nil {
				t.Fatal(err)
			}
			got := map[uint64]bool{}
			for _, h := range res.Hits {
				got[h.Event.RecordID] = true
			}
			if id == suppressed {
				if len(got) != 0 || count[id] != 0 {
					t.Errorf("%s: suppressed correlation %s: %d events found, count %d", step, id, len(got), count[id])
				}
				continue
			}
			if !mapsEqual(got, w) || count[id] != len(w) {
				t.Errorf("%s: correlation %s: search finds %d events (%v), summary %d; want %d (%v)", step, id, len(got),
					sortedKeys(got), count[id], len(w), sortedKeys(w))
			}
		}
	}
	check("ingest", "")

	// The rule context of a correlation hit: its definition and the
	// event's group values.
	res, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Query: `sigma.rule:"c0000000-0000-0000-0000-00000000000a"`, Size: 1})
	if err != nil || len(res.Hits) != 1 {
		t.Fatalf("search: %v", err)
	}
	rc, err := r.eng.RuleContext(t.Context(), c.ID, res.Hits[0].ID, "c0000000-0000-0000-0000-00000000000a")
	if err != nil {
		t.Fatal(err)
	}
	if !rc.Loaded || rc.Rule.Correlation == nil || rc.Rule.Correlation.Type != "value_count" || rc.Fields["SubjectUserName"] != "jwrig" ||
		rc.YAML != sprayRules || rc.Hit == nil || rc.Hit.Correlation != "value_count" {
		t.Errorf("rule context: %+v", rc)
	}

	// Suppress the spray correlation for its group's account: its hits
	// leave; switched off, they come back.
	s, job, err := r.eng.AddSuppression(c.ID, store.Suppression{RuleID: "c0000000-0000-0000-0000-00000000000a",
		Field: "SubjectUserName", Value: "jwrig", Reason: "pen test", Author: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.WaitJob(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	check("suppressed", "c0000000-0000-0000-0000-00000000000a")
	_, job, err = r.eng.SetSuppressionActive(c.ID, s.ID, false, "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.WaitJob(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	check("suppression off", "")
}

func mapsEqual(a, b map[uint64]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func sortedKeys(m map[uint64]bool) []uint64 {
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
