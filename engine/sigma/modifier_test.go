package sigma

import (
	"encoding/base64"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf16"

	"casescope/evtx"
)

// compileRule loads one rule whose logsource is the Security channel and
// whose detection is the given YAML (indented by four spaces). The test
// fails if the rule is skipped.
func compileRule(t *testing.T, detection string) *Ruleset {
	t.Helper()
	return compileRuleLS(t, "    product: windows\n    service: security\n", detection)
}

func compileRuleLS(t *testing.T, logsource, detection string) *Ruleset {
	t.Helper()
	rs, err := Load(Options{}, fstest.MapFS{"rule.yml": {Data: []byte(ruleText(logsource, detection))}})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if sk := rs.Skipped(); len(sk) > 0 {
		t.Fatalf("rule skipped: %s\n%s", sk[0].Reason, detection)
	}
	if rs.Len() != 1 {
		t.Fatalf("got %d rules, want 1", rs.Len())
	}
	return rs
}

func ruleText(logsource, detection string) string {
	return "title: Test rule\nid: 00000000-0000-0000-0000-000000000001\nstatus: test\nlevel: high\n" +
		"tags:\n    - attack.t1000\nlogsource:\n" + logsource + "detection:\n" + detection
}

// secEvent is a Security event with the given EventData name/value pairs.
func secEvent(kv ...string) *evtx.Event {
	ev := &evtx.Event{Channel: "Security", Provider: "Microsoft-Windows-Security-Auditing", EventID: 4688}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Data = append(ev.Data, evtx.Field{Name: kv[i], Value: kv[i+1]})
	}
	return ev
}

func matches(rs *Ruleset, ev *evtx.Event) bool {
	return len(rs.Match(ev, nil)) > 0
}

type matchCase struct {
	name string
	ev   *evtx.Event
	want bool
}

func runCases(t *testing.T, detection string, cases []matchCase) {
	t.Helper()
	rs := compileRule(t, detection)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := matches(rs, tc.ev); got != tc.want {
				t.Errorf("match = %v, want %v (event %+v)", got, tc.want, tc.ev.Data)
			}
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func utf16le(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		b.WriteByte(byte(u))
		b.WriteByte(byte(u >> 8))
	}
	return b.String()
}

func TestModifiers(t *testing.T) {
	tests := []struct {
		name      string
		detection string
		cases     []matchCase
	}{
		{
			name: "equals is whole-value and case-insensitive",
			detection: `    sel:
        Image: 'C:\Windows\System32\cmd.exe'
    condition: sel
`,
			cases: []matchCase{
				{"same", secEvent("Image", `C:\Windows\System32\cmd.exe`), true},
				{"other case", secEvent("Image", `c:\WINDOWS\system32\CMD.EXE`), true},
				{"longer", secEvent("Image", `C:\Windows\System32\cmd.exe.bak`), false},
				{"absent", secEvent("Other", `C:\Windows\System32\cmd.exe`), false},
			},
		},
		{
			name: "contains startswith endswith",
			detection: `    sel_c:
        CommandLine|contains: 'mimikatz'
    sel_s:
        ParentImage|startswith: 'C:\Users\'
    sel_e:
        Image|endswith: '\rundll32.exe'
    condition: 1 of sel_*
`,
			cases: []matchCase{
				{"contains", secEvent("CommandLine", `x.exe MiMiKaTz y`), true},
				{"not contained", secEvent("CommandLine", `mimi katz`), false},
				{"startswith", secEvent("ParentImage", `c:\users\bob\a.exe`), true},
				{"startswith elsewhere", secEvent("ParentImage", `D:\C:\Users\a.exe`), false},
				{"endswith", secEvent("Image", `C:\Windows\RUNDLL32.EXE`), true},
				{"endswith not at end", secEvent("Image", `C:\rundll32.exe.mui`), false},
			},
		},
		{
			// A backslash before * escapes it, so a path wildcard after a
			// backslash is written \\*.
			name: "wildcards",
			detection: `    sel_star:
        Image: 'C:\\*\cmd.exe'
    sel_escaped:
        Other: 'C:\*\cmd.exe'
    sel_q:
        OriginalFileName: '?md.exe'
    condition: 1 of sel_*
`,
			cases: []matchCase{
				{"star spans path", secEvent("Image", `C:\Windows\System32\cmd.exe`), true},
				{"star may be empty", secEvent("Image", `C:\\cmd.exe`), true},
				{"star anchored", secEvent("Image", `D:\C:\x\cmd.exe`), false},
				{"escaped star is literal", secEvent("Other", `C:*\cmd.exe`), true},
				{"escaped star is no wildcard", secEvent("Other", `C:\Windows\cmd.exe`), false},
				{"question one char", secEvent("OriginalFileName", `cmd.exe`), true},
				{"question one unicode char", secEvent("OriginalFileName", `ämd.exe`), true},
				{"question not two", secEvent("OriginalFileName", `cmmd.exe`), false},
				{"question not zero", secEvent("OriginalFileName", `md.exe`), false},
			},
		},
		{
			name: "escaped wildcards and backslashes",
			detection: `    sel_star:
        A: 'foo\*bar'
    sel_q:
        B: 'a\?b'
    sel_bs:
        C: 'C:\\*'
    sel_plain:
        D: 'C:\Windows'
    condition: 1 of sel_*
`,
			cases: []matchCase{
				{"literal star", secEvent("A", `foo*bar`), true},
				{"star is not wildcard", secEvent("A", `fooXbar`), false},
				{"literal question", secEvent("B", `a?b`), true},
				{"question is not wildcard", secEvent("B", `axb`), false},
				{"escaped backslash then wildcard", secEvent("C", `C:\Temp\x`), true},
				{"escaped backslash is one backslash", secEvent("C", `C:\\Temp`), true},
				{"wildcard after backslash needs the backslash", secEvent("C", `C:Temp`), false},
				{"backslash before a letter is literal", secEvent("D", `c:\windows`), true},
			},
		},
		{
			name: "all with contains",
			detection: `    sel:
        CommandLine|contains|all:
            - 'vssadmin'
            - 'delete'
            - 'shadows'
    condition: sel
`,
			cases: []matchCase{
				{"all present", secEvent("CommandLine", `vssadmin.exe Delete Shadows /all`), true},
				{"one missing", secEvent("CommandLine", `vssadmin.exe list shadows`), false},
			},
		},
		{
			name: "list is or, map is and, list of maps is or",
			detection: `    sel_list:
        Image|endswith:
            - '\a.exe'
            - '\b.exe'
        User: 'bob'
    sel_maps:
        - X: '1'
        - Y: '2'
    condition: 1 of sel_*
`,
			cases: []matchCase{
				{"first of list and map", secEvent("Image", `C:\a.exe`, "User", "BOB"), true},
				{"second of list and map", secEvent("Image", `C:\b.exe`, "User", "bob"), true},
				{"list without map partner", secEvent("Image", `C:\b.exe`, "User", "alice"), false},
				{"first map", secEvent("X", "1"), true},
				{"second map", secEvent("Y", "2"), true},
				{"neither map", secEvent("X", "2", "Y", "1"), false},
			},
		},
		{
			// windash: \B[-/]\b: a dash or slash not preceded by a word
			// character and followed by one takes all five forms.
			name: "windash",
			detection: `    sel:
        CommandLine|windash|contains: ' -enc '
    sel_inword:
        Other|windash: 'a-b'
    condition: 1 of sel*
`,
			cases: []matchCase{
				{"hyphen", secEvent("CommandLine", `powershell -enc AAA`), true},
				{"slash", secEvent("CommandLine", `powershell /enc AAA`), true},
				{"en dash", secEvent("CommandLine", "powershell \u2013enc AAA"), true},
				{"em dash", secEvent("CommandLine", "powershell \u2014enc AAA"), true},
				{"horizontal bar", secEvent("CommandLine", "powershell \u2015enc AAA"), true},
				{"other char", secEvent("CommandLine", `powershell +enc AAA`), false},
				{"in-word dash kept", secEvent("Other", `a-b`), true},
				{"in-word dash not expanded", secEvent("Other", `a/b`), false},
			},
		},
		{
			name: "base64",
			detection: `    sel:
        A|base64: 'hello'
    condition: sel
`,
			cases: []matchCase{
				{"encoded", secEvent("A", `aGVsbG8=`), true},
				{"plain", secEvent("A", `hello`), false},
			},
		},
		{
			// The three alignments of "/bin/sh" inside longer base64 text,
			// checked against real encodings with 0, 1 and 2 leading bytes.
			name: "base64offset",
			detection: `    sel:
        A|base64offset|contains: '/bin/sh'
    condition: sel
`,
			cases: []matchCase{
				{"offset 0", secEvent("A", b64(`/bin/sh -c id`)), true},
				{"offset 1", secEvent("A", b64(`x/bin/sh -c id`)), true},
				{"offset 2", secEvent("A", b64(`xy/bin/sh -c id`)), true},
				{"offset 0 at end", secEvent("A", b64(`abc/bin/sh`)), true},
				{"spec example 0", secEvent("A", `zzL2Jpbi9zazz`), true},
				{"spec example 1", secEvent("A", `zz9iaW4vc2zz`), true},
				{"spec example 2", secEvent("A", `zzvYmluL3Nozz`), true},
				{"other text", secEvent("A", b64(`/bin/bash -c id`)), false},
			},
		},
		{
			name: "utf16le base64offset (wide)",
			detection: `    sel_le:
        A|utf16le|base64offset|contains: 'ping'
    sel_wide:
        B|wide|base64offset|contains: 'ping'
    condition: 1 of sel_*
`,
			cases: []matchCase{
				{"utf16le offset 0", secEvent("A", b64(utf16le(`ping 10.0.0.1`))), true},
				{"utf16le offset 1", secEvent("A", b64(utf16le(`c ping x`))), true},
				{"utf16le offset 2", secEvent("A", b64(utf16le(`cmd ping x`))), true},
				{"wide", secEvent("B", b64(utf16le(`cmd /c ping x`))), true},
				{"utf8 is not utf16", secEvent("A", b64(`ping 10.0.0.1`)), false},
			},
		},
		{
			// FF FE 61 00 62 00 is "//5hAGIA"; 00 61 00 62 is "AGEAYg==".
			name: "utf16 and utf16be",
			detection: `    sel_bom:
        A|utf16|base64: 'ab'
    sel_be:
        B|utf16be|base64: 'ab'
    condition: 1 of sel_*
`,
			cases: []matchCase{
				{"utf16 with BOM", secEvent("A", `//5hAGIA`), true},
				{"utf16be", secEvent("B", `AGEAYg==`), true},
				{"utf16le is not be", secEvent("B", b64(utf16le("ab"))), false},
			},
		},
		{
			name: "cidr",
			detection: `    sel4:
        SourceIp|cidr: '10.0.0.0/8'
    sel6:
        DestinationIp|cidr:
            - 'fe80::/10'
            - '2001:db8::/32'
    condition: 1 of sel*
`,
			cases: []matchCase{
				{"v4 inside", secEvent("SourceIp", `10.1.2.3`), true},
				{"v4 outside", secEvent("SourceIp", `11.0.0.1`), false},
				{"v4 mapped v6", secEvent("SourceIp", `::ffff:10.9.9.9`), true},
				{"not an address", secEvent("SourceIp", `10.1.2.3.example`), false},
				{"v6 link local", secEvent("DestinationIp", `fe80::1`), true},
				{"v6 documentation", secEvent("DestinationIp", `2001:db8:1::5`), true},
				{"v6 outside", secEvent("DestinationIp", `2001:db9::1`), false},
			},
		},
		{
			name: "re and its flags",
			detection: `    sel_plain:
        A|re: 'ab+c'
    sel_i:
        B|re|i: 'ab+c'
    sel_m:
        C|re|m: '^foo$'
    sel_nom:
        D|re: '^foo$'
    sel_s:
        E|re|s: 'a.b'
    sel_nos:
        F|re: 'a.b'
    condition: 1 of sel_*
`,
			cases: []matchCase{
				{"unanchored", secEvent("A", "xabbbcx"), true},
				{"case-sensitive by default", secEvent("A", "ABC"), false},
				{"i flag", secEvent("B", "xABBCx"), true},
				{"m flag", secEvent("C", "bar\nfoo\nbaz"), true},
				{"without m", secEvent("D", "bar\nfoo\nbaz"), false},
				{"s flag", secEvent("E", "a\nb"), true},
				{"without s", secEvent("F", "a\nb"), false},
			},
		},
		{
			name: "exists",
			detection: `    sel_yes:
        A|exists: true
    sel_no:
        B|exists: false
    condition: sel_yes and sel_no
`,
			cases: []matchCase{
				{"A present B absent", secEvent("A", ""), true},
				{"both present", secEvent("A", "x", "B", "y"), false},
				{"both absent", secEvent("C", "x"), false},
			},
		},
		{
			name: "null means absent or empty",
			detection: `    sel:
        A: null
    condition: sel
`,
			cases: []matchCase{
				{"absent", secEvent("B", "x"), true},
				{"empty", secEvent("A", ""), true},
				{"value", secEvent("A", "x"), false},
			},
		},
		{
			name: "empty string means present and empty",
			detection: `    sel:
        A: ''
    condition: sel
`,
			cases: []matchCase{
				{"absent", secEvent("B", "x"), false},
				{"empty", secEvent("A", ""), true},
				{"value", secEvent("A", "x"), false},
			},
		},
		{
			name: "fieldref",
			detection: `    sel:
        TargetFilename|fieldref: Image
    condition: sel
`,
			cases: []matchCase{
				{"equal ignoring case", secEvent("Image", `C:\a.exe`, "TargetFilename", `c:\A.EXE`), true},
				{"different", secEvent("Image", `C:\a.exe`, "TargetFilename", `C:\b.exe`), false},
				{"reference absent", secEvent("TargetFilename", `C:\a.exe`), false},
			},
		},
		{
			name: "lt lte gt gte",
			detection: `    sel_gt:
        A|gt: 10
    sel_lte:
        B|lte: 10
    sel_gte:
        C|gte: 16
    sel_lt:
        D|lt: 1.5
    condition: 1 of sel_*
`,
			cases: []matchCase{
				{"gt above", secEvent("A", "11"), true},
				{"gt equal", secEvent("A", "10"), false},
				{"gt not a number", secEvent("A", "eleven"), false},
				{"lte equal", secEvent("B", "10"), true},
				{"lte above", secEvent("B", "10.5"), false},
				{"gte hex", secEvent("C", "0x10"), true},
				{"gte hex below", secEvent("C", "0xf"), false},
				{"lt float", secEvent("D", "1.25"), true},
				{"lt float equal", secEvent("D", "1.5"), false},
			},
		},
		{
			name: "cased",
			detection: `    sel:
        CommandLine|cased|contains: 'Mimikatz'
    condition: sel
`,
			cases: []matchCase{
				{"same case", secEvent("CommandLine", "run Mimikatz now"), true},
				{"other case", secEvent("CommandLine", "run mimikatz now"), false},
			},
		},
		{
			name: "keywords match any data value as substrings",
			detection: `    keywords:
        - 'sekurlsa::'
        - 'mimi*katz'
    condition: keywords
`,
			cases: []matchCase{
				{"in a value", secEvent("Foo", "run SEKURLSA::logonpasswords"), true},
				{"wildcard keyword", secEvent("Bar", "x mimi-katz y"), true},
				{"in another value", secEvent("A", "nothing", "B", "x sekurlsa::y"), true},
				{"nowhere", secEvent("A", "nothing"), false},
				{"field names are not searched", secEvent("sekurlsa::", "x"), false},
			},
		},
		{
			name: "keywords with all",
			detection: `    keywords:
        '|all':
            - 'New-MailboxExportRequest'
            - '.pst'
    condition: keywords
`,
			cases: []matchCase{
				{"both", secEvent("Payload", "New-MailboxExportRequest -FilePath x.pst"), true},
				{"both in different values", secEvent("A", "new-mailboxexportrequest", "B", "c:\\x.PST"), true},
				{"one", secEvent("Payload", "New-MailboxExportRequest"), false},
			},
		},
		{
			name: "field names are case-insensitive and ignore spaces",
			detection: `    sel:
        commandline|contains: 'evil'
        ThreatName: 'x'
    condition: sel
`,
			cases: []matchCase{
				{"other case and spaced name", secEvent("CommandLine", "an EVIL one", "Threat Name", "X"), true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runCases(t, tt.detection, tt.cases)
		})
	}
}

// TestMultiValuedFields covers names that reach several values: unnamed
// Data elements, UserData paths and System fields sharing a name.
func TestMultiValuedFields(t *testing.T) {
	t.Run("unnamed Data", func(t *testing.T) {
		runCases(t, `    sel:
        Data|contains: 'HostName=ConsoleHost'
    condition: sel
`, []matchCase{
			{"third Data", secEvent("Data", "Available", "Data_1", "None", "Data_2", "NewEngineState=Available HostName=ConsoleHost"), true},
			{"none", secEvent("Data", "Available", "Data_1", "HostName=ISE"), false},
		})
	})
	t.Run("UserData leaf and System Channel", func(t *testing.T) {
		rs := compileRuleLS(t, "    product: windows\n    service: system\n", `    sel:
        EventID: 104
        Channel: 'Microsoft-Windows-Sysmon/Operational'
    condition: sel
`)
		ev := &evtx.Event{Channel: "System", EventID: 104, UserDataElement: "LogFileCleared",
			Data: []evtx.Field{{Name: "SubjectUserName", Value: "bob"}, {Name: "Channel", Value: "Microsoft-Windows-Sysmon/Operational"}}}
		if !matches(rs, ev) {
			t.Errorf("UserData Channel: got no match, want match")
		}
		ev.Data[1].Value = "Application"
		if matches(rs, ev) {
			t.Errorf("other UserData Channel: got match, want none")
		}
		nested := &evtx.Event{Channel: "System", EventID: 104,
			Data: []evtx.Field{{Name: "Info.Channel", Value: "Microsoft-Windows-Sysmon/Operational"}}}
		if !matches(rs, nested) {
			t.Errorf("dotted path leaf: got no match, want match")
		}
	})
	t.Run("System fields", func(t *testing.T) {
		rs := compileRule(t, `    sel:
        EventID: 4688
        Provider_Name: 'Microsoft-Windows-Security-Auditing'
        Computer: 'dc01'
        Level: 0
    condition: sel
`)
		ev := secEvent()
		ev.Computer = "DC01"
		if !matches(rs, ev) {
			t.Errorf("system fields: got no match, want match")
		}
		ev.EventID = 4689
		if matches(rs, ev) {
			t.Errorf("other EventID: got match, want none")
		}
	})
}
