// Command mkcorpus builds the bulk-import benchmark corpus: by default
// 11,590 EVTX files modelled on the import that broke the old platform
// (about 62% zero-event or header-only files), deterministically, from the
// shared test corpus. It prints the corpus totals as JSON.
//
//	go run ./bench/mkcorpus -src ../shared/testdata -out /tmp/corpus
package main

import (
	"archive/zip"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Totals describes the corpus built.
type Totals struct {
	Files          int   `json:"files"` // files on disk, ZIP entries counted inside their ZIP
	Bytes          int64 `json:"bytes"`
	ExpectedEvents int64 `json:"expected_events"` // events the import must index
	ZeroEvent      int   `json:"zero_event_files"`
	HeaderOnly     int   `json:"header_only_files"`
	RealCopies     int   `json:"real_copies"`
	Duplicates     int   `json:"byte_identical_duplicates"`
	Malformed      int   `json:"malformed_copies"`
	Zips           int   `json:"zips"`
	ZipEntries     int   `json:"zip_entries"`
	Units          int   `json:"import_units"` // files + ZIP entries: what the ledger will record
}

func main() {
	src := flag.String("src", "../shared/testdata", "shared test data directory")
	out := flag.String("out", "", "output directory (created; must not exist)")
	n := flag.Int("n", 11590, "import units (files plus ZIP entries)")
	zeroShare := flag.Float64("zero", 0.626, "share of zero-event and header-only files")
	seed := flag.Uint64("seed", 11590, "random seed")
	first := flag.Int("first", 0, "serial of the first file, for a corpus added to an earlier one (e.g. 1000000): files' tails are their serials, so two corpora with different -first share no file")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "mkcorpus: -out is required")
		os.Exit(2)
	}
	t, err := build(*src, *out, *n, *zeroShare, *seed, *first)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkcorpus:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(t)
}

type source struct {
	rel    string
	data   []byte
	events int64
}

func loadSources(src string) (real, malformed []source, empty []byte, err error) {
	raw, err := os.ReadFile(filepath.Join(src, "expected", "counts.tsv"))
	if err != nil {
		return nil, nil, nil, err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n")[1:] {
		f := strings.Split(line, "\t")
		// libevtx's count of allocated records is what casescope indexes.
		n, _ := strconv.ParseInt(f[1], 10, 64)
		b, err := os.ReadFile(filepath.Join(src, "evtx", f[0]))
		if err != nil {
			return nil, nil, nil, err
		}
		s := source{rel: f[0], data: b, events: n}
		switch {
		case strings.HasPrefix(f[0], "empty/"):
			empty = b
		case strings.HasPrefix(f[0], "malformed/"):
			malformed = append(malformed, s)
		case n > 0:
			real = append(real, s)
		}
	}
	sort.Slice(real, func(a, b int) bool { return real[a].rel < real[b].rel })
	return real, malformed, empty, nil
}

func build(src, out string, n int, zeroShare float64, seed uint64, first int) (Totals, error) {
	var t Totals
	real, malformed, empty, err := loadSources(src)
	if err != nil {
		return t, err
	}
	if empty == nil || len(real) == 0 {
		return t, fmt.Errorf("no empty or real EVTX files under %s", src)
	}
	if err := os.Mkdir(out, 0o755); err != nil {
		return t, err
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	hosts := []string{"DC01", "DC02", "WKS-0117", "WKS-0342", "SRV-FILE01", "SRV-SQL02", "LAPTOP-7", "HOST-7"}
	serial := first
	// unique returns data with a distinct tail: bytes past the last chunk
	// are ignored by EVTX readers but change the sha256.
	unique := func(data []byte) []byte {
		serial++
		tail := []byte(fmt.Sprintf("\x00casescope-bench-%08d", serial))
		return append(data[:len(data):len(data)], tail...)
	}
	dir := func() string {
		h := hosts[r.IntN(len(hosts))]
		d := filepath.Join(out, h, fmt.Sprintf("collection-%d", r.IntN(4)), "winevt", "Logs")
		if r.IntN(3) == 0 {
			d = filepath.Join(out, h, "triage")
		}
		return d
	}
	write := func(name string, data []byte) error {
		d := dir()
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		t.Files++
		t.Bytes += int64(len(data))
		return os.WriteFile(filepath.Join(d, fmt.Sprintf("%05d_%s", serial, name)), data, 0o644)
	}
	zeroTotal := int(float64(n)*zeroShare + 0.5)
	dupes := 300
	malCopies := 2 * len(malformed)
	zips, perZip := 5, 20
	realTotal := n - zeroTotal - dupes - malCopies - zips*perZip
	if realTotal < 1 {
		return t, fmt.Errorf("n=%d too small", n)
	}
	// Zero-event: half empty logs (header + one chunk, no records), half
	// header-only files (the 4 KiB file header of a real log, no chunks).
	for i := 0; i < zeroTotal; i++ {
		if i%2 == 0 {
			if err := write("Microsoft-Windows-Empty.evtx", unique(empty)); err != nil {
				return t, err
			}
			t.ZeroEvent++
		} else {
			s := real[r.IntN(len(real))]
			if err := write("headeronly_"+filepath.Base(s.rel), unique(s.data[:4096])); err != nil {
				return t, err
			}
			t.HeaderOnly++
		}
	}
	var written [][]byte // real copies, for byte-identical duplicates
	for i := 0; i < realTotal; i++ {
		s := real[i%len(real)]
		data := unique(s.data)
		if err := write(filepath.Base(s.rel), data); err != nil {
			return t, err
		}
		if len(written) < dupes {
			written = append(written, data)
		}
		t.RealCopies++
		t.ExpectedEvents += s.events
	}
	for i := 0; i < dupes; i++ {
		serial++
		if err := write("dup.evtx", written[i%len(written)]); err != nil {
			return t, err
		}
		t.Duplicates++
	}
	for i := 0; i < malCopies; i++ {
		s := malformed[i%len(malformed)]
		if err := write(filepath.Base(s.rel), unique(s.data)); err != nil {
			return t, err
		}
		t.Malformed++
		t.ExpectedEvents += s.events
	}
	for z := 0; z < zips; z++ {
		serial++
		p := filepath.Join(out, hosts[z%len(hosts)], fmt.Sprintf("kape-collection-%d.zip", z))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return t, err
		}
		f, err := os.Create(p)
		if err != nil {
			return t, err
		}
		zw := zip.NewWriter(f)
		for i := 0; i < perZip; i++ {
			s := real[r.IntN(len(real))]
			w, err := zw.Create(fmt.Sprintf("C/Windows/System32/winevt/Logs/%02d_%s", i, filepath.Base(s.rel)))
			if err != nil {
				return t, err
			}
			if _, err := w.Write(unique(s.data)); err != nil {
				return t, err
			}
			t.ExpectedEvents += s.events
			t.ZipEntries++
		}
		if err := zw.Close(); err != nil {
			return t, err
		}
		st, _ := f.Stat()
		t.Bytes += st.Size()
		if err := f.Close(); err != nil {
			return t, err
		}
		t.Zips++
		t.Files++
	}
	t.Units = t.Files - t.Zips + t.ZipEntries
	return t, nil
}
