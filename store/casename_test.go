package store

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckCaseName(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"  incident 7 ", "incident 7", ""},
		{"2024-05", "2024-05", ""},
		{"x1", "x1", ""},
		{"0042", "", "all digits"},
		{"a/b", "", "'/'"},
		{`a\b`, "", `'\\'`},
		{"a\x00b", "", "U+0000"},
		{"a\tb", "", "U+0009"},
		{"a\u0085b", "", "U+0085"},
		{"a\xffb", "", "UTF-8"},
		{".", "", "not allowed"},
		{"", "", "empty"},
		{strings.Repeat("é", 101), "", "longer than 200"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := CheckCaseName(tc.in)
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Fatalf("CheckCaseName(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("CheckCaseName(%q) error %v, want ErrInvalid mentioning %q", tc.in, err, tc.err)
			}
		})
	}
}
