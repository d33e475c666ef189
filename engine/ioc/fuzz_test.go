package ioc

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"casescope/evtx"
)

// FuzzParseCSV: ParseCSV never panics, and whatever it accepts survives a
// WriteCSV/ParseCSV round trip unchanged.
func FuzzParseCSV(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "csv", "*.csv"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no CSV seeds in testdata/csv: %v", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		iocs, err := ParseCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteCSV(&buf, iocs); err != nil {
			t.Fatalf("WriteCSV: %v", err)
		}
		again, err := ParseCSV(&buf)
		if err != nil {
			t.Fatalf("ParseCSV(WriteCSV(x)): %v\n%s", err, buf.String())
		}
		if !slices.Equal(again, iocs) {
			t.Fatalf("round trip:\ngot  %+v\nwant %+v", again, iocs)
		}
	})
}

// FuzzParseText: ParseText never panics and only returns valid IOCs.
func FuzzParseText(f *testing.F) {
	for _, s := range []string{"10.0.0.1\nevil[.]com\n# c\n", "\ufeffC:\\x.exe\r\nCORP\\alice\r\n", ""} {
		f.Add(s)
	}
	seeds := readMatchSeeds(f)
	for _, s := range seeds {
		f.Add(s.ioc + "\n" + s.value)
	}
	f.Fuzz(func(t *testing.T, s string) {
		iocs, err := ParseText(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, c := range iocs {
			if _, err := Validate(c); err != nil {
				t.Fatalf("ParseText returned invalid %+v: %v", c, err)
			}
		}
	})
}

type matchSeed struct{ typ, ioc, value string }

// readMatchSeeds loads testdata/match_seeds.tsv (type, ioc, value).
func readMatchSeeds(t testing.TB) []matchSeed {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "match_seeds.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []matchSeed
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if i == 0 {
			continue // header
		}
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("match_seeds.tsv line %d: want 3 tab-separated cells", i+1)
		}
		out = append(out, matchSeed{parts[0], parts[1], parts[2]})
	}
	return out
}

// FuzzMatch: compiling and matching arbitrary IOCs and text never panics; a
// valid IOC always matches a field holding its own normalised value; and a
// string IOC hits exactly when its lowered value is a substring of the
// lowered field (a check of the Aho-Corasick pass against a plain search).
func FuzzMatch(f *testing.F) {
	for _, s := range readMatchSeeds(f) {
		f.Add(s.typ, s.ioc, s.value)
	}
	f.Fuzz(func(t *testing.T, typ, value, text string) {
		c, err := Validate(IOC{ID: "f", Type: Type(typ), Value: value, Enabled: true})
		if err != nil {
			return
		}
		m, err := Compile([]IOC{c})
		if err != nil {
			t.Fatalf("Compile(%+v) after Validate: %v", c, err)
		}
		ev := &evtx.Event{Computer: text, Data: []evtx.Field{{Name: "F", Value: text}, {Name: "SelfUserName", Value: c.Value}}}
		hits := m.Match(ev, nil)
		var inText, self bool
		for _, h := range hits {
			if h.IOCID != "f" || h.Value != c.Value || h.Type != c.Type {
				t.Fatalf("bad hit %+v for %+v", h, c)
			}
			switch h.Field {
			case "F":
				inText = true
			case "SelfUserName":
				self = true
			}
		}
		if !self {
			t.Errorf("%s %q does not match its own value", c.Type, c.Value)
		}
		if c.Type == TypeString {
			want := strings.Contains(fold(text), fold(c.Value))
			if inText != want {
				t.Errorf("string %q in %q: got %v, want %v", c.Value, text, inText, want)
			}
		}
	})
}
