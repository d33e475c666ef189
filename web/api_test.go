package web_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"casescope/engine"
	"casescope/evtx"
	"casescope/internal/corpus"
	"casescope/store"
	"casescope/web"
)

// uploadAnswer mirrors the upload response.
type uploadAnswer struct {
	Files []struct {
		Name       string   `json:"name"`
		FileIDs    []uint64 `json:"file_ids"`
		Queued     int      `json:"queued"`
		Rejected   int      `json:"rejected"`
		Duplicates int      `json:"duplicates"`
		Skipped    []struct {
			FileID uint64 `json:"file_id"`
			State  string `json:"state"`
			Reason string `json:"reason"`
		} `json:"skipped"`
	} `json:"files"`
}

type searchAnswer struct {
	Total uint64             `json:"total"`
	Hits  []engine.EventView `json:"hits"`
	Next  string             `json:"next"`
	Query string             `json:"query"`
	From  time.Time          `json:"from"`
}

func decodeUpload(t *testing.T, raw string) uploadAnswer {
	t.Helper()
	var a uploadAnswer
	if err := jsonUnmarshal(raw, &a); err != nil {
		t.Fatalf("upload answer %q: %v", raw, err)
	}
	return a
}

// ingested returns a rig with a case holding the Security fixture,
// processed.
func ingested(t *testing.T) (*rig, store.Case) {
	t.Helper()
	r := newRig(t, rigOptions{})
	c := r.createCase(t, "fixture")
	st, raw := r.upload(t, c.ID, uploadFile{"Security_short_selected.evtx", fixture(t, "Security_short_selected.evtx")})
	if st != http.StatusOK {
		t.Fatalf("upload: got %d %s, want 200", st, raw)
	}
	r.waitIdle(t)
	return r, c
}

func TestUploadCompletesAndSearches(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.createCase(t, "upload")
	st, raw := r.upload(t, c.ID, uploadFile{"logs/Security_short_selected.evtx", fixture(t, "Security_short_selected.evtx")})
	if st != http.StatusOK {
		t.Fatalf("upload: got %d %s, want 200", st, raw)
	}
	a := decodeUpload(t, raw)
	if len(a.Files) != 1 || a.Files[0].Queued != 1 || len(a.Files[0].Skipped) != 0 {
		t.Fatalf("upload answer: got %+v, want one queued file", a)
	}
	r.waitIdle(t)

	var files []store.File
	r.call(t, "GET", "/api/cases/upload/files", nil, &files)
	if len(files) != 1 {
		t.Fatalf("files: got %d, want 1", len(files))
	}
	f := files[0]
	if f.State != store.StateCompleted || f.Events == 0 {
		t.Fatalf("file: got state %q events %d (%s), want completed with events", f.State, f.Events, f.Error)
	}
	if f.Name != "logs/Security_short_selected.evtx" {
		t.Errorf("file name: got %q, want the relative name as uploaded", f.Name)
	}

	var all searchAnswer
	if st, raw := r.call(t, "GET", "/api/cases/upload/search?size=1000", nil, &all); st != http.StatusOK {
		t.Fatalf("search: got %d %s", st, raw)
	}
	if all.Total != uint64(f.Events) || len(all.Hits) != int(f.Events) {
		t.Fatalf("search all: got total %d, %d hits; want %d (the file's events)", all.Total, len(all.Hits), f.Events)
	}
	for i := 1; i < len(all.Hits); i++ {
		if all.Hits[i].Event.TimeCreated.After(all.Hits[i-1].Event.TimeCreated) {
			t.Fatalf("results not newest first at %d: %s after %s", i, all.Hits[i].Event.TimeCreated, all.Hits[i-1].Event.TimeCreated)
		}
	}
	var ev engine.EventView
	id := all.Hits[0].ID
	if st, raw := r.call(t, "GET", "/api/cases/upload/events/"+url.PathEscape(id), nil, &ev); st != http.StatusOK {
		t.Fatalf("event: got %d %s", st, raw)
	}
	if ev.Event == nil || ev.Event.RecordID != all.Hits[0].Event.RecordID || ev.FileName != f.Name {
		t.Fatalf("event: got %+v, want record %d of %s", ev, all.Hits[0].Event.RecordID, f.Name)
	}
	// "View XML": the record as Event Viewer's XML, as JSON (never as an
	// XML document a browser would render). Readers that render no XML
	// answer 404 with the reason.
	var x struct {
		ID  string `json:"id"`
		XML string `json:"xml"`
	}
	st, raw = r.call(t, "GET", "/api/cases/upload/events/"+url.PathEscape(id)+"/xml", nil, &x)
	evs, err := evtx.ReadChunkXML(f.Path, ev.Event.ChunkOffset/evtx.ChunkSize)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case len(evs) > 0 && evs[0].XML != "":
		wantRec := "<EventRecordID>" + strconv.FormatUint(ev.Event.RecordID, 10) + "</EventRecordID>"
		if st != http.StatusOK || x.ID != id || !strings.Contains(x.XML, wantRec) {
			t.Errorf("event xml: %d %q, want 200 with %s", st, x.XML, wantRec)
		}
	case st != http.StatusNotFound || !strings.Contains(raw, "no XML rendering"):
		t.Errorf("event xml from a reader without XML: %d %s, want 404", st, raw)
	}
	if st, raw := r.call(t, "GET", "/api/cases/upload/events/1-0-o999999/xml", nil, nil); st != http.StatusNotFound {
		t.Errorf("unknown event xml: %d %s, want 404", st, raw)
	}

	var cs struct {
		Events      int64     `json:"events"`
		Files       int       `json:"files"`
		LatestEvent time.Time `json:"latest_event"`
	}
	r.call(t, "GET", "/api/cases/"+itoa(c.ID), nil, &cs)
	if cs.Events != f.Events || cs.Files != 1 || !cs.LatestEvent.Equal(all.Hits[0].Event.TimeCreated) {
		t.Errorf("case stats: got %+v, want %d events, 1 file, latest %s", cs, f.Events, all.Hits[0].Event.TimeCreated)
	}
}

func TestUploadPaging(t *testing.T) {
	r, c := ingested(t)
	var all searchAnswer
	r.call(t, "GET", "/api/cases/"+itoa(c.ID)+"/search?size=1000", nil, &all)
	seen := map[string]bool{}
	cursor := ""
	for page := 0; page < 1000; page++ {
		var p searchAnswer
		path := "/api/cases/" + itoa(c.ID) + "/search?size=3&facets=0"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if st, raw := r.call(t, "GET", path, nil, &p); st != http.StatusOK {
			t.Fatalf("page %d: got %d %s", page, st, raw)
		}
		for _, h := range p.Hits {
			if seen[h.ID] {
				t.Fatalf("event %s on two pages", h.ID)
			}
			seen[h.ID] = true
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if len(seen) != len(all.Hits) {
		t.Fatalf("paging visited %d events, want %d", len(seen), len(all.Hits))
	}
}

func TestUploadRefusals(t *testing.T) {
	evtxBytes := fixture(t, "Security_short_selected.evtx")
	tests := []struct {
		name       string
		limit      int64
		files      []uploadFile
		wantStatus int
		wantState  string // state of the last file's skipped entry; "" = none
		wantReason string
	}{
		{"not evtx", 0, []uploadFile{{"notes.txt", []byte("this is not an event log\n")}}, http.StatusOK, store.StateFailed, "not an EVTX"},
		{"duplicate", 0, []uploadFile{{"a.evtx", evtxBytes}, {"copy of a.evtx", evtxBytes}}, http.StatusOK, store.StateDuplicate, "duplicate of file"},
		{"too large", 4096, []uploadFile{{"big.evtx", evtxBytes}}, http.StatusRequestEntityTooLarge, "", "upload limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, rigOptions{web: web.Config{MaxUploadBytes: tc.limit}})
			c := r.createCase(t, "refusals")
			st, raw := r.upload(t, c.ID, tc.files...)
			if st != tc.wantStatus {
				t.Fatalf("status: got %d %s, want %d", st, raw, tc.wantStatus)
			}
			if tc.wantState == "" {
				if msg := errorOf(t, raw); !strings.Contains(msg, tc.wantReason) {
					t.Fatalf("error: got %q, want it to mention %q", msg, tc.wantReason)
				}
				return
			}
			a := decodeUpload(t, raw)
			last := a.Files[len(a.Files)-1]
			if len(last.Skipped) != 1 {
				t.Fatalf("skipped: got %+v, want one entry", last.Skipped)
			}
			if got := last.Skipped[0]; got.State != tc.wantState || !strings.Contains(got.Reason, tc.wantReason) {
				t.Fatalf("skipped: got %+v, want state %q and a reason mentioning %q", got, tc.wantState, tc.wantReason)
			}
		})
	}
}

func TestUploadBadRequests(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.createCase(t, "bad")
	// A multipart body with no file part.
	st, raw := r.upload(t, c.ID)
	if st != http.StatusBadRequest || !strings.Contains(errorOf(t, raw), "no file parts") {
		t.Errorf("empty multipart: got %d %s, want 400 naming the problem", st, raw)
	}
	st, raw = r.call(t, "POST", "/api/cases/"+itoa(c.ID)+"/upload", map[string]string{"x": "y"}, nil)
	if st != http.StatusBadRequest || !strings.Contains(errorOf(t, raw), "multipart") {
		t.Errorf("JSON body: got %d %s, want 400 asking for multipart", st, raw)
	}
	st, _ = r.upload(t, 999, uploadFile{"a.evtx", []byte("x")})
	if st != http.StatusNotFound {
		t.Errorf("unknown case: got %d, want 404", st)
	}
}

func TestSearchRequests(t *testing.T) {
	r, c := ingested(t)
	base := "/api/cases/" + itoa(c.ID) + "/search?"
	tests := []struct {
		name       string
		params     string
		wantStatus int
		wantError  string
	}{
		{"all", "", http.StatusOK, ""},
		{"malformed query", "q=" + url.QueryEscape("EventID:(4624"), http.StatusBadRequest, "column"},
		{"unknown field strict", "strict=1&q=" + url.QueryEscape("Foo:bar"), http.StatusBadRequest, `unknown field "Foo"`},
		{"misspelt field strict", "strict=1&q=" + url.QueryEscape("TargetUserNme:x"), http.StatusBadRequest, `did you mean "TargetUserName"`},
		{"unknown field lenient", "q=" + url.QueryEscape("Foo:bar"), http.StatusOK, ""},
		{"size zero", "size=0", http.StatusBadRequest, "size"},
		{"bad from", "from=yesterday", http.StatusBadRequest, "RFC 3339"},
		{"bad last", "last=soon", http.StatusBadRequest, "last must be"},
		{"bad cursor", "cursor=%21%21", http.StatusBadRequest, "cursor"},
		{"bad event id", "event_id=abc", http.StatusBadRequest, "event_id"},
		{"bad sigma level", "sigma_level=extreme", http.StatusBadRequest, "sigma_level"},
		{"filter quoting", "channel=" + url.QueryEscape(`a") OR (*`), http.StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, raw := r.call(t, "GET", base+tc.params, nil, nil)
			if st != tc.wantStatus {
				t.Fatalf("status: got %d %s, want %d", st, raw, tc.wantStatus)
			}
			if tc.wantError != "" {
				if msg := errorOf(t, raw); !strings.Contains(msg, tc.wantError) {
					t.Fatalf("error: got %q, want it to contain %q", msg, tc.wantError)
				}
			}
		})
	}
	if st, _ := r.call(t, "GET", "/api/cases/nosuchcase/search", nil, nil); st != http.StatusNotFound {
		t.Errorf("unknown case: got %d, want 404", st)
	}
}

func TestSearchFilters(t *testing.T) {
	r, c := ingested(t)
	base := "/api/cases/" + itoa(c.ID) + "/search?size=1000&"
	var all searchAnswer
	r.call(t, "GET", base, nil, &all)
	if len(all.Hits) == 0 {
		t.Fatal("no events")
	}
	// Expected counts come from the events themselves, not the index.
	byID := map[uint32]int{}
	byChannel := map[string]int{}
	byComputer := map[string]int{}
	latest := all.Hits[0].Event.TimeCreated
	recent := 0
	for _, h := range all.Hits {
		byID[h.Event.EventID]++
		byChannel[h.Event.Channel]++
		byComputer[h.Event.Computer]++
		if !h.Event.TimeCreated.Before(latest.Add(-time.Hour)) {
			recent++
		}
	}
	var someID uint32
	for id := range byID {
		someID = id
		break
	}
	ch, comp := all.Hits[0].Event.Channel, all.Hits[0].Event.Computer
	tests := []struct {
		name   string
		params string
		want   int
	}{
		{"event id", "event_id=" + itoa(uint64(someID)), byID[someID]},
		{"channel", "channel=" + url.QueryEscape(ch), byChannel[ch]},
		{"computer", "computer=" + url.QueryEscape(comp), byComputer[comp]},
		{"channel and event id", "channel=" + url.QueryEscape(ch) + "&event_id=" + itoa(uint64(someID)) + ",1", countWhere(all.Hits, func(v engine.EventView) bool {
			return v.Event.Channel == ch && (v.Event.EventID == someID || v.Event.EventID == 1)
		})},
		{"last hour", "last=1h", recent},
		{"no sigma without rules", "sigma_level=any", 0},
		{"no ioc without iocs", "ioc=1", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got searchAnswer
			if st, raw := r.call(t, "GET", base+tc.params, nil, &got); st != http.StatusOK {
				t.Fatalf("got %d %s", st, raw)
			}
			if int(got.Total) != tc.want {
				t.Fatalf("total: got %d, want %d (query %q)", got.Total, tc.want, got.Query)
			}
		})
	}
}

func countWhere(hits []engine.EventView, fn func(engine.EventView) bool) int {
	n := 0
	for _, h := range hits {
		if fn(h) {
			n++
		}
	}
	return n
}

func TestCases(t *testing.T) {
	r := newRig(t, rigOptions{})
	tests := []struct {
		name       string
		body       any
		wantStatus int
		wantError  string
	}{
		{"create", map[string]string{"name": "IR-1", "description": "first"}, http.StatusCreated, ""},
		{"duplicate name", map[string]string{"name": "ir-1"}, http.StatusConflict, "already exists"},
		{"empty name", map[string]string{"name": "  "}, http.StatusBadRequest, "case name"},
		{"unknown field", map[string]string{"nmae": "x"}, http.StatusBadRequest, "nmae"},
		{"not an object", []int{1}, http.StatusBadRequest, "JSON"},
		{"huge body", map[string]string{"name": "x", "description": strings.Repeat("a", 70_000)}, http.StatusRequestEntityTooLarge, "larger than"},
		{"long description", map[string]string{"name": "y", "description": strings.Repeat("a", 5000)}, http.StatusBadRequest, "description"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, raw := r.call(t, "POST", "/api/cases", tc.body, nil)
			if st != tc.wantStatus {
				t.Fatalf("status: got %d %s, want %d", st, raw, tc.wantStatus)
			}
			if tc.wantError != "" && !strings.Contains(errorOf(t, raw), tc.wantError) {
				t.Fatalf("error: got %s, want it to contain %q", raw, tc.wantError)
			}
		})
	}
	var list []engine.CaseStats
	r.call(t, "GET", "/api/cases", nil, &list)
	if len(list) != 1 || list[0].Name != "IR-1" || list[0].Description != "first" || list[0].SigmaByLevel == nil {
		t.Fatalf("cases: got %+v, want IR-1 with counts", list)
	}
	for _, ref := range []string{itoa(list[0].ID), "IR-1"} {
		var one engine.CaseStats
		if st, raw := r.call(t, "GET", "/api/cases/"+url.PathEscape(ref), nil, &one); st != http.StatusOK || one.ID != list[0].ID {
			t.Errorf("case %q: got %d %s, want case %d", ref, st, raw, list[0].ID)
		}
	}
	if st, _ := r.call(t, "GET", "/api/cases/42", nil, nil); st != http.StatusNotFound {
		t.Errorf("unknown case: got %d, want 404", st)
	}
}

func TestFileActions(t *testing.T) {
	r, c := ingested(t)
	base := "/api/cases/" + itoa(c.ID) + "/files"
	var files []store.File
	r.call(t, "GET", base, nil, &files)
	id := itoa(files[0].ID)

	var f store.File
	if st, raw := r.call(t, "POST", base+"/"+id+"/hide", nil, &f); st != http.StatusOK || !f.Hidden {
		t.Fatalf("hide: got %d %s", st, raw)
	}
	var visible []store.File
	r.call(t, "GET", base+"?hidden=0", nil, &visible)
	if len(visible) != 0 {
		t.Errorf("hidden=0: got %d files, want 0", len(visible))
	}
	if st, raw := r.call(t, "POST", base+"/"+id+"/unhide", nil, &f); st != http.StatusOK || f.Hidden {
		t.Fatalf("unhide: got %d %s", st, raw)
	}
	if st, raw := r.call(t, "POST", base+"/"+id+"/requeue", nil, &f); st != http.StatusOK || f.State != store.StateQueued {
		t.Fatalf("requeue: got %d %s, want the file queued", st, raw)
	}
	r.waitIdle(t)
	if st, raw := r.call(t, "DELETE", base+"/"+id, nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete: got %d %s, want 204", st, raw)
	}
	r.call(t, "GET", base, nil, &files)
	if len(files) != 0 {
		t.Errorf("after delete: got %d files, want 0", len(files))
	}
	var res searchAnswer
	r.call(t, "GET", "/api/cases/"+itoa(c.ID)+"/search", nil, &res)
	if res.Total != 0 {
		t.Errorf("after delete: search found %d events, want 0", res.Total)
	}
	tests := []struct {
		name, method, path string
		want               int
	}{
		{"delete again", "DELETE", base + "/" + id, http.StatusNotFound},
		{"hide unknown", "POST", base + "/99/hide", http.StatusNotFound},
		{"bad id", "POST", base + "/x/requeue", http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if st, raw := r.call(t, tc.method, tc.path, nil, nil); st != tc.want {
				t.Fatalf("got %d %s, want %d", st, raw, tc.want)
			}
		})
	}
}

func TestImportFolder(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.createCase(t, "import")
	dir := filepath.Join(corpus.RepoRoot(t), "testdata")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantEVTX := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".evtx") {
			wantEVTX++
		}
	}
	path := "/api/cases/" + itoa(c.ID) + "/import"
	tests := []struct {
		name       string
		body       any
		wantStatus int
		wantError  string
	}{
		{"relative", map[string]string{"path": "testdata"}, http.StatusBadRequest, "not absolute"},
		{"missing", map[string]string{"path": filepath.Join(t.TempDir(), "nope")}, http.StatusBadRequest, "no such file"},
		{"none", map[string]string{}, http.StatusBadRequest, "path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, raw := r.call(t, "POST", path, tc.body, nil)
			if st != tc.wantStatus || !strings.Contains(errorOf(t, raw), tc.wantError) {
				t.Fatalf("got %d %s, want %d mentioning %q", st, raw, tc.wantStatus, tc.wantError)
			}
		})
	}
	var res struct {
		engine.ImportResult
		Skipped []struct {
			Name   string `json:"name"`
			Reason string `json:"reason"`
		} `json:"skipped"`
	}
	if st, raw := r.call(t, "POST", path, map[string]string{"path": dir}, &res); st != http.StatusOK {
		t.Fatalf("import: got %d %s", st, raw)
	}
	if res.Queued+res.Dupes != wantEVTX || res.Rejected == 0 || len(res.Skipped) < res.Rejected {
		t.Fatalf("import: got %+v, want %d EVTX queued and the other files rejected with reasons", res, wantEVTX)
	}
	for _, s := range res.Skipped {
		if s.Reason == "" {
			t.Errorf("skipped %s without a reason", s.Name)
		}
	}
	r.waitIdle(t)
}

func TestIOCs(t *testing.T) {
	r, c := ingested(t)
	base := "/api/cases/" + itoa(c.ID) + "/iocs"
	var add struct {
		IOCs []store.IOC `json:"iocs"`
		Job  engine.Job  `json:"job"`
	}
	body := map[string]any{"iocs": []map[string]string{
		{"type": "ip", "value": "10.0.0.5", "description": "c2"},
		{"value": "evil.example.com"},
	}}
	if st, raw := r.call(t, "POST", base, body, &add); st != http.StatusCreated {
		t.Fatalf("add: got %d %s", st, raw)
	}
	if len(add.IOCs) != 2 || add.IOCs[1].Type != "domain" || add.Job.ID == 0 {
		t.Fatalf("add: got %+v, want two IOCs (second detected as domain) and a job", add)
	}
	if st, raw := r.call(t, "POST", base, map[string]string{"text": "# list\nhxxp://bad[.]example/x\nmimikatz.exe\n"}, &add); st != http.StatusCreated || len(add.IOCs) != 2 {
		t.Fatalf("bulk text: got %d %s", st, raw)
	}
	if st, raw := r.call(t, "POST", base, map[string]string{"text": "type,value,description\nsha256," + strings.Repeat("ab", 32) + ",hash\n", "format": "csv"}, &add); st != http.StatusCreated || len(add.IOCs) != 1 {
		t.Fatalf("csv: got %d %s", st, raw)
	}
	refusals := []struct {
		name string
		body any
		want string
	}{
		{"bad ip", map[string]any{"iocs": []map[string]string{{"type": "ip", "value": "999.1.1.1"}}}, "ip"},
		{"bad type", map[string]any{"iocs": []map[string]string{{"type": "planet", "value": "x"}}}, "planet"},
		{"bad format", map[string]string{"text": "x", "format": "xml"}, "format"},
		{"empty", map[string]string{}, "no IOCs"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			st, raw := r.call(t, "POST", base, tc.body, nil)
			if st != http.StatusBadRequest || !strings.Contains(errorOf(t, raw), tc.want) {
				t.Fatalf("got %d %s, want 400 mentioning %q", st, raw, tc.want)
			}
		})
	}
	var list []engine.IOCView
	r.call(t, "GET", base, nil, &list)
	if len(list) != 5 {
		t.Fatalf("list: got %d IOCs, want 5", len(list))
	}
	id := itoa(list[0].ID)
	var upd struct {
		IOC store.IOC  `json:"ioc"`
		Job engine.Job `json:"job"`
	}
	if st, raw := r.call(t, "PATCH", base+"/"+id, map[string]bool{"enabled": false}, &upd); st != http.StatusOK || upd.IOC.Enabled {
		t.Fatalf("disable: got %d %s", st, raw)
	}
	if st, raw := r.call(t, "PATCH", base+"/"+id, map[string]string{"value": "not an ip"}, nil); st != http.StatusBadRequest {
		t.Fatalf("bad edit: got %d %s, want 400", st, raw)
	}
	var job engine.Job
	if st, raw := r.call(t, "GET", "/api/jobs/"+itoa(upd.Job.ID), nil, &job); st != http.StatusOK || job.ID != upd.Job.ID {
		t.Fatalf("job: got %d %s", st, raw)
	}
	if st, raw := r.call(t, "DELETE", base+"/"+id, nil, nil); st != http.StatusOK {
		t.Fatalf("delete: got %d %s", st, raw)
	}
	if st, _ := r.call(t, "DELETE", base+"/"+id, nil, nil); st != http.StatusNotFound {
		t.Errorf("delete again: got %d, want 404", st)
	}
	if st, _ := r.call(t, "GET", "/api/jobs/99999", nil, nil); st != http.StatusNotFound {
		t.Errorf("unknown job: got %d, want 404", st)
	}
}

func TestTagEvent(t *testing.T) {
	r, c := ingested(t)
	base := "/api/cases/" + itoa(c.ID)
	var all searchAnswer
	r.call(t, "GET", base+"/search?size=5", nil, &all)
	id := url.PathEscape(all.Hits[1].ID)
	var tag store.Tag
	if st, raw := r.call(t, "PUT", base+"/events/"+id+"/tag", map[string]any{"starred": true, "tags": []string{"Lateral-Movement"}, "note": "check this"}, &tag); st != http.StatusOK {
		t.Fatalf("tag: got %d %s", st, raw)
	}
	if !tag.Starred || len(tag.Tags) != 1 || tag.Tags[0] != "lateral-movement" {
		t.Fatalf("tag: got %+v, want starred with the normalised tag", tag)
	}
	var ev engine.EventView
	r.call(t, "GET", base+"/events/"+id, nil, &ev)
	// The note a client sends becomes the first comment of the thread,
	// by the caller.
	if ev.Tag == nil || ev.Tag.Note != "" || len(ev.Comments) != 1 || ev.Comments[0].Text != "check this" || ev.Comments[0].Author != "admin" {
		t.Fatalf("event tag and comments: got %+v %+v, want the note as admin's comment", ev.Tag, ev.Comments)
	}
	var starred searchAnswer
	r.call(t, "GET", base+"/search?tag=starred", nil, &starred)
	if starred.Total != 1 || starred.Hits[0].ID != all.Hits[1].ID {
		t.Fatalf("starred search: got %d hits, want the tagged event", starred.Total)
	}
	tests := []struct {
		name string
		path string
		body any
		want int
	}{
		{"bad tag", base + "/events/" + id + "/tag", map[string]any{"tags": []string{"<b>x</b>"}}, http.StatusBadRequest},
		{"unknown event", base + "/events/1-0-999999/tag", map[string]any{"starred": true}, http.StatusNotFound},
		{"malformed id", base + "/events/zzz/tag", map[string]any{"starred": true}, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if st, raw := r.call(t, "PUT", tc.path, tc.body, nil); st != tc.want {
				t.Fatalf("got %d %s, want %d", st, raw, tc.want)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	r := newRig(t, rigOptions{})
	for _, p := range []string{"/", "/static/app.css", "/static/js/main.js", "/favicon.ico", "/api/cases", "/api/system", "/api/nope", "/nope"} {
		t.Run(p, func(t *testing.T) {
			res, err := r.srv.Client().Get(r.srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			csp := res.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP: got %q, want it to contain %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP allows inline code: %q", csp)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
			}
			if got := res.Header.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options: got %q, want DENY", got)
			}
		})
	}
	res, err := r.srv.Client().Get(r.srv.URL + "/static/js/main.js")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("main.js content type: got %q, want JavaScript (module scripts need it)", ct)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	r := newRig(t, rigOptions{})
	tests := []struct {
		name   string
		header string
		value  string
		want   int
	}{
		{"cross-site fetch", "Sec-Fetch-Site", "cross-site", http.StatusForbidden},
		{"foreign origin", "Origin", "http://evil.example", http.StatusForbidden},
		{"same origin", "Sec-Fetch-Site", "same-origin", http.StatusCreated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), "POST", r.srv.URL+"/api/cases", strings.NewReader(`{"name":"`+tc.name+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(tc.header, tc.value)
			r.authorize(req, store.RoleAnalyst)
			res, err := r.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("got %d, want %d", res.StatusCode, tc.want)
			}
		})
	}
}

func TestSystem(t *testing.T) {
	r := newRig(t, rigOptions{web: web.Config{Version: "v-test"}})
	var sys struct {
		Version        string   `json:"version"`
		MaxUploadBytes int64    `json:"max_upload_bytes"`
		IOCTypes       []string `json:"ioc_types"`
		MaxWorkers     int      `json:"max_workers"`
		Jobs           []any    `json:"jobs"`
	}
	if st, raw := r.call(t, "GET", "/api/system", nil, &sys); st != http.StatusOK {
		t.Fatalf("got %d %s", st, raw)
	}
	if sys.Version != "v-test" || sys.MaxUploadBytes != web.DefaultMaxUploadBytes || len(sys.IOCTypes) == 0 || sys.MaxWorkers == 0 || sys.Jobs == nil {
		t.Fatalf("system: got %+v", sys)
	}
}

// TestCaseLists: the per-case lists are JSON arrays, [] for a case with
// nothing yet, and an unknown case is a 404.
func TestCaseLists(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.createCase(t, "empty")
	for _, p := range []string{"sigma", "iocs"} {
		st, raw := r.call(t, "GET", "/api/cases/"+itoa(c.ID)+"/"+p, nil, nil)
		if st != http.StatusOK || strings.TrimSpace(raw) != "[]" {
			t.Errorf("%s of an empty case: %d %s, want 200 []", p, st, raw)
		}
		if st, raw := r.call(t, "GET", "/api/cases/999/"+p, nil, nil); st != http.StatusNotFound {
			t.Errorf("%s of an unknown case: %d %s, want 404", p, st, raw)
		}
	}
}
