package sigma

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"casescope/evtx"
	"casescope/input"
)

// TestWebRulesOnAccessLogs applies the embedded SigmaHQ web rules to real
// access logs read by package input. plaso's apache_access.log line 13
// carries an XSS payload ("=<script>alert(…)") answered 404, which the
// rule "Cross Site Scripting Strings" excludes (filter: sc-status 404):
// nothing fires on the file as it is. The same line answered 200 (the
// file copied with that one status changed) fires that rule, once: the
// rule's cs-method, keywords and sc-status all reach the access-log
// fields, and no Windows rule fires on web events.
func TestWebRulesOnAccessLogs(t *testing.T) {
	rs := loadEmbedded(t)
	src := filepath.Join(testdataDir(t), "inputs", "weblog", "plaso", "apache_access.log")
	hits := func(path string) map[string]int {
		out := map[string]int{}
		st, f, err := input.Stream(t.Context(), path, evtx.Options{}, func(ev *evtx.Event) error {
			for _, h := range rs.Match(ev, nil) {
				out[h.RuleID]++
			}
			return nil
		})
		if err != nil || f != input.AccessLog || st.Records != 15 {
			t.Fatalf("read %s: %v, format %q, %d records; want access-log, 15", path, err, f, st.Records)
		}
		return out
	}
	if got := hits(src); len(got) != 0 {
		t.Errorf("rules fired on the log as written: %v, want none (its attack lines were answered 404)", got)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if !strings.Contains(lines[12], "=<script>alert(") || !strings.Contains(lines[12], `" 404 `) {
		t.Fatalf("line 13 is not the XSS line answered 404: %q", lines[12])
	}
	lines[12] = strings.Replace(lines[12], `" 404 `, `" 200 `, 1)
	changed := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(changed, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	const xss = "65354b83-a2ea-4ea6-8414-3ab38be0d409" // web/webserver_generic/web_xss_in_access_logs.yml
	got := hits(changed)
	if len(got) != 1 || got[xss] != 1 {
		t.Errorf("rules fired with line 13 answered 200: %v, want %s once", got, xss)
	}
	for _, r := range rs.Rules() {
		if r.ID == xss && r.Logsource != "webserver" {
			t.Errorf("rule %s logsource %q, want webserver", xss, r.Logsource)
		}
	}
}
