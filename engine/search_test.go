package engine_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"casescope/engine"
	"casescope/evtx"
	"casescope/internal/corpus"
	"casescope/internal/libevtx"
	"casescope/store"
)

// inventoryRow is one line of expected/inventory.tsv (python-evtx's view).
type inventoryRow struct {
	path     string
	channels map[string]int
	eventIDs map[string]int
	min, max time.Time
}

func readInventory(t *testing.T, dir string) []inventoryRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "expected", "inventory.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	hist := func(s string) map[string]int {
		m := map[string]int{}
		for _, kv := range strings.Split(s, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if ok {
				n, _ := strconv.Atoi(v)
				m[k] += n
			}
		}
		return m
	}
	var out []inventoryRow
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		f := strings.Split(line, "\t")
		r := inventoryRow{path: f[0], channels: hist(f[3]), eventIDs: hist(f[5])}
		r.min, _ = time.Parse("2006-01-02 15:04:05.999999", f[6])
		r.max, _ = time.Parse("2006-01-02 15:04:05.999999", f[7])
		out = append(out, r)
	}
	return out
}

// searchCorpus is one ingest of the agreeing shared files, shared by the
// search and export tests of this package.
type searchCorpus struct {
	r     *rig
	c     store.Case
	inv   []inventoryRow
	files map[string]store.File // by path relative to evtx/
}

// agreeingCorpus ingests every shared EVTX file whose independent counts
// agree (so python-evtx's inventory is ground truth for it).
func agreeingCorpus(t *testing.T) *searchCorpus {
	t.Helper()
	dir := corpus.Shared(t)
	want := truth(t, dir)
	r := newRig(t, true)
	var paths []string
	for rel := range want {
		paths = append(paths, filepath.Join(dir, "evtx", rel))
	}
	c, err := r.ledger.CreateCase("search", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.Import(t.Context(), c.ID, paths); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	sc := &searchCorpus{r: r, c: c, files: map[string]store.File{}}
	files, _ := r.ledger.Files(c.ID)
	for _, f := range files {
		for rel := range want {
			if filepath.Base(rel) == f.Name && strings.HasSuffix(filepath.Join(dir, "evtx", rel), f.Name) {
				sc.files[rel] = f
			}
		}
	}
	recovered := corpus.Recovered(t, dir)
	for _, row := range readInventory(t, dir) {
		if _, ok := want[row.path]; ok {
			addRecovered(t, &row, recovered[row.path])
			sc.inv = append(sc.inv, row)
		}
	}
	return sc
}

// addRecovered adds to an inventory row (python-evtx's view, allocated
// records only) the live records libevtx recovers from the file's damaged
// chunks, which the ingest indexes too: their channels, event IDs and
// times.
func addRecovered(t *testing.T, row *inventoryRow, recs []libevtx.Record) {
	t.Helper()
	for _, r := range recs {
		sys := r.Root.Child("System")
		row.channels[sys.Child("Channel").Text]++
		row.eventIDs[strings.TrimSpace(sys.Child("EventID").Text)]++
		st, _ := sys.Child("TimeCreated").Attr("SystemTime")
		tm, err := time.Parse(time.RFC3339Nano, st)
		if err != nil {
			t.Fatalf("%s: recovered record time %q: %v", row.path, st, err)
		}
		tm = tm.Truncate(time.Microsecond) // the inventory's precision
		if tm.Before(row.min) {
			row.min = tm
		}
		if tm.After(row.max) {
			row.max = tm
		}
	}
}

func (sc *searchCorpus) total(t *testing.T, q string) uint64 {
	t.Helper()
	page, err := sc.r.eng.Search(t.Context(), sc.c.ID, store.SearchRequest{Query: q, Size: 1})
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	return page.Total
}

// TestSearchCorpus ingests the agreeing shared files once and checks
// search counts, field matches, paging and export against ground truth.
func TestSearchCorpus(t *testing.T) {
	sc := agreeingCorpus(t)
	t.Run("ground truth", func(t *testing.T) { checkSearchGroundTruth(t, sc) })
	t.Run("field values", func(t *testing.T) { checkSearchFieldValues(t, sc) })
	t.Run("paging", func(t *testing.T) { checkSearchPagingVisitsEachOnce(t, sc) })
	t.Run("facets", func(t *testing.T) { checkFacets(t, sc) })
	t.Run("histogram", func(t *testing.T) { checkHistogram(t, sc) })
	t.Run("passes agree", func(t *testing.T) { checkPassesAgree(t, sc) })
	t.Run("export", func(t *testing.T) { checkExportRowsMatchSearch(t, sc) })
}

func checkSearchGroundTruth(t *testing.T, sc *searchCorpus) {
	sum := func(pick func(r inventoryRow) int) uint64 {
		var n uint64
		for _, r := range sc.inv {
			n += uint64(pick(r))
		}
		return n
	}
	// Expected values come from python-evtx's inventory, never from the
	// index.
	tests := []struct {
		name  string
		query string
		want  uint64
	}{
		{"all", "", func() uint64 { // counts.tsv: the inventory omits records without a Channel
			var n uint64
			for _, v := range truth(t, corpus.Shared(t)) {
				n += uint64(v)
			}
			return n
		}()},
		{"event id", "EventID:4624", sum(func(r inventoryRow) int { return r.eventIDs["4624"] })},
		{"event id alias", "event_id:4688", sum(func(r inventoryRow) int { return r.eventIDs["4688"] })},
		{"channel exact", `Channel:"Microsoft-Windows-Sysmon/Operational"`, sum(func(r inventoryRow) int { return r.channels["Microsoft-Windows-Sysmon/Operational"] })},
		{"channel case-insensitive", `channel:"microsoft-windows-sysmon/OPERATIONAL"`, sum(func(r inventoryRow) int { return r.channels["Microsoft-Windows-Sysmon/Operational"] })},
		{"conjunction", "EventID:1 AND Channel:\"Microsoft-Windows-Sysmon/Operational\"", sum(func(r inventoryRow) int {
			if r.channels["Microsoft-Windows-Sysmon/Operational"] == 0 {
				return 0
			}
			return r.eventIDs["1"]
		})},
		{"range", "EventID:[4624 TO 4625]", sum(func(r inventoryRow) int { return r.eventIDs["4624"] + r.eventIDs["4625"] })},
		{"negation", "Channel:Security AND NOT EventID:4624", sum(func(r inventoryRow) int {
			if r.channels["Security"] == 0 {
				return 0
			}
			return r.channels["Security"] - r.eventIDs["4624"]
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sc.total(t, tc.query); got != tc.want {
				t.Errorf("%q: total = %d, want %d", tc.query, got, tc.want)
			}
		})
	}

	// Per-file date ranges: every event of a file lies within its
	// inventory min/max TimeCreated (python-evtx rounds to µs).
	for _, row := range sc.inv[:10] {
		f, ok := sc.files[row.path]
		if !ok || row.min.IsZero() {
			continue
		}
		want := uint64(0)
		for _, v := range row.channels {
			want += uint64(v)
		}
		q := fmt.Sprintf("file:%d", f.ID)
		page, err := sc.r.eng.Search(t.Context(), sc.c.ID, store.SearchRequest{Query: q, Size: 1,
			From: row.min.Add(-5 * time.Microsecond), To: row.max.Add(5 * time.Microsecond)})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != want {
			t.Errorf("%s in [%s, %s]: %d, want %d", row.path, row.min, row.max, page.Total, want)
		}
		page, err = sc.r.eng.Search(t.Context(), sc.c.ID, store.SearchRequest{Query: q, Size: 1, From: row.max.Add(time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 0 {
			t.Errorf("%s after its last event: %d, want 0", row.path, page.Total)
		}
	}
}

// sampleRecords reads a python-evtx sample (first 20 records of a file).
func sampleRecords(t *testing.T, dir, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "expected", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var rec struct {
			EventRecordID uint64
			EventData     []struct {
				Name  *string
				Value *string
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{"_record": strconv.FormatUint(rec.EventRecordID, 10)}
		for _, d := range rec.EventData {
			if d.Name != nil && d.Value != nil {
				m[*d.Name] = *d.Value
			}
		}
		out = append(out, m)
	}
	return out
}

func checkSearchFieldValues(t *testing.T, sc *searchCorpus) {
	dir := corpus.Shared(t)
	recs := sampleRecords(t, dir, "sample-security.jsonl")
	f := sc.files["omerbenamram/security.evtx"]
	if f.ID == 0 {
		t.Fatal("security.evtx not ingested")
	}
	lo, hi := recs[0]["_record"], recs[len(recs)-1]["_record"]
	scope := fmt.Sprintf("file:%d AND EventRecordID:[%s TO %s]", f.ID, lo, hi)
	count := func(pred func(m map[string]string) bool) uint64 {
		var n uint64
		for _, m := range recs {
			if pred(m) {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name, query string
		want        uint64
	}{
		{"field value", "TargetUserName:SYSTEM", count(func(m map[string]string) bool { return m["TargetUserName"] == "SYSTEM" })},
		{"case-insensitive value", "targetusername:system", count(func(m map[string]string) bool { return strings.EqualFold(m["TargetUserName"], "system") })},
		{"wildcard", "TargetDomainName:NT*", count(func(m map[string]string) bool { return strings.HasPrefix(strings.ToUpper(m["TargetDomainName"]), "NT") })},
		{"contains wildcard", "ProcessName:*services*", count(func(m map[string]string) bool { return strings.Contains(strings.ToLower(m["ProcessName"]), "services") })},
		{"conjunction", "EventID:4624 AND LogonType:5", count(func(m map[string]string) bool { return m["LogonType"] == "5" })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == 0 {
				t.Fatalf("ground truth has no match for %q; pick another value", tc.query)
			}
			if got := sc.total(t, scope+" AND "+tc.query); got != tc.want {
				t.Errorf("%q: %d, want %d", tc.query, got, tc.want)
			}
		})
	}
}

func checkSearchPagingVisitsEachOnce(t *testing.T, sc *searchCorpus) {
	for _, asc := range []bool{false, true} {
		q := "Channel:Security"
		want := sc.total(t, q)
		seen := map[string]bool{}
		var last time.Time
		cursor := ""
		pages := 0
		for {
			page, err := sc.r.eng.Search(t.Context(), sc.c.ID, store.SearchRequest{Query: q, Size: 333, Asc: asc, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, h := range page.Hits {
				if seen[h.ID] {
					t.Fatalf("event %s returned twice", h.ID)
				}
				seen[h.ID] = true
				ts := h.Event.TimeCreated
				if !last.IsZero() && ((asc && ts.Before(last)) || (!asc && ts.After(last))) {
					t.Fatalf("out of order: %s after %s (asc=%v)", ts, last, asc)
				}
				last = ts
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		if uint64(len(seen)) != want {
			t.Errorf("asc=%v: paged through %d events in %d pages, total %d", asc, len(seen), pages, want)
		}
	}
}

func TestSearchBadQuery(t *testing.T) {
	r := newRig(t, true)
	c, err := r.ledger.CreateCase("bad", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"EventID:[4624 TO", `CommandLine:"unterminated`, "(a OR b"} {
		_, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Query: q})
		if !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("%q: err = %v, want ErrBadQuery", q, err)
		}
	}
	_, err = r.eng.Search(t.Context(), c.ID, store.SearchRequest{Query: "Foo:bar", QueryOptions: store.QueryOptions{Strict: true}})
	if !errors.Is(err, store.ErrBadQuery) || !strings.Contains(err.Error(), `unknown field "Foo"`) {
		t.Errorf("unknown field: err = %v", err)
	}
}

func checkExportRowsMatchSearch(t *testing.T, sc *searchCorpus) {
	q := "EventID:4624 OR Channel:\"Microsoft-Windows-Sysmon/Operational\""
	want := sc.total(t, q)
	if want < 1000 {
		t.Fatalf("query matches only %d events; want a multi-page export", want)
	}
	t.Run("csv", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			_, err := sc.r.eng.Export(t.Context(), sc.c.ID, engine.ExportRequest{Format: engine.FormatCSV, Query: q}, pw)
			pw.CloseWithError(err)
		}()
		rows, err := csv.NewReader(pr).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if uint64(len(rows)-1) != want {
			t.Errorf("csv rows = %d, want %d", len(rows)-1, want)
		}
		if rows[0][0] != "Timestamp" {
			t.Errorf("first column %q, want Timestamp", rows[0][0])
		}
		for _, r := range rows[1:] {
			if _, err := time.Parse(time.RFC3339Nano, r[0]); err != nil {
				t.Fatalf("timestamp %q: %v", r[0], err)
			}
		}
	})
	t.Run("jsonl", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			_, err := sc.r.eng.Export(t.Context(), sc.c.ID, engine.ExportRequest{Format: engine.FormatJSONL, Query: q}, pw)
			pw.CloseWithError(err)
		}()
		dec := json.NewDecoder(pr)
		var n uint64
		for {
			var rec map[string]any
			err := dec.Decode(&rec)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
			for _, k := range []string{"message", "datetime", "timestamp_desc"} {
				if s, ok := rec[k].(string); !ok || s == "" {
					t.Fatalf("record %d: Timesketch field %s missing: %v", n, k, rec)
				}
			}
			if _, err := time.Parse(time.RFC3339Nano, rec["datetime"].(string)); err != nil {
				t.Fatalf("datetime %q: %v", rec["datetime"], err)
			}
		}
		if n != want {
			t.Errorf("jsonl records = %d, want %d", n, want)
		}
	})
}

func TestTagsSurviveReindex(t *testing.T) {
	r := newRig(t, true)
	c, _ := r.ingest(t, "tags", corpus.Fixture(t, "Security_short_selected.evtx"))
	page, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Size: 2})
	if err != nil || len(page.Hits) != 2 {
		t.Fatalf("search: %v (%d hits)", err, len(page.Hits))
	}
	id := page.Hits[0].ID
	if _, err := r.eng.TagEvent(t.Context(), c.ID, store.Tag{DocID: id, Starred: true, Tags: []string{"Lateral-Movement"}, Note: "first hop"}); err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		page, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Query: "tag:lateral-movement"})
		if err != nil {
			t.Fatal(err)
		}
		// The note became the first comment of the event's thread.
		if page.Total != 1 || page.Hits[0].ID != id || page.Hits[0].Tag == nil || len(page.Hits[0].Comments) != 1 || page.Hits[0].Comments[0].Text != "first hop" {
			t.Errorf("%s: tag search total %d, hits %+v", stage, page.Total, page.Hits)
		}
		if n := sumTotal(t, r, c.ID, "starred:starred OR tag:starred"); n != 1 {
			t.Errorf("%s: starred events %d, want 1", stage, n)
		}
	}
	check("after tagging")
	files, _ := r.ledger.Files(c.ID)
	if _, err := r.eng.RequeueFile(c.ID, files[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := r.eng.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A requeue starts the attempt count afresh: the re-run is seen by its
	// new start time.
	if f, _ := r.ledger.File(c.ID, files[0].ID); f.State != store.StateCompleted || !f.Started.After(files[0].Started) {
		t.Fatalf("re-index did not run: %+v", f)
	}
	check("after re-index")
}

func sumTotal(t *testing.T, r *rig, caseID uint64, q string) uint64 {
	t.Helper()
	page, err := r.eng.Search(t.Context(), caseID, store.SearchRequest{Query: q, Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total
}

func TestBulkTag(t *testing.T) {
	r := newRig(t, true)
	c, _ := r.ingest(t, "bulk", corpus.Fixture(t, "Security_short_selected.evtx"), corpus.Fixture(t, "Application_no_crc32.evtx"))
	want := sumTotal(t, r, c.ID, "Channel:Security")
	if want == 0 || want == sumTotal(t, r, c.ID, "") {
		t.Fatalf("fixture gives %d Security events; need some but not all", want)
	}
	n, err := r.eng.BulkTag(t.Context(), c.ID, "Channel:Security", []string{"Triage"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(n) != want {
		t.Errorf("tagged %d, want %d", n, want)
	}
	if got := sumTotal(t, r, c.ID, "tag:triage AND tag:starred"); got != want {
		t.Errorf("tag:triage finds %d, want %d", got, want)
	}
	var rep bytes.Buffer
	if err := r.eng.Report(t.Context(), c.ID, &rep); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(rep.String(), "<td>triage, starred</td>"); uint64(got) != want {
		t.Errorf("report timeline rows with the tag: %d, want %d", got, want)
	}
}

// checkFacets compares the channel and event ID facets of the whole case
// with python-evtx's inventory (channel names in their original case): each value shown has its true count, and
// no value left out has more events than the smallest one shown.
// The whole case's view is asked three times: counted, then from the
// overview cache (whose values the name restoring once overwrote).
func checkFacets(t *testing.T, sc *searchCorpus) {
	for range 3 {
		page, err := sc.r.eng.Search(t.Context(), sc.c.ID, store.SearchRequest{Size: 1, Facets: true, Histogram: true})
		if err != nil {
			t.Fatal(err)
		}
		checkFacetPage(t, sc, page)
	}
}

func checkFacetPage(t *testing.T, sc *searchCorpus, page engine.SearchPage) {
	truthOf := func(pick func(r inventoryRow) map[string]int, norm func(string) string) map[string]int {
		m := map[string]int{}
		for _, r := range sc.inv {
			for k, v := range pick(r) {
				m[norm(k)] += v
			}
		}
		return m
	}
	for _, tc := range []struct {
		facet string
		want  map[string]int
	}{
		// Channel names as Windows wrote them (the facet restores the case
		// the index folds).
		{store.FieldChannel, truthOf(func(r inventoryRow) map[string]int { return r.channels }, func(s string) string { return s })},
		{store.FieldEventID, truthOf(func(r inventoryRow) map[string]int { return r.eventIDs }, func(s string) string { return s })},
	} {
		got := page.Facets[tc.facet]
		if len(got) == 0 {
			t.Fatalf("facet %s: empty", tc.facet)
		}
		shown := map[string]bool{}
		for _, fc := range got {
			shown[fc.Value] = true
			if fc.Count != tc.want[fc.Value] {
				t.Errorf("facet %s %q: %d, inventory says %d", tc.facet, fc.Value, fc.Count, tc.want[fc.Value])
			}
		}
		least := got[len(got)-1].Count
		for v, n := range tc.want {
			if !shown[v] && n > least {
				t.Errorf("facet %s leaves out %q (%d events) but shows one with %d", tc.facet, v, n, least)
			}
		}
	}
}

// checkPassesAgree runs queries of every kind (wildcard, range, negation,
// date range) with facets and the histogram, which count in a second pass
// running beside the sorted one (under -race this also checks the passes
// share the query safely): the histogram holds exactly the total, the
// page is the same as without facets, and no facet value counts more.
func checkPassesAgree(t *testing.T, sc *searchCorpus) {
	idx, err := sc.r.eng.Index(sc.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := idx.LatestTime(t.Context())
	if err != nil || latest.IsZero() {
		t.Fatalf("latest time %v: %v", latest, err)
	}
	for _, q := range []string{"ProcessName:*services*", "EventID:[4624 TO 4688] AND NOT Channel:System", "Channel:Security OR Channel:System", ""} {
		req := store.SearchRequest{Query: q, Size: 20, From: latest.AddDate(-20, 0, 0)}
		plain, err := sc.r.eng.Search(t.Context(), sc.c.ID, req)
		if err != nil {
			t.Fatal(err)
		}
		req.Facets, req.Histogram = true, true
		full, err := sc.r.eng.Search(t.Context(), sc.c.ID, req)
		if err != nil {
			t.Fatal(err)
		}
		if plain.Total == 0 || full.Total != plain.Total || len(full.Hits) != len(plain.Hits) {
			t.Fatalf("%q: total %d/%d, hits %d/%d with and without facets", q, full.Total, plain.Total, len(full.Hits), len(plain.Hits))
		}
		for i := range full.Hits {
			if full.Hits[i].ID != plain.Hits[i].ID {
				t.Errorf("%q: hit %d is %s with facets, %s without", q, i, full.Hits[i].ID, plain.Hits[i].ID)
			}
		}
		inHist := 0
		for _, b := range full.Histogram {
			inHist += b.Count
		}
		if uint64(inHist) != full.Total {
			t.Errorf("%q: histogram holds %d of %d", q, inHist, full.Total)
		}
		for name, fcs := range full.Facets {
			for _, fc := range fcs {
				if uint64(fc.Count) > full.Total {
					t.Errorf("%q: facet %s %q counts %d of %d", q, name, fc.Value, fc.Count, full.Total)
				}
			}
		}
	}
}

// checkHistogram compares histograms with the event times read straight
// from the evidence files: the buckets are contiguous and equal, span the
// first to the last match, and each holds exactly the matches in its
// interval. One query spans years (coarse buckets), one a single log.
func checkHistogram(t *testing.T, sc *searchCorpus) {
	sec := sc.files["omerbenamram/security.evtx"]
	if sec.ID == 0 {
		t.Fatal("security.evtx not ingested")
	}
	files, err := sc.r.ledger.Files(sc.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query string
		match func(f store.File, ev *evtx.Event) bool
	}{
		{"Channel:Security", func(_ store.File, ev *evtx.Event) bool { return strings.EqualFold(ev.Channel, "Security") }},
		{fmt.Sprintf("file:%d AND EventID:4624", sec.ID), func(f store.File, ev *evtx.Event) bool { return f.ID == sec.ID && ev.EventID == 4624 }},
	} {
		var times []time.Time
		for _, f := range files {
			if f.State != store.StateCompleted || f.Events == 0 {
				continue
			}
			if _, err := evtx.StreamFile(t.Context(), f.Path, func(ev *evtx.Event) error {
				if tc.match(f, ev) {
					times = append(times, ev.TimeCreated)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		page, err := sc.r.eng.Search(t.Context(), sc.c.ID, store.SearchRequest{Query: tc.query, Size: 1, Histogram: true})
		if err != nil {
			t.Fatal(err)
		}
		checkBuckets(t, tc.query, page, times)
	}
}

func checkBuckets(t *testing.T, query string, page engine.SearchPage, times []time.Time) {
	t.Helper()
	if page.Total != uint64(len(times)) || len(times) == 0 {
		t.Fatalf("%s: total %d, evidence has %d", query, page.Total, len(times))
	}
	h := page.Histogram
	if len(h) < 2 || len(h) > 200 {
		t.Fatalf("%s: %d buckets", query, len(h))
	}
	step := h[1].Start.Sub(h[0].Start)
	t.Logf("%s: %d events in %d buckets of %s from %s", query, len(times), len(h), step, h[0].Start)
	for i := 1; i < len(h); i++ {
		if d := h[i].Start.Sub(h[i-1].Start); d != step {
			t.Fatalf("%s: bucket %d is %s wide, bucket 0 %s", query, i, d, step)
		}
	}
	want := make([]int, len(h))
	for _, ts := range times {
		i := int(ts.Sub(h[0].Start) / step)
		if ts.Before(h[0].Start) || i >= len(h) {
			t.Fatalf("%s: event at %s outside the histogram [%s, %s)", query, ts, h[0].Start, h[len(h)-1].Start.Add(step))
		}
		want[i]++
	}
	if want[0] == 0 || want[len(want)-1] == 0 {
		t.Errorf("%s: histogram does not start and end at a match: first %d, last %d", query, want[0], want[len(want)-1])
	}
	for i := range h {
		if h[i].Count != want[i] {
			t.Errorf("%s: bucket %s: %d, evidence has %d", query, h[i].Start, h[i].Count, want[i])
		}
	}
}
