package store

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"casescope/evtx"
)

func openTestIndex(t *testing.T) *Index {
	t.Helper()
	x, err := OpenIndex(filepath.Join(t.TempDir(), "index"), IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.Close() })
	return x
}

func TestDocIDRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		ref  DocRef
		id   string
	}{
		{"offset", DocRef{File: 0x1f, Chunk: 3, Offset: 0x2a8}, "1f-3-o2a8"},
		{"no offset", DocRef{File: 2, Chunk: 0, Record: 0x10}, "2-0-r10"},
		{"legacy", DocRef{File: 2, Chunk: 1, Record: 0x10, Legacy: true}, "2-1-10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ref.ID(); got != tc.id {
				t.Errorf("ID() = %q, want %q", got, tc.id)
			}
			got, ok := ParseDocID(tc.id)
			if !ok || got != tc.ref {
				t.Errorf("ParseDocID(%q) = %+v, %v; want %+v", tc.id, got, ok, tc.ref)
			}
		})
	}
	for _, bad := range []string{"", "1-2", "1-2-o0", "1-2-o", "1-2-rz", "x-2-o200", "1--3-o200", "1-2-3-4"} {
		if ref, ok := ParseDocID(bad); ok {
			t.Errorf("ParseDocID(%q) = %+v, want malformed", bad, ref)
		}
	}
}

// TestRepeatedRecordIDs: two records of one chunk with the same
// EventRecordID (a filtered save of two channels) are two documents, and a
// search pages over both.
func TestRepeatedRecordIDs(t *testing.T) {
	x := openTestIndex(t)
	at := time.Date(2021, 5, 1, 10, 0, 0, 0, time.UTC)
	docs := []Doc{
		{FileID: 1, Event: &evtx.Event{RecordID: 10, EventID: 317, TimeCreated: at, Channel: "Microsoft-Windows-PrintService/Operational", RecordOffset: 0x200}},
		{FileID: 1, Event: &evtx.Event{RecordID: 10, EventID: 354, TimeCreated: at, Channel: "Microsoft-Windows-PrintService/Admin", RecordOffset: 0x4f8}},
	}
	if err := x.IndexDocs(docs, true); err != nil {
		t.Fatal(err)
	}
	if n, err := x.Count(); err != nil || n != 2 {
		t.Fatalf("count %d (%v), want 2", n, err)
	}
	seen := map[uint32]bool{}
	cursor := ""
	for range 3 {
		res, err := x.Search(t.Context(), SearchRequest{Query: "EventRecordID:10", Size: 1, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			seen[h.Summary.EventID] = true
		}
		if cursor = res.Next; cursor == "" {
			break
		}
	}
	if !seen[317] || !seen[354] {
		t.Errorf("paged over %v, want both 317 and 354", seen)
	}
	keys, err := x.DocKeys(t.Context(), SearchRequest{Query: "file:1"})
	slices.Sort(keys)
	if err != nil || !slices.Equal(keys, []uint64{0x200, 0x4f8}) {
		t.Errorf("DocKeys = %x (%v), want chunk 0 offsets 0x200 and 0x4f8", keys, err)
	}
}

// TestSystemFields: every System field comes back in the summary (zero
// included) and is a query field.
func TestSystemFields(t *testing.T) {
	x := openTestIndex(t)
	ev := &evtx.Event{RecordID: 7, EventID: 4719, Qualifiers: "16384", Version: 0, Level: 0, Task: 13568, Opcode: 0,
		Keywords: "0x8020000000000000", TimeCreated: time.Date(2020, 1, 2, 3, 4, 5, 600, time.UTC), Channel: "Security",
		Provider: "Microsoft-Windows-Security-Auditing", ProviderGUID: "{54849625-5478-4994-A5BA-3E3B0328C30D}",
		EventSourceName: "Service Control Manager", Computer: "DC01", ProcessID: 4, ThreadID: 0, UserID: "S-1-5-18",
		ActivityID: "{0CCE9215-69AE-11D9-BED3-505054503030}", RelatedActivityID: "{00000000-0000-0000-0000-000000000001}",
		RecordOffset: 0x1234}
	other := &evtx.Event{RecordID: 8, EventID: 1, TimeCreated: ev.TimeCreated, Channel: "Microsoft-Windows-Sysmon/Operational",
		ProcessID: 2000, ThreadID: 5, Version: 5, Task: 1, Opcode: 0, RecordOffset: 0x200,
		Data: []evtx.Field{{Name: "ProcessId", Value: "4"}, {Name: "Version", Value: "9"}}}
	if err := x.IndexDocs([]Doc{{FileID: 1, Event: ev}, {FileID: 1, Event: other}}, true); err != nil {
		t.Fatal(err)
	}
	res, err := x.Search(t.Context(), SearchRequest{Query: "EventID:4719"})
	if err != nil || len(res.Hits) != 1 {
		t.Fatalf("search: %v, %d hits", err, len(res.Hits))
	}
	want := Summary{Channel: ev.Channel, Provider: ev.Provider, Computer: ev.Computer, EventID: 4719, RecordID: 7,
		Qualifiers: "16384", Task: 13568, Keywords: ev.Keywords, ProviderGUID: ev.ProviderGUID, EventSourceName: ev.EventSourceName,
		ProcessID: 4, UserID: "S-1-5-18", ActivityID: ev.ActivityID, RelatedActivityID: ev.RelatedActivityID, RecordOffset: 0x1234}
	if got := res.Hits[0].Summary; got != want {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}
	if got := res.Hits[0].Time; !got.Equal(ev.TimeCreated) {
		t.Errorf("time %s, want %s", got, ev.TimeCreated)
	}
	for q, want := range map[string]uint64{
		`ActivityID:"{0CCE9215-69AE-11D9-BED3-505054503030}"`:             1,
		`Correlation.ActivityID:"{0cce9215-69ae-11d9-bed3-505054503030}"`: 1,
		`RelatedActivityID:*`:         1,
		`Qualifiers:16384`:            1,
		`System.ProcessID:4`:          1,
		`Execution.ProcessID:2000`:    1,
		`ProcessId:4`:                 1, // Sysmon's data field, not System
		`ThreadID:0`:                  1, // zero is a value
		`ThreadID:5`:                  1,
		`Opcode:0`:                    2,
		`Task:13568`:                  1,
		`System.Version:0`:            1,
		`System.Version:5`:            1,
		`Version:9`:                   1,
		`Keywords:0x8020000000000000`: 1,
		`ProviderGUID:"{54849625-5478-4994-A5BA-3E3B0328C30D}"`: 1,
		`EventSourceName:"Service Control Manager"`:             1,
		`time_invalid:true`: 0,
	} {
		res, err := x.Search(t.Context(), SearchRequest{Query: q, Size: 1, QueryOptions: QueryOptions{Strict: true}})
		if err != nil || res.Total != want {
			t.Errorf("%s: %d (%v), want %d", q, res.Total, err, want)
		}
	}
}

// TestTimeOutOfRange: events whose time Bleve cannot store (FILETIME 0 is
// 1601, a damaged one year 8907) are indexed, flagged, and shown with
// their true time.
func TestTimeOutOfRange(t *testing.T) {
	x := openTestIndex(t)
	zero := time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
	far := time.Date(8907, 3, 4, 5, 6, 7, 800, time.UTC)
	ok := time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC)
	docs := []Doc{
		{FileID: 1, Event: &evtx.Event{RecordID: 1, EventID: 4624, TimeCreated: zero, RecordOffset: 0x200}},
		{FileID: 1, Event: &evtx.Event{RecordID: 2, EventID: 4624, TimeCreated: far, RecordOffset: 0x400}},
		{FileID: 1, Event: &evtx.Event{RecordID: 3, EventID: 4624, TimeCreated: ok, RecordOffset: 0x600}},
	}
	if err := x.IndexDocs(docs, true); err != nil {
		t.Fatalf("index: %v", err)
	}
	for _, tc := range []struct {
		q    string
		want []time.Time
	}{
		{"time_invalid:true", []time.Time{far, zero}},
		{"EventRecordID:1", []time.Time{zero}},
		{"EventRecordID:2", []time.Time{far}},
		{"NOT time_invalid:true", []time.Time{ok}},
		{"", []time.Time{far, ok, zero}},
	} {
		res, err := x.Search(t.Context(), SearchRequest{Query: tc.q, Histogram: true, Facets: true})
		if err != nil {
			t.Errorf("%q: %v", tc.q, err)
			continue
		}
		var got []time.Time
		for _, h := range res.Hits {
			got = append(got, h.Time)
			if h.Summary.TimeInvalid == TimeInRange(h.Time) {
				t.Errorf("%q: %s flagged %v", tc.q, h.Time, h.Summary.TimeInvalid)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%q: times %v, want %v", tc.q, got, tc.want)
			continue
		}
		for i := range got {
			if !got[i].Equal(tc.want[i]) {
				t.Errorf("%q: times %v, want %v", tc.q, got, tc.want)
				break
			}
		}
	}
	if TimeInRange(zero) || TimeInRange(far) || !TimeInRange(ok) {
		t.Error("TimeInRange disagrees with the index's range")
	}
}

// TestRepeatedDataIndexed: each unnamed <Data> value (the field "Data",
// repeated) and <Binary> are searchable, and dotted UserData paths by leaf.
func TestRepeatedDataIndexed(t *testing.T) {
	x := openTestIndex(t)
	ev := &evtx.Event{RecordID: 1, EventID: 7036, TimeCreated: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Channel: "System", RecordOffset: 0x200,
		Data: []evtx.Field{{Name: "Data", Value: "Windows Update"}, {Name: "Data", Value: ""}, {Name: "Data", Value: "running"},
			{Name: "Binary", Value: strings.Repeat("77007500", 40)}, {Name: "LogFileCleared.SubjectUserName", Value: "alice"}}}
	if err := x.IndexDocs([]Doc{{FileID: 1, Event: ev}}, true); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]uint64{
		`Data:"Windows Update"`: 1, `Data:running`: 1, `Data:stopped`: 0, `Binary:7700*`: 1, `SubjectUserName:alice`: 1,
		`LogFileCleared.SubjectUserName:alice`: 1,
	} {
		res, err := x.Search(t.Context(), SearchRequest{Query: q, Size: 1})
		if err != nil || res.Total != want {
			t.Errorf("%s: %d (%v), want %d", q, res.Total, err, want)
		}
	}
}
