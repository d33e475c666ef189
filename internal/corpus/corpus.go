// Package corpus locates test data for casescope's tests: the shared
// read-only corpus (../shared/testdata, or $CASESCOPE_TESTDATA) and the
// small permissively licensed fixtures committed in the repo's testdata/.
package corpus

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// RepoRoot returns the directory holding go.mod, walking up from the
// working directory of the test.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Fixture returns the path of a file in the repo's own testdata/.
func Fixture(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "testdata", name)
}

// Shared returns the shared corpus directory. When it is absent the test is
// skipped with a clear message, except under CI=true where that is a
// failure.
func Shared(t testing.TB) string {
	t.Helper()
	dir, ok := SharedIfPresent(t)
	if !ok {
		t.Skipf("shared test corpus not found at %s (set CASESCOPE_TESTDATA to run this test)", sharedDir(t))
	}
	return dir
}

// SharedIfPresent is Shared for a test that also runs without the shared
// corpus (a fuzz target's extra seeds): ok is false when it is absent,
// except under CI=true where that is a failure.
func SharedIfPresent(t testing.TB) (dir string, ok bool) {
	t.Helper()
	dir = sharedDir(t)
	if _, err := os.Stat(filepath.Join(dir, "expected", "counts.tsv")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test corpus not found at %s (set CASESCOPE_TESTDATA): %v", dir, err)
		}
		return "", false
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("abs %s: %v", dir, err)
	}
	return abs, true
}

// sharedDir is where the shared corpus should be: $CASESCOPE_TESTDATA or
// ../shared/testdata beside the repo.
func sharedDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("CASESCOPE_TESTDATA"); dir != "" {
		return dir
	}
	return filepath.Join(RepoRoot(t), "..", "shared", "testdata")
}

// EVTXFiles lists the .evtx files under dir, sorted.
func EVTXFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(strings.ToLower(p), ".evtx") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	sort.Strings(out)
	return out
}

// Replicate writes copies × len(src) distinct files into dst: copy k of a
// file gets k+1 bytes appended after its last chunk, which the EVTX reader
// ignores, so every copy has the same events but its own sha256 (dedupe
// does not skip it). It returns the paths written.
func Replicate(t testing.TB, src []string, dst string, copies int) []string {
	t.Helper()
	var out []string
	for i, p := range src {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		for k := 0; k < copies; k++ {
			dir := filepath.Join(dst, fmt.Sprintf("copy%03d", k))
			if err := os.MkdirAll(dir, 0o750); err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(dir, fmt.Sprintf("%03d_%s", i, filepath.Base(p)))
			data := append(b[:len(b):len(b)], make([]byte, k+1)...)
			if err := os.WriteFile(name, data, 0o600); err != nil {
				t.Fatalf("write %s: %v", name, err)
			}
			out = append(out, name)
		}
	}
	return out
}
