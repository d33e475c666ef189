package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"casescope/evtx"
)

// BenchmarkWorkspace measures the top values of a field, a page sorted on
// a field and the window around an event on a synthetic case of 100,000
// logon events (1,000 account names, 5,000 addresses, 4 event IDs, a
// command line unique to each).
func BenchmarkWorkspace(b *testing.B) {
	x, err := OpenIndex(filepath.Join(b.TempDir(), "index"), IndexOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = x.Close() })
	const n = 100_000
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	ids := []uint32{4624, 4625, 4634, 4648}
	var mid string
	for start := 0; start < n; start += 5000 {
		docs := make([]Doc, 0, 5000)
		for i := start; i < start+5000; i++ {
			ev := &evtx.Event{RecordID: uint64(i + 1), EventID: ids[i%4], TimeCreated: t0.Add(time.Duration(i) * time.Second),
				Channel: "Security", Provider: "Microsoft-Windows-Security-Auditing", Computer: fmt.Sprintf("WS%02d", i%20),
				ChunkOffset: int64(i/100) * evtx.ChunkSize, RecordOffset: uint32(512 + (i%100)*8),
				Data: []evtx.Field{{Name: "TargetUserName", Value: fmt.Sprintf("user%04d", (i*7)%1000)},
					{Name: "IpAddress", Value: fmt.Sprintf("10.0.%d.%d", (i/250)%20, i%250)},
					{Name: "TargetLogonId", Value: fmt.Sprintf("0x%x", 1000+i/50)},
					{Name: "CommandLine", Value: fmt.Sprintf("cmd.exe /c run %d", i)}}}
			if i == n/2 {
				mid = DocID(1, ev)
			}
			docs = append(docs, Doc{FileID: 1, Event: ev})
		}
		if err := x.IndexDocs(docs, false); err != nil {
			b.Fatal(err)
		}
	}
	if err := x.IndexDocs(nil, true); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.Run("aggregate-all-TargetUserName", func(b *testing.B) {
		for b.Loop() {
			if _, err := x.Aggregate(ctx, SearchRequest{}, "TargetUserName", 20); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("aggregate-4625-IpAddress", func(b *testing.B) {
		for b.Loop() {
			if _, err := x.Aggregate(ctx, SearchRequest{Query: "EventID:4625"}, "IpAddress", 20); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("aggregate-all-CommandLine-unique", func(b *testing.B) {
		for b.Loop() {
			if _, err := x.Aggregate(ctx, SearchRequest{}, "CommandLine", 20); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sort-TargetUserName-page", func(b *testing.B) {
		for b.Loop() {
			if _, err := x.Search(ctx, SearchRequest{Query: "EventID:4625", SortField: "TargetUserName", Asc: true, Size: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sort-CommandLine-page", func(b *testing.B) {
		for b.Loop() {
			if _, err := x.Search(ctx, SearchRequest{SortField: "CommandLine", Size: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("around-computer-10min", func(b *testing.B) {
		at := t0.Add(n / 2 * time.Second)
		for b.Loop() {
			if _, err := x.Around(ctx, SearchRequest{Query: "Computer:WS00", From: at.Add(-10 * time.Minute), To: at.Add(10 * time.Minute)}, mid, 50, 50); err != nil {
				b.Fatal(err)
			}
		}
	})
}
