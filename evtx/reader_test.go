package evtx_test

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"casescope/evtx"
	"casescope/internal/corpus"
)

func countFile(t *testing.T, path string) (int, evtx.Stats) {
	t.Helper()
	n := 0
	st, err := evtx.StreamFile(t.Context(), path, func(*evtx.Event) error { n++; return nil })
	if err != nil {
		t.Fatalf("stream %s: %v", path, err)
	}
	return n, st
}

// TestFixtureCounts runs on a fresh clone: the in-repo fixtures against the
// libevtx counts recorded in testdata/SOURCES.md.
func TestFixtureCounts(t *testing.T) {
	tests := []struct {
		file string
		want int
	}{
		{"Security_short_selected.evtx", 7},
		{"Application_no_crc32.evtx", 17},
		{"LanguagePackSetup_truncated.evtx", 16},
		{"Empty.evtx", 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, _ := countFile(t, corpus.Fixture(t, tc.file))
			if got != tc.want {
				t.Errorf("records = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestCorpusCounts checks every shared EVTX file whose two independent
// ground-truth counts agree.
func TestCorpusCounts(t *testing.T) {
	dir := corpus.Shared(t)
	checked := 0
	for _, c := range corpus.Counts(t, dir) {
		if !c.Agree() {
			continue
		}
		want := c.Libevtx
		t.Run(c.Path, func(t *testing.T) {
			// libevtx stops a chunk's record walk at the first broken
			// record; the reader also delivers the live records after it
			// (counted as recovered), so those are compared apart.
			got, st := countFile(t, filepath.Join(dir, "evtx", c.Path))
			if got-st.RecordsRecovered != want {
				t.Errorf("records = %d (%d recovered), want %d + recovered", got, st.RecordsRecovered, want)
			}
			if st.RecordsRecovered > 0 && st.SkippedRecords == 0 {
				t.Errorf("%d records recovered but no skipped record reported", st.RecordsRecovered)
			}
		})
		checked++
	}
	if checked < 80 {
		t.Errorf("checked %d files, want at least 80", checked)
	}
}

type truthRecord struct {
	EventRecordID uint64
	EventID       uint32
	TimeCreated   string `json:"TimeCreated_iso"`
	Channel       string
	Computer      string
	Provider      string
	EventData     []struct {
		Name  *string
		Value *string
	}
	UserData *struct {
		Element string
		Fields  []struct {
			Name  string
			Value *string
		}
	}
}

// normValue makes python-evtx's rendering comparable to ours: it pads hex
// integers ("0x00000000000003e7") and puts GUIDs in braces.
func normValue(s string) string {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "<string>") {
		// python-evtx renders nested <string> elements as raw XML; we
		// join their non-empty texts with ", ".
		var parts []string
		for _, p := range strings.Split(s, "<string>")[1:] {
			p = strings.TrimSpace(strings.SplitN(p, "</string>", 2)[0])
			if p != "" {
				parts = append(parts, p)
			}
		}
		s = strings.Join(parts, ", ")
	}
	if strings.HasPrefix(s, "0x") && len(s) > 2 {
		// Checked before base64: "0x529ae3" is also valid base64.
		if n, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
			return "0x" + strconv.FormatUint(n, 16)
		}
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(s) >= 8 && len(s)%4 == 0 && strings.ContainsAny(s, "+/=abcdefghijklmnopqrstuvwxyz") {
		s = hex.EncodeToString(b) // python-evtx renders binary as base64, we as hex
	}
	s = strings.ReplaceAll(s, "\r\n", "\n") // python's XML parser normalises line ends
	if strings.HasPrefix(s, "0x") && len(s) > 2 {
		if n, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
			return "0x" + strconv.FormatUint(n, 16)
		}
	}
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	return strings.ToUpper(s)
}

// closeTimes allows 4 µs: python-evtx converts a FILETIME through a float
// of seconds since 1601 (≈1.3e10, where a float64 step is ≈1.9 µs), so its
// microseconds can be off by two steps; we keep the exact FILETIME.
func closeTimes(a, b time.Time) bool {
	d := a.Sub(b)
	return d <= 4*time.Microsecond && d >= -4*time.Microsecond
}

func sameValue(got, want string) bool {
	if normValue(got) == normValue(want) {
		return true
	}
	g, err1 := time.Parse("2006-01-02T15:04:05.9999999Z", got)
	w, err2 := time.Parse("2006-01-02 15:04:05.999999", want)
	return err1 == nil && err2 == nil && closeTimes(g, w)
}

func TestFieldsMatchPythonEvtx(t *testing.T) {
	dir := corpus.Shared(t)
	files := map[string]string{
		"sample-security.jsonl":                           "omerbenamram/security.evtx",
		"sample-system.jsonl":                             "omerbenamram/system.evtx",
		"sample-many-events-application.jsonl":            "deepbluecli/many-events-application.evtx",
		"sample-PanacheSysmon_vs_AtomicRedTeam01.jsonl":   "evtx-attack-samples/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx",
		"sample-Powershell-Invoke-Obfuscation-many.jsonl": "deepbluecli/Powershell-Invoke-Obfuscation-many.evtx",
		"sample-TaskScheduler.jsonl":                      "velociraptor/TaskScheduler.evtx",
		"sample-wmi-event-filter-persistance.jsonl":       "deepbluecli/wmi-event-filter-persistance.evtx",
	}
	for jsonl, evtxPath := range files {
		t.Run(jsonl, func(t *testing.T) {
			byID := map[uint64]*evtx.Event{}
			_, err := evtx.StreamFile(t.Context(), filepath.Join(dir, "evtx", evtxPath), func(e *evtx.Event) error {
				byID[e.RecordID] = e
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(filepath.Join(dir, "expected", jsonl))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 1<<20), 1<<24)
			n := 0
			for sc.Scan() {
				var want truthRecord
				if err := json.Unmarshal(sc.Bytes(), &want); err != nil {
					t.Fatal(err)
				}
				n++
				got, ok := byID[want.EventRecordID]
				if !ok {
					t.Errorf("record %d missing", want.EventRecordID)
					continue
				}
				compareRecord(t, got, &want)
			}
			if n != 20 {
				t.Errorf("compared %d records, want 20", n)
			}
		})
	}
}

func compareRecord(t *testing.T, got *evtx.Event, want *truthRecord) {
	t.Helper()
	id := want.EventRecordID
	if got.EventID != want.EventID {
		t.Errorf("record %d: EventID = %d, want %d", id, got.EventID, want.EventID)
	}
	if wt, err := time.Parse(time.RFC3339Nano, want.TimeCreated); err != nil || !closeTimes(got.TimeCreated, wt) {
		t.Errorf("record %d: time = %s, want %s", id, got.TimeCreated, want.TimeCreated)
	}
	if got.Channel != want.Channel || got.Computer != want.Computer || got.Provider != want.Provider {
		t.Errorf("record %d: channel/computer/provider = %q/%q/%q, want %q/%q/%q", id,
			got.Channel, got.Computer, got.Provider, want.Channel, want.Computer, want.Provider)
	}
	type nv struct{ name, value string }
	var wantFields []nv
	for _, d := range want.EventData {
		v := ""
		if d.Value != nil {
			v = *d.Value
		}
		if d.Name != nil {
			wantFields = append(wantFields, nv{*d.Name, v})
			continue
		}
		// Every unnamed <Data> is a field named "Data", in order. An
		// array value fills one <Data> per item (libevtx, Windows), which
		// python-evtx renders as nested <string> elements instead.
		if strings.Contains(v, "<string>") {
			for _, p := range strings.Split(v, "<string>")[1:] {
				wantFields = append(wantFields, nv{"Data", strings.SplitN(p, "</string>", 2)[0]})
			}
			continue
		}
		wantFields = append(wantFields, nv{"Data", v})
	}
	if want.UserData != nil {
		if got.UserDataElement != want.UserData.Element {
			t.Errorf("record %d: UserData element = %q, want %q", id, got.UserDataElement, want.UserData.Element)
		}
		for _, d := range want.UserData.Fields {
			v := ""
			if d.Value != nil {
				v = *d.Value
			}
			wantFields = append(wantFields, nv{d.Name, v})
		}
	}
	// Names may repeat: compare the n-th non-empty value of each name.
	// Empty values are left out on both sides: python-evtx renders an
	// element filled by an empty optional substitution as empty, Windows
	// and libevtx (and so the reader) leave the element out.
	gotByName := map[string][]string{}
	for _, f := range got.Data {
		if strings.TrimSpace(f.Value) != "" {
			gotByName[f.Name] = append(gotByName[f.Name], f.Value)
		}
	}
	seen := map[string]int{}
	for _, w := range wantFields {
		if strings.TrimSpace(w.value) == "" {
			continue
		}
		i := seen[w.name]
		seen[w.name]++
		if i >= len(gotByName[w.name]) {
			t.Errorf("record %d: field %s #%d missing, want %q", id, w.name, i+1, w.value)
			continue
		}
		if g := gotByName[w.name][i]; !sameValue(g, w.value) {
			t.Errorf("record %d: field %s #%d = %q, want %q", id, w.name, i+1, g, w.value)
		}
	}
}

// TestFieldsMatchRustEvtx compares against the Sigma regression JSON files,
// rendered by the Rust evtx parser (a third independent implementation).
func TestFieldsMatchRustEvtx(t *testing.T) {
	dir := corpus.Shared(t)
	root := filepath.Join(dir, "sigma-regression")
	var jsons []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".json") {
			jsons = append(jsons, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(jsons) < 100 {
		t.Fatalf("found %d regression JSON files, want >= 100", len(jsons))
	}
	for _, jp := range jsons {
		name, _ := filepath.Rel(root, jp)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(jp)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Event struct {
					System struct {
						EventID       json.RawMessage
						EventRecordID uint64
						Channel       string
						Computer      string
						TimeCreated   struct {
							Attr struct{ SystemTime string } `json:"#attributes"`
						}
					}
					EventData map[string]any
				}
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Skipf("not a single-event JSON: %v", err)
			}
			var events []*evtx.Event
			_, err = evtx.StreamFile(t.Context(), strings.TrimSuffix(jp, ".json")+".evtx", func(e *evtx.Event) error {
				events = append(events, e)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var got *evtx.Event
			for _, e := range events {
				if e.RecordID == doc.Event.System.EventRecordID {
					got = e
				}
			}
			if got == nil {
				t.Fatalf("record %d not found among %d events", doc.Event.System.EventRecordID, len(events))
			}
			sys := doc.Event.System
			wantTime, err := time.Parse(time.RFC3339Nano, sys.TimeCreated.Attr.SystemTime)
			if err != nil {
				t.Fatal(err)
			}
			if d := got.TimeCreated.Sub(wantTime); d > time.Microsecond || d < -time.Microsecond {
				t.Errorf("time = %s, want %s", got.TimeCreated, wantTime)
			}
			if got.Channel != sys.Channel || got.Computer != sys.Computer {
				t.Errorf("channel/computer = %q/%q, want %q/%q", got.Channel, got.Computer, sys.Channel, sys.Computer)
			}
			if !strings.Contains(string(sys.EventID), strconv.Itoa(int(got.EventID))) {
				t.Errorf("EventID = %d, want %s", got.EventID, sys.EventID)
			}
			for k, v := range doc.Event.EventData {
				want := ""
				switch x := v.(type) {
				case string:
					want = x
				case float64:
					want = strconv.FormatFloat(x, 'f', -1, 64)
				case bool:
					want = strconv.FormatBool(x)
				case nil:
					continue
				default:
					continue // nested structures are rendered differently
				}
				g, ok := got.Get(k)
				if !ok {
					if want != "" {
						t.Errorf("field %s missing, want %q", k, want)
					}
					continue
				}
				if !sameValue(g, want) {
					t.Errorf("field %s = %q, want %q", k, g, want)
				}
			}
		})
	}
}

func TestNotEVTX(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.evtx")
	if err := os.WriteFile(p, []byte("MZ this is a PE file, not an event log, and long enough to hold a header......................................................................"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := evtx.StreamFile(t.Context(), p, func(*evtx.Event) error { return nil })
	if !errors.Is(err, evtx.ErrNotEVTX) {
		t.Errorf("err = %v, want ErrNotEVTX", err)
	}
}

func TestMalformedNoPanic(t *testing.T) {
	dir := corpus.Shared(t)
	entries, err := os.ReadDir(filepath.Join(dir, "evtx", "malformed"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			n, st := countFile(t, filepath.Join(dir, "evtx", "malformed", e.Name()))
			if n == 0 {
				t.Errorf("no records recovered (stats %+v)", st)
			}
		})
	}
}

// BenchmarkParse reports parse throughput over the shared corpus.
func BenchmarkParse(b *testing.B) {
	dir := corpus.Shared(b)
	var files []string
	_ = filepath.WalkDir(filepath.Join(dir, "evtx"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".evtx") {
			files = append(files, p)
		}
		return err
	})
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		for _, p := range files {
			_, err := evtx.StreamFile(b.Context(), p, func(*evtx.Event) error { events++; return nil })
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
