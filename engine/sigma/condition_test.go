package sigma

import (
	"strings"
	"testing"
)

// TestConditions evaluates condition forms over three selections, each
// true exactly when its field is present: sel_a (A), sel_b (B) and
// filter_f (F), plus _hidden (H), which "them" must leave out. Expected
// values are the boolean formulas worked out by hand.
func TestConditions(t *testing.T) {
	const sels = `    sel_a:
        A|exists: true
    sel_b:
        B|exists: true
    filter_f:
        F|exists: true
    _hidden:
        H|exists: true
`
	type env struct{ a, b, f, h bool }
	tests := []struct {
		cond string
		want func(e env) bool
	}{
		{"sel_a", func(e env) bool { return e.a }},
		{"sel_a and sel_b", func(e env) bool { return e.a && e.b }},
		{"sel_a or sel_b", func(e env) bool { return e.a || e.b }},
		{"not sel_a", func(e env) bool { return !e.a }},
		{"sel_a and not filter_f", func(e env) bool { return e.a && !e.f }},
		{"sel_a or sel_b and filter_f", func(e env) bool { return e.a || (e.b && e.f) }},
		{"(sel_a or sel_b) and filter_f", func(e env) bool { return (e.a || e.b) && e.f }},
		{"not sel_a and sel_b", func(e env) bool { return !e.a && e.b }},
		{"not (sel_a and sel_b)", func(e env) bool { return !(e.a && e.b) }},
		{"1 of sel_*", func(e env) bool { return e.a || e.b }},
		{"any of sel_*", func(e env) bool { return e.a || e.b }},
		{"all of sel_*", func(e env) bool { return e.a && e.b }},
		{"1 of sel_* and not 1 of filter_*", func(e env) bool { return (e.a || e.b) && !e.f }},
		{"all of sel_* and not all of filter_*", func(e env) bool { return e.a && e.b && !e.f }},
		{"all of them", func(e env) bool { return e.a && e.b && e.f }},
		{"1 of them", func(e env) bool { return e.a || e.b || e.f }},
		{"1 of sel_? or _hidden", func(e env) bool { return e.a || e.b || e.h }},
		{"SEL_A", nil}, // names are case-sensitive: undefined selection
		{"sel_a AND NOT filter_f", func(e env) bool { return e.a && !e.f }},
		{"not not sel_a", func(e env) bool { return e.a }},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			text := ruleText("    product: windows\n    service: security\n", sels+"    condition: "+tt.cond+"\n")
			rs, err := loadText(text)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if tt.want == nil {
				if rs.Len() != 0 || len(rs.Skipped()) != 1 {
					t.Fatalf("got %d rules and %d skipped, want the rule skipped", rs.Len(), len(rs.Skipped()))
				}
				return
			}
			if sk := rs.Skipped(); len(sk) > 0 {
				t.Fatalf("skipped: %s", sk[0].Reason)
			}
			for mask := 0; mask < 16; mask++ {
				e := env{a: mask&1 != 0, b: mask&2 != 0, f: mask&4 != 0, h: mask&8 != 0}
				var kv []string
				for _, f := range []struct {
					on   bool
					name string
				}{{e.a, "A"}, {e.b, "B"}, {e.f, "F"}, {e.h, "H"}} {
					if f.on {
						kv = append(kv, f.name, "1")
					}
				}
				if got, want := matches(rs, secEvent(kv...)), tt.want(e); got != want {
					t.Errorf("%+v: got %v, want %v", e, got, want)
				}
			}
		})
	}
}

// TestConditionList checks that a list of conditions is their OR.
func TestConditionList(t *testing.T) {
	rs := compileRule(t, `    sel_a:
        A: '1'
    sel_b:
        B: '1'
    condition:
        - sel_a
        - sel_b
`)
	for _, tc := range []struct {
		kv   []string
		want bool
	}{
		{[]string{"A", "1"}, true},
		{[]string{"B", "1"}, true},
		{[]string{"C", "1"}, false},
	} {
		if got := matches(rs, secEvent(tc.kv...)); got != tc.want {
			t.Errorf("%v: got %v, want %v", tc.kv, got, tc.want)
		}
	}
}

// TestSkipReasons checks that rules the engine cannot run are skipped with
// a reason naming the problem, and that the rest of the set still loads.
func TestSkipReasons(t *testing.T) {
	ls := "    product: windows\n    service: security\n"
	tests := []struct {
		name string
		text string
		want string // substring of the reason
	}{
		{"unknown modifier", ruleText(ls, "    sel:\n        A|frobnicate: x\n    condition: sel\n"), "frobnicate"},
		{"lookahead regexp", ruleText(ls, "    sel:\n        A|re: 'a(?=b)'\n    condition: sel\n"), "RE2"},
		{"no condition", ruleText(ls, "    sel:\n        A: x\n"), "no condition"},
		{"undefined selection", ruleText(ls, "    sel:\n        A: x\n    condition: other\n"), "undefined selection"},
		{"pattern matches nothing", ruleText(ls, "    sel:\n        A: x\n    condition: 1 of filter_*\n"), "matches no selection"},
		{"aggregation", ruleText(ls, "    sel:\n        A: x\n    condition: sel | count() > 5\n"), "aggregation"},
		{"unbalanced parenthesis", ruleText(ls, "    sel:\n        A: x\n    condition: (sel\n"), "missing )"},
		{"unknown category", ruleText("    product: windows\n    category: teleport\n", "    sel:\n        A: x\n    condition: sel\n"), "teleport"},
		{"unknown service", ruleText("    product: windows\n    service: teleport\n", "    sel:\n        A: x\n    condition: sel\n"), "teleport"},
		{"other product", ruleText("    product: linux\n    service: auth\n", "    sel:\n        A: x\n    condition: sel\n"), "linux"},
		{"file_access has no event log", ruleText("    product: windows\n    category: file_access\n", "    sel:\n        A: x\n    condition: sel\n"), "ETW"},
		{"base64 of a wildcard", ruleText(ls, "    sel:\n        A|base64: 'a*'\n    condition: sel\n"), "wildcards"},
		{"invalid cidr", ruleText(ls, "    sel:\n        A|cidr: '10.0.0.0/33'\n    condition: sel\n"), "cidr"},
		{"gt needs a number", ruleText(ls, "    sel:\n        A|gt: ten\n    condition: sel\n"), "number"},
		{"invalid yaml", "title: [unclosed\n", "invalid YAML"},
		{"no title", strings.Replace(ruleText(ls, "    sel:\n        A: x\n    condition: sel\n"), "title: Test rule\n", "", 1), "no title"},
		{"correlation", "title: c\ncorrelation:\n    type: event_count\n", "correlation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := loadText(tt.text)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			sk := rs.Skipped()
			if rs.Len() != 0 || len(sk) != 1 {
				t.Fatalf("got %d rules and %d skipped, want 0 and 1", rs.Len(), len(sk))
			}
			if !strings.Contains(sk[0].Reason, tt.want) {
				t.Errorf("reason %q, want it to mention %q", sk[0].Reason, tt.want)
			}
			if sk[0].Path != "rule.yml" {
				t.Errorf("path %q, want rule.yml", sk[0].Path)
			}
		})
	}
}
