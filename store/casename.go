package store

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxCaseName bounds a case name, in bytes.
const maxCaseName = 200

// CheckCaseName trims a case name and checks that it can address its
// case: in a URL path segment (/api/cases/{case}), on the command line
// (--case NAME) and in the audit log. A name that is all digits would be
// taken for a case ID, and one with a slash, backslash, NUL or control
// character, "." or "..", could be created but never reached again. The
// error wraps ErrInvalid and says why.
func CheckCaseName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", fmt.Errorf("case name is empty: %w", ErrInvalid)
	case len(name) > maxCaseName:
		return "", fmt.Errorf("case name is longer than %d bytes: %w", maxCaseName, ErrInvalid)
	case !utf8.ValidString(name):
		return "", fmt.Errorf("case name is not valid UTF-8: %w", ErrInvalid)
	case name == "." || name == "..":
		return "", fmt.Errorf("case name %q is not allowed: %w", name, ErrInvalid)
	case strings.Trim(name, "0123456789") == "":
		return "", fmt.Errorf("case name %q is all digits, which reads as a case ID; add a letter: %w", name, ErrInvalid)
	}
	if i := strings.IndexFunc(name, func(r rune) bool {
		return r == '/' || r == '\\' || unicode.IsControl(r) || r == utf8.RuneError
	}); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		what := fmt.Sprintf("%q", r)
		switch {
		case unicode.IsControl(r):
			what = fmt.Sprintf("a control character (U+%04X)", r)
		case r == utf8.RuneError:
			what = "an invalid character (U+FFFD)"
		}
		return "", fmt.Errorf("case name may not contain %s (/, \\ and control characters are refused): %w", what, ErrInvalid)
	}
	return name, nil
}
