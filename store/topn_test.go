package store

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"

	"casescope/evtx"
)

// TestTopSortedAgreesWithBleve: pages of the parallel sorted pass, split
// over groups of segments, walked with their cursors newest and oldest
// first, list exactly the matches Bleve's own sort on the key lists, in
// the same order, with the same totals.
func TestTopSortedAgreesWithBleve(t *testing.T) {
	x, err := OpenIndex(filepath.Join(t.TempDir(), "index"), IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.Close() })
	x.sortParallelMin, x.sortWorkers = 1, 3
	rng := rand.New(rand.NewPCG(23, 5))
	base := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for file := uint64(1); file <= 6; file++ { // one batch, one segment each
		var docs []Doc
		for i := range 250 {
			// Few distinct times: many events share one (order by file, record).
			at := base.Add(time.Duration(rng.IntN(40)) * time.Hour)
			docs = append(docs, Doc{FileID: file, Event: &evtx.Event{RecordID: uint64(i + 1), RecordOffset: uint32(0x200 + 8*i),
				EventID: uint32(4624 + rng.IntN(3)), TimeCreated: at, Channel: []string{"Security", "System"}[rng.IntN(2)]}})
		}
		if err := x.IndexDocs(docs, true); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"", "EventID:4625", "Channel:Security AND NOT EventID:4624"} {
		for _, asc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%q asc=%v", q, asc), func(t *testing.T) {
				// Bleve's sort, all matches in one page: the truth.
				bq, err := parseQuery(q, QueryOptions{})
				if err != nil {
					t.Fatal(err)
				}
				req := bleve.NewSearchRequestOptions(bq, 10000, 0, false)
				req.SortByCustom(search.SortOrder{&search.SortField{Field: FieldSortKey, Desc: !asc, Type: search.SortFieldAsString}})
				truth, err := x.idx.SearchInContext(t.Context(), req)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, h := range truth.Hits {
					want = append(want, h.ID)
				}
				var got []string
				cursor := ""
				for range 200 {
					res, err := x.Search(t.Context(), SearchRequest{Query: q, Size: 37, Asc: asc, Cursor: cursor})
					if err != nil {
						t.Fatal(err)
					}
					if res.Total != truth.Total {
						t.Fatalf("total: got %d, want %d", res.Total, truth.Total)
					}
					for _, h := range res.Hits {
						got = append(got, h.ID)
					}
					if cursor = res.Next; cursor == "" {
						break
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("order: got %d IDs, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
				}
			})
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
