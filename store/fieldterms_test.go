package store

import (
	"encoding/base64"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"casescope/evtx"
	"casescope/internal/corpus"
	qparse "casescope/store/query"
)

// indexCorpusFile parses one shared-corpus EVTX file with the evtx
// reader and indexes it as file 1; it returns the parsed events, the
// ground truth the tests count from.
func indexCorpusFile(t *testing.T, x *Index, rel string) []*evtx.Event {
	t.Helper()
	path := filepath.Join(corpus.Shared(t), "evtx", filepath.FromSlash(rel))
	var evs []*evtx.Event
	if _, err := evtx.StreamFile(t.Context(), path, func(ev *evtx.Event) error {
		evs = append(evs, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	docs := make([]Doc, len(evs))
	for i, ev := range evs {
		docs[i] = Doc{FileID: 1, Event: ev}
	}
	if err := x.IndexDocs(docs, true); err != nil {
		t.Fatal(err)
	}
	return evs
}

func dataValue(ev *evtx.Event, name string) (string, bool) {
	for _, f := range ev.Data {
		if strings.EqualFold(f.Name, name) && f.Value != "" {
			return f.Value, true
		}
	}
	return "", false
}

// TestAggregateAndSortByField: the top values of a data field over a
// query equal counts taken from the parsed events, and a search sorted on
// the field visits every match once, in value order.
func TestAggregateAndSortByField(t *testing.T) {
	x := openTestIndex(t)
	evs := indexCorpusFile(t, x, "deepbluecli/password-spray.evtx")
	want := map[string]uint64{}
	var matches, missing uint64
	for _, ev := range evs {
		if ev.EventID != 4648 {
			continue
		}
		matches++
		if v, ok := dataValue(ev, "TargetUserName"); ok {
			want[strings.ToLower(v)]++
		} else {
			missing++
		}
	}
	if len(want) < 3 {
		t.Fatalf("corpus file has %d distinct TargetUserName on 4648, want a few", len(want))
	}
	agg, err := x.Aggregate(t.Context(), SearchRequest{Query: "EventID:4648"}, "targetusername", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if agg.Field != "TargetUserName" || agg.Total != matches || agg.Missing != missing || agg.Distinct != len(want) || agg.Other != 0 {
		t.Errorf("aggregation: got field %s total %d missing %d distinct %d other %d, want TargetUserName %d %d %d 0",
			agg.Field, agg.Total, agg.Missing, agg.Distinct, agg.Other, matches, missing, len(want))
	}
	for i, v := range agg.Values {
		if want[v.Value] != v.Count {
			t.Errorf("count of %q: got %d, want %d", v.Value, v.Count, want[v.Value])
		}
		if i > 0 && agg.Values[i-1].Count < v.Count {
			t.Errorf("values not by count: %v before %v", agg.Values[i-1], v)
		}
	}
	top, err := x.Aggregate(t.Context(), SearchRequest{Query: "EventID:4648"}, "TargetUserName", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Values) != 2 || top.Values[0].Count+top.Values[1].Count+top.Other != matches-missing {
		t.Errorf("top 2: %+v, other %d; want the rest of %d in other", top.Values, top.Other, matches-missing)
	}
	// EventID over everything, against the parsed events.
	byID := map[string]uint64{}
	for _, ev := range evs {
		byID[strconv.FormatUint(uint64(ev.EventID), 10)]++
	}
	ids, err := x.Aggregate(t.Context(), SearchRequest{}, "EventID", 100)
	if err != nil {
		t.Fatal(err)
	}
	if ids.Total != uint64(len(evs)) || len(ids.Values) != len(byID) {
		t.Errorf("EventID aggregation: total %d, %d values; want %d, %d", ids.Total, len(ids.Values), len(evs), len(byID))
	}
	for _, v := range ids.Values {
		if byID[v.Value] != v.Count {
			t.Errorf("EventID %s: got %d, want %d", v.Value, v.Count, byID[v.Value])
		}
	}
	// The path for fields with many values gives the same top values.
	for _, size := range []int{1, 3, 1000} {
		full, err := x.Aggregate(t.Context(), SearchRequest{Query: "EventID:4648"}, "TargetUserName", size)
		if err != nil {
			t.Fatal(err)
		}
		r, done, err := x.reader()
		if err != nil {
			t.Fatal(err)
		}
		terms, _ := qparse.TermsOf("TargetUserName")
		set, _, err := x.matchSet(t.Context(), r, SearchRequest{Query: "EventID:4648"})
		if err != nil {
			t.Fatal(err)
		}
		entries, err := dictEntries(t.Context(), r, terms)
		if err != nil {
			t.Fatal(err)
		}
		got, err := x.topOnly(t.Context(), r, terms, set, entries, size, Aggregation{})
		done()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Values, full.Values) || !got.Partial {
			t.Errorf("size %d: top-only %v, want %v", size, got.Values, full.Values)
		}
	}
	if _, err := x.Aggregate(t.Context(), SearchRequest{}, "time", 10); err == nil {
		t.Error("aggregation on time: no error")
	}

	// Sorted on TargetUserName both ways, in pages of 7.
	for _, asc := range []bool{true, false} {
		var got []string
		seen := map[string]bool{}
		cursor := ""
		for {
			res, err := x.Search(t.Context(), SearchRequest{Query: "EventID:4648", SortField: "TargetUserName", Asc: asc, Size: 7, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != matches {
				t.Fatalf("sorted total %d, want %d", res.Total, matches)
			}
			for _, h := range res.Hits {
				if seen[h.ID] {
					t.Fatalf("event %s twice", h.ID)
				}
				seen[h.ID] = true
			}
			got = append(got, pageValues(t, evs, res.Hits)...)
			if cursor = res.Next; cursor == "" {
				break
			}
		}
		if uint64(len(seen)) != matches {
			t.Errorf("asc %t: visited %d events, want %d", asc, len(seen), matches)
		}
		present := slices.DeleteFunc(slices.Clone(got), func(s string) bool { return s == "" })
		sorted := slices.Clone(present)
		slices.Sort(sorted)
		if !asc {
			slices.Reverse(sorted)
		}
		if !slices.Equal(present, sorted) {
			t.Errorf("asc %t: values out of order: %q", asc, present)
		}
		if n := len(got) - len(present); uint64(n) != missing || (n > 0 && got[len(got)-1] != "") {
			t.Errorf("asc %t: %d events without the field, want %d, last", asc, n, missing)
		}
	}
}

// pageValues maps hits back to the parsed events' lower-cased
// TargetUserName by record ID.
func pageValues(t *testing.T, evs []*evtx.Event, hits []SearchHit) []string {
	t.Helper()
	var out []string
	for _, h := range hits {
		for _, ev := range evs {
			if ev.RecordID == h.Summary.RecordID && ev.RecordOffset == h.Summary.RecordOffset {
				v, _ := dataValue(ev, "TargetUserName")
				out = append(out, strings.ToLower(v))
			}
		}
	}
	if len(out) != len(hits) {
		t.Fatalf("%d hits, %d found among parsed events", len(hits), len(out))
	}
	return out
}

// TestAround: the window around an event holds exactly the parsed events
// on its computer within ±N minutes, in time order, opening at the event.
func TestAround(t *testing.T) {
	x := openTestIndex(t)
	evs := indexCorpusFile(t, x, "deepbluecli/password-spray.evtx")
	anchor := evs[len(evs)/2]
	const n = 2 * time.Minute
	from, to := anchor.TimeCreated.Add(-n), anchor.TimeCreated.Add(n+time.Nanosecond)
	var want []*evtx.Event
	for _, ev := range evs {
		if ev.Computer == anchor.Computer && !ev.TimeCreated.Before(from) && ev.TimeCreated.Before(to) {
			want = append(want, ev)
		}
	}
	slices.SortStableFunc(want, func(a, b *evtx.Event) int { return a.TimeCreated.Compare(b.TimeCreated) })
	id := DocID(1, anchor)
	req := SearchRequest{Query: `Computer:"` + anchor.Computer + `"`, From: from, To: to}
	for _, size := range []int{3, 1000} {
		got, err := x.Around(t.Context(), req, id, size, size)
		if err != nil {
			t.Fatal(err)
		}
		if got.Total != uint64(len(want)) {
			t.Errorf("size %d: total %d, want %d", size, got.Total, len(want))
		}
		if got.Anchor < 0 || got.Hits[got.Anchor].ID != id {
			t.Fatalf("size %d: anchor %d not the event %s", size, got.Anchor, id)
		}
		wantPos := slices.IndexFunc(want, func(ev *evtx.Event) bool { return DocID(1, ev) == id })
		if got.Position != uint64(wantPos) {
			t.Errorf("size %d: position %d, want %d", size, got.Position, wantPos)
		}
		lo := max(0, wantPos-size)
		hi := min(len(want), wantPos+size+1)
		var wantIDs, gotIDs []string
		for _, ev := range want[lo:hi] {
			wantIDs = append(wantIDs, DocID(1, ev))
		}
		for _, h := range got.Hits {
			gotIDs = append(gotIDs, h.ID)
		}
		// Events of one time may come in either order; compare as sets
		// and check the times ascend.
		for i := 1; i < len(got.Hits); i++ {
			if got.Hits[i].Time.Before(got.Hits[i-1].Time) {
				t.Errorf("size %d: times out of order at %d", size, i)
			}
		}
		slices.Sort(wantIDs)
		slices.Sort(gotIDs)
		if !slices.Equal(gotIDs, wantIDs) {
			t.Errorf("size %d: got %d events %v, want %d %v", size, len(gotIDs), gotIDs, len(wantIDs), wantIDs)
		}
		if (lo > 0) != (got.Earlier != "") || (hi < len(want)) != (got.Later != "") {
			t.Errorf("size %d: earlier %q later %q; want more before %t after %t", size, got.Earlier, got.Later, lo > 0, hi < len(want))
		}
	}
}

// A field-sorted cursor holds an offset; anything else (a time-sorted
// cursor, a negative or non-numeric offset, bytes that are not base64) is
// ErrBadCursor on both stores, which share the decoder.
func TestFieldCursorOffset(t *testing.T) {
	for _, n := range []int{0, 1, 50, 9999, 1 << 40} {
		got, err := fieldCursorOffset(fieldCursor(n))
		if err != nil || got != n {
			t.Errorf("fieldCursor(%d) decodes to %d, %v", n, got, err)
		}
	}
	if got, err := fieldCursorOffset(""); got != 0 || err != nil {
		t.Errorf("no cursor: %d, %v; want 0, nil", got, err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	for _, c := range []string{"!!", b64([]byte("o-1")), b64([]byte("ox")), b64([]byte("o")), b64([]byte("12")), b64([]byte("t123"))} {
		if got, err := fieldCursorOffset(c); !errors.Is(err, ErrBadCursor) {
			t.Errorf("cursor %q: %d, %v; want ErrBadCursor", c, got, err)
		}
	}
}
