package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	qparse "casescope/store/query"
)

// numberTerm is a whole value that sortNumber surely reads as a number
// (decimal, or 0x hex of at most 16 digits, with a bounded exponent);
// values it does not match are checked by sortNumber itself.
const numberTerm = `^(?:0x[0-9a-f]{1,16}|[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]{1,2})?)$`

// maxSortTerms bounds the distinct values of a numeric field a cluster
// search sorts on (they are ranked in casescope and sent back).
const maxSortTerms = 100_000

// fieldOrder is the ORDER BY prefix that sorts a search's matches (where)
// by the values of req.SortField as Index.searchByField does: numbers
// numerically when every value of the field in the case is one, else as
// text (byte order); an event with several values under its first in
// that order; events without the field last; then by time in req's
// direction (the caller appends the sort key).
func (c *Cluster) fieldOrder(ctx context.Context, req SearchRequest, where string) (string, error) {
	t, err := qparse.TermsOf(req.SortField)
	if err != nil {
		return "", fmt.Errorf("sort: %w: %w", ErrInvalid, err)
	}
	col, arr, err := sqlColumn(t.Field)
	if err != nil {
		return "", fmt.Errorf("sort: %w", err)
	}
	// vals is the event's terms of the field, as the index holds them.
	var vals string
	switch {
	case arr && t.Prefix != "":
		vals = "arrayFilter(x -> substring(x, 1, " + strconv.Itoa(len(t.Prefix)) + ") = " + sqlString(t.Prefix) + ", " + col + ")"
	case arr:
		vals = col
	case t.Field == FieldTimeInvalid:
		vals = "if(" + col + " = '', emptyArrayString(), [" + col + "])" // the index holds the term only when set
	default:
		vals = "[" + col + "]"
	}
	// Padded integers (event ID, record ID, level) sort as numbers in
	// byte order; so does text.
	numeric := false
	if !t.Int {
		if numeric, err = c.allNumbers(ctx, t, vals); err != nil {
			return "", err
		}
	}
	if !numeric {
		// The first of an event's values in the order (arrayReduce
		// crashes 18.16 on strings; arraySort does not).
		if req.Asc {
			return "empty(" + vals + ") ASC, arraySort(" + vals + ")[1] ASC", nil
		}
		return "empty(" + vals + ") ASC, arrayReverseSort(" + vals + ")[1] DESC", nil
	}
	// Numbers: the matches' distinct terms ranked here exactly as the
	// index ranks them (term order, then a stable sort by value), and
	// each event placed by its best rank.
	var terms []string
	err = c.query(ctx, c.u.Host, "SELECT DISTINCT arrayJoin("+vals+") AS v"+c.from()+where+
		" LIMIT "+strconv.Itoa(maxSortTerms+1)+" FORMAT JSONEachRow", func(line []byte) error {
		var r struct {
			V string `json:"v"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		terms = append(terms, r.V)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("sort by %s: %w", t.Name, err)
	}
	if len(terms) > maxSortTerms {
		return "", fmt.Errorf("sort by %s: more than %d distinct values: %w", t.Name, maxSortTerms, ErrUnsupported)
	}
	if len(terms) == 0 {
		return "empty(" + vals + ") ASC", nil // no match carries the field: time order alone
	}
	slices.Sort(terms)
	nums := make(map[string]float64, len(terms))
	for _, term := range terms {
		nums[term], _ = sortNumber(termValue(t, term))
	}
	slices.SortStableFunc(terms, func(a, b string) int {
		if req.Asc {
			return cmp.Compare(nums[a], nums[b])
		}
		return cmp.Compare(nums[b], nums[a])
	})
	var from, to bytes.Buffer
	for i, term := range terms {
		if i > 0 {
			from.WriteByte(',')
			to.WriteByte(',')
		}
		from.WriteString(sqlString(term))
		to.WriteString(strconv.Itoa(i))
	}
	missing := strconv.Itoa(len(terms))
	rank := "arrayMap(x -> transform(x, [" + from.String() + "], [" + to.String() + "], " + missing + "), " + vals + ")"
	return "arraySort(arrayConcat(" + rank + ", [" + missing + "]))[1] ASC", nil // missing: after every rank
}

// allNumbers reports whether every value of a field in the case (every
// version of every event, as the index's term dictionary holds the
// terms of every document) is a number: the values that numberTerm does
// not vouch for are few for a numeric field and at once found for a text
// one, and sortNumber decides on them.
func (c *Cluster) allNumbers(ctx context.Context, t qparse.Terms, vals string) (bool, error) {
	p := strconv.Itoa(len(t.Prefix) + 1)
	stmt := "SELECT DISTINCT v FROM " + c.db + "." + c.table + " ARRAY JOIN " + vals + " AS v WHERE NOT (length(v) <= " +
		strconv.Itoa(len(t.Prefix)+200) + " AND match(substring(v, " + p + "), " + sqlString(numberTerm) + "))"
	// The first few usually decide (a text field's first value); more
	// than a few odd numbers ("1e300") are read to the end.
	for _, limit := range []string{" LIMIT 64", ""} {
		numeric, n := true, 0
		err := c.query(ctx, c.u.Host, stmt+limit+" FORMAT JSONEachRow", func(line []byte) error {
			var r struct {
				V string `json:"v"`
			}
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			n++
			if _, ok := sortNumber(termValue(t, r.V)); !ok {
				numeric = false
			}
			return nil
		})
		if err != nil {
			return false, fmt.Errorf("sort by %s: %w", t.Name, err)
		}
		if !numeric || n < 64 {
			return numeric, nil
		}
	}
	return true, nil
}
