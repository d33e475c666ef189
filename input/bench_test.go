package input_test

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"casescope/evtx"
	"casescope/input"
)

// BenchmarkOneLineArray streams a Security-Datasets-2.0-style file — one
// JSON array of 400,000 flat Windows events on a single 122 MB line — and
// reports the peak heap in use while reading (sampled every 20,000
// events): the reader holds one record, not the line.
//
//	go test -run '^$' -bench OneLineArray -benchtime 1x ./input/
func BenchmarkOneLineArray(b *testing.B) {
	p := filepath.Join(b.TempDir(), "array.json")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	rec := `{"EventID":4624,"Channel":"Security","TimeCreated":"2022-09-21T11:46:39.080Z","Computer":"DC01",` +
		`"EventData":"<EventData><Data Name='TargetUserName'>bob</Data></EventData>","Message":"` + strings.Repeat("x", 132) + `"}`
	const n = 400_000
	w.WriteString("[")
	for i := 0; i < n; i++ {
		if i > 0 {
			w.WriteString(",")
		}
		w.WriteString(rec)
	}
	w.WriteString("]\r\n")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	st, _ := os.Stat(p)
	b.SetBytes(st.Size())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var peak uint64
		var ms runtime.MemStats
		c := 0
		_, _, err := input.Stream(b.Context(), p, evtx.Options{}, func(*evtx.Event) error {
			if c++; c%20_000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			return nil
		})
		if err != nil || c != n {
			b.Fatalf("%d events, %v; want %d", c, err, n)
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}
