package sigma

import "testing"

// TestGlob checks the wildcard matcher on its own, including multi-byte
// characters: ? stands for exactly one character, * for any run.
func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, text string
		want          bool
	}{
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"a*c", "abc", true},
		{"a*c", "ac", true},
		{"a*c", "acb", false},
		{"*", "", true},
		{"*?", "", false},
		{"*?", "€", true},
		{"*??", "€", false},
		{"??", "€€", true},
		{"?", "€", true},
		{"?", "ab", false},
		{"a?c*e", "abcde", true},
		{"a?c*e", "ac-e", false},
		{"*a*b*c*", "xxaxxbxxcxx", true},
		{"*a*b*c*", "xxcxxbxxaxx", false},
		{"*ab?", "abxab€", true},
		{"*ab?", "abxab", false},
		{"x*y?z", "x12y3z", true},
		{"x*y?z", "xy3zy4z", true},
		{"x*y?z", "xy3zy4", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"/"+tt.text, func(t *testing.T) {
			g := newGlob(parseSString(tt.pattern).normalized())
			if got := g.match(tt.text); got != tt.want {
				t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.text, got, tt.want)
			}
		})
	}
}

// TestParseSString checks Sigma's escaping rules piece by piece.
func TestParseSString(t *testing.T) {
	tests := []struct {
		in   string
		want sstring
	}{
		{`a*b`, sstring{{lit: "a"}, {wild: '*'}, {lit: "b"}}},
		{`a\*b`, sstring{{lit: "a*b"}}},
		{`a\?b`, sstring{{lit: "a?b"}}},
		{`a\\b`, sstring{{lit: `a\b`}}},
		{`a\\*`, sstring{{lit: `a\`}, {wild: '*'}}},
		{`C:\Windows\`, sstring{{lit: `C:\Windows\`}}},
		{`?`, sstring{{wild: '?'}}},
	}
	for _, tt := range tests {
		got := parseSString(tt.in)
		if len(got) != len(tt.want) {
			t.Errorf("parseSString(%q) = %+v, want %+v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("parseSString(%q) = %+v, want %+v", tt.in, got, tt.want)
				break
			}
		}
	}
}
