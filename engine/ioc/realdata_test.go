package ioc

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"casescope/evtx"
)

// realIOC is an IOC drawn from values present in the expected samples,
// with an independent, obviously-correct predicate deciding whether one
// field value contains it. The predicates do not call the matcher.
type realIOC struct {
	ioc  IOC
	want func(value string) bool
}

// boundaryRe builds a case-insensitive regexp for lit with explicit
// character classes that must not touch it on either side.
func boundaryRe(notBefore, lit, notAfter string) func(string) bool {
	re := regexp.MustCompile(`(?i)(?:^|[^` + notBefore + `])` + regexp.QuoteMeta(lit) + `(?:$|[^` + notAfter + `])`)
	return re.MatchString
}

// pathComponent reports whether one of the components of v, split at path
// separators, quotes, whitespace and field punctuation, is name.
func pathComponent(name string) func(string) bool {
	return func(v string) bool {
		for _, tok := range strings.FieldsFunc(v, func(r rune) bool {
			return strings.ContainsRune("\\/\"' \t\r\n=:,;()[]<>|*?", r)
		}) {
			if strings.EqualFold(tok, name) {
				return true
			}
		}
		return false
	}
}

func substring(frag string) func(string) bool {
	return func(v string) bool { return strings.Contains(strings.ToLower(v), strings.ToLower(frag)) }
}

func realIOCs() []realIOC {
	return []realIOC{
		// FileVersion "0.0.0.0" is the only IP-shaped value in the samples.
		{IOC{ID: "ip", Type: TypeIP, Value: "0.0.0.0"},
			boundaryRe(`0-9A-Za-z_.`, "0.0.0.0", `0-9A-Za-z_.`)},
		{IOC{ID: "user", Type: TypeUsername, Value: "IEUser"},
			boundaryRe(`a-z0-9._$-`, "ieuser", `a-z0-9._$-`)},
		{IOC{ID: "md5", Type: TypeMD5, Value: "975B45B669930B0CC773EAF2B414206F"},
			boundaryRe(`0-9a-z`, "975b45b669930b0cc773eaf2b414206f", `0-9a-z`)},
		{IOC{ID: "sha1", Type: TypeSHA1, Value: "622fa2729408e5f467a592223219da7c547e7cc7"},
			boundaryRe(`0-9a-z`, "622fa2729408e5f467a592223219da7c547e7cc7", `0-9a-z`)},
		{IOC{ID: "file", Type: TypeFilename, Value: "cmd.exe"}, pathComponent("cmd.exe")},
		{IOC{ID: "file2", Type: TypeFilename, Value: "sc.exe"}, pathComponent("sc.exe")},
		{IOC{ID: "cmd", Type: TypeCommand, Value: `binPath= C:\AtomicRedTeam`}, substring(`binPath= C:\AtomicRedTeam`)},
		{IOC{ID: "sid", Type: TypeSID, Value: "S-1-5-18"},
			boundaryRe(`a-z0-9-`, "s-1-5-18", `a-z0-9-`)},
		{IOC{ID: "host", Type: TypeHostname, Value: "MSEDGEWIN10"},
			boundaryRe(`a-z0-9_.-`, "msedgewin10", `a-z0-9_-`)},
	}
}

// samples maps expected/sample-<name>.jsonl to the EVTX it was made from
// (SOURCES.md, "expected/").
func samples() map[string]string {
	return map[string]string{
		"sample-security.jsonl":                           "omerbenamram/security.evtx",
		"sample-system.jsonl":                             "omerbenamram/system.evtx",
		"sample-many-events-application.jsonl":            "deepbluecli/many-events-application.evtx",
		"sample-PanacheSysmon_vs_AtomicRedTeam01.jsonl":   "evtx-attack-samples/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx",
		"sample-Powershell-Invoke-Obfuscation-many.jsonl": "deepbluecli/Powershell-Invoke-Obfuscation-many.evtx",
		"sample-TaskScheduler.jsonl":                      "velociraptor/TaskScheduler.evtx",
		"sample-wmi-event-filter-persistance.jsonl":       "deepbluecli/wmi-event-filter-persistance.evtx",
	}
}

// TestRealSamples runs IOCs drawn from the python-evtx samples over those
// records and compares the hit count per IOC with an independent scan, then
// runs them over the full EVTX files, which hold the sampled records and
// more, so must hit at least as often.
func TestRealSamples(t *testing.T) {
	dir := sharedTestdata(t)
	iocs := realIOCs()
	var list []IOC
	for _, r := range iocs {
		r.ioc.Enabled = true
		list = append(list, r.ioc)
	}
	m, err := Compile(list)
	if err != nil {
		t.Fatal(err)
	}

	wantJSON := map[string]int{} // IOC ID → fields hit, by the reference scan
	gotJSON := map[string]int{}
	for name := range samples() {
		for _, rec := range readJSONL(t, filepath.Join(dir, "expected", name)) {
			for _, r := range iocs {
				for _, f := range rec.fields() {
					// A username counts at account fields only (the
					// matcher's field rule, written out independently).
					lname := strings.ToLower(f.name)
					if r.ioc.Type == TypeUsername && !strings.Contains(lname, "user") && !strings.Contains(lname, "account") {
						continue
					}
					if f.value != "" && r.want(f.value) {
						wantJSON[r.ioc.ID]++
					}
				}
			}
			for _, h := range m.Match(rec.event(), nil) {
				gotJSON[h.IOCID]++
			}
		}
	}
	for _, r := range iocs {
		id := r.ioc.ID
		if wantJSON[id] == 0 {
			t.Errorf("%s %q: reference scan found nothing; pick an IOC present in the samples", r.ioc.Type, r.ioc.Value)
		}
		if gotJSON[id] != wantJSON[id] {
			t.Errorf("%s %q over jsonl samples: got %d hits, want %d", r.ioc.Type, r.ioc.Value, gotJSON[id], wantJSON[id])
		}
	}

	gotEVTX := map[string]int{}
	for _, file := range samples() {
		var hits []Hit
		_, err := evtx.StreamFile(t.Context(), filepath.Join(dir, "evtx", file), func(ev *evtx.Event) error {
			hits = m.Match(ev, hits[:0])
			for _, h := range hits {
				gotEVTX[h.IOCID]++
			}
			return nil
		})
		if err != nil {
			t.Fatalf("stream %s: %v", file, err)
		}
	}
	for _, r := range iocs {
		id := r.ioc.ID
		if gotEVTX[id] < wantJSON[id] {
			t.Errorf("%s %q over full EVTX: got %d hits, want at least %d", r.ioc.Type, r.ioc.Value, gotEVTX[id], wantJSON[id])
		}
		t.Logf("%-8s %-28q jsonl %3d (reference %3d)  evtx %5d", r.ioc.Type, r.ioc.Value, gotJSON[id], wantJSON[id], gotEVTX[id])
	}
}
