package sigma

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"casescope/evtx"
)

func event(channel string, eid uint32, kv ...string) *evtx.Event {
	ev := &evtx.Event{Channel: channel, EventID: eid}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Data = append(ev.Data, evtx.Field{Name: kv[i], Value: kv[i+1]})
	}
	return ev
}

const (
	chSysmon   = "Microsoft-Windows-Sysmon/Operational"
	chSecurity = "Security"
)

// TestLogsourceMapping checks routing by channel and event ID and the
// field renames of the logsource mapping.
func TestLogsourceMapping(t *testing.T) {
	tests := []struct {
		name      string
		logsource string
		detection string
		cases     []matchCase
	}{
		{
			name:      "process_creation on Sysmon 1 and Security 4688",
			logsource: "    product: windows\n    category: process_creation\n",
			detection: "    sel:\n        Image|endswith: '\\whoami.exe'\n        ParentImage|endswith: '\\cmd.exe'\n    condition: sel\n",
			cases: []matchCase{
				{"sysmon 1", event(chSysmon, 1, "Image", `C:\Windows\whoami.exe`, "ParentImage", `C:\cmd.exe`), true},
				{"security 4688 renamed fields", event(chSecurity, 4688, "NewProcessName", `C:\Windows\whoami.exe`, "ParentProcessName", `C:\cmd.exe`), true},
				{"security 4688 does not read Image", event(chSecurity, 4688, "Image", `C:\Windows\whoami.exe`, "ParentImage", `C:\cmd.exe`), false},
				{"sysmon 3 is not process creation", event(chSysmon, 3, "Image", `C:\Windows\whoami.exe`, "ParentImage", `C:\cmd.exe`), false},
				{"other channel", event("Application", 1, "Image", `C:\Windows\whoami.exe`, "ParentImage", `C:\cmd.exe`), false},
				{"channel name case", event("microsoft-windows-sysmon/operational", 1, "Image", `C:\whoami.exe`, "ParentImage", `C:\cmd.exe`), true},
			},
		},
		{
			name:      "network_connection on Security 5156 with value mapping",
			logsource: "    product: windows\n    category: network_connection\n",
			detection: "    sel:\n        Image|endswith: '\\rundll32.exe'\n        Initiated: 'true'\n        DestinationPort: 443\n    condition: sel\n",
			cases: []matchCase{
				{"sysmon 3", event(chSysmon, 3, "Image", `C:\rundll32.exe`, "Initiated", "true", "DestinationPort", "443"), true},
				{"5156 outbound", event(chSecurity, 5156, "Application", `\device\harddiskvolume2\windows\rundll32.exe`, "Direction", "%%14593", "DestPort", "443"), true},
				{"5156 inbound", event(chSecurity, 5156, "Application", `\device\harddiskvolume2\windows\rundll32.exe`, "Direction", "%%14592", "DestPort", "443"), false},
			},
		},
		{
			name:      "registry_add requires EventType CreateKey",
			logsource: "    product: windows\n    category: registry_add\n",
			detection: "    sel:\n        TargetObject|contains: '\\Run\\'\n    condition: sel\n",
			cases: []matchCase{
				{"create key", event(chSysmon, 12, "EventType", "CreateKey", "TargetObject", `HKLM\Software\Run\x`), true},
				{"delete key", event(chSysmon, 12, "EventType", "DeleteKey", "TargetObject", `HKLM\Software\Run\x`), false},
				{"set value is event 13", event(chSysmon, 13, "EventType", "CreateKey", "TargetObject", `HKLM\Software\Run\x`), false},
			},
		},
		{
			name:      "service without event ID runs on every event of the channel",
			logsource: "    product: windows\n    service: sysmon\n",
			detection: "    sel:\n        RuleName: 'x'\n    condition: sel\n",
			cases: []matchCase{
				{"event 1", event(chSysmon, 1, "RuleName", "x"), true},
				{"event 255", event(chSysmon, 255, "RuleName", "x"), true},
				{"security", event(chSecurity, 1, "RuleName", "x"), false},
			},
		},
		{
			name:      "EventID in the detection routes the rule",
			logsource: "    product: windows\n    service: security\n",
			detection: "    sel:\n        EventID:\n            - 4624\n            - 4625\n        LogonType: 3\n    condition: sel\n",
			cases: []matchCase{
				{"4624", event(chSecurity, 4624, "LogonType", "3"), true},
				{"4625", event(chSecurity, 4625, "LogonType", "3"), true},
				{"4634", event(chSecurity, 4634, "LogonType", "3"), false},
			},
		},
		{
			name:      "product only runs everywhere",
			logsource: "    product: windows\n",
			detection: "    keywords:\n        - 'mimikatz'\n    condition: keywords\n",
			cases: []matchCase{
				{"sysmon", event(chSysmon, 1, "CommandLine", "mimikatz.exe"), true},
				{"unknown channel", event("Whatever/Operational", 7, "X", "MIMIKATZ"), true},
				{"no channel", event("", 0, "X", "mimikatz"), true},
			},
		},
		{
			name:      "antivirus maps Signature to Threat Name",
			logsource: "    product: windows\n    category: antivirus\n",
			detection: "    sel:\n        Signature|contains: 'Mimikatz'\n    condition: sel\n",
			cases: []matchCase{
				{"defender 1116", event("Microsoft-Windows-Windows Defender/Operational", 1116, "Threat Name", "HackTool:Win32/Mimikatz"), true},
				{"defender 1000", event("Microsoft-Windows-Windows Defender/Operational", 1000, "Threat Name", "HackTool:Win32/Mimikatz"), false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := compileRuleLS(t, tt.logsource, tt.detection)
			for _, tc := range tt.cases {
				t.Run(tc.name, func(t *testing.T) {
					if got := matches(rs, tc.ev); got != tc.want {
						t.Errorf("match = %v, want %v", got, tc.want)
					}
				})
			}
		})
	}
}

// TestHit checks what a hit carries, and that one rule hits at most once
// per event.
func TestHit(t *testing.T) {
	rs := compileRule(t, "    sel:\n        A: '1'\n    condition: sel\n")
	dst := []Hit{{RuleID: "earlier"}}
	got := rs.Match(secEvent("A", "1"), dst)
	want := []Hit{{RuleID: "earlier"}, {RuleID: "00000000-0000-0000-0000-000000000001", Title: "Test rule", Level: "high", Tags: []string{"attack.t1000"}, Pack: PackCustom}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := rs.Match(secEvent("A", "2"), nil); len(got) != 0 {
		t.Errorf("no match: got %+v, want none", got)
	}
}

// TestLoadEmbedded loads the full embedded rule set. In the core pack
// the only rules that may be skipped are the file_access and file_rename
// ones (those categories come from an ETW provider that writes no event
// log), the web proxy ones (no proxy-log reader) and the Apache/Nginx
// error-log ones (no error-log reader). The emerging-threats and
// threat-hunting packs also hold rules for other products (Linux, macOS,
// cloud, network devices), skipped as not supported or not mapped, and
// two rules with the expand modifier (placeholders).
func TestLoadEmbedded(t *testing.T) {
	rs := loadEmbedded(t)
	files := map[string]int{}
	err := walkRuleFiles(func(p string) { files[packOf(Embedded(), p)]++ })
	if err != nil {
		t.Fatalf("walk embedded rules: %v", err)
	}
	// The counts of testdata/sigma/SOURCES.md.
	want := map[string]int{PackCore: 2407 + 45, PackEmergingThreats: 473, PackThreatHunting: 140}
	total := 0
	for p, n := range want {
		if files[p] != n {
			t.Errorf("embedded rule files of pack %s: got %d, want %d", p, files[p], n)
		}
		total += files[p]
	}
	sk := rs.Skipped()
	perPack := map[string]int{}
	for _, s := range sk {
		t.Logf("skipped %s (%s): %s", s.Path, s.Title, s.Reason)
		perPack[s.Pack]++
		switch s.Pack {
		case PackCore:
			if !strings.Contains(s.Path, "/file_access/") && !strings.Contains(s.Path, "/file_rename/") &&
				!strings.HasPrefix(s.Path, "web/proxy_generic/") && !strings.HasPrefix(s.Path, "web/product/") {
				t.Errorf("unexpected skip %s: %s", s.Path, s.Reason)
			}
		case PackEmergingThreats, PackThreatHunting:
			if !strings.Contains(s.Reason, "is not supported") && !strings.Contains(s.Reason, "has no mapping") &&
				!strings.Contains(s.Reason, "modifier expand") {
				t.Errorf("unexpected skip %s: %s", s.Path, s.Reason)
			}
		default:
			t.Errorf("skipped %s: pack %q", s.Path, s.Pack)
		}
	}
	loaded := map[string]int{}
	for _, r := range rs.Rules() {
		loaded[r.Pack]++
	}
	for p := range want {
		if loaded[p]+perPack[p] != files[p] {
			t.Errorf("pack %s: loaded %d + skipped %d, want %d files", p, loaded[p], perPack[p], files[p])
		}
		t.Logf("pack %s: %d files, %d loaded, %d skipped", p, files[p], loaded[p], perPack[p])
	}
	files2 := total
	if got, want := rs.Len()+len(sk), files2; got != want {
		t.Errorf("loaded %d + skipped %d = %d, want %d", rs.Len(), len(sk), got, want)
	}
	t.Logf("loaded %d rules, skipped %d", rs.Len(), len(sk))
	ids := map[string]bool{}
	for _, r := range rs.Rules() {
		if r.ID == "" || r.Title == "" || r.Level == "" || r.Path == "" {
			t.Errorf("rule %+v lacks id, title, level or path", r)
		}
		if ids[r.ID] {
			t.Errorf("rule id %s loaded twice", r.ID)
		}
		ids[r.ID] = true
	}
}

func walkRuleFiles(fn func(string)) error {
	return fsWalk(Embedded(), func(p string) {
		if strings.HasSuffix(p, ".yml") {
			fn(p)
		}
	})
}

// TestOptions checks the level and status filters.
func TestOptions(t *testing.T) {
	all := loadEmbedded(t)
	high, err := Load(Options{MinLevel: "high"}, Embedded())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	stable, err := Load(Options{Statuses: []string{"stable"}}, Embedded())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	var wantHigh, wantStable int
	for _, r := range all.Rules() {
		if r.Level == "high" || r.Level == "critical" {
			wantHigh++
		}
		if r.Status == "stable" {
			wantStable++
		}
	}
	if high.Len() != wantHigh || wantHigh == 0 {
		t.Errorf("MinLevel high: got %d rules, want %d", high.Len(), wantHigh)
	}
	for _, r := range high.Rules() {
		if r.Level != "high" && r.Level != "critical" {
			t.Errorf("MinLevel high kept %s (level %s)", r.ID, r.Level)
		}
	}
	if stable.Len() != wantStable || wantStable == 0 {
		t.Errorf("Statuses stable: got %d rules, want %d", stable.Len(), wantStable)
	}
	if _, err := Load(Options{MinLevel: "severe"}, Embedded()); err == nil {
		t.Errorf("MinLevel severe: got no error, want one")
	}
}

// TestLayering checks that a later source replaces rules with the same id
// and adds new ones, and that duplicates within one source are skipped.
func TestLayering(t *testing.T) {
	base := fstest.MapFS{
		"a.yml": {Data: []byte(strings.Replace(ruleText("    product: windows\n    service: security\n", "    sel:\n        A: '1'\n    condition: sel\n"), "Test rule", "Base A", 1))},
	}
	override := fstest.MapFS{
		"dir/a2.yml": {Data: []byte(strings.Replace(ruleText("    product: windows\n    service: security\n", "    sel:\n        A: '2'\n    condition: sel\n"), "Test rule", "Override A", 1))},
		"dir/b.yaml": {Data: []byte(strings.Replace(strings.Replace(ruleText("    product: windows\n    service: security\n", "    sel:\n        B: '1'\n    condition: sel\n"), "Test rule", "New B", 1), "000000000001", "000000000002", 1))},
		"dir/b2.yml": {Data: []byte(strings.Replace(ruleText("    product: windows\n    service: security\n", "    sel:\n        B: '9'\n    condition: sel\n"), "000000000001", "000000000002", 1))},
		"notes.txt":  {Data: []byte("not a rule")},
	}
	rs, err := Load(Options{}, base, override)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	var titles []string
	for _, r := range rs.Rules() {
		titles = append(titles, r.Title)
	}
	slices.Sort(titles)
	if want := []string{"New B", "Override A"}; !slices.Equal(titles, want) {
		t.Errorf("titles: got %v, want %v", titles, want)
	}
	sk := rs.Skipped()
	if len(sk) != 1 || sk[0].Path != "dir/b2.yml" || !strings.Contains(sk[0].Reason, "duplicate") {
		t.Errorf("skipped: got %+v, want dir/b2.yml as a duplicate", sk)
	}
	if matches(rs, secEvent("A", "1")) || !matches(rs, secEvent("A", "2")) {
		t.Errorf("the overriding rule's detection is not the one in force")
	}

	// A replacement that cannot be compiled leaves the earlier version.
	broken := fstest.MapFS{"a.yml": {Data: []byte(ruleText("    product: windows\n    service: security\n", "    sel:\n        A|nosuchmodifier: '3'\n    condition: sel\n"))}}
	rs, err = Load(Options{}, base, broken)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if rs.Len() != 1 || rs.Rules()[0].Title != "Base A" || !matches(rs, secEvent("A", "1")) {
		t.Errorf("broken override: got %+v, want Base A in force", rs.Rules())
	}
	if sk := rs.Skipped(); len(sk) != 1 || !strings.Contains(sk[0].Reason, "using the version in a.yml") {
		t.Errorf("broken override: skipped %+v, want one naming the fallback", sk)
	}
}

// TestConcurrentMatch runs Match from several goroutines (run with -race)
// and compares with sequential results.
func TestConcurrentMatch(t *testing.T) {
	rs := loadEmbedded(t)
	evs := regressionEvents(t)
	want := make([][]Hit, len(evs))
	for i, ev := range evs {
		want[i] = rs.Match(ev, nil)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var hits []Hit
			for i, ev := range evs {
				hits = rs.Match(ev, hits[:0])
				if !hitsEqual(hits, want[i]) {
					select {
					case errs <- ev.Channel:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for ch := range errs {
		t.Errorf("concurrent Match differs from sequential on a %s event", ch)
	}
}

func hitsEqual(a, b []Hit) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].RuleID != b[i].RuleID {
			return false
		}
	}
	return true
}

// regressionEvents streams every regression EVTX into memory.
func regressionEvents(t testing.TB) []*evtx.Event {
	t.Helper()
	root := filepath.Join(testdataDir(t), "sigma-regression")
	var evs []*evtx.Event
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".evtx") {
			return err
		}
		_, err = evtx.StreamFile(t.Context(), p, func(ev *evtx.Event) error {
			evs = append(evs, ev)
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatalf("read regression events: %v", err)
	}
	return evs
}

// TestShortcutsDoNotChangeResults matches the regression events and every
// 8th event of the EVTX dev set (long PowerShell script blocks included)
// with the literal index and the rule prefilter turned off, by default,
// and forced on for every value and rule list, and requires identical
// hits.
func TestShortcutsDoNotChangeResults(t *testing.T) {
	evs := regressionEvents(t)
	for i, ev := range devEvents(t) {
		if i%8 == 0 {
			evs = append(evs, ev)
		}
	}
	// One private load serves both settings (a load of the embedded pack
	// is the test's main cost under -race): the thresholds are read at
	// match time, and the pool is renewed so no prepared event keeps the
	// old index threshold.
	rs, err := Load(Options{}, Embedded())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	set := func(prefilter, index int) {
		rs.prefilterMin, rs.indexMin = prefilter, index
		rs.pool = sync.Pool{New: func() any { return newPrepared(rs) }}
	}
	set(1<<30, 1<<30)
	want := make([][]Hit, len(evs))
	total := 0
	for i, ev := range evs {
		want[i] = rs.Match(ev, nil)
		total += len(want[i])
	}
	set(0, 0)
	def := loadEmbedded(t)
	for i, ev := range evs {
		for _, v := range []struct {
			name string
			rs   *Ruleset
		}{{"default", def}, {"forced", rs}} {
			if got := v.rs.Match(ev, nil); !hitsEqual(got, want[i]) {
				t.Errorf("%s: %s/%d record %d: got %v, want %v", v.name, ev.Channel, ev.EventID, ev.RecordID, got, want[i])
			}
		}
	}
	if total == 0 {
		t.Fatalf("no hits at all on %d events", len(evs))
	}
	t.Logf("%d events, %d hits", len(evs), total)
}

// devEvents streams the shared EVTX dev set into memory.
func devEvents(t testing.TB) []*evtx.Event {
	t.Helper()
	root := filepath.Join(testdataDir(t), "evtx")
	var evs []*evtx.Event
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(strings.ToLower(p), ".evtx") {
			return err
		}
		// Files the reader rejects are no input for Match.
		_, _ = evtx.StreamFile(t.Context(), p, func(ev *evtx.Event) error {
			evs = append(evs, ev)
			return nil
		})
		return nil
	})
	if err != nil {
		t.Fatalf("read dev events: %v", err)
	}
	return evs
}

// TestMatchAllocs checks that Match allocates nothing when no rule hits
// (and dst has room when some do).
func TestMatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race sync.Pool drops items on purpose, so Match allocates scratches")
	}
	rs := loadEmbedded(t)
	evs := regressionEvents(t)
	hits := make([]Hit, 0, 64)
	for _, ev := range evs { // warm the pool and the per-scratch caches
		hits = rs.Match(ev, hits[:0])
	}
	allocs := testing.AllocsPerRun(20, func() {
		for _, ev := range evs {
			hits = rs.Match(ev, hits[:0])
		}
	})
	// A garbage collection can empty the sync.Pool and cost one scratch.
	if allocs >= 1 {
		t.Errorf("Match over %d events: %.1f allocations per run, want 0", len(evs), allocs)
	}
}
