package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/blevesearch/bleve/v2/search/query"

	qparse "casescope/store/query"
)

// ErrBadQuery is wrapped by every error in the analyst's query; the message
// says where and what (qparse.ParseError carries the column).
var ErrBadQuery = errors.New("bad query")

// QueryOptions tune query parsing.
type QueryOptions struct {
	// Strict refuses field names that are neither system aliases nor known
	// Windows/Sysmon data fields, with a did-you-mean suggestion.
	Strict bool
	// Now anchors relative times ("time:>now-24h"); zero = time.Now().
	Now time.Time
	// FileIDs resolves file:NAME and file:GLOB to file IDs (see
	// query.Options); the engine sets it from the ledger.
	FileIDs func(pattern string) []uint64
}

// parseQuery turns the analyst's query into a Bleve query.
func parseQuery(q string, opts QueryOptions) (query.Query, error) {
	bq, _, err := qparse.Parse(q, qparse.Options{Strict: opts.Strict, Now: opts.Now, FileIDs: opts.FileIDs})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	return bq, nil
}

// ValidateQuery reports whether q parses, with the same error Search
// would return.
func ValidateQuery(q string, opts QueryOptions) error {
	_, err := parseQuery(q, opts)
	return err
}
