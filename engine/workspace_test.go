package engine

import (
	"testing"

	"casescope/evtx"
)

func TestContextQuery(t *testing.T) {
	sysmon := &evtx.Event{Computer: "WS1", ProcessID: 2000, Data: []evtx.Field{{Name: "ProcessGuid", Value: "{A-B}"}, {Name: "ProcessId", Value: "4242"}}}
	logon := &evtx.Event{Computer: "DC1", ProcessID: 600, Data: []evtx.Field{{Name: "SubjectLogonId", Value: "0x3e7"}, {Name: "TargetLogonId", Value: "0x1f2a"}, {Name: "ProcessId", Value: "0x25c"}}}
	bare := &evtx.Event{Computer: `odd"name`, Data: []evtx.Field{{Name: "SubjectLogonId", Value: "-"}}}
	tests := []struct {
		name   string
		ev     *evtx.Event
		by     string
		q, key string
		ok     bool
	}{
		{"computer", logon, ContextComputer, `Computer:"DC1"`, "DC1", true},
		{"computer quoted", bare, ContextComputer, `Computer:"odd\"name"`, `odd"name`, true},
		{"session prefers the new logon", logon, ContextSession,
			`Computer:"DC1" AND (TargetLogonId:"0x1f2a" OR SubjectLogonId:"0x1f2a" OR LogonId:"0x1f2a")`, "0x1f2a", true},
		{"no session", bare, ContextSession, "", "", false},
		{"process by guid", sysmon, ContextProcess, `ProcessGuid:"{A-B}"`, "{A-B}", true},
		{"process by id on the computer", logon, ContextProcess, `Computer:"DC1" AND ProcessId:"0x25c"`, "0x25c", true},
		{"process by the System id", &evtx.Event{Computer: "WS2", ProcessID: 4}, ContextProcess, `Computer:"WS2" AND System.ProcessID:4`, "4", true},
		{"no process", bare, ContextProcess, "", "", false},
		{"unknown mode", logon, "user", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, key, ok := contextQuery(tc.ev, tc.by)
			if q != tc.q || key != tc.key || ok != tc.ok {
				t.Errorf("got %q %q %t, want %q %q %t", q, key, ok, tc.q, tc.key, tc.ok)
			}
		})
	}
}
