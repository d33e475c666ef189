package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"casescope/evtx"
)

// mappedRSS sums the resident kB of this process's mappings of files under
// dir, from /proc/self/smaps.
func mappedRSS(t *testing.T, dir string) (kb int, maps int) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			// A mapping's header line: address range … [path].
			in = len(fields) >= 6 && strings.HasPrefix(fields[5], dir) && strings.HasSuffix(fields[5], ".zap")
			if in {
				maps++
			}
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			n, _ := strconv.Atoi(fields[1])
			kb += n
		}
	}
	return kb, maps
}

// TestReleasePages: after a search has read the on-disk segments, their
// pages count in the process's resident set; ReleasePages drops them to
// zero, and the index still answers the same.
func TestReleasePages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "index")
	x, err := OpenIndex(dir, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	const n = 20000
	for b := 0; b < n/1000; b++ {
		docs := make([]Doc, 0, 1000)
		for i := b * 1000; i < (b+1)*1000; i++ {
			docs = append(docs, Doc{FileID: 1, Event: &evtx.Event{RecordID: uint64(i + 1), EventID: uint32(4624 + i%3),
				TimeCreated: base.Add(time.Duration(i) * time.Second), Channel: "Security", Computer: "dc01",
				Data: []evtx.Field{{Name: "TargetUserName", Value: fmt.Sprintf("user%d", i%50)}}}})
		}
		if err := x.IndexDocs(docs, true); err != nil {
			t.Fatal(err)
		}
	}
	search := func() SearchResult {
		res, err := x.Search(context.Background(), SearchRequest{Query: "EventID:4625", Size: 10, Facets: true, Histogram: true})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	before := search()
	if want := uint64((n + 1) / 3); before.Total != want { // i%3 == 1
		t.Fatalf("total %d, want %d", before.Total, want)
	}
	// Let background merges finish: a merge reads (and maps) segments.
	waitQuiet(t, dir)
	search()
	kb, maps := mappedRSS(t, dir)
	if maps == 0 || kb == 0 {
		t.Fatalf("no resident segment pages after a search (%d maps, %d kB)", maps, kb)
	}
	released, err := x.ReleasePages()
	if err != nil {
		t.Fatal(err)
	}
	if released == 0 {
		t.Fatal("ReleasePages released nothing")
	}
	if after, _ := mappedRSS(t, dir); after != 0 {
		t.Errorf("%d kB of segment pages resident after ReleasePages (was %d kB)", after, kb)
	}
	again := search()
	if again.Total != before.Total || len(again.Hits) != len(before.Hits) || again.Hits[0].ID != before.Hits[0].ID ||
		again.Facets[FieldComputer][0] != before.Facets[FieldComputer][0] {
		t.Errorf("results changed after ReleasePages: %+v vs %+v", again, before)
	}
}

// waitQuiet waits until the index's segment files have not changed for a
// second (no persist or merge running).
func waitQuiet(t *testing.T, dir string) {
	t.Helper()
	prev, stable := "", 0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		names, _ := filepath.Glob(filepath.Join(dir, "store", "*.zap"))
		cur := strings.Join(names, ",")
		if cur == prev && cur != "" {
			if stable++; stable >= 5 {
				return
			}
			continue
		}
		prev, stable = cur, 0
	}
	t.Fatal("index still merging after 30 s")
}
