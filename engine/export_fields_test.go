package engine

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"casescope/evtx"
	"casescope/store"
)

// fullEvent has every System field set (several to zero) and repeated
// unnamed Data, as the Event contract describes a Service Control Manager
// record.
func fullEvent() *evtx.Event {
	return &evtx.Event{RecordID: 42, EventID: 7036, Qualifiers: "16384", Version: 0, Level: 4, Task: 0, Opcode: 0,
		Keywords: "0x8080000000000000", TimeCreated: time.Date(2019, 3, 1, 10, 0, 0, 1234500, time.UTC),
		Channel: "System", Provider: "Service Control Manager", ProviderGUID: "{555908D1-A6D7-4695-8E1E-26931D2012F4}",
		EventSourceName: "Service Control Manager", Computer: "WS01", ProcessID: 600, ThreadID: 0, UserID: "S-1-5-18",
		ActivityID: "{0CCE9215-69AE-11D9-BED3-505054503030}", RelatedActivityID: "{00000000-0000-0000-0000-000000000001}",
		Data: []evtx.Field{{Name: "Data", Value: "Windows Update"}, {Name: "Data", Value: ""}, {Name: "Data", Value: "running"},
			{Name: "Binary", Value: "770075006100"}}}
}

// TestExportSystemFields: every export carries every System field under
// its Windows name (zero included) and every Data value in order.
func TestExportSystemFields(t *testing.T) {
	v := &EventView{ID: "1-0-o200", FileID: 1, FileName: "System.evtx", Event: fullEvent(),
		Sigma: []store.SigmaHit{{RuleID: "r1", Title: "T", Level: "high"}}}
	wantSys := map[string]string{"Qualifiers": "16384", "Version": "0", "Task": "0", "Opcode": "0", "Keywords": "0x8080000000000000",
		"ProviderGUID": "{555908D1-A6D7-4695-8E1E-26931D2012F4}", "EventSourceName": "Service Control Manager",
		"ProcessID": "600", "ThreadID": "0", "UserID": "S-1-5-18", "ActivityID": "{0CCE9215-69AE-11D9-BED3-505054503030}",
		"RelatedActivityID": "{00000000-0000-0000-0000-000000000001}"}

	t.Run("csv", func(t *testing.T) {
		row := csvRow(v)
		sys := row[len(row)-len(systemColumns):]
		for i, name := range systemColumns {
			if sys[i] != wantSys[name] {
				t.Errorf("%s = %q, want %q", name, sys[i], wantSys[name])
			}
		}
		all := row[len(row)-len(systemColumns)-1]
		if want := "Data: Windows Update | Data:  | Data: running | Binary: 770075006100"; all != want {
			t.Errorf("AllFields = %q, want %q", all, want)
		}
	})
	t.Run("sigma-csv", func(t *testing.T) {
		row := sigmaRow(v, v.Sigma[0])
		if got := row[len(row)-len(systemColumns):]; got[0] != "16384" || got[10] != wantSys["ActivityID"] {
			t.Errorf("system columns %q", got)
		}
	})
	t.Run("jsonl", func(t *testing.T) {
		raw, err := json.Marshal(timesketchRecord(v))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"keywords": "0x8080000000000000", "task": 0.0, "opcode": 0.0, "version": 0.0,
			"process_id": 600.0, "thread_id": 0.0, "user_id": "S-1-5-18", "qualifiers": "16384",
			"provider_guid": wantSys["ProviderGUID"], "event_source_name": "Service Control Manager",
			"activity_id": wantSys["ActivityID"], "related_activity_id": wantSys["RelatedActivityID"],
			"evt_Binary": "770075006100"}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s = %#v, want %#v", k, got[k], w)
			}
		}
		data, _ := got["evt_Data"].([]any)
		if len(data) != 3 || data[0] != "Windows Update" || data[1] != "" || data[2] != "running" {
			t.Errorf("evt_Data = %#v, want the three values in order", got["evt_Data"])
		}
	})
	t.Run("report", func(t *testing.T) {
		var names []string
		for _, f := range SystemFields(v.Event) {
			names = append(names, f.Name)
		}
		want := []string{"Provider", "ProviderGUID", "EventSourceName", "EventID", "Qualifiers", "Version", "Level", "Task", "Opcode",
			"Keywords", "TimeCreated", "EventRecordID", "ActivityID", "RelatedActivityID", "ProcessID", "ThreadID", "Channel", "Computer", "UserID"}
		if !slices.Equal(names, want) {
			t.Errorf("SystemFields names %v, want %v", names, want)
		}
		var b strings.Builder
		if err := reportTmpl.Execute(&b, map[string]any{"Stats": CaseStats{}, "Generated": time.Now(), "Timeline": []EventView{*v}}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "RelatedActivityID: {00000000-0000-0000-0000-000000000001}") {
			t.Error("report timeline lacks the System fields")
		}
	})
}
