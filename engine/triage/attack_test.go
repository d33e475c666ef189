package triage

import "testing"

func TestAttackBuilder(t *testing.T) {
	b := NewAttackBuilder()
	lateral := RuleTags{RuleID: "r1", Title: "PsExec", Tags: []string{"attack.lateral-movement", "attack.execution", "attack.t1021.002", "attack.s0029"}}
	creds := RuleTags{RuleID: "r2", Title: "Dump", Tags: []string{"attack.credential-access", "attack.t1003.001"}}
	sameCell := RuleTags{RuleID: "r3", Title: "PsExec 2", Tags: []string{"attack.lateral-movement", "attack.T1021.002"}}
	bare := RuleTags{RuleID: "r4", Title: "No tactic", Tags: []string{"attack.t1059"}}
	none := RuleTags{RuleID: "r5", Title: "Untagged", Tags: []string{"cve.2021-1675"}}
	b.Add("WS1", []RuleTags{lateral, sameCell}) // one event, two rules of one cell: counted once
	b.Add("WS1", []RuleTags{creds})
	b.Add("DC1", []RuleTags{lateral, bare})
	b.Add("DC1", []RuleTags{none})
	b.Add("DC1", nil)
	a := b.Attack()
	cell := func(tactic, tech string) AttackTechnique {
		for _, c := range a.Tactics {
			if c.Tag != tactic {
				continue
			}
			for _, x := range c.Techniques {
				if x.Technique == tech {
					return x
				}
			}
		}
		return AttackTechnique{}
	}
	for _, tc := range []struct {
		tactic, tech  string
		events, rules int
	}{
		{"lateral-movement", "T1021.002", 2, 2},
		{"execution", "T1021.002", 2, 1},
		{"credential-access", "T1003.001", 1, 1},
		{NoTactic, "T1059", 1, 1},
	} {
		if got := cell(tc.tactic, tc.tech); got.Events != tc.events || len(got.Rules) != tc.rules {
			t.Errorf("%s × %s: got %d events, %d rules; want %d, %d", tc.tactic, tc.tech, got.Events, len(got.Rules), tc.events, tc.rules)
		}
	}
	if len(a.Tactics) != len(Tactics)+1 || a.Tactics[len(a.Tactics)-1].Tag != NoTactic {
		t.Errorf("columns: got %d, want the %d tactics and the no-tactic column last", len(a.Tactics), len(Tactics))
	}
	if a.Untagged != 1 {
		t.Errorf("untagged: got %d, want 1", a.Untagged)
	}
	if len(a.Hosts) != 2 || a.Hosts[0].Computer != "DC1" || a.Hosts[0].Techniques["T1021.002"] != 1 || a.Hosts[1].Techniques["T1021.002"] != 1 {
		t.Errorf("hosts: got %+v", a.Hosts)
	}
}
