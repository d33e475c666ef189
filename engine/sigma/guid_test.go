package sigma

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"casescope/evtx"
)

func ruleFires(rs *Ruleset, id string, ev *evtx.Event) bool {
	for _, h := range rs.Match(ev, nil) {
		if h.RuleID == id {
			return true
		}
	}
	return false
}

// TestGUIDBracedOrBare: SigmaHQ's win_security_disable_event_auditing_critical
// writes SubcategoryGuid braced; it fires whether the event holds the GUID
// braced (Event Viewer, libevtx) or bare, in either case.
func TestGUIDBracedOrBare(t *testing.T) {
	rs := loadEmbedded(t)
	const rule = "ab4561b1-6c7e-48a7-ad08-087cfb9ce8f1"
	for _, tc := range []struct {
		guid string
		want bool
	}{
		{"{0CCE9215-69AE-11D9-BED3-505054503030}", true},
		{"0CCE9215-69AE-11D9-BED3-505054503030", true},
		{"{0cce9215-69ae-11d9-bed3-505054503030}", true},
		{"0cce9215-69ae-11d9-bed3-505054503030", true},
		{"{0CCE9216-69AE-11D9-BED3-505054503030}", false}, // Audit Logoff: not in the rule
		{"{0CCE9215-69AE-11D9-BED3-505054503030}x", false},
	} {
		ev := event(chSecurity, 4719, "SubjectUserName", "admin", "SubcategoryGuid", tc.guid, "AuditPolicyChanges", "%%8448, %%8450")
		ev.Provider = "Microsoft-Windows-Security-Auditing"
		if got := ruleFires(rs, rule, ev); got != tc.want {
			t.Errorf("SubcategoryGuid %s: fired %v, want %v", tc.guid, got, tc.want)
		}
	}
}

// TestGUIDRealSysmonEvent: a rule naming a real Sysmon event's ProcessGuid
// fires whichever way the rule writes it (braced, bare, lower case) and
// with any modifier, and on the event holding it braced or bare.
func TestGUIDRealSysmonEvent(t *testing.T) {
	path := filepath.Join(testdataDir(t), "evtx", "omerbenamram", "sysmon.evtx")
	var ev *evtx.Event
	found := errors.New("found")
	_, err := evtx.StreamFile(context.Background(), path, func(e *evtx.Event) error {
		if g, ok := e.Get("ProcessGuid"); ok && g != "" && e.EventID == 1 {
			ev = e
			return found
		}
		return nil
	})
	if ev == nil {
		t.Fatalf("no Sysmon event with a ProcessGuid in %s: %v", path, err)
	}
	raw, _ := ev.Get("ProcessGuid")
	bare := strings.ToUpper(strings.Trim(raw, "{}"))
	t.Logf("event %d ProcessGuid %s", ev.RecordID, raw)
	withGUID := func(g string) *evtx.Event {
		c := *ev
		c.Data = append([]evtx.Field(nil), ev.Data...)
		for i := range c.Data {
			if c.Data[i].Name == "ProcessGuid" {
				c.Data[i].Value = g
			}
		}
		return &c
	}
	events := map[string]*evtx.Event{"as read": ev, "braced": withGUID("{" + bare + "}"), "bare": withGUID(bare)}
	for _, lit := range []string{"'{" + bare + "}'", "'" + bare + "'", "'{" + strings.ToLower(bare) + "}'"} {
		for _, mod := range []string{"", "|contains", "|startswith", "|endswith"} {
			text := "title: guid\nid: 11111111-2222-3333-4444-555555555555\nlogsource:\n  product: windows\n  category: process_creation\n" +
				"detection:\n  sel:\n    ProcessGuid" + mod + ": " + lit + "\n  condition: sel\nlevel: high\n"
			rs, err := loadText(text)
			if err != nil || rs.Len() != 1 {
				t.Fatalf("load %s%s: %v (%d rules)", mod, lit, err, rs.Len())
			}
			for name, e := range events {
				if !ruleFires(rs, "11111111-2222-3333-4444-555555555555", e) {
					t.Errorf("ProcessGuid%s: %s did not fire on the %s event", mod, lit, name)
				}
			}
		}
	}
}

// TestRepeatedData: every unnamed <Data> is a field "Data", repeated in
// order; a rule on Data matches when any of the values does.
func TestRepeatedData(t *testing.T) {
	text := "title: data\nid: 11111111-2222-3333-4444-666666666666\nlogsource:\n  product: windows\n  service: system\n" +
		"detection:\n  sel:\n    Data|contains: 'psexesvc'\n  condition: sel\nlevel: high\n"
	rs, err := loadText(text)
	if err != nil {
		t.Fatal(err)
	}
	ev := event("System", 7045, "Data", "Windows Update", "Data", "", "Data", "C:\\Windows\\PSEXESVC.exe")
	if !ruleFires(rs, "11111111-2222-3333-4444-666666666666", ev) {
		t.Error("Data|contains did not match the third Data value")
	}
	if ev := event("System", 7045, "Data", "Windows Update", "Data", ""); ruleFires(rs, "11111111-2222-3333-4444-666666666666", ev) {
		t.Error("Data|contains matched no value holding it")
	}
}
