package engine_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"casescope/input"
	"casescope/internal/corpus"
	"casescope/store"
)

// winInventoryRow is one line of inputs/expected/inputs-inventory.tsv: a
// Windows-event JSON or XML file with its record count, EventID and
// Channel histograms and event time range, made by the corpus's own
// Python script (plain json / xml.etree), not by casescope.
type winInventoryRow struct {
	path, container     string
	records             int
	eventIDs, channels  map[string]int
	timeField, min, max string
	withoutTime         int
}

func readWinInventory(t *testing.T, path string) []winInventoryRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hist := func(s string) map[string]int {
		m := map[string]int{}
		for _, kv := range strings.Split(s, ";") {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("inventory histogram %q: %v", s, err)
			}
			m[k] += n
		}
		return m
	}
	var rows []winInventoryRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if c[0] == "path" {
			continue
		}
		if len(c) != 9 {
			t.Fatalf("inventory line %q: %d columns", sc.Text(), len(c))
		}
		n, _ := strconv.Atoi(c[2])
		nt, _ := strconv.Atoi(c[8])
		rows = append(rows, winInventoryRow{path: c[0], container: c[1], records: n, eventIDs: hist(c[3]), channels: hist(c[4]),
			timeField: c[5], min: c[6], max: c[7], withoutTime: nt})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// invTime renders an indexed time as the inventory does: microseconds,
// "Z" (or " (no zone)" for sources without one, which casescope reads as
// UTC).
func invTime(t time.Time, noZone bool) string {
	s := t.UTC().Format("2006-01-02T15:04:05.000000")
	if noZone {
		return s + " (no zone)"
	}
	return s + "Z"
}

// TestIngestWindowsInputs ingests every Windows-event JSON and XML file of
// the shared inputs corpus into one case and checks what the index holds
// per file against the inventory: record count, EventID histogram,
// Channel histogram (classic channel names spelled as Windows does:
// "security" is counted as "Security"), earliest and latest event time.
// Each file's format is recorded, an event reads back whole from its
// offset, and reprocessing a file leaves the counts unchanged (document
// IDs from file and offset).
func TestIngestWindowsInputs(t *testing.T) {
	root := filepath.Join(corpus.Shared(t), "inputs")
	rows := readWinInventory(t, filepath.Join(root, "expected", "inputs-inventory.tsv"))
	if len(rows) != 18 {
		t.Fatalf("inventory has %d files, want 18", len(rows))
	}
	r := newRig(t, true)
	var paths []string
	for _, row := range rows {
		paths = append(paths, filepath.Join(root, filepath.FromSlash(row.path)))
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
		t.Run(row.path, func(t *testing.T) {
			f, ok := bySource[paths[i]]
			if !ok {
				t.Fatalf("no record for %s", paths[i])
			}
			wantFormat := input.WinEventJSON
			if strings.HasPrefix(row.path, "winevent-xml/") {
				wantFormat = input.WinEventXML
			}
			if f.State == store.StateDuplicate {
				// Hayabusa's three containers of one record set are
				// byte-different, so no duplicate is expected here.
				t.Fatalf("%s recorded as duplicate of %d", row.path, f.DuplicateOf)
			}
			if f.State != store.StateCompleted || f.Events != int64(row.records) || f.Format != string(wantFormat) {
				t.Fatalf("state %s, %d events, format %q, error %q; want completed, %d events, %q",
					f.State, f.Events, f.Format, f.Error, row.records, wantFormat)
			}
			if f.RecordsSkipped != 0 || f.RecordsExpected != row.records {
				t.Errorf("accounting %+v, want %d expected, none skipped", f.Accounting, row.records)
			}
			page, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Query: fmt.Sprintf("file:%d", f.ID), Size: 10000, Asc: true})
			if err != nil {
				t.Fatal(err)
			}
			if int(page.Total) != row.records || len(page.Hits) != row.records {
				t.Fatalf("index holds %d events (%d hits), want %d", page.Total, len(page.Hits), row.records)
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
			if !mapsEqual(ids, row.eventIDs) {
				t.Errorf("EventIDs %v, want %v", ids, row.eventIDs)
			}
			if want := canonicalChannels(row.channels); !mapsEqual(chans, want) {
				t.Errorf("Channels %v, want %v", chans, want)
			}
			noZone := strings.HasSuffix(row.min, "(no zone)")
			if got := invTime(lo, noZone); got != row.min {
				t.Errorf("earliest time %s, want %s (%s)", got, row.min, row.timeField)
			}
			if got := invTime(hi, noZone); got != row.max {
				t.Errorf("latest time %s, want %s (%s)", got, row.max, row.timeField)
			}
			// The last event reads back whole from its offset.
			last := page.Hits[len(page.Hits)-1]
			v, err := r.eng.Event(t.Context(), c.ID, last.ID)
			if err != nil {
				t.Fatalf("event %s: %v", last.ID, err)
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

// canonicalChannels folds the classic channel names to Windows'
// spelling, as casescope records them.
func canonicalChannels(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		switch strings.ToLower(k) {
		case "security":
			k = "Security"
		case "system":
			k = "System"
		case "application":
			k = "Application"
		}
		out[k] += v
	}
	return out
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	ka := make([]string, 0, len(a))
	for k := range a {
		ka = append(ka, k)
	}
	slices.Sort(ka)
	for _, k := range ka {
		if a[k] != b[k] {
			return false
		}
	}
	return true
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
