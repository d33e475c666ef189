package engine_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"casescope/engine"
	"casescope/store"
)

// fuzzEVTX is the smallest file the importer takes for EVTX: the magic
// and some bytes. Import only sniffs; parsing is evtx.FuzzStream's job.
var fuzzEVTX = append([]byte("ElfFile\x00"), bytes.Repeat([]byte{0x41}, 56)...)

// zipSeed builds an archive from entries, in name order; a name ending in
// "@" is stored as a symbolic link, one ending in "/" is a directory.
func zipSeed(tb testing.TB, method uint16, entries map[string][]byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h := &zip.FileHeader{Name: strings.TrimSuffix(n, "@"), Method: method}
		if strings.HasSuffix(n, "@") {
			h.SetMode(os.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(entries[n]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzZipExtract feeds arbitrary bytes, saved as a .zip, to a real
// engine's Import in a fresh temp data dir and checks that it never panics
// or fails as a whole, that every file it recorded has a known state (a
// failed one with a reason, a kept one inside the case folder), that no
// extraction leftovers stay in staging, and that nothing appears outside
// the data dir besides the input. The engine is not started: processing
// the extracted EVTX is FuzzStream's part. Each input gets its own ledger
// so runs are independent (a shared, growing ledger shows the fuzzer new
// coverage on every run, and it then spends its time minimising noise).
func FuzzZipExtract(f *testing.F) {
	inner := zipSeed(f, zip.Deflate, map[string][]byte{"Security.evtx": fuzzEVTX})
	for _, seed := range [][]byte{
		zipSeed(f, zip.Deflate, map[string][]byte{"logs/Security.evtx": fuzzEVTX, "logs/System.evtx": append(append([]byte{}, fuzzEVTX...), 'x')}),
		zipSeed(f, zip.Store, map[string][]byte{"a.evtx": fuzzEVTX, "b.evtx": fuzzEVTX}), // duplicates
		zipSeed(f, zip.Deflate, map[string][]byte{"../../../../tmp/evil.evtx": fuzzEVTX}),
		zipSeed(f, zip.Deflate, map[string][]byte{`..\..\evil.evtx`: fuzzEVTX, `C:\Windows\evil.evtx`: fuzzEVTX}),
		zipSeed(f, zip.Deflate, map[string][]byte{"/etc/cron.d/evil.evtx": fuzzEVTX}),
		zipSeed(f, zip.Store, map[string][]byte{"link.evtx@": []byte("/etc/passwd"), "dir/": nil}),
		zipSeed(f, zip.Deflate, map[string][]byte{"notes.txt": []byte("not a log"), "zeros.evtx": make([]byte, 4096)}),
		zipSeed(f, zip.Store, map[string][]byte{"nested.zip": inner, "deeper.zip": zipSeed(f, zip.Store, map[string][]byte{"n.zip": inner})}),
		zipSeed(f, zip.Deflate, nil),
		[]byte("PK\x03\x04"),
		fuzzEVTX,
	} {
		f.Add(seed)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		root := t.TempDir()
		data := filepath.Join(root, "data")
		input := filepath.Join(root, "evidence.zip")
		if err := os.WriteFile(input, in, 0o600); err != nil {
			t.Fatal(err)
		}
		led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer led.Close()
		// A small expansion limit keeps a bomb the fuzzer stumbles on
		// from filling the disk; the limit's own path is exercised all
		// the same.
		eng := engine.New(engine.Config{DataDir: data, BatchSize: 500, MaxZipBytes: 32 << 20}, log, led, nil)
		defer eng.Close(context.WithoutCancel(t.Context()))
		c, err := led.CreateCase("fuzz", "")
		if err != nil {
			t.Fatal(err)
		}
		res, err := eng.Import(t.Context(), c.ID, []string{input})
		if err != nil {
			t.Fatalf("import failed as a whole (a bad archive must be a failed file instead): %v", err)
		}
		caseDir := eng.CaseDir(c.ID)
		for _, id := range res.FileIDs {
			fl, err := led.File(c.ID, id)
			if err != nil {
				t.Fatalf("recorded file %d: %v", id, err)
			}
			switch fl.State {
			case store.StateFailed:
				if fl.Error == "" {
					t.Errorf("file %d (%q) failed without a reason", id, fl.Name)
				}
			case store.StateQueued, store.StateDuplicate:
				if !withinDir(caseDir, fl.Path) {
					t.Errorf("file %d (%q) kept at %s, outside the case folder %s", id, fl.Name, fl.Path, caseDir)
				} else if _, err := os.Stat(fl.Path); err != nil {
					t.Errorf("file %d (%q): recorded path missing: %v", id, fl.Name, err)
				}
			default:
				t.Errorf("file %d (%q): state %q after import, want queued, duplicate or failed", id, fl.Name, fl.State)
			}
		}
		if left := dirNames(t, filepath.Join(caseDir, "staging")); len(left) > 0 {
			t.Errorf("staging not cleaned up: %v", left)
		}
		if got := strings.Join(dirNames(t, root), " "); got != "data evidence.zip" {
			t.Errorf("beside the data dir: got %q, want only data and the input", got)
		}
		for _, e := range dirNames(t, data) {
			if e != "ledger.db" && e != "cases" {
				t.Errorf("unexpected %s in the data dir", e)
			}
		}
	})
}

// withinDir reports whether p lies inside dir (both absolute).
func withinDir(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// dirNames lists a directory's entry names, sorted; a missing directory
// is empty.
func dirNames(tb testing.TB, dir string) []string {
	tb.Helper()
	des, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		tb.Fatal(err)
	}
	out := make([]string, 0, len(des))
	for _, d := range des {
		out = append(out, d.Name())
	}
	return out
}
