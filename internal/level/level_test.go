package level

import "testing"

func TestRank(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"informational", 1}, {"low", 2}, {"Medium", 3}, {"HIGH", 4}, {"critical", 5},
		{"info", 0}, {"", 0}, {"severe", 0},
	}
	for _, tc := range tests {
		if got := Rank(tc.in); got != tc.want {
			t.Errorf("Rank(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
