package web_test

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestStaticAssetsSafe guards the UI source against the constructs that
// would let event text become markup or code, and against anything that
// would reach off the machine.
func TestStaticAssetsSafe(t *testing.T) {
	static := os.DirFS("static")
	banned := []struct {
		ext  string
		re   *regexp.Regexp
		why  string
		want bool // true: must be present
	}{
		{".js", regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser`), "HTML parsing of strings", false},
		{".js", regexp.MustCompile(`\beval\s*\(|new\s+Function\s*\(|setTimeout\(\s*['"]|setInterval\(\s*['"]`), "code from strings", false},
		{".js", regexp.MustCompile(`\.(href|src|action|formAction)\s*=|setAttribute\(\s*['"](on|href|src|style)`), "URL or handler attributes", false},
		{".js", regexp.MustCompile(`\b(import|fetch)\s*\(\s*['"]https?:|from\s+['"]https?:`), "remote code or data", false},
		{".html", regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`), "inline script", false},
		{".html", regexp.MustCompile(`(?i)\son[a-z]+\s*=`), "inline event handler", false},
		{".html", regexp.MustCompile(`(?i)\sstyle\s*=`), "inline style", false},
		{".html", regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`), "remote asset", false},
		{".css", regexp.MustCompile(`(?i)@import|url\(\s*['"]?(https?:)?//`), "remote stylesheet or font", false},
		{".html", regexp.MustCompile(`<script type="module" src="/static/js/main.js"></script>`), "the module entry point", true},
	}
	seen := map[string]bool{}
	err := fs.WalkDir(static, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, path)
		if err != nil {
			return err
		}
		text := string(b)
		for _, c := range banned {
			if !strings.HasSuffix(path, c.ext) {
				continue
			}
			seen[c.ext] = true
			found := c.re.FindString(text)
			switch {
			case c.want && found == "":
				t.Errorf("%s: missing %s", path, c.why)
			case !c.want && found != "":
				t.Errorf("%s: %s (%q)", path, c.why, found)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".js", ".html", ".css"} {
		if !seen[ext] {
			t.Errorf("no %s file checked", ext)
		}
	}
}
