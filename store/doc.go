// Package store holds casescope's persistent state: the bbolt ledger and a
// Bleve index per case.
//
// The ledger (one bbolt file at the root of the data directory) is the
// truth about cases, files and work. It is also the queue: a file's state,
// path and queue membership live in its one record, and the by-state index
// that makes claiming the next queued file cheap is written in the same
// transaction as the record, so the two cannot disagree. Every state change
// is one transaction. Moving a file on disk is recorded as an intent first
// (BeginMove), then renamed, then committed (CommitMove) with the path
// change; recovery after a crash finishes or rolls back the intent.
//
// The index is derived: it can be rebuilt from the ledger and the files.
// Each event's document ID is deterministic (DocID: file, chunk, record),
// so re-indexing overwrites rather than duplicates. Nothing but doc values
// for sorting and faceting is stored in Bleve; events are read back from
// their EVTX chunk for display and export.
//
// Callers get plain values: bbolt and Bleve types stay inside, and bytes
// are copied out of bbolt before a transaction ends.
package store
