package web_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"casescope/engine"
	"casescope/store"
	"casescope/web"
)

// searchCase makes a case holding Security_short_selected.evtx and
// returns the search URL path prefix.
func searchCase(t *testing.T, r *rig) string {
	t.Helper()
	c := r.createCase(t, "bounds")
	if st, raw := r.upload(t, c.ID, uploadFile{"Security_short_selected.evtx", fixture(t, "Security_short_selected.evtx")}); st != http.StatusOK {
		t.Fatalf("upload: %d %s", st, raw)
	}
	r.waitIdle(t)
	return "/api/cases/" + itoa(c.ID) + "/search?"
}

// TestSearchRefusesCostlyQueries sends the inputs as a read-only
// user: each is a 400 with the reason, not a 500 or a long search.
func TestSearchRefusesCostlyQueries(t *testing.T) {
	r := newRig(t, rigOptions{})
	base := searchCase(t, r)
	tests := []struct {
		name   string
		params url.Values
		reason string
	}{
		{"300 star-a terms", url.Values{"q": {strings.Repeat("*a", 300) + "*"}}, "too many wildcards in one term (301"},
		{"1000 question marks", url.Values{"q": {strings.Repeat("?", 1000)}}, "too many wildcards in one term (1000"},
		{"reversed range", url.Values{"from": {"9999-12-31T00:00:00Z"}, "to": {"0001-01-01T00:00:00Z"}}, "must be before to"},
		{"reversed ordinary range", url.Values{"from": {"2020-01-02T00:00:00Z"}, "to": {"2020-01-01T00:00:00Z"}}, "must be before to"},
		{"regexp state explosion", url.Values{"q": {"CommandLine:/(a|b)*a(a|b){20}/"}}, "dfa contains more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The search, and the export of the same events.
			for _, path := range []string{base, strings.TrimSuffix(base, "search?") + "export?format=csv&"} {
				st, raw := r.callAs(t, store.RoleReadOnly, "GET", path+tc.params.Encode(), nil, nil)
				if st != http.StatusBadRequest {
					t.Fatalf("%s: got %d %s, want 400", path, st, raw)
				}
				if got := errorOf(t, raw); !strings.Contains(got, tc.reason) {
					t.Errorf("%s: reason %q, want it to contain %q", path, got, tc.reason)
				}
			}
		})
	}
}

// TestSearchNastyInputsNever500 runs hostile queries and parameters; every
// answer is a 200 or a 4xx with a reason.
func TestSearchNastyInputsNever500(t *testing.T) {
	r := newRig(t, rigOptions{})
	base := searchCase(t, r)
	nasty := []url.Values{
		{"q": {strings.Repeat("*a", 300) + "*"}},
		{"q": {strings.Repeat("?", 1000)}},
		{"q": {strings.Repeat("*ab* ", 40)}},
		{"q": {"CommandLine:" + strings.Repeat("?", 9)}},
		{"q": {"*a*b*c*d*e*f*g*h*"}},
		{"q": {"computer:????????"}},
		{"q": {"/.*/"}},
		{"q": {"/" + strings.Repeat("(a|b)*", 50) + "/"}},
		{"q": {"CommandLine:/" + strings.Repeat("a{1,100}", 20) + "/"}},
		{"q": {"CommandLine:/\\p{L}{500}/"}},
		{"q": {"time:[0001-01-01 TO 9999-12-31]"}},
		{"q": {"time:[9999-12-31 TO 0001-01-01]"}},
		{"q": {"time:>now+99999999w"}},
		{"q": {"EventID:[1e308 TO 1e309]"}},
		{"q": {"EventID:[-1e400 TO NaN]"}},
		{"q": {"record_id:>=18446744073709551616"}},
		{"q": {strings.Repeat("(", 5000)}},
		{"q": {strings.Repeat("NOT ", 5000) + "a"}},
		{"q": {"\x00\x01\x02"}},
		{"q": {"\xff\xfe"}},
		{"q": {"tag:" + strings.Repeat("x", 10000)}},
		{"q": {"x", "y"}},
		{"from": {"0001-01-01T00:00:00Z"}},
		{"to": {"9999-12-31T23:59:59Z"}},
		{"from": {"9999-12-31T00:00:00Z"}},
		{"to": {"0001-01-01T00:00:01Z"}},
		{"from": {"1000-01-01T00:00:00Z"}, "to": {"9000-01-01T00:00:00Z"}},
		{"from": {"not a time"}},
		{"last": {"99999999d"}},
		{"last": {"-1h"}},
		{"size": {"0"}},
		{"size": {"99999999999999999999"}},
		{"cursor": {"!!!"}},
		{"cursor": {"WyJ4Il0"}},
		{"event_id": {"1,2,x"}},
		{"sigma_level": {"extreme"}},
		{"channel": {`") OR *:* OR ("`}},
		{"sort": {"asc"}, "q": {"*"}, "histogram": {"1"}},
	}
	for _, p := range nasty {
		st, raw := r.callAs(t, store.RoleReadOnly, "GET", base+p.Encode(), nil, nil)
		if st >= 500 {
			t.Errorf("%s: got %d %s, want no 5xx", p.Encode(), st, raw)
			continue
		}
		if st != http.StatusOK && errorOf(t, raw) == "" {
			t.Errorf("%s: got %d with no reason", p.Encode(), st)
		}
	}
}

// blockingEngine is the real engine whose Search first waits for its
// context to end (a search that would run forever), then runs the real
// search with that context and reports how it ended.
type blockingEngine struct {
	*engine.Engine
	started chan struct{}
	ended   chan error
}

func (b *blockingEngine) Search(ctx context.Context, caseID uint64, req store.SearchRequest) (engine.SearchPage, error) {
	b.started <- struct{}{}
	<-ctx.Done()
	p, err := b.Engine.Search(ctx, caseID, req)
	b.ended <- err
	return p, err
}

// blockingServer serves r's ledger with a blockingEngine.
func blockingServer(t *testing.T, r *rig, cfg web.Config) (*httptest.Server, *web.Server, *blockingEngine) {
	t.Helper()
	be := &blockingEngine{Engine: r.eng, started: make(chan struct{}, 1), ended: make(chan error, 1)}
	ws := web.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), r.ledger, be)
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(srv.Close)
	return srv, ws, be
}

// TestSearchStopsWhenClientLeaves: the request's context reaches the
// engine, and the search (the real Bleve search included) ends once the
// client disconnects.
func TestSearchStopsWhenClientLeaves(t *testing.T) {
	r := newRig(t, rigOptions{})
	base := searchCase(t, r)
	srv, ws, be := blockingServer(t, r, web.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+base+"q=*lsass*", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.authorize(req, store.RoleReadOnly)
	done := make(chan error, 1)
	go func() {
		res, err := srv.Client().Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	select {
	case <-be.started:
	case err := <-done:
		t.Fatalf("the request ended (%v) before the search started", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the search did not start within 30 s")
	}
	if n := ws.SearchesRunning(); n != 1 {
		t.Fatalf("searches running = %d, want 1", n)
	}
	cancel() // the client goes away mid-search
	if err := <-done; err == nil {
		t.Fatal("the request succeeded; want it cut off")
	}
	select {
	case err := <-be.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("search ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the search did not end within 10 s of the client leaving")
	}
	deadline := time.Now().Add(10 * time.Second)
	for ws.SearchesRunning() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("searches running = %d 10 s after the client left, want 0", ws.SearchesRunning())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSearchTimeout: a search still running at Config.SearchTimeout is
// stopped and answered 400 with the reason.
func TestSearchTimeout(t *testing.T) {
	r := newRig(t, rigOptions{})
	base := searchCase(t, r)
	srv, _, be := blockingServer(t, r, web.Config{SearchTimeout: 50 * time.Millisecond})
	req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+base+"q=*lsass*", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.authorize(req, store.RoleReadOnly)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(errorOf(t, string(raw)), "search stopped after 50ms") {
		t.Fatalf("got %d %s, want 400 naming the timeout", res.StatusCode, raw)
	}
	if err := <-be.ended; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("search ended with %v, want context.DeadlineExceeded", err)
	}
}

// TestBulkTagJobAPI: tagging by query answers 202 with a job at once; the
// job, followed at /api/jobs/{id}, tags every match.
func TestBulkTagJobAPI(t *testing.T) {
	r := newRig(t, rigOptions{})
	base := searchCase(t, r)
	caseID := strings.TrimSuffix(strings.TrimPrefix(base, "/api/cases/"), "/search?")
	var all struct {
		Total uint64 `json:"total"`
	}
	if st, raw := r.call(t, "GET", base+"q=*&size=1", nil, &all); st != http.StatusOK || all.Total == 0 {
		t.Fatalf("search: %d %s", st, raw)
	}
	var j engine.Job
	st, raw := r.callAs(t, store.RoleAnalyst, "POST", "/api/cases/"+caseID+"/tag-query",
		map[string]any{"query": "*", "tags": []string{"Sweep"}}, &j)
	if st != http.StatusAccepted || j.ID == 0 || j.Kind != engine.JobTag {
		t.Fatalf("tag-query: got %d %s, want 202 with a tag job", st, raw)
	}
	deadline := time.Now().Add(time.Minute)
	for j.State == "running" {
		if time.Now().After(deadline) {
			t.Fatalf("job still running after a minute: %+v", j)
		}
		time.Sleep(20 * time.Millisecond)
		if st, raw := r.callAs(t, store.RoleReadOnly, "GET", "/api/jobs/"+itoa(j.ID), nil, &j); st != http.StatusOK {
			t.Fatalf("job: %d %s", st, raw)
		}
	}
	if j.State != "done" || uint64(j.Changed) != all.Total || uint64(j.Matched) != all.Total {
		t.Fatalf("job %+v, want done with %d tagged", j, all.Total)
	}
	var tagged struct {
		Total uint64 `json:"total"`
	}
	if st, raw := r.call(t, "GET", base+"q=tag:sweep&size=1", nil, &tagged); st != http.StatusOK || tagged.Total != all.Total {
		t.Fatalf("tag:sweep: %d %s, want %d hits", st, raw, all.Total)
	}
	// Refused before a job starts: a read-only user, a bad query, no tag.
	if st, _ := r.callAs(t, store.RoleReadOnly, "POST", "/api/cases/"+caseID+"/tag-query", map[string]any{"query": "*", "tags": []string{"x"}}, nil); st != http.StatusForbidden {
		t.Errorf("read-only tag-query: got %d, want 403", st)
	}
	for _, body := range []map[string]any{
		{"query": strings.Repeat("*a", 300) + "*", "tags": []string{"x"}},
		{"query": "*", "tags": []string{}},
	} {
		if st, raw := r.callAs(t, store.RoleAnalyst, "POST", "/api/cases/"+caseID+"/tag-query", body, nil); st != http.StatusBadRequest {
			t.Errorf("tag-query %v: got %d %s, want 400", body, st, raw)
		}
	}
}
