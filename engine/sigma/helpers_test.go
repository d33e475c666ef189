package sigma

import (
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
)

// testdataDir returns the shared test data folder: $CASESCOPE_TESTDATA,
// else ../shared/testdata beside the repository root. It skips the test
// when the folder is absent, and fails it instead when CI=true.
func testdataDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("CASESCOPE_TESTDATA"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			root = ""
			break
		}
		root = parent
	}
	if root != "" {
		d := filepath.Join(filepath.Dir(root), "shared", "testdata")
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("test data not found: set CASESCOPE_TESTDATA or provide ../shared/testdata beside the repository")
	}
	t.Skip("test data not found: set CASESCOPE_TESTDATA or provide ../shared/testdata beside the repository")
	return ""
}

// embeddedRuleset loads the embedded rules once per test binary.
var embeddedRuleset = sync.OnceValues(func() (*Ruleset, error) {
	return Load(Options{}, Embedded())
})

func loadEmbedded(t testing.TB) *Ruleset {
	t.Helper()
	rs, err := embeddedRuleset()
	if err != nil {
		t.Fatalf("load embedded rules: %v", err)
	}
	return rs
}

// loadText loads one rule file, rule.yml, holding text.
func loadText(text string) (*Ruleset, error) {
	return Load(Options{}, fstest.MapFS{"rule.yml": {Data: []byte(text)}})
}

// fsWalk calls fn with the path of every file in fsys.
func fsWalk(fsys fs.FS, fn func(string)) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			fn(p)
		}
		return nil
	})
}
