package admit

// Cost model constants, in bytes; see EstimateCost.
const (
	// CostBase is the per-file cost independent of the batch: one 64 KiB
	// chunk's parsed records (up to ~160 per chunk seen in the test data,
	// ~1.6 KiB each), the Velocidex parser's per-chunk garbage (~3 MiB
	// allocated per chunk), the Go GC's headroom on it, and the index
	// writer's fixed overhead.
	CostBase = 20 * MiB
	// CostPerEvent is the cost of one event held in the index batch: the
	// parsed evtx.Event (~1.6 KiB live) plus the Bleve document, its
	// analysis and the in-memory segment built from the batch, plus GC
	// headroom (peak, not live, heap).
	CostPerEvent = 80 * KiB
	// CostFileDivisor: a file adds fileSize/CostFileDivisor. The parser
	// streams, so file size would not matter at all, but evtx.Stream keeps
	// a map of every record ID it has seen to drop duplicates: ~40 B per
	// record (measured, Go 1.26 map[uint64]struct{}) at up to ~200 records
	// per 64 KiB chunk is about 1/8 of the file size. If the evtx package
	// drops that map, this term can go.
	CostFileDivisor = 8
	// MaxCost caps an estimate. Anything near it exceeds most budgets and
	// so runs alone anyway (see Controller); the cap keeps absurd inputs
	// (a 100 GB file, a batch of millions) from producing absurd numbers.
	MaxCost = 512 * MiB
)

// EstimateCost returns the peak extra memory, in bytes, that one file of
// fileSize bytes in flight costs when the indexer commits batches of
// batchSize events:
//
//	cost = CostBase + batchSize×CostPerEvent + fileSize/CostFileDivisor, capped at MaxCost
//
// Calibration (BenchmarkFileCost, Go 1.26, GOGC=100, linux/amd64, 2 busy
// vCPUs; three runs, min–max): streaming smb-password-guessing-security.evtx
// (3.2 MB, 3561 records, 34 chunks) through evtx.StreamFile, peak HeapInuse
// above a post-GC baseline was, in MiB:
//
//	batch                          1        100       500        1000        2000
//	hold batches, no index    6.3–8.0    6.0–9.4  6.6–10.2    8.5–11.8   13.3–15.3
//	Bleve on disk, default          –  15.0–20.8 46.2–50.6   74.7–87.7 127.6–152.8
//	dynamic mapping
//	EstimateCost(3215360, n)     20.5       28.2      59.4        98.5       176.6
//
// A parsed event is ~1.6 KiB live (BenchmarkEventSize). The parser alone
// is cheap: ≈6–10 MiB per file whatever its length (~110 MiB allocated per
// file, all short-lived). The index batch dominates at ~60–85 KiB per
// event at peak; the spread comes from Bleve's background persister
// falling behind on a loaded machine, so CostPerEvent sits above the
// worst run. The default dynamic mapping stores and indexes every field
// with term vectors; a leaner store mapping costs less, so re-run the
// benchmark against the real store before lowering CostPerEvent.
//
// File size matters little because of streaming (see CostFileDivisor); a
// batchSize below 1 counts as 1.
func EstimateCost(fileSize int64, batchSize int) uint64 {
	n := uint64(max(batchSize, 1))
	if n > MaxCost/CostPerEvent {
		return MaxCost
	}
	cost := CostBase + n*CostPerEvent
	if fileSize > 0 {
		cost += uint64(fileSize) / CostFileDivisor
	}
	return min(cost, MaxCost)
}
