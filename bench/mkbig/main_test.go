package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"casescope/evtx"
	"casescope/internal/corpus"
)

// TestAssemble builds a 3 MiB file from three corpus files chosen for
// what they exercise: a saved selection whose EventRecordIDs differ from
// its record header IDs (new-user-security), a file with bad chunks that
// must be left out (sample_with_a_bad_chunk_magic), and one with two
// chunks casescope reads but libevtx's evtxexport does not (CAPI2). libevtx
// is the ground truth: evtxinfo must count N records, none recovered, and
// no flag (dirty, full or corrupted: a wrong checksum sets the last), and
// evtxexport must show EventRecordIDs 1..N. casescope's reader must
// deliver the same N records, numbered 1..N, with nothing skipped.
func TestAssemble(t *testing.T) {
	dir := filepath.Join(corpus.Shared(t), "evtx")
	info, ierr := exec.LookPath("evtxinfo")
	export, eerr := exec.LookPath("evtxexport")
	if ierr != nil || eerr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("libevtx tools missing (Debian libevtx-utils): %v %v", ierr, eerr)
		}
		t.Skipf("libevtx tools missing (Debian libevtx-utils), the ground truth here: %v %v", ierr, eerr)
	}
	src := t.TempDir()
	for i, rel := range []string{
		"deepbluecli/new-user-security.evtx",
		"malformed/sample_with_a_bad_chunk_magic.evtx",
		"omerbenamram/E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx",
	} {
		if err := os.Symlink(filepath.Join(dir, rel), filepath.Join(src, strconv.Itoa(i)+".evtx")); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "big.evtx")
	const size = 3 << 20
	var notes bytes.Buffer
	res, err := assemble(t.Context(), src, size, out, export, &notes)
	if err != nil {
		t.Fatalf("assemble: %v", err)
	}
	t.Logf("%+v; %s", res, strings.TrimSpace(notes.String()))
	wantChunks := (size - headerBlock) / evtx.ChunkSize
	if res.Chunks != wantChunks || res.Records <= int64(res.Chunks) {
		t.Fatalf("result %+v, want %d chunks and more records than chunks", res, wantChunks)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() != int64(headerBlock+wantChunks*evtx.ChunkSize) {
		t.Fatalf("file size: %v %v, want %d", fi.Size(), err, headerBlock+wantChunks*evtx.ChunkSize)
	}

	// libevtx: the header, chunk and record checksums and counts.
	raw, err := exec.CommandContext(t.Context(), info, out).CombinedOutput()
	if err != nil {
		t.Fatalf("evtxinfo: %v\n%s", err, raw)
	}
	text := string(raw)
	if got := field(t, text, "Number of records"); got != res.Records {
		t.Errorf("evtxinfo records = %d, want %d", got, res.Records)
	}
	if got := field(t, text, "Number of recovered records"); got != 0 {
		t.Errorf("evtxinfo recovered records = %d, want 0", got)
	}
	if _, flags, ok := strings.Cut(text, "Flags:"); ok && strings.TrimSpace(flags) != "" {
		t.Errorf("evtxinfo flags: %s", strings.TrimSpace(flags))
	}
	raw, err = exec.CommandContext(t.Context(), export, "-f", "xml", out).Output()
	if err != nil {
		t.Fatalf("evtxexport: %v", err)
	}
	ids := regexp.MustCompile(`<EventRecordID>(\d+)</EventRecordID>`).FindAllSubmatch(raw, -1)
	if int64(len(ids)) != res.Records {
		t.Errorf("evtxexport exported %d records, want %d", len(ids), res.Records)
	}
	for i, m := range ids {
		if got := string(m[1]); got != strconv.Itoa(i+1) {
			t.Fatalf("evtxexport record %d: EventRecordID %s, want %d", i, got, i+1)
		}
	}

	// casescope's reader.
	next := uint64(1)
	st, err := evtx.StreamFile(t.Context(), out, func(ev *evtx.Event) error {
		if ev.RecordID != next {
			t.Fatalf("record %d: RecordID %d", next, ev.RecordID)
		}
		next++
		return nil
	})
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if int64(st.Records) != res.Records || next-1 != uint64(res.Records) || st.Chunks != res.Chunks ||
		st.SkippedRecords != 0 || st.SkippedChunks != 0 || len(st.Problems) != 0 {
		t.Errorf("reader stats %+v, want %d records in %d chunks and no problem", st, res.Records, res.Chunks)
	}
}

// field returns the number evtxinfo prints after "name\t…: ".
func field(t *testing.T, text, name string) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `\s*:\s*(\d+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("evtxinfo output has no %q:\n%s", name, text)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}
