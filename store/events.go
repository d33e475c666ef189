package store

import (
	"context"
	"time"
)

// Events is a case's event store: what the engine and the web layer do
// with a case's events. The embedded Bleve index (Index) and the
// ClickHouse cluster (Cluster) both satisfy it, and both answer the same
// query language with the same results, ordering and cursors' meaning.
//
// Document IDs are DocRef IDs of this data directory's ledger. Writes are
// idempotent by ID: writing a document again replaces it, so re-processing
// after a crash overwrites instead of duplicating.
type Events interface {
	// IndexDocs writes docs; with sync it returns only once they (and
	// every write before them) are durable.
	IndexDocs(docs []Doc, sync bool) error
	// IndexDocsAsync writes docs and returns once they are searchable;
	// persisted receives nil once they are durable (or the error).
	IndexDocsAsync(docs []Doc) (persisted <-chan error, err error)
	// DeleteDocs removes documents by ID, durably.
	DeleteDocs(ids []string) error
	// Search runs one page of a query (see Index.Search).
	Search(ctx context.Context, req SearchRequest) (SearchResult, error)
	// Aggregate counts a field's values over a query's matches.
	Aggregate(ctx context.Context, req SearchRequest, field string, size int) (Aggregation, error)
	// Around is the time-ordered window of a query's matches around one
	// event.
	Around(ctx context.Context, req SearchRequest, id string, before, after int) (Around, error)
	// DocKeys returns the DocRef keys of every match of req.
	DocKeys(ctx context.Context, req SearchRequest) ([]uint64, error)
	// MatchIDs calls fn with the ID of every match of q, in no order.
	MatchIDs(ctx context.Context, q string, opts QueryOptions, fn func(id string) error) error
	// LatestTime is the time of the case's newest event (zero if none).
	LatestTime(ctx context.Context) (time.Time, error)
	// FileDocIDs lists the IDs of one file's documents.
	FileDocIDs(ctx context.Context, fileID uint64) ([]string, error)
	// FileIDs lists the file IDs that have documents.
	FileIDs() ([]uint64, error)
	// CountFile counts one file's documents.
	CountFile(ctx context.Context, fileID uint64) (uint64, error)
	// CountIDs counts how many of ids exist.
	CountIDs(ctx context.Context, ids []string) (uint64, error)
	// Count counts every document.
	Count() (uint64, error)
	// DiskSize is the bytes the case's events occupy on disk (all
	// shards for a cluster).
	DiskSize() int64
	// Close releases the store's resources; the events stay.
	Close() error
}

var (
	_ Events = (*Index)(nil)
	_ Events = (*Cluster)(nil)
)
