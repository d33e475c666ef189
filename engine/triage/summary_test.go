package triage

import (
	"encoding/json"
	"testing"
	"time"

	"casescope/evtx"
)

func TestFailureCode(t *testing.T) {
	for _, tc := range []struct {
		name, status, sub, code, reason string
	}{
		{"sub status", "0xc000006d", "0xc000006a", "0xc000006a", "bad password"},
		{"upper case", "0xC000006D", "0xC0000064", "0xc0000064", "no such user"},
		{"zero sub status", "0xc0000234", "0x0", "0xc0000234", "account locked out"},
		{"absent sub status", "0xc000015b", "", "0xc000015b", "logon type not granted"},
		{"nothing", "", "", "-", "unknown status"},
		{"unknown", "0xc0001234", "0x0", "0xc0001234", "unknown status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := FailureCode(tc.status, tc.sub)
			if code != tc.code || FailureReason(code) != tc.reason {
				t.Errorf("got %s %q, want %s %q", code, FailureReason(code), tc.code, tc.reason)
			}
		})
	}
}

func TestHourOf(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{time.Date(1970, 1, 1, 0, 59, 0, 0, time.UTC), 0},
		{time.Date(1969, 12, 31, 23, 30, 0, 0, time.UTC), -1},
		{time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), -1},
		{time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), -3234576},
	} {
		if got := hourOf(tc.t); got != tc.want {
			t.Errorf("hourOf(%s) = %d, want %d", tc.t, got, tc.want)
		}
	}
}

// TestMergeEqualsOnePass: summarising events in two halves and merging
// gives what one pass over all of them gives.
func TestMergeEqualsOnePass(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	ev := func(i int, id uint32, channel, computer string, data ...string) *evtx.Event {
		e := &evtx.Event{EventID: id, Channel: channel, Provider: "p", Computer: computer, TimeCreated: t0.Add(time.Duration(i) * 37 * time.Minute)}
		for j := 0; j+1 < len(data); j += 2 {
			e.Data = append(e.Data, evtx.Field{Name: data[j], Value: data[j+1]})
		}
		return e
	}
	events := []*evtx.Event{
		ev(0, 4624, "Security", "DC01", "TargetUserName", "bob", "TargetDomainName", "CORP", "LogonType", "3", "IpAddress", "10.0.0.5", "WorkstationName", "WS1"),
		ev(1, 4625, "Security", "DC01", "TargetUserName", "bob", "TargetDomainName", "CORP", "LogonType", "3", "IpAddress", "10.0.0.5",
			"WorkstationName", "WS1", "Status", "0xc000006d", "SubStatus", "0xc000006a"),
		ev(2, 4624, "Security", "DC01", "TargetUserName", "bob", "TargetDomainName", "CORP", "LogonType", "3", "IpAddress", "10.0.0.5", "WorkstationName", "WS1"),
		ev(3, 21, "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational", "WS1", "User", `CORP\bob`, "Address", "10.0.0.9"),
		ev(4, 4648, "Security", "WS1", "SubjectUserName", "bob", "SubjectDomainName", "CORP", "TargetUserName", "admin", "TargetDomainName", "CORP", "IpAddress", "-"),
		ev(5, 21, "Application", "WS1", "Data", "not a logon"),
	}
	one, a, b := New(), New(), New()
	for i, e := range events {
		one.Add(e)
		if i%2 == 0 {
			a.Add(e)
		} else {
			b.Add(e)
		}
	}
	merged := New()
	merged.Merge(a)
	merged.Merge(b)
	js := func(v any) string { out, _ := json.Marshal(v); return string(out) }
	for _, view := range []struct {
		name      string
		one, merg any
	}{
		{"hosts", one.HostList(), merged.HostList()},
		{"accounts", one.AccountList(), merged.AccountList()},
		{"logons", one.LogonList(), merged.LogonList()},
		{"metrics", one.MetricsOf(), merged.MetricsOf()},
	} {
		if js(view.one) != js(view.merg) {
			t.Errorf("%s: merged\n%s\nwant\n%s", view.name, js(view.merg), js(view.one))
		}
	}
	logons := one.LogonList()
	if len(logons) != 4 || logons[0].Count != 2 || logons[0].EventID != 4624 {
		t.Fatalf("logon rows: got %s", js(logons))
	}
	for _, l := range logons {
		if l.EventID == 4625 && (len(l.Reasons) != 1 || l.Reasons[0].Reason != "bad password") {
			t.Errorf("4625 reasons: got %v", l.Reasons)
		}
		if l.EventID == 21 && (l.Account != "bob" || l.Domain != "CORP" || l.SourceIP != "10.0.0.9" || l.LogonType != nil) {
			t.Errorf("RDP row: got %s", js(l))
		}
	}
	if got := one.MetricsOf(); got.Total != len(events) || got.Interval != "hour" || len(got.OverTime) != 4 {
		t.Errorf("metrics: got total %d, %d %s buckets", got.Total, len(got.OverTime), got.Interval)
	}
}
