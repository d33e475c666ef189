package sigma

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"casescope/evtx"
)

// fuzzEvents are matched against every rule the fuzzer manages to compile.
var fuzzEvents = []*evtx.Event{
	{Channel: "Microsoft-Windows-Sysmon/Operational", EventID: 1, Data: []evtx.Field{
		{Name: "Image", Value: `C:\Windows\System32\cmd.exe`},
		{Name: "CommandLine", Value: "cmd.exe /c powershell -enc SQBFAFgA mimikatz a1b c?d"},
		{Name: "User", Value: `NT AUTHORITY\SYSTEM`},
		{Name: "ParentUser", Value: `nt authority\system`},
		{Name: "DestinationIp", Value: "10.1.2.3"},
		{Name: "TerminalSessionId", Value: "1"},
	}},
	{Channel: "Security", EventID: 4624, Data: []evtx.Field{
		{Name: "LogonType", Value: "3"},
		{Name: "Data", Value: "a"},
		{Name: "Data_1", Value: "b"},
	}},
	{Channel: "Microsoft-Windows-PowerShell/Operational", EventID: 4104},
}

// FuzzLoadRule feeds arbitrary rule files to Load and matches whatever
// compiles against a few events. Neither may panic, and a rule file is
// either loaded or skipped with a reason. Seeds: testdata/*.yml and a
// sample of the embedded rules.
func FuzzLoadRule(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.yml"))
	if err != nil {
		f.Fatalf("glob seeds: %v", err)
	}
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatalf("read seed: %v", err)
		}
		f.Add(data)
	}
	n := 0
	err = fsWalk(Embedded(), func(p string) {
		if filepath.Ext(p) != ".yml" {
			return
		}
		// About every 60th embedded rule, across all categories. Small
		// ones only: minimising a large interesting input takes the
		// fuzzer minutes.
		n++
		if n%60 != 0 {
			return
		}
		if data, err := fs.ReadFile(Embedded(), p); err == nil && len(data) < 2048 {
			f.Add(data)
		}
	})
	if err != nil {
		f.Fatalf("walk embedded rules: %v", err)
	}
	lm, err := parseLogsources(logsourcesYAML)
	if err != nil {
		f.Fatalf("parse logsource mapping: %v", err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := load(lm, Options{}, []fs.FS{fstest.MapFS{"rule.yml": {Data: data}}})
		if err != nil {
			t.Fatalf("load from memory failed: %v", err)
		}
		for _, s := range rs.Skipped() {
			if s.Reason == "" || strings.Contains(s.Reason, "internal error") {
				t.Errorf("skipped without a reason or after a panic: %+v", s)
			}
		}
		var hits []Hit
		var in []CorrelationInput
		for i, ev := range fuzzEvents {
			hits = rs.Match(ev, hits[:0])
			for _, h := range hits {
				if fields, ok := rs.CorrelationFields(h.RuleID); ok {
					vals := map[string]string{}
					for _, f := range fields {
						if v, ok := FieldValue(ev, f); ok {
							vals[f] = v
						}
					}
					in = append(in, CorrelationInput{Rule: h.RuleID, Time: ev.TimeCreated, Ref: i, Fields: vals})
				}
			}
		}
		if _, err := rs.Correlate(in, nil); err != nil {
			t.Fatalf("correlate: %v", err)
		}
	})
}

// TestSeedRules checks that the hand-written fuzz seeds compile: they are
// meant to exercise every modifier, not the skip paths.
func TestSeedRules(t *testing.T) {
	rs, err := Load(Options{}, os.DirFS("testdata"))
	if err != nil {
		t.Fatalf("load testdata: %v", err)
	}
	for _, s := range rs.Skipped() {
		t.Errorf("seed %s skipped: %s", s.Path, s.Reason)
	}
	if rs.Len() != 6 {
		t.Errorf("got %d seed rules, want 6 (modifiers, keywords, and the correlation example's four)", rs.Len())
	}
}
