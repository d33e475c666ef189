// Package store holds casescope's persistent state: the bbolt ledger and a
// case's event store, a Bleve index per case (Index, the default) or a
// ClickHouse cluster (Cluster), both behind the Events interface.
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
// Paths of evidence (file records, move intents) are stored relative to
// the data directory, so a data directory copied or moved anywhere keeps
// working; callers see absolute paths only (paths.go). A ledger written
// with absolute paths is migrated when opened, in one transaction. A case
// arrives from an archive in one transaction too (ImportCase), or not at
// all; DeleteCase removes every record of a case in one.
//
// The pipeline's per-file writes (Claim, CompleteFile, BatchUpdateFile,
// PutHits, the move steps) go through a group committer: one goroutine
// applies every call that arrived while the previous commit ran in one
// transaction, so one fsync covers many files, and each call returns only
// once its own write is durable (a failing call is rolled back and run
// alone; a call's fn may therefore run more than once). WriteStats counts
// the groups.
//
// The index is derived: it can be rebuilt from the ledger and the files,
// and is, automatically, when its layout (IndexFormat) changes. Each
// event's document ID is deterministic (DocID: file, chunk, record offset
// in the chunk; never the EventRecordID, which a file may repeat), so
// re-indexing overwrites rather than duplicates. Bleve keeps only a short
// stored summary per event and two doc-value columns: FieldSortKey, one
// term ordering results by time, file and record position (sorting on it reads one
// column per match, and the histogram decodes its time), and FieldFacet,
// one term joining channel, event ID, computer and provider (facets count
// these combinations and split them). Events are read back from their EVTX
// chunk for display and export. FieldTime is not a Bleve date field: it
// holds six prefix-coded terms per event instead of sixteen (timerange.go),
// and the index runs every date range on it as a timeRangeQuery, which
// matches what Bleve's date range would.
//
// A search's sorted pass and its facet/histogram count each run on every
// core: a query's matches are split by document number into groups of
// Scorch segments, one searcher per group (topn.go). Facet and histogram
// counts are kept per query and segment (segcounts.go): a segment's
// documents never change, only get marked deleted, so its counts hold
// while it lives with the same deleted count; a view while an import runs
// counts only the segments made since.
//
// For the same reason each large persisted segment has columns of its own
// (cols.go): every document's time and facet combination in a mapped file
// beside the index, built in the background (and by Prepare at the end of
// an ingest) and checked against the segment when loaded. A sorted pass
// reads a match's time there and its sort key only when that time can
// place it on the page (top-k that stops early on the sort key), and
// counts add up ordinals and times instead of decoding doc values, so a
// search costs about one postings step per match whatever the case's size.
// Sealed segments are the partitions: their columns and counts stay valid
// while an import adds segments, which are read from the doc values until
// they are large and persisted.
//
// Segments are read through memory maps; ReleasePages hands their pages
// back to the page cache so that a constrained process's resident set does
// not grow with the index, and IndexOptions caps merged segments.
//
// A case's store is chosen when its events are first opened (StoreURL,
// recorded in Case.Store with an Origin naming the data directory) and
// kept. Cluster speaks ClickHouse's HTTP interface (JSONEachRow in and
// out; SQL valid on 18.16 and current releases): it translates the Bleve
// query that store/query builds into SQL over columns holding the same
// terms as the index's fields, so both stores answer alike (see
// clustersql.go). Its rows are versions: every write inserts one, a
// delete a tombstone, and reads see only each event's newest live
// version, so re-inserts are exactly-once without relying on merges. The
// ledger, the evidence and the hits stay local.
//
// Callers get plain values: bbolt and Bleve types stay inside, and bytes
// are copied out of bbolt before a transaction ends.
package store
