package admit

import (
	"errors"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{in: "0", want: 0},
		{in: "1048576", want: 1048576},
		{in: "512MiB", want: 512 << 20},
		{in: "512mib", want: 512 << 20},
		{in: "512 MiB", want: 512 << 20},
		{in: " 64MB ", want: 64 << 20},
		{in: "64m", want: 64 << 20},
		{in: "2G", want: 2 << 30},
		{in: "2GB", want: 2 << 30},
		{in: "1.5GiB", want: 3 << 29},
		{in: "0.5k", want: 512},
		{in: "100B", want: 100},
		{in: "1K", want: 1024},
		{in: "1KiB", want: 1024},
		{in: "1T", want: 1 << 40},
		{in: "2TiB", want: 2 << 40},
		{in: "18446744073709551615", want: 18446744073709551615},
		{in: "16777215TiB", want: 16777215 << 40},
		{in: "", wantErr: true},
		{in: "MiB", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "-1G", wantErr: true},
		{in: "1.5", wantErr: true},
		{in: "1.5B", wantErr: true},
		{in: "1..5G", wantErr: true},
		{in: "2PB", wantErr: true},
		{in: "2 G B", wantErr: true},
		{in: "1e9", wantErr: true},
		{in: "18446744073709551616", wantErr: true},
		{in: "16777216TiB", wantErr: true},
		{in: "99999999999999999999.5T", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidSize) {
					t.Fatalf("ParseSize(%q) = %d, %v; want error wrapping ErrInvalidSize", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d, nil", tc.in, got, err, tc.want)
			}
		})
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "512MiB", "2G", "1.5GiB", "1e9", "-1", "99999999999999999999.5T", "1..5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil && !errors.Is(err, ErrInvalidSize) {
			t.Fatalf("ParseSize(%q) error %v does not wrap ErrInvalidSize", s, err)
		}
		if err != nil && n != 0 {
			t.Fatalf("ParseSize(%q) = %d with error %v; want 0", s, n, err)
		}
	})
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		in   uint64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1536, "1.5 KiB"},
		{64 << 20, "64.0 MiB"},
		{3 << 29, "1.5 GiB"},
		{2 << 40, "2.0 TiB"},
	}
	for _, tc := range tests {
		if got := formatSize(tc.in); got != tc.want {
			t.Errorf("formatSize(%d) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
