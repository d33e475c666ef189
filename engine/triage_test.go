package engine_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"casescope/internal/corpus"
	"casescope/internal/libevtx"
)

// triageFiles are small corpus files holding every kind of logon event
// the summary reads: 4624, 4625 (with status codes), 4648, RDP 1149 and
// LocalSessionManager 21/22/25.
var triageFiles = []string{
	"evtx-attack-samples/Command and Control/DE_RDP_Tunnel_5156.evtx",
	"evtx-attack-samples/Credential Access/CA_4624_4625_LogonType2_LogonProc_chrome.evtx",
	"evtx-attack-samples/Command and Control/DE_RDP_Tunneling_TerminalServices-RemoteConnectionManagerOperational_1149.evtx",
	"velociraptor/RDPAuth_LocalSessionManager.evtx",
	"deepbluecli/password-spray.evtx",
	"omerbenamram/Security_with_size_t.evtx",
}

// plainEvent is one record as libevtx's evtxexport renders it.
type plainEvent struct {
	id                          uint32
	computer, channel, provider string
	time                        time.Time
	recordID                    string
	data                        map[string]string // first value of each name
}

func (e plainEvent) get(name string) string { return e.data[name] }

// plainScan reads the files with evtxexport: the ground truth the triage
// views are compared against, computed without casescope's reader.
func plainScan(t *testing.T, paths []string) []plainEvent {
	t.Helper()
	bin, err := exec.LookPath("evtxexport")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("evtxexport not found (Debian package libevtx-utils): %v", err)
		}
		t.Skipf("evtxexport not found (install libevtx-utils to run this test): %v", err)
	}
	var out []plainEvent
	for _, p := range paths {
		ex, err := libevtx.Run(t.Context(), bin, p)
		if err != nil {
			t.Fatal(err)
		}
		if !ex.Complete {
			t.Fatalf("evtxexport stopped early on %s: %s", p, ex.Stderr)
		}
		for _, r := range ex.Records {
			if r.Err != nil {
				t.Fatalf("%s: libevtx record: %v", p, r.Err)
			}
			sys := r.Root.Child("System")
			id, err := strconv.ParseUint(strings.TrimSpace(sys.Child("EventID").Text), 10, 32)
			if err != nil {
				t.Fatalf("%s: event ID %q", p, sys.Child("EventID").Text)
			}
			st, _ := sys.Child("TimeCreated").Attr("SystemTime")
			tm, err := time.Parse(time.RFC3339Nano, st)
			if err != nil {
				t.Fatalf("%s: time %q: %v", p, st, err)
			}
			prov, _ := sys.Child("Provider").Attr("Name")
			ev := plainEvent{id: uint32(id), computer: sys.Child("Computer").Text, channel: sys.Child("Channel").Text,
				provider: prov, time: tm, recordID: strings.TrimSpace(sys.Child("EventRecordID").Text), data: map[string]string{}}
			fields, _ := libevtx.Data(r.Root)
			for _, f := range fields {
				if _, ok := ev.data[f.Name]; !ok {
					ev.data[f.Name] = f.Value
				}
			}
			out = append(out, ev)
		}
	}
	return out
}

type span struct {
	n           int
	first, last time.Time
}

func (s *span) add(t time.Time) {
	if s.n == 0 || t.Before(s.first) {
		s.first = t
	}
	if s.n == 0 || t.After(s.last) {
		s.last = t
	}
	s.n++
}

func (s span) String() string {
	return fmt.Sprintf("%d %s..%s", s.n, s.first.Format(time.RFC3339Nano), s.last.Format(time.RFC3339Nano))
}

// TestTriageMatchesPlainScan ingests the logon corpus files and compares
// the hosts, accounts and logons views with counts made from libevtx's
// rendering of the same files by the documented rules (triage/doc.go).
func TestTriageMatchesPlainScan(t *testing.T) {
	dir := corpus.Shared(t)
	var paths []string
	for _, f := range triageFiles {
		paths = append(paths, filepath.Join(dir, "evtx", filepath.FromSlash(f)))
	}
	plain := plainScan(t, paths)
	r := newRig(t, true)
	c, _ := r.ingest(t, "triage", paths...)

	// Logons.
	type logonKey struct {
		id                                            uint32
		result, computer, account, domain, lt, ip, ws string
	}
	wantLogons := map[logonKey]*span{}
	wantReasons := map[logonKey]map[string]int{}
	for _, e := range plain {
		var k logonKey
		switch {
		case strings.EqualFold(e.channel, "Security") && (e.id == 4624 || e.id == 4625):
			k = logonKey{e.id, "success", e.computer, e.get("TargetUserName"), e.get("TargetDomainName"), e.get("LogonType"),
				e.get("IpAddress"), e.get("WorkstationName")}
			if e.id == 4625 {
				k.result = "failure"
			}
		case strings.EqualFold(e.channel, "Security") && e.id == 4648:
			k = logonKey{e.id, "success", e.computer, e.get("TargetUserName"), e.get("TargetDomainName"), "", e.get("IpAddress"), ""}
		case e.id == 1149 && strings.HasSuffix(e.channel, "RemoteConnectionManager/Operational"):
			k = logonKey{e.id, "success", e.computer, e.get("Param1"), e.get("Param2"), "", e.get("Param3"), ""}
		case (e.id == 21 || e.id == 22 || e.id == 25) && strings.HasSuffix(e.channel, "LocalSessionManager/Operational"):
			d, n, _ := strings.Cut(e.get("User"), `\`)
			k = logonKey{e.id, "success", e.computer, n, d, "", e.get("Address"), ""}
		default:
			continue
		}
		if wantLogons[k] == nil {
			wantLogons[k], wantReasons[k] = &span{}, map[string]int{}
		}
		wantLogons[k].add(e.time)
		if e.id == 4625 {
			code := e.get("SubStatus")
			if v, _ := strconv.ParseUint(strings.TrimPrefix(code, "0x"), 16, 64); v == 0 {
				code = e.get("Status")
			}
			v, _ := strconv.ParseUint(strings.TrimPrefix(code, "0x"), 16, 64)
			wantReasons[k][fmt.Sprintf("0x%x", v)]++
		}
	}
	logons, err := r.eng.Logons(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotLogons := map[logonKey]span{}
	kinds := map[uint32]int{}
	for _, l := range logons {
		lt := ""
		if l.LogonType != nil {
			lt = strconv.Itoa(*l.LogonType)
		}
		k := logonKey{l.EventID, l.Result, l.Computer, l.Account, l.Domain, lt, l.SourceIP, l.SourceComputer}
		if _, dup := gotLogons[k]; dup {
			t.Errorf("logon row %+v listed twice", k)
		}
		gotLogons[k] = span{l.Count, l.First, l.Last}
		kinds[l.EventID] += l.Count
		reasons := map[string]int{}
		for _, rs := range l.Reasons {
			v, _ := strconv.ParseUint(strings.TrimPrefix(rs.Code, "0x"), 16, 64)
			reasons[fmt.Sprintf("0x%x", v)] += rs.Count
			if rs.Code == "0xc000006a" && rs.Reason != "bad password" {
				t.Errorf("0xc000006a decoded as %q", rs.Reason)
			}
		}
		if w := wantReasons[k]; l.Result == "failure" && fmt.Sprint(w) != fmt.Sprint(reasons) {
			t.Errorf("logon %+v reasons: got %v, want %v", k, reasons, w)
		}
	}
	compareSpans(t, "logon", wantLogons, gotLogons)
	for _, id := range []uint32{4624, 4625, 4648, 1149, 21, 22, 25} {
		if kinds[id] == 0 {
			t.Errorf("no %d logon rows: the fixture set no longer covers every kind", id)
		}
	}

	// Hosts.
	wantHosts := map[string]*span{}
	wantChannels := map[string]map[string]int{}
	for _, e := range plain {
		if wantHosts[e.computer] == nil {
			wantHosts[e.computer], wantChannels[e.computer] = &span{}, map[string]int{}
		}
		wantHosts[e.computer].add(e.time)
		wantChannels[e.computer][e.channel]++
	}
	hosts, err := r.eng.Hosts(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotHosts := map[string]span{}
	for _, h := range hosts {
		gotHosts[h.Computer] = span{h.Events, h.First, h.Last}
		if got, want := fmt.Sprint(h.Channels), fmt.Sprint(wantChannels[h.Computer]); got != want {
			t.Errorf("host %s channels: got %s, want %s", h.Computer, got, want)
		}
	}
	compareSpans(t, "host", wantHosts, gotHosts)

	// Accounts: every name/domain pair an event names (subject, target,
	// User "DOMAIN\name", 1149's Param1/Param2), "-" and "" left out,
	// counted once per event.
	type acctKey struct{ domain, name string }
	wantAccts := map[acctKey]*span{}
	wantLogonTypes := map[acctKey]map[string]int{}
	for _, e := range plain {
		var names []acctKey
		add := func(name, domain string) {
			if name == "" || name == "-" {
				return
			}
			k := acctKey{domain, name}
			for _, n := range names {
				if n == k {
					return
				}
			}
			names = append(names, k)
		}
		add(e.get("SubjectUserName"), e.get("SubjectDomainName"))
		add(e.get("TargetUserName"), e.get("TargetDomainName"))
		if u, ok := e.data["User"]; ok {
			d, n, found := strings.Cut(u, `\`)
			if !found {
				d, n = "", u
			}
			add(n, d)
		}
		if e.id == 1149 && strings.HasSuffix(e.channel, "RemoteConnectionManager/Operational") {
			add(e.get("Param1"), e.get("Param2"))
		}
		for _, k := range names {
			if wantAccts[k] == nil {
				wantAccts[k], wantLogonTypes[k] = &span{}, map[string]int{}
			}
			wantAccts[k].add(e.time)
		}
		if strings.EqualFold(e.channel, "Security") && (e.id == 4624 || e.id == 4625) && e.get("TargetUserName") != "-" && e.get("TargetUserName") != "" {
			k := acctKey{e.get("TargetDomainName"), e.get("TargetUserName")}
			wantLogonTypes[k][strconv.Itoa(int(e.id))+"/"+e.get("LogonType")]++
		}
	}
	accounts, err := r.eng.Accounts(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	gotAccts := map[acctKey]span{}
	for _, a := range accounts {
		k := acctKey{a.Domain, a.Account}
		gotAccts[k] = span{a.Events, a.First, a.Last}
		types := map[string]int{}
		for lt, n := range a.Logons {
			types["4624/"+lt] += n
		}
		for lt, n := range a.FailedLogons {
			types["4625/"+lt] += n
		}
		if got, want := fmt.Sprint(types), fmt.Sprint(wantLogonTypes[k]); got != want {
			t.Errorf("account %v logons by type: got %s, want %s", k, got, want)
		}
		if a.Machine != strings.HasSuffix(a.Account, "$") {
			t.Errorf("account %v: machine %v", k, a.Machine)
		}
	}
	compareSpans(t, "account", wantAccts, gotAccts)
	t.Logf("%d events, %d logon rows, %d hosts, %d accounts compared with evtxexport", len(plain), len(logons), len(hosts), len(accounts))

	// Metrics: every event counted once, by event and by file.
	m, err := r.eng.Metrics(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Total != len(plain) {
		t.Errorf("metrics total: got %d, want %d", m.Total, len(plain))
	}
	byEvent := map[string]int{}
	for _, e := range plain {
		byEvent[fmt.Sprintf("%d|%s|%s", e.id, e.channel, e.provider)]++
	}
	gotByEvent := map[string]int{}
	for _, r := range m.ByEvent {
		gotByEvent[fmt.Sprintf("%d|%s|%s", r.EventID, r.Channel, r.Provider)] = r.Count
	}
	if fmt.Sprint(gotByEvent) != fmt.Sprint(byEvent) {
		t.Errorf("metrics by event:\ngot  %v\nwant %v", gotByEvent, byEvent)
	}
	if len(m.ByFile) != len(paths) {
		t.Errorf("metrics by file: got %d files, want %d", len(m.ByFile), len(paths))
	}
	var csv strings.Builder
	if err := m.WriteCSV(&csv, "event"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(csv.String(), "\n"); got != len(m.ByEvent)+1 {
		t.Errorf("event CSV: got %d lines, want %d", got, len(m.ByEvent)+1)
	}

	// The views above came from the summaries the pipeline kept; read
	// from the files instead (summaries removed), they are the same.
	sumDir := filepath.Join(r.data, "cases", strconv.FormatUint(c.ID, 10), "triage")
	kept, err := os.ReadDir(sumDir)
	if err != nil || len(kept) != len(paths) {
		t.Fatalf("kept summaries after ingest: got %d (%v), want %d", len(kept), err, len(paths))
	}
	if err := os.RemoveAll(sumDir); err != nil {
		t.Fatal(err)
	}
	reread, err := r.eng.Logons(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, reread), mustJSON(t, logons); a != b {
		t.Error("logons read from the files differ from the pipeline's summaries")
	}
	rehosts, err := r.eng.Hosts(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, rehosts), mustJSON(t, hosts); a != b {
		t.Error("hosts read from the files differ from the pipeline's summaries")
	}
	// A later view reads the kept summaries, not the files: the same
	// answer with the evidence moved away.
	for _, f := range mustFiles(t, r, c.ID) {
		if err := os.Rename(f, f+".away"); err != nil {
			t.Fatal(err)
		}
	}
	again, err := r.eng.Logons(t.Context(), c.ID)
	if err != nil {
		t.Fatalf("logons from kept summaries: %v", err)
	}
	if a, b := mustJSON(t, again), mustJSON(t, logons); a != b {
		t.Error("logons from kept summaries differ from the first answer")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustFiles(t *testing.T, r *rig, caseID uint64) []string {
	t.Helper()
	files, err := r.ledger.Files(caseID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

func compareSpans[K comparable](t *testing.T, what string, want map[K]*span, got map[K]span) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s %+v: missing, want %s", what, k, w)
			continue
		}
		if g.n != w.n || !g.first.Equal(w.first) || !g.last.Equal(w.last) {
			t.Errorf("%s %+v: got %s, want %s", what, k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s %+v: unexpected, %s", what, k, g)
		}
	}
}
