package corpus

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Count is one row of the shared corpus's expected/counts.tsv: the records
// libevtx and python-evtx read from one file (path relative to evtx/).
type Count struct {
	Path    string
	Libevtx int
	Python  int
	Notes   string // the notes column, e.g. "libevtx flags file as corrupted"
}

// Corrupted reports whether libevtx flags the file as corrupted: only such
// files can hold live records past a broken record header (see Expected).
func (c Count) Corrupted() bool { return strings.Contains(c.Notes, "libevtx flags file as corrupted") }

// Agree reports whether the two independent parsers agree on the file.
func (c Count) Agree() bool { return c.Libevtx == c.Python }

// Counts reads expected/counts.tsv of the shared corpus at dir, in file
// order; a malformed row fails the test.
func Counts(t testing.TB, dir string) []Count {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "expected", "counts.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []Count
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			t.Fatalf("counts.tsv: %q: want path, records_libevtx, records_python_evtx", line)
		}
		lib, err1 := strconv.Atoi(f[1])
		py, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			t.Fatalf("counts.tsv: %q: counts are not numbers", line)
		}
		c := Count{Path: f[0], Libevtx: lib, Python: py}
		if len(f) > 3 {
			c.Notes = f[3]
		}
		out = append(out, c)
	}
	return out
}

// LibevtxCounts maps each corpus file (path relative to evtx/) to the
// records libevtx reads, whatever python-evtx says.
func LibevtxCounts(t testing.TB, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, c := range Counts(t, dir) {
		out[c.Path] = c.Libevtx
	}
	return out
}
