package admit

import (
	"os"
	"path/filepath"
	"testing"
)

// testdataDir returns the shared test data directory: $CASESCOPE_TESTDATA,
// else ../shared/testdata beside the repository root (the directory with
// go.mod). It skips the test when the data is missing, unless CI=true.
func testdataDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("CASESCOPE_TESTDATA")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			tb.Fatalf("getwd: %v", err)
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				dir = filepath.Join(d, "..", "shared", "testdata")
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if dir != "" {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("test data not found (set CASESCOPE_TESTDATA); looked at %q", dir)
	}
	tb.Skipf("test data not found (set CASESCOPE_TESTDATA); looked at %q", dir)
	return ""
}
