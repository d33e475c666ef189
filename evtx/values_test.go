package evtx

import (
	"encoding/hex"
	"testing"
)

// TestRenderValues checks the table in doc.go; expected strings are as
// evtxexport (libevtx) prints the same bytes, except timestamps (7 digits
// for FILETIME, milliseconds for SYSTEMTIME, see doc.go).
func TestRenderValues(t *testing.T) {
	tests := []struct {
		name string
		typ  uint8
		hex  string
		cp   int
		want string
		bad  bool
	}{
		{"Int8 is a number", tInt8, "6e", 0, "110", false},
		{"Int8 negative", tInt8, "ff", 0, "-1", false},
		{"UInt64 decimal", tUInt64, "0000000000000000", 0, "0", false},
		{"Int32", tInt32, "feffffff", 0, "-2", false},
		{"HexInt32", tHexInt32, "6d0000c0", 0, "0xc000006d", false},
		{"HexInt64", tHexInt64, "e703000000000000", 0, "0x3e7", false},
		{"SizeT", tSizeT, "0400000000000000", 0, "4", false},
		{"Bool", tBool, "01000000", 0, "true", false},
		{"Binary", tBinary, "d9060000", 0, "D9060000", false},
		{"GUID", tGUID, "25968454785494 49a5ba3e3b0328c30d", 0, "{54849625-5478-4994-A5BA-3E3B0328C30D}", false},
		{"SID", tSID, "010100000000000512000000", 0, "S-1-5-18", false},
		{"FILETIME 0", tFileTime, "0000000000000000", 0, "1601-01-01T00:00:00.0000000Z", false},
		{"FILETIME", tFileTime, "1896575744d9d101", 0, "2016-07-08T18:12:51.6816408Z", false},
		{"SYSTEMTIME", tSysTime, "e307040006001b0015000600310055 01", 0, "2019-04-27T21:06:49.341Z", false},
		{"AnsiString 1252", tAnsiString, "a6e900", 0, "¦é", false},
		{"AnsiString 1251", tAnsiString, "e9", 1251, "й", false},
		{"String", tString, "410042000000", 0, "AB", false},
		{"UInt32 of wrong size kept as hex", tUInt32, "0102", 0, "0102", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(stripSpaces(tc.hex))
			if err != nil {
				t.Fatal(err)
			}
			r := renderer{buf: b, ansi: ansiDecoder(tc.cp)}
			got := r.render(value{typ: tc.typ, off: 0, n: len(b)})
			if got != tc.want || (len(r.bad) > 0) != tc.bad {
				t.Errorf("render = %q (problems %v), want %q (problem %v)", got, r.bad, tc.want, tc.bad)
			}
		})
	}
}

func stripSpaces(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			out = append(out, s[i])
		}
	}
	return string(out)
}
