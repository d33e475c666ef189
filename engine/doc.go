// Package engine runs casescope's ingest pipeline.
//
// Import copies evidence (files, folders, ZIPs) into a case and records each
// file in the ledger as queued; the ledger is the only queue. One dispatcher
// goroutine claims queued files (a ledger transaction moves each to
// indexing) and starts a worker per file once the Admitter lets it in, so
// concurrency is bounded by Config.Workers and by memory. A worker streams
// the file chunk by chunk: parse, Sigma and IOC detection, index in batches
// of Config.BatchSize; the file's whole event set is never in memory. A
// file of 16 chunks or more is read chunk-parallel (evtx.StreamParallel):
// Config.ChunkWorkers goroutines decode and match its chunks while the
// worker indexes them in file order, two batches at a time, so one huge
// file uses every core; document IDs and the file's accounting are those
// of a sequential read.
//
// Per-file fixed cost: the claim commits on the worker's goroutine, and a
// file's outcome (completion once its last batch is durable, a zero-event
// file's archive move, an unreadable file's failure) is recorded off the
// worker (handOff). The ledger commits these writes in groups (one fsync
// for all the writes that arrived meanwhile; see store.Ledger), and each
// call still returns only once its write is durable.
//
// Crash safety: every state change is a ledger transaction; document IDs are
// deterministic, so a file interrupted mid-way is simply re-run on restart
// (Start requeues files left mid-work and settles move intents). A file that
// fails has its partial documents removed and ends failed with the reason.
//
// Disk space (disk.go): a file is admitted only while the data
// directory's filesystem keeps Config.DiskReserve free after its estimated
// index; short of space, intake pauses (files stay queued). A write that
// fails (index persist, ledger, copy) halts intake: running files are
// cancelled and requeued, never failed, and the engine resumes once a
// probe write succeeds with space freed.
//
// Case archives (casearchive.go): ExportCase streams a case (evidence,
// records, audit entries, rule-set identity, SHA-256 manifest) as a tar;
// ImportCase stages and verifies every member in <data>/transfer before
// one ledger transaction records the case and renames its verified folder
// into place, then the index is rebuilt from the evidence. DeleteCase
// closes the case's index and removes its records and folder.
//
// Lifecycle: New, Start(ctx), Close(ctx). Close cancels the workers, waits
// for them, and parks interrupted files back to queued.
package engine
