package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"casescope/internal/corpus"
)

// apiClient is a logged-in session against a running serve.
type apiClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func login(t *testing.T, base, password string) *apiClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &apiClient{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	var sess struct {
		CSRF string `json:"csrf_token"`
	}
	c.do("POST", "/api/login", map[string]string{"name": "admin", "password": password}, &sess)
	c.csrf = sess.CSRF
	return c
}

// do sends a JSON request and decodes the JSON answer into out; any status
// but 2xx fails the test.
func (c *apiClient) do(method, path string, body, out any) {
	c.t.Helper()
	var rd bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rd).Encode(body); err != nil {
			c.t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, &rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		c.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b.String())
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			c.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
}

// TestBulkTagSIGKILL kills the real server with SIGKILL in the middle of a
// bulk tag job (after its second batch of 2,000 events reached the ledger
// and the index, before a checkpoint), starts it again and checks the job
// resumes by itself and ends with every event of the case tagged: the
// search total for the tag equals the case's total, which equals the
// independent record counts (libevtx, corpus.Expected).
func TestBulkTagSIGKILL(t *testing.T) {
	src := copyCorpus(t, map[string]string{
		"many-events-application.evtx": "a.evtx",
		"security.evtx":                "b.evtx",
		"system.evtx":                  "c.evtx",
	})
	data := t.TempDir()
	if _, _, err := runBin(t, nil, "ingest", "--data", data, "--case", "tags", "--no-builtin-rules", "--log-level", "warn", src); err != nil {
		t.Fatal(err)
	}
	var want uint64
	for _, f := range caseRecords(t, data, "tags") {
		want += uint64(f.Events)
	}
	exp := corpus.Expected(t, corpus.Shared(t))
	if indep := uint64(exp["deepbluecli/many-events-application.evtx"] + exp["omerbenamram/security.evtx"] + exp["omerbenamram/system.evtx"]); want != indep {
		t.Fatalf("ingest indexed %d events, the independent counts say %d", want, indep)
	}
	if want < 3*2000 {
		t.Fatalf("case holds %d events, want more than three tag batches", want)
	}

	t.Setenv("CASESCOPE_FAULT_POINT", "tag-batch:2")
	s := startServe(t, data)
	m := passwordRE.FindStringSubmatch(s.out.String())
	if m == nil {
		t.Fatalf("no first-run admin password in the output:\n%s", s.out.String())
	}
	c := login(t, s.url, m[1])
	var cases []struct {
		ID   uint64 `json:"id"`
		Name string `json:"name"`
	}
	c.do("GET", "/api/cases", nil, &cases)
	if len(cases) != 1 {
		t.Fatalf("cases: %+v, want one", cases)
	}
	casePath := "/api/cases/" + strconv.FormatUint(cases[0].ID, 10)
	c.do("POST", casePath+"/tag-query", map[string]any{"query": "*", "tags": []string{"sweep"}}, nil)
	exited := make(chan error, 1)
	go func() {
		for range s.lines {
		}
		exited <- s.cmd.Wait()
	}()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		ws, ok := syscall.WaitStatus(0), false
		if errors.As(err, &ee) {
			ws, ok = ee.Sys().(syscall.WaitStatus)
		}
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("server exit: %v, want killed by SIGKILL at the fault point", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("server not killed at the second tag batch within two minutes")
	}

	t.Setenv("CASESCOPE_FAULT_POINT", "")
	s = startServe(t, data)
	c = login(t, s.url, m[1])
	deadline := time.Now().Add(3 * time.Minute)
	var job map[string]any
	for job == nil {
		var sys struct {
			Jobs []map[string]any `json:"jobs"`
		}
		c.do("GET", "/api/system", nil, &sys)
		for _, j := range sys.Jobs {
			if j["kind"] == "tag" && j["state"] != "running" {
				job = j
			}
		}
		if job == nil && time.Now().After(deadline) {
			t.Fatalf("no finished tag job within three minutes of the restart: %+v", sys.Jobs)
		}
		if job == nil {
			time.Sleep(100 * time.Millisecond) // polling a server in another process
		}
	}
	if job["state"] != "done" || job["resumed"] != true {
		t.Errorf("tag job after the restart: %+v, want done and resumed", job)
	}
	total := func(q string) uint64 {
		var page struct {
			Total uint64 `json:"total"`
		}
		c.do("GET", casePath+"/search?size=1&facets=0&q="+url.QueryEscape(q), nil, &page)
		return page.Total
	}
	if all, tagged := total(""), total("tag:sweep"); all != want || tagged != want {
		t.Errorf("after the resumed job: %d events, %d tagged sweep, want %d and %d", all, tagged, want, want)
	}
	s.stop(t)
	out, _, err := runBin(t, nil, "doctor", "--data", data, "--json")
	if err != nil {
		t.Errorf("doctor after the resumed tag job: %v\n%s", err, out)
	}
	if strings.Contains(out, `"problems":[{`) {
		t.Errorf("doctor reports problems: %s", out)
	}
}
