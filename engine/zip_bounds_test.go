package engine_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"casescope/engine"
	"casescope/store"
)

// writeZeroBomb writes, without holding it in memory, an archive of n
// entries of size bytes each, the EVTX magic then zeros: the deflate stream of one entry is made
// once and written raw n times, so the test spends no time compressing.
func writeZeroBomb(t *testing.T, path string, n int, size int64) {
	t.Helper()
	var comp bytes.Buffer
	fw, err := flate.NewWriter(&comp, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	crc := crc32.NewIEEE()
	chunk := make([]byte, 1<<20)
	// The EVTX magic first, so each entry would be taken as a log.
	copy(chunk, "ElfFile\x00")
	for left := size; left > 0; left -= int64(len(chunk)) {
		b := chunk[:min(int64(len(chunk)), left)]
		if _, err := fw.Write(b); err != nil {
			t.Fatal(err)
		}
		crc.Write(b)
		clear(chunk)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for i := range n {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("logs/%02d.evtx", i), Method: zip.Deflate,
			CRC32: crc.Sum32(), CompressedSize64: uint64(comp.Len()), UncompressedSize64: uint64(size)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(comp.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeManyEntries writes an archive of n tiny stored entries.
func writeManyEntries(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for i := range n {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("e/%05d.evtx", i), Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(fuzzEVTX); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// treeBytes is the bytes of regular files under dir (0 if it is absent).
func treeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHostileArchives imports crafted archives and checks each is refused
// as exactly one failed record with the reason, leaves (almost) nothing in
// uploads/ and staging/, and leaves the doctor with nothing to report.
func TestHostileArchives(t *testing.T) {
	inner := zipSeed(t, zip.Deflate, map[string][]byte{"Security.evtx": fuzzEVTX})
	mid := zipSeed(t, zip.Store, map[string][]byte{"inner.zip": inner})
	outer := zipSeed(t, zip.Store, map[string][]byte{"mid.zip": mid})
	cases := []struct {
		name   string
		write  func(t *testing.T, path string)
		reason string
	}{
		{"20 entries of 63 MiB zeros", func(t *testing.T, p string) { writeZeroBomb(t, p, 20, 63<<20) }, "zip bomb"},
		{"20000 tiny entries", func(t *testing.T, p string) { writeManyEntries(t, p, 20_000) }, "ZIP has 20000 entries, limit 10000"},
		{"nested three deep", func(t *testing.T, p string) {
			if err := os.WriteFile(p, outer, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "archive nested too deeply"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, false)
			src := filepath.Join(t.TempDir(), "evidence.zip")
			tc.write(t, src)
			c, err := r.ledger.CreateCase("hostile", "")
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.eng.Import(t.Context(), c.ID, []string{src})
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			files, err := r.ledger.Files(c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 1 || res.Rejected != 1 {
				t.Fatalf("records: got %d (rejected %d), want 1 refused record", len(files), res.Rejected)
			}
			f := files[0]
			if f.State != store.StateFailed || !strings.Contains(f.Error, tc.reason) {
				t.Errorf("record: state %s, error %q; want failed with %q", f.State, f.Error, tc.reason)
			}
			if f.Path != "" {
				if _, err := os.Stat(f.Path); err != nil {
					t.Errorf("record names %s, which does not exist: %v", f.Path, err)
				}
			}
			dir := r.eng.CaseDir(c.ID)
			for _, sub := range []string{"uploads", "staging"} {
				if n := treeBytes(t, filepath.Join(dir, sub)); n != 0 {
					t.Errorf("%s/ holds %d bytes after the refusal, want 0", sub, n)
				}
			}
			problems, err := r.eng.Doctor(t.Context(), engine.DoctorOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != 0 {
				t.Errorf("doctor: got %+v, want no problems", problems)
			}
		})
	}
}
