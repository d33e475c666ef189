package query_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	bq "github.com/blevesearch/bleve/v2/search/query"

	"casescope/store/query"
)

// seedQueries reads testdata/queries.txt.
func seedQueries(tb testing.TB) []string {
	tb.Helper()
	fh, err := os.Open("testdata/queries.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	var out []string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// FuzzParse checks that no input panics, that every error is a
// *ParseError pointing into the query, and that every accepted query
// marshals and passes Bleve's own validation.
func FuzzParse(f *testing.F) {
	for _, q := range seedQueries(f) {
		f.Add(q, false)
		f.Add(q, true)
	}
	f.Fuzz(func(t *testing.T, q string, strict bool) {
		got, _, err := query.Parse(q, query.Options{Strict: strict, Now: testNow})
		if err != nil {
			var pe *query.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T, want *ParseError", q, err)
			}
			if n := utf8.RuneCountInString(q); pe.Pos < 0 || pe.Pos > n+1 {
				t.Fatalf("Parse(%q) error position %d outside 0..%d", q, pe.Pos, n+1)
			}
			return
		}
		if got == nil {
			t.Fatalf("Parse(%q) = nil query and nil error", q)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("Parse(%q) query does not marshal: %v", q, err)
		}
		if v, ok := got.(bq.ValidatableQuery); ok {
			if err := v.Validate(); err != nil {
				t.Fatalf("Parse(%q) query fails Bleve validation: %v", q, err)
			}
		}
	})
}

// BenchmarkParse parses the seed queries; regexps are split out because
// validating one builds vellum's automaton, which costs milliseconds.
func BenchmarkParse(b *testing.B) {
	var plain, regexps []string
	for _, q := range seedQueries(b) {
		if strings.Contains(q, ":/") || strings.HasPrefix(q, "/") {
			regexps = append(regexps, q)
		} else {
			plain = append(plain, q)
		}
	}
	for _, bc := range []struct {
		name   string
		qs     []string
		strict bool
	}{
		{"plain", plain, false},
		{"plain-strict", plain, true},
		{"regexp", regexps, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, q := range bc.qs {
					_, _, _ = query.Parse(q, query.Options{Strict: bc.strict, Now: testNow})
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bc.qs)), "ns/query")
		})
	}
}
