package input_test

import (
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"casescope/evtx"
	"casescope/input"
	"casescope/internal/corpus"
)

// TestInventory reads each of the 18 Windows-event JSON and XML files of
// the inputs corpus and compares what it yields with the inventory the
// corpus's own script made: record count, EventID histogram, Channel
// histogram (classic names spelled as Windows does: "security" counts as
// "Security"), earliest and latest time (from the field the inventory
// names: TimeCreated, @timestamp, TimeGenerated or SystemTime). The
// engine's TestIngestWindowsInputs checks the same of what the index
// holds, on the smaller files.
func TestInventory(t *testing.T) {
	shared := corpus.Shared(t)
	rows := corpus.InputsInventory(t, shared)
	if len(rows) != 18 {
		t.Fatalf("inventory has %d files, want 18", len(rows))
	}
	for _, row := range rows {
		t.Run(row.Path, func(t *testing.T) {
			p := filepath.Join(shared, "inputs", filepath.FromSlash(row.Path))
			ids, chans := map[string]int{}, map[string]int{}
			var lo, hi time.Time
			n := 0
			st, f, err := input.Stream(t.Context(), p, evtx.Options{}, func(ev *evtx.Event) error {
				ids[strconv.Itoa(int(ev.EventID))]++
				chans[ev.Channel]++
				if n == 0 || ev.TimeCreated.Before(lo) {
					lo = ev.TimeCreated
				}
				if n == 0 || ev.TimeCreated.After(hi) {
					hi = ev.TimeCreated
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want := input.WinEventJSON
			if strings.HasPrefix(row.Path, "winevent-xml/") {
				want = input.WinEventXML
			}
			if f != want || n != row.Records || st.SkippedRecords != 0 {
				t.Fatalf("%q, %d records, %d skipped; want %q, %d, none", f, n, st.SkippedRecords, want, row.Records)
			}
			if !maps.Equal(ids, row.EventIDs) {
				t.Errorf("EventIDs %v, want %v", ids, row.EventIDs)
			}
			if w := row.CanonicalChannels(); !maps.Equal(chans, w) {
				t.Errorf("Channels %v, want %v", chans, w)
			}
			if got := row.InventoryTime(lo); got != row.Min {
				t.Errorf("earliest %s, want %s (%s)", got, row.Min, row.TimeField)
			}
			if got := row.InventoryTime(hi); got != row.Max {
				t.Errorf("latest %s, want %s (%s)", got, row.Max, row.TimeField)
			}
		})
	}
}
