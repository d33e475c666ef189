package admit

// Cost model constants, in bytes; see EstimateCost.
const (
	// CostBase is the per-file cost independent of the batch size: one
	// 64 KiB chunk's parsed records (up to ~160 per chunk seen in the test
	// data, ~1.6 KiB each), the Velocidex parser's per-chunk garbage (~3
	// MiB allocated per chunk), the Go GC's headroom on it, and the
	// index's per-batch fixed share (segment bookkeeping, the persister's
	// backlog). Set so the formula stays ~15% above the worst measured run
	// at every batch size (see EstimateCost).
	CostBase = 32 * MiB
	// CostPerEvent is the cost of one event held in the index batch: the
	// parsed evtx.Event (~1.6 KiB live) plus the Bleve document, its
	// analysis and the in-memory segment built from the batch, plus GC
	// headroom (peak, not live, heap).
	CostPerEvent = 80 * KiB
	// CostFileDivisor: a file adds fileSize/CostFileDivisor. The parser
	// streams, so file size barely matters: evtx.Stream remembers the
	// record IDs it has seen as intervals (one per run of IDs, at worst
	// one per 64 KiB chunk: 16 B per chunk ≈ fileSize/4096). 1/1024 keeps
	// a margin for a badly fragmented file. (An earlier reader kept a map
	// of every ID, ~fileSize/8.)
	CostFileDivisor = 1024
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
// vCPUs; min–max over two or three runs): streaming
// smb-password-guessing-security.evtx (3.2 MB, 3561 records, 34 chunks)
// through evtx.StreamFile, peak HeapInuse above a post-GC baseline was, in
// MiB:
//
//	batch                          1        100        500         1000         2000
//	hold batches, no index    6.3–8.0    6.0–9.4   6.6–10.2     8.5–11.8    13.3–15.3
//	store.Index.IndexDocs           –  20.0–21.1  47.9–62.4    85.0–85.6  149.5–165.5
//	Bleve, default dynamic          –  15.0–20.8  46.2–50.6    74.7–87.7  127.6–152.8
//	EstimateCost(3215360, n)     32.5       40.2       71.4        110.5        188.6
//
// "store" is the real case index (explicit mapping, doc values only), fed
// store.Docs without Sigma/IOC hits the way the engine batches them; the
// default dynamic mapping, which stores every field, costs about the same.
// A parsed event is ~1.6 KiB live (BenchmarkEventSize). The parser alone
// is cheap: ≈6–10 MiB per file whatever its length (~110 MiB allocated per
// file, all short-lived). The index batch dominates at ~60–80 KiB per
// event at peak, far above the ~6 KiB one might guess from the
// document's size: analysis, the in-memory segment and its garbage all
// peak together. The spread between runs comes from Bleve's background
// persister falling behind on a loaded machine.
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
