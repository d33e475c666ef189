package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"casescope/internal/corpus"
)

// TestTriageCommandsContract ingests one corpus file (3 logons, 1 failed
// logon, 4 events per counts.tsv) with the binary and checks the JSON
// fields the hosts, accounts, logons and metrics commands promise.
func TestTriageCommandsContract(t *testing.T) {
	const name = "evtx-attack-samples/Credential Access/CA_4624_4625_LogonType2_LogonProc_chrome.evtx"
	path := filepath.Join(corpus.Shared(t), "evtx", filepath.FromSlash(name))
	want := corpus.LibevtxCounts(t, corpus.Shared(t))[name]
	if want != 4 {
		t.Fatalf("counts.tsv gives %d events for %s, want 4", want, name)
	}
	data := t.TempDir()
	if _, _, err := runBin(t, nil, "ingest", "--data", data, "--case", "c", "--log-level", "warn", path); err != nil {
		t.Fatal(err)
	}
	run := func(cmd string) []map[string]any {
		t.Helper()
		out, _, err := runBin(t, nil, cmd, "--data", data, "--case", "c", "--json", "--log-level", "warn")
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		var rows []map[string]any
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("%s output %q: %v", cmd, out, err)
		}
		return rows
	}
	hasKeys := func(what string, row map[string]any, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if _, ok := row[k]; !ok {
				t.Errorf("%s row lacks %q: %v", what, k, row)
			}
		}
		for _, k := range []string{"first", "last"} {
			s, _ := row[k].(string)
			if tm, err := time.Parse(time.RFC3339Nano, s); err != nil || !strings.HasSuffix(s, "Z") || tm.IsZero() {
				t.Errorf("%s %s = %q: want an RFC 3339 UTC time", what, k, s)
			}
		}
	}
	hosts := run("hosts")
	if len(hosts) != 1 || hosts[0]["events"] != float64(want) {
		t.Fatalf("hosts: got %v, want one host with %d events", hosts, want)
	}
	hasKeys("host", hosts[0], "computer", "events", "first", "last", "channels", "sigma", "ioc_hits")
	logons := run("logons")
	results := map[string]float64{}
	for _, l := range logons {
		hasKeys("logon", l, "result", "computer", "account", "domain", "logon_type", "source_ip", "source_computer", "count", "first", "last")
		results[l["result"].(string)] += l["count"].(float64)
	}
	if results["success"] != 3 || results["failure"] != 1 {
		t.Errorf("logons by result: got %v, want 3 success and 1 failure", results)
	}
	for _, a := range run("accounts") {
		hasKeys("account", a, "account", "domain", "sid", "computers", "logons", "machine", "built_in", "local")
	}
	out, _, err := runBin(t, nil, "metrics", "--data", data, "--case", "c", "--csv", "file", "--log-level", "warn")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[1], ",4,100.00,") {
		t.Errorf("metrics --csv file: got %q, want a header and one row of 4 events (100.00 %%)", out)
	}
}
