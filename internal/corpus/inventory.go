package corpus

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Inventory is one row of inputs/expected/inputs-inventory.tsv: a
// Windows-event JSON or XML file of the shared corpus with its record
// count, EventID and Channel histograms and event time range, made by
// the corpus's own Python script (plain json / xml.etree), not by
// casescope.
type Inventory struct {
	Path, Container    string // path relative to inputs/
	Records            int
	EventIDs           map[string]int
	Channels           map[string]int // as written ("security" and "Security" apart)
	TimeField          string
	Min, Max           string // "2006-01-02T15:04:05.000000Z", or "… (no zone)"
	RecordsWithoutTime int
}

// InputsInventory reads inputs/expected/inputs-inventory.tsv of the
// shared corpus at dir; a malformed row fails the test.
func InputsInventory(t testing.TB, dir string) []Inventory {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "inputs", "expected", "inputs-inventory.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hist := func(s string) map[string]int {
		m := map[string]int{}
		for _, kv := range strings.Split(s, ";") {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("inventory histogram %q: %v", s, err)
			}
			m[k] += n
		}
		return m
	}
	var rows []Inventory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if c[0] == "path" {
			continue
		}
		if len(c) != 9 {
			t.Fatalf("inventory line %q: %d columns, want 9", sc.Text(), len(c))
		}
		n, err1 := strconv.Atoi(c[2])
		nt, err2 := strconv.Atoi(c[8])
		if err1 != nil || err2 != nil {
			t.Fatalf("inventory line %q: counts are not numbers", sc.Text())
		}
		rows = append(rows, Inventory{Path: c[0], Container: c[1], Records: n, EventIDs: hist(c[3]), Channels: hist(c[4]),
			TimeField: c[5], Min: c[6], Max: c[7], RecordsWithoutTime: nt})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// CanonicalChannels folds the classic channel names to Windows' spelling
// ("security" counts as "Security"), as casescope records them.
func (r Inventory) CanonicalChannels() map[string]int {
	out := map[string]int{}
	for k, v := range r.Channels {
		switch strings.ToLower(k) {
		case "security":
			k = "Security"
		case "system":
			k = "System"
		case "application":
			k = "Application"
		}
		out[k] += v
	}
	return out
}

// InventoryTime renders a time as the inventory does: microseconds, "Z",
// or " (no zone)" for a source without a zone (casescope reads those as
// UTC).
func (r Inventory) InventoryTime(t time.Time) string {
	s := t.UTC().Format("2006-01-02T15:04:05.000000")
	if strings.HasSuffix(r.Min, "(no zone)") {
		return s + " (no zone)"
	}
	return s + "Z"
}
