package web_test

import (
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"casescope/internal/corpus"
	"casescope/internal/libevtx"
)

// TestFreeTextSystemValues checks that free text covers the System
// values, as Chainsaw's `search 4624` does: every event ID, the computer,
// channel and provider of each event of the fixture, counted by libevtx's
// evtxexport (not by casescope's reader), are found by a bare word.
func TestFreeTextSystemValues(t *testing.T) {
	bin, err := exec.LookPath("evtxexport")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("evtxexport not found (Debian package libevtx-utils): %v", err)
		}
		t.Skipf("evtxexport not found (install libevtx-utils to run this test): %v", err)
	}
	ex, err := libevtx.Run(t.Context(), bin, corpus.Fixture(t, "Security_short_selected.evtx"))
	if err != nil || !ex.Complete {
		t.Fatalf("evtxexport: %v %s", err, ex.Stderr)
	}
	ids := map[string]int{}
	names := map[string]int{}
	byFacet := map[string]map[string]int{"computer": {}, "channel": {}, "provider": {}}
	var values []string // every data value, to tell when a number also appears there
	for _, r := range ex.Records {
		sys := r.Root.Child("System")
		ids[strings.TrimSpace(sys.Child("EventID").Text)]++
		prov, _ := sys.Child("Provider").Attr("Name")
		for _, n := range []string{sys.Child("Computer").Text, sys.Child("Channel").Text, prov} {
			names[n]++
		}
		byFacet["computer"][sys.Child("Computer").Text]++
		byFacet["channel"][sys.Child("Channel").Text]++
		byFacet["provider"][prov]++
		fields, _ := libevtx.Data(r.Root)
		for _, f := range fields {
			values = append(values, f.Value)
		}
	}
	if len(ids) < 3 {
		t.Fatalf("fixture: got %d event IDs from evtxexport, want several", len(ids))
	}
	r, c := ingested(t)
	count := func(q string) uint64 {
		t.Helper()
		var a searchAnswer
		if st, raw := r.call(t, "GET", "/api/cases/"+itoa(c.ID)+"/search?strict=1&size=1&q="+url.QueryEscape(q), nil, &a); st != http.StatusOK {
			t.Fatalf("search %q: got %d %s", q, st, raw)
		}
		return a.Total
	}
	for id, want := range ids {
		inData := false
		for _, v := range values {
			inData = inData || strings.Contains(v, id)
		}
		got := count(id)
		if got < uint64(want) || (!inData && got != uint64(want)) {
			t.Errorf("free text %s: got %d events, want %d (the events with that ID; more only if a data value holds it: %t)", id, got, want, inData)
		}
		if got := count(id + " EventID:" + id); got != uint64(want) {
			t.Errorf("free text %s AND EventID:%s: got %d, want %d", id, id, got, want)
		}
	}
	// Facets show names as Windows wrote them ("Security", not
	// "security"), with evtxexport's counts.
	var fa struct {
		Facets map[string][]struct {
			Value string `json:"value"`
			Count int    `json:"count"`
		} `json:"facets"`
	}
	if st, raw := r.call(t, "GET", "/api/cases/"+itoa(c.ID)+"/search?size=1", nil, &fa); st != http.StatusOK {
		t.Fatalf("facets: got %d %s", st, raw)
	}
	for f, want := range byFacet {
		got := map[string]int{}
		for _, v := range fa.Facets[f] {
			got[v.Value] = v.Count
		}
		if !maps.Equal(got, want) {
			t.Errorf("facet %s: got %v, want %v (evtxexport)", f, got, want)
		}
	}
	for n, want := range names {
		if got := count(`"` + n + `"`); got < uint64(want) {
			t.Errorf("free text %q (a System name): got %d, want at least %d", n, got, want)
		}
	}
}

// TestFileByName: file: takes a file's name or a glob as well as its ID;
// the fixture holds 7 records (testdata/SOURCES.md).
func TestFileByName(t *testing.T) {
	r, c := ingested(t)
	var files []struct {
		ID uint64 `json:"id"`
	}
	r.call(t, "GET", "/api/cases/"+itoa(c.ID)+"/files", nil, &files)
	if len(files) != 1 {
		t.Fatalf("files: got %d, want 1", len(files))
	}
	for _, tc := range []struct {
		q    string
		want uint64
	}{
		{"file:" + itoa(files[0].ID), 7},
		{"file:Security_short_selected.evtx", 7},
		{`file:"security_SHORT_selected.evtx"`, 7},
		{"file:Security*", 7},
		{"file:*.evtx", 7},
		{"file:*.json", 0},
		{"file:Security* EventID:4625", 1},
	} {
		var a searchAnswer
		if st, raw := r.call(t, "GET", "/api/cases/"+itoa(c.ID)+"/search?strict=1&q="+url.QueryEscape(tc.q), nil, &a); st != http.StatusOK {
			t.Fatalf("%s: got %d %s", tc.q, st, raw)
		}
		if a.Total != tc.want {
			t.Errorf("%s: got %d events, want %d", tc.q, a.Total, tc.want)
		}
	}
}
