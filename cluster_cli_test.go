package main

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"casescope/engine"
	"casescope/internal/chrig"
	"casescope/store"
)

// searchTotal runs `search --json` and returns its total.
func searchTotal(t *testing.T, env []string, data, caseName, q string) uint64 {
	t.Helper()
	out, killed, err := runBin(t, env, "search", "--data", data, "--case", caseName, "--limit", "3", "--json", "--", q)
	if err != nil || killed {
		t.Fatalf("search %q in %s: killed=%v err=%v", q, data, killed, err)
	}
	var res struct {
		Total uint64 `json:"total"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("search output %q: %v", out, err)
	}
	return res.Total
}

// searchPage runs `search --json` and returns its page.
func searchPage(t *testing.T, env []string, data, caseName, q string) engine.SearchPage {
	t.Helper()
	out, killed, err := runBin(t, env, "search", "--data", data, "--case", caseName, "--limit", "5", "--json", "--", q)
	if err != nil || killed {
		t.Fatalf("search %q in %s: killed=%v err=%v", q, data, killed, err)
	}
	var page engine.SearchPage
	if err := json.Unmarshal([]byte(out), &page); err != nil {
		t.Fatalf("search output %q: %v", out, err)
	}
	return page
}

// TestClusterIngest drives the binary against a two-shard ClickHouse
// cluster: an ingest killed with SIGKILL mid-file and run again gives
// the exact total (counts.tsv); a second process with its own data
// directory ingests other evidence into the same case through the other
// server, and a search from either sees both, with the totals of one
// embedded ingest of everything; each shard holds part of the events;
// with the cluster down, search answers a clear error and ingest stops
// leaving its file queued, and the same command finishes it once the
// cluster is back.
func TestClusterIngest(t *testing.T) {
	rig := chrig.Start(t, 2)
	a := map[string]int{"Security_with_size_t.evtx": 636, "sysmon.evtx": 358, "2-vss_7-System.evtx": 1160}
	b := map[string]int{"many-events-application.evtx": 2216, "Security_short_selected.evtx": 7}
	c := map[string]int{"LM_Remote_Service02_7045.evtx": 3}
	dirOf := func(set map[string]int) (string, int) {
		names := map[string]string{}
		n := 0
		for k, v := range set {
			names[k], n = k, n+v
		}
		return copyCorpus(t, names), n
	}
	srcA, nA := dirOf(a)
	srcB, nB := dirOf(b)
	srcC, nC := dirOf(c)
	const caseName = "cluster-case"
	data1, data2, dataAll := t.TempDir(), t.TempDir(), t.TempDir()
	env1 := []string{"CASESCOPE_STORE=" + rig.StoreURL(0, "casescope")}
	env2 := []string{"CASESCOPE_STORE=" + rig.StoreURL(1, "casescope")}
	envFor := func(env []string, data string) []string {
		return append(env, "CASESCOPE_DATA="+data, "CASESCOPE_NO_BUILTIN_RULES=true", "CASESCOPE_LOG_LEVEL=warn")
	}
	args := func(src string) []string {
		return []string{"ingest", "--case", caseName, "--batch", "200", "--json", src}
	}

	// Exactly once under SIGKILL: killed after the third batch, run again.
	if _, killed, err := runBin(t, append(envFor(env1, data1), "CASESCOPE_FAULT_POINT=after-batch:3"), args(srcA)...); err != nil || !killed {
		t.Fatalf("ingest with fault: killed=%v err=%v, want killed", killed, err)
	}
	if _, killed, err := runBin(t, envFor(env1, data1), args(srcA)...); err != nil || killed {
		t.Fatalf("re-run: killed=%v err=%v", killed, err)
	}
	if got := searchTotal(t, envFor(nil, data1), data1, caseName, ""); got != uint64(nA) {
		t.Errorf("after a kill and a re-run: %d events, want %d (counts.tsv)", got, nA)
	}
	led, cs := openCase(t, data1, caseName)
	if want, err := store.ParseStoreURL(rig.StoreURL(0, "casescope")); err != nil || cs.Store != want.String() || cs.Origin == "" {
		t.Errorf("case store %q origin %q, want %q and an origin (%v)", cs.Store, cs.Origin, want.String(), err)
	}
	led.Close()

	// Scale out: a second data directory, through the other server.
	if _, killed, err := runBin(t, envFor(env2, data2), args(srcB)...); err != nil || killed {
		t.Fatalf("second process: killed=%v err=%v", killed, err)
	}
	for _, src := range []string{srcA, srcB} {
		if _, killed, err := runBin(t, envFor(nil, dataAll), args(src)...); err != nil || killed {
			t.Fatalf("embedded ingest: killed=%v err=%v", killed, err)
		}
	}
	for _, q := range []string{"", "EventID:4624 OR EventID:7036", "Channel:application -Level:4", "svchost"} {
		want := searchTotal(t, envFor(nil, dataAll), dataAll, caseName, q)
		if q == "" && want != uint64(nA+nB) {
			t.Errorf("embedded total %d, want %d (counts.tsv)", want, nA+nB)
		}
		for _, data := range []string{data1, data2} {
			if got := searchTotal(t, envFor(nil, data), data, caseName, q); got != want {
				t.Errorf("%q from %s: %d, want %d (one embedded ingest of everything)", q, data, got, want)
			}
		}
	}
	// Another process's events show whole: the second data directory's
	// results for the first's Sysmon events carry the same event (every
	// data field) and file name as the first's, read from its evidence.
	own := searchPage(t, envFor(nil, data1), data1, caseName, "EventID:1")
	other := searchPage(t, envFor(nil, data2), data2, caseName, "EventID:1")
	byID := map[string]engine.EventView{}
	for _, h := range own.Hits {
		byID[h.ID] = h
	}
	matched := 0
	for _, h := range other.Hits {
		_, id, foreign := strings.Cut(h.ID, ".")
		w, ok := byID[id]
		if !foreign || !ok {
			continue
		}
		matched++
		if h.Partial || h.Event == nil || len(h.Event.Data) == 0 || w.Event == nil || w.Partial {
			t.Errorf("%s from the second data directory: partial=%v event=%v; want the whole event", h.ID, h.Partial, h.Event)
			continue
		}
		if !reflect.DeepEqual(h.Event, w.Event) || h.FileName != w.FileName {
			t.Errorf("%s from the second data directory:\n got %s %+v\nwant %s %+v", h.ID, h.FileName, h.Event, w.FileName, w.Event)
		}
	}
	if matched == 0 {
		t.Errorf("no result of the first data directory among the second's %d for EventID:1", len(other.Hits))
	}
	table := "casescope." + store.ClusterTable(caseName) + "_local"
	var sum int
	for i := range rig.HTTP {
		n, err := strconv.Atoi(rig.Query(t, i, "SELECT count() FROM (SELECT origin, doc FROM "+table+" GROUP BY origin, doc)"))
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("shard %d holds no events", i+1)
		}
		sum += n
		t.Logf("shard %d: %d events", i+1, n)
	}
	if sum != nA+nB {
		t.Errorf("shards hold %d events, want %d", sum, nA+nB)
	}

	// The cluster down: search says so; ingest stops, its file queued.
	rig.Stop(0)
	rig.Stop(1)
	_, _, err := runBin(t, envFor(nil, data1), "search", "--case", caseName, "--json", "x")
	if err == nil || !strings.Contains(err.Error(), "unavailable") {
		t.Errorf("search with the cluster down: %v, want an error saying the store is unavailable", err)
	}
	_, killed, err := runBin(t, envFor(env1, data1), args(srcC)...)
	if err == nil || killed {
		t.Errorf("ingest with the cluster down: killed=%v err=%v, want an error", killed, err)
	}
	led, cs = openCase(t, data1, caseName)
	files, ferr := led.Files(cs.ID)
	led.Close()
	if ferr != nil {
		t.Fatal(ferr)
	}
	queued := 0
	for _, f := range files {
		if f.State == store.StateQueued {
			queued++
		}
		if f.State == store.StateFailed {
			t.Errorf("%s failed (%s) with the cluster down, want queued", f.Name, f.Error)
		}
	}
	if queued != len(c) {
		t.Errorf("%d files queued with the cluster down, want %d", queued, len(c))
	}
	rig.Restart(t, 0)
	rig.Restart(t, 1)
	if _, killed, err := runBin(t, envFor(env1, data1), args(srcC)...); err != nil || killed {
		t.Fatalf("ingest after the cluster is back: killed=%v err=%v", killed, err)
	}
	if got, want := searchTotal(t, envFor(nil, data2), data2, caseName, ""), uint64(nA+nB+nC); got != want {
		t.Errorf("after resuming: %d events, want %d", got, want)
	}
	// Deleting the case in one data directory removes its events only.
	if _, killed, err := runBin(t, envFor(nil, data1), "case", "delete", "--case", caseName); err != nil || killed {
		t.Fatalf("case delete: killed=%v err=%v", killed, err)
	}
	if got, want := searchTotal(t, envFor(nil, data2), data2, caseName, ""), uint64(nB); got != want {
		t.Errorf("after the first data directory deleted the case: %d events, want the second's %d", got, want)
	}
}
