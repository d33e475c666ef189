package engine_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"casescope/input"
	"casescope/internal/corpus"
	"casescope/store"
)

// TestIngestWindowsInputs ingests the Windows-event JSON and XML files of
// the shared inputs corpus with at most 100 records (13 of the 18: every
// shape and container; input's TestInventory reads all 18, cheaply) into
// one case and checks what the index holds per file against the
// inventory: record count, EventID histogram, Channel histogram (classic
// channel names spelled as Windows does: "security" is counted as
// "Security"), earliest and latest event time. Each file's format is
// recorded, an event reads back whole from its offset, and reprocessing a
// file leaves the counts unchanged (document IDs from file and offset).
func TestIngestWindowsInputs(t *testing.T) {
	shared := corpus.Shared(t)
	root := filepath.Join(shared, "inputs")
	var rows []corpus.Inventory
	for _, row := range corpus.InputsInventory(t, shared) {
		if row.Records <= 100 {
			rows = append(rows, row)
		}
	}
	if len(rows) != 13 {
		t.Fatalf("%d inventory files of at most 100 records, want 13", len(rows))
	}
	r := newRig(t, true)
	var paths []string
	for _, row := range rows {
		paths = append(paths, filepath.Join(root, filepath.FromSlash(row.Path)))
	}
	c, res := r.ingest(t, "inputs", paths...)
	if res.Queued+res.Dupes != len(rows) {
		t.Fatalf("import: %+v, want %d files queued or duplicates", res, len(rows))
	}
	files, err := r.ledger.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	bySource := map[string]store.File{}
	for _, f := range files {
		bySource[f.Source] = f
	}
	for i, row := range rows {
		t.Run(row.Path, func(t *testing.T) {
			f, ok := bySource[paths[i]]
			if !ok {
				t.Fatalf("no record for %s", paths[i])
			}
			wantFormat := input.WinEventJSON
			if strings.HasPrefix(row.Path, "winevent-xml/") {
				wantFormat = input.WinEventXML
			}
			if f.State == store.StateDuplicate {
				// Hayabusa's three containers of one record set are
				// byte-different, so no duplicate is expected here.
				t.Fatalf("%s recorded as duplicate of %d", row.Path, f.DuplicateOf)
			}
			if f.State != store.StateCompleted || f.Events != int64(row.Records) || f.Format != string(wantFormat) {
				t.Fatalf("state %s, %d events, format %q, error %q; want completed, %d events, %q",
					f.State, f.Events, f.Format, f.Error, row.Records, wantFormat)
			}
			if f.RecordsSkipped != 0 || f.RecordsExpected != row.Records {
				t.Errorf("accounting %+v, want %d expected, none skipped", f.Accounting, row.Records)
			}
			page, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Query: fmt.Sprintf("file:%d", f.ID), Size: 10000, Asc: true})
			if err != nil {
				t.Fatal(err)
			}
			if int(page.Total) != row.Records || len(page.Hits) != row.Records {
				t.Fatalf("index holds %d events (%d hits), want %d", page.Total, len(page.Hits), row.Records)
			}
			ids, chans := map[string]int{}, map[string]int{}
			var lo, hi time.Time
			for j, h := range page.Hits {
				ids[strconv.Itoa(int(h.Event.EventID))]++
				chans[h.Event.Channel]++
				if j == 0 || h.Event.TimeCreated.Before(lo) {
					lo = h.Event.TimeCreated
				}
				if j == 0 || h.Event.TimeCreated.After(hi) {
					hi = h.Event.TimeCreated
				}
			}
			if !maps.Equal(ids, row.EventIDs) {
				t.Errorf("EventIDs %v, want %v", ids, row.EventIDs)
			}
			if want := row.CanonicalChannels(); !maps.Equal(chans, want) {
				t.Errorf("Channels %v, want %v", chans, want)
			}
			if got := row.InventoryTime(lo); got != row.Min {
				t.Errorf("earliest time %s, want %s (%s)", got, row.Min, row.TimeField)
			}
			if got := row.InventoryTime(hi); got != row.Max {
				t.Errorf("latest time %s, want %s (%s)", got, row.Max, row.TimeField)
			}
			// The last event reads back whole from its offset.
			last := page.Hits[len(page.Hits)-1]
			v, err := r.eng.Event(t.Context(), c.ID, last.ID)
			if err != nil {
				t.Fatalf("event %s: %v", last.ID, err)
			}
			// An XML event's own text is its XML view; JSON has none.
			x, err := r.eng.EventXML(t.Context(), c.ID, last.ID)
			if wantFormat == input.WinEventXML && (err != nil || !strings.HasPrefix(x, "<Event") || !strings.HasSuffix(x, "</Event>")) {
				t.Errorf("XML of %s: %q, %v; want the <Event> element as written", last.ID, x, err)
			}
			if wantFormat == input.WinEventJSON && err == nil {
				t.Errorf("XML of JSON event %s: %q, want none", last.ID, x)
			}
			if v.Event.EventID != last.Event.EventID || v.Event.Channel != last.Event.Channel || !v.Event.TimeCreated.Equal(last.Event.TimeCreated) ||
				len(v.Event.Data) == 0 {
				t.Errorf("event %s read back as %d/%s/%v with %d fields, indexed as %d/%s/%v", last.ID,
					v.Event.EventID, v.Event.Channel, v.Event.TimeCreated, len(v.Event.Data),
					last.Event.EventID, last.Event.Channel, last.Event.TimeCreated)
			}
		})
	}
	// Reprocessing overwrites: the same IDs, the same total.
	before, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	big := bySource[paths[0]]
	if _, err := r.eng.RequeueFile(c.ID, big.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	after, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if after.Total != before.Total {
		t.Errorf("after reprocessing %s the case holds %d events, before %d", big.Name, after.Total, before.Total)
	}
}

// TestIngestOtherInputs imports one ZIP holding an IIS log, a gzip
// access log, a CSV timeline with multi-line fields, Zeek JSON, JSON
// lines with one bad line, and a JSON file none of whose records parse.
// Each completes in its format with SOURCES.md's record count (the bad
// line counted and named), the unreadable one fails with the reason, and
// a W3C row reads back whole from its offset.
func TestIngestOtherInputs(t *testing.T) {
	root := filepath.Join(corpus.Shared(t), "inputs")
	read := func(rel string) []byte {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(read("weblog/plaso/apache_access.log"))
	zw.Close()
	entries := []struct {
		name string
		data []byte
	}{
		{"iis/u_ex130730.log", read("weblog/plaso/iis_without_date.log")},
		{"apache/access.log.gz", gz.Bytes()},
		{"timeline/evtx_part.csv", read("csv-timeline/timesketch/end_to_end_tests__test_data__evtx_part.csv")},
		{"zeek/conn.log", read("edr-ndjson/otrf-apt29-zeek/SCRANTON_conn.log")},
		{"edr/partial.ndjson", []byte("{\"a\":1,\"@timestamp\":\"2024-01-02T03:04:05Z\"}\n{\"a\":\n{\"a\":3,\"b\":{\"c\":[1,2]}}\n")},
		{"edr/broken.json", []byte("{bad\n{worse\n")},
	}
	zp := filepath.Join(t.TempDir(), "collection.zip")
	zf, err := os.Create(zp)
	if err != nil {
		t.Fatal(err)
	}
	w := zip.NewWriter(zf)
	for _, e := range entries {
		fw, err := w.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(e.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	zf.Close()

	r := newRig(t, true)
	c, _ := r.ingest(t, "other", zp)
	files, err := r.ledger.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		state, format string
		events        int64
		warn          string
	}{
		"collection.zip/iis/u_ex130730.log":     {store.StateCompleted, "w3c", 11, ""},
		"collection.zip/apache/access.log.gz":   {store.StateCompleted, "access-log+gzip", 15, ""},
		"collection.zip/timeline/evtx_part.csv": {store.StateCompleted, "csv", 13, ""},
		"collection.zip/zeek/conn.log":          {store.StateCompleted, "json", 134, ""},
		"collection.zip/edr/partial.ndjson":     {store.StateCompleted, "json", 2, "line 2 "},
		"collection.zip/edr/broken.json":        {store.StateFailed, "json", 0, "no record readable"},
	}
	var w3c store.File
	for _, f := range files {
		wf, ok := want[f.Name]
		if !ok {
			t.Errorf("unexpected record %s (%s: %s)", f.Name, f.State, f.Error)
			continue
		}
		delete(want, f.Name)
		if f.State != wf.state || f.Format != wf.format || f.Events != wf.events {
			t.Errorf("%s: %s, %q, %d events (%s); want %s, %q, %d", f.Name, f.State, f.Format, f.Events, f.Error, wf.state, wf.format, wf.events)
		}
		if wf.warn != "" && !strings.Contains(strings.Join(append(f.Warnings, f.Error), "\n"), wf.warn) {
			t.Errorf("%s: warnings %q, error %q; want one saying %q", f.Name, f.Warnings, f.Error, wf.warn)
		}
		if f.Format == "w3c" {
			w3c = f
		}
	}
	for name := range want {
		t.Errorf("no record of %s", name)
	}
	page, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Query: fmt.Sprintf("file:%d", w3c.ID), Size: 100, Asc: true})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 11 {
		t.Fatalf("W3C file: %d events indexed, want 11", page.Total)
	}
	last := page.Hits[len(page.Hits)-1]
	v, err := r.eng.Event(t.Context(), c.ID, last.ID)
	if err != nil {
		t.Fatal(err)
	}
	// iis_without_date.log has no date column: the day is #Date's.
	if stem, _ := v.Event.Get("cs-uri-stem"); stem == "" || v.Event.TimeCreated.Format("2006-01-02") != "2013-07-30" {
		t.Errorf("W3C event reads back as %+v", v.Event)
	}
}
