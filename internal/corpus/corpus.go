// Package corpus locates test data for casescope's tests: the shared
// read-only corpus (../shared/testdata, or $CASESCOPE_TESTDATA) and the
// small permissively licensed fixtures committed in the repo's testdata/.
package corpus

import (
	"os"
	"path/filepath"
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
	dir := os.Getenv("CASESCOPE_TESTDATA")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared", "testdata")
	}
	if _, err := os.Stat(filepath.Join(dir, "expected", "counts.tsv")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test corpus not found at %s (set CASESCOPE_TESTDATA): %v", dir, err)
		}
		t.Skipf("shared test corpus not found at %s (set CASESCOPE_TESTDATA to run this test)", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("abs %s: %v", dir, err)
	}
	return abs
}
