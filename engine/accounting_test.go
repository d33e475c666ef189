package engine_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"casescope/internal/corpus"
	"casescope/store"
)

// chunkRecords reads the record count a chunk's header declares (last −
// first record number + 1), straight from the bytes: the ground truth for
// what skipping that chunk loses.
func chunkRecords(t *testing.T, b []byte, chunk int) int64 {
	t.Helper()
	off := 0x1000 + chunk*0x10000
	if string(b[off:off+8]) != "ElfChnk\x00" {
		t.Fatalf("no chunk %d at %#x", chunk, off)
	}
	first := binary.LittleEndian.Uint64(b[off+8:])
	last := binary.LittleEndian.Uint64(b[off+16:])
	return int64(last - first + 1)
}

// TestAccounting: what the reader skipped, recovered or found truncated is
// stored on the file and shown as warnings; a file whose header claims
// chunks none of which is readable fails with that reason instead of
// being archived as an empty log.
func TestAccounting(t *testing.T) {
	sec, err := os.ReadFile(filepath.Join(corpus.Shared(t), "evtx", "omerbenamram", "security.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	const secEvents = 2261 // expected/counts.tsv (libevtx and python-evtx)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badSig := append([]byte(nil), sec...)
	copy(badSig[0x1000+3*0x10000:], "XXXXXXXX")
	lost := chunkRecords(t, sec, 3)

	cases := []struct {
		name, path string
		state      string
		events     int64
		error      string
		warn       []string
		check      func(t *testing.T, f store.File)
	}{
		{name: "broken record", path: corpus.Fixture(t, "LanguagePackSetup_truncated.evtx"), state: store.StateCompleted,
			events: 16, // libevtx's evtxexport and counts.tsv
			warn:   []string{"bad record", "not readable"},
			check: func(t *testing.T, f store.File) {
				if f.RecordsExpected != 20 || f.RecordsSkipped == 0 || len(f.Problems) == 0 {
					t.Errorf("accounting: got %+v, want 20 expected (the chunk header), records skipped, problems", f.Accounting)
				}
			}},
		{name: "bad chunk signature", path: write("badsig.evtx", badSig), state: store.StateCompleted,
			events: secEvents - lost, warn: []string{"skipped 1 unreadable chunk"},
			check: func(t *testing.T, f store.File) {
				if f.ChunksSkipped != 1 || f.HeaderChunks != 26 {
					t.Errorf("accounting: got %+v, want 1 chunk skipped of 26", f.Accounting)
				}
			}},
		{name: "truncated", path: write("trunc1m.evtx", sec[:1_000_000]), state: store.StateCompleted,
			warn: []string{"truncated"},
			check: func(t *testing.T, f store.File) {
				// Every whole chunk is kept; the partial one gives what it can,
				// and what it cannot is counted as skipped.
				var whole int64
				for c := 0; 0x1000+(c+1)*0x10000 <= 1_000_000; c++ {
					whole += chunkRecords(t, sec, c)
				}
				if f.Events < whole || f.Events >= secEvents || !f.Truncated || f.HeaderChunks != 26 ||
					f.Events+int64(f.RecordsSkipped) != int64(f.RecordsExpected) {
					t.Errorf("got %d events, accounting %+v; want ≥ %d (whole chunks), truncated, 26 declared, events + skipped = expected", f.Events, f.Accounting, whole)
				}
			}},
		{name: "header only", path: write("trunc5k.evtx", sec[:5000]), state: store.StateFailed,
			error: fmt.Sprintf("header declares %d records, none readable", chunkRecords(t, sec[:0x1000+0x10000], 0))},
		{name: "empty log", path: corpus.Fixture(t, "Empty.evtx"), state: store.StateCompleted,
			check: func(t *testing.T, f store.File) {
				if !f.ZeroEvents || len(f.Warnings) != 0 {
					t.Errorf("empty log: zero_event %v, warnings %q; want archived without warnings", f.ZeroEvents, f.Warnings)
				}
			}},
	}
	r := newRig(t, true)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, res := r.ingest(t, "acct-"+strings.ReplaceAll(tc.name, " ", "-"), tc.path)
			if len(res.FileIDs) != 1 {
				t.Fatalf("import: %+v", res)
			}
			f, err := r.ledger.File(c.ID, res.FileIDs[0])
			if err != nil {
				t.Fatal(err)
			}
			if f.State != tc.state || f.Error != tc.error {
				t.Errorf("state: got %s %q, want %s %q", f.State, f.Error, tc.state, tc.error)
			}
			if tc.events != 0 && f.Events != tc.events {
				t.Errorf("events: got %d, want %d", f.Events, tc.events)
			}
			all := strings.Join(f.Warnings, "\n")
			for _, w := range tc.warn {
				if !strings.Contains(all, w) {
					t.Errorf("warnings %q: want one containing %q", f.Warnings, w)
				}
			}
			if tc.check != nil {
				tc.check(t, f)
			}
			t.Logf("%s: %s %d events, accounting %+v, warnings %q", tc.name, f.State, f.Events, f.Accounting, f.Warnings)
		})
	}
}
