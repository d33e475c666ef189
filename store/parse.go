package store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// QueryError is a query the analyst must fix; Error() says where and why.
type QueryError struct {
	Msg string
}

func (e *QueryError) Error() string { return e.Msg }

// ErrBadQuery is wrapped by every query syntax error.
var ErrBadQuery = errors.New("bad query")

// parseQuery turns the analyst's query into a Bleve query.
func parseQuery(q string) (query.Query, error) {
	q = strings.TrimSpace(q)
	if q == "" || q == "*" {
		return bleve.NewMatchAllQuery(), nil
	}
	qs := bleve.NewQueryStringQuery(q)
	if _, err := qs.Parse(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadQuery, &QueryError{Msg: err.Error()})
	}
	return qs, nil
}
