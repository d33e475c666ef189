package sigma

import (
	"errors"
	"strings"
	"testing"
	"time"

	"casescope/evtx"
)

const explainRule = `title: Failed network logon of a user
id: 6d1f3a51-8c7c-4a8e-9d84-5c1a7b7e0001
status: test
level: medium
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
    LogonType: 3
  filter_machine:
    TargetUserName|endswith: '$'
  keywords:
    - 'nomatch-keyword'
  condition: selection and not filter_machine
`

func TestExplain(t *testing.T) {
	ev := &evtx.Event{EventID: 4625, Channel: "Security", Provider: "Microsoft-Windows-Security-Auditing", Computer: "DC01",
		TimeCreated: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
		Data:        []evtx.Field{{Name: "TargetUserName", Value: "bob"}, {Name: "LogonType", Value: "3"}}}
	ex, err := Explain([]byte(explainRule), "6d1f3a51-8c7c-4a8e-9d84-5c1a7b7e0001", ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Condition) != 1 || ex.Condition[0] != "selection and not filter_machine" {
		t.Errorf("condition: got %q", ex.Condition)
	}
	got := map[string]SelectionMatch{}
	for _, s := range ex.Selections {
		got[s.Name] = s
	}
	for _, tc := range []struct {
		name    string
		matched bool
		fields  string // field=event value:matched, in order
	}{
		{"selection", true, "EventID=4625:true LogonType=3:true"},
		{"filter_machine", false, "TargetUserName|endswith=bob:false"},
		{"keywords", false, "keywords=:false"},
	} {
		s, ok := got[tc.name]
		if !ok {
			t.Errorf("%s: missing from %+v", tc.name, ex.Selections)
			continue
		}
		var fs []string
		for _, f := range s.Fields {
			fs = append(fs, f.Field+"="+f.Event+":"+map[bool]string{true: "true", false: "false"}[f.Matched])
		}
		if s.Matched != tc.matched || strings.Join(fs, " ") != tc.fields || s.Error != "" {
			t.Errorf("%s: got matched %v fields %q (error %q), want %v %q", tc.name, s.Matched, strings.Join(fs, " "), s.Error, tc.matched, tc.fields)
		}
	}
	if _, err := Explain([]byte(explainRule), "other-id", ev); !errors.Is(err, ErrRuleNotFound) {
		t.Errorf("unknown id: got %v, want ErrRuleNotFound", err)
	}
}

func TestRuleSourceEmbedded(t *testing.T) {
	// A SigmaHQ rule known to be embedded (no full Load: it costs seconds
	// under -race).
	const id, path = "e54979bd-c5f9-4d6c-967b-a04b19ac4c74", "windows/network_connection/net_connection_win_susp_outbound_kerberos_connection.yml"
	data, err := RuleSource(id, path, Embedded())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), id) || !strings.Contains(string(data), "detection:") {
		t.Errorf("source of %s (%s) lacks its id or detection", id, path)
	}
	if _, err := RuleSource("no-such-id", path, Embedded()); !errors.Is(err, ErrRuleNotFound) {
		t.Errorf("wrong id: got %v, want ErrRuleNotFound", err)
	}
}
