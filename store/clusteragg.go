package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	qparse "casescope/store/query"
)

// ErrUnsupported reports a request the cluster store does not answer
// (yet); the embedded index does. It is an ErrInvalid (a 400).
var ErrUnsupported = fmt.Errorf("not supported by this case's event store: %w", ErrInvalid)

// Aggregate counts the values of field over the matches of req, as
// Index.Aggregate does: each event counts once under each of its values.
func (c *Cluster) Aggregate(ctx context.Context, req SearchRequest, field string, size int) (Aggregation, error) {
	var out Aggregation
	err := c.consistent(ctx, func(full bool) error {
		var err error
		out, err = c.aggregate(ctx, req, field, size, full)
		return err
	})
	return out, err
}

func (c *Cluster) aggregate(ctx context.Context, req SearchRequest, field string, size int, full bool) (Aggregation, error) {
	t, err := qparse.TermsOf(field)
	if err != nil {
		return Aggregation{}, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	if size <= 0 {
		size = 10
	}
	where, err := c.where(req, full)
	if err != nil {
		return Aggregation{}, err
	}
	col, arr, err := sqlColumn(t.Field)
	if err != nil {
		return Aggregation{}, err
	}
	n := strconv.Itoa(len(t.Prefix))
	has := "substring(v, 1, " + n + ") = " + sqlString(t.Prefix)
	from := " FROM " + c.db + "." + c.table
	val := col + " AS v"
	if arr {
		from += " ARRAY JOIN " + col + " AS v"
		val = "v"
	} else {
		has = "substring(" + col + ", 1, " + n + ") = " + sqlString(t.Prefix)
	}
	total, err := c.count(ctx, where)
	if err != nil {
		return Aggregation{}, err
	}
	out := Aggregation{Field: t.Name, Total: total, Values: []AggValue{}}
	var vals []AggValue
	carriers := uint64(0)
	stmt := "SELECT " + val + ", uniqExact(origin, doc) AS n, any(concat(origin, '/', doc)) AS ex" + from +
		" WHERE (" + where + ") AND " + has + " GROUP BY v LIMIT " + strconv.Itoa(maxFieldTerms+1) + " FORMAT JSONEachRow"
	err = c.query(ctx, c.u.Host, stmt, func(line []byte) error {
		var r struct {
			V  string   `json:"v"`
			N  flexUint `json:"n"`
			Ex string   `json:"ex"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		v := strings.TrimPrefix(r.V, t.Prefix)
		if t.Int {
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				v = strconv.FormatUint(n, 10)
			}
		}
		o, d, _ := strings.Cut(r.Ex, "/")
		vals = append(vals, AggValue{Value: v, Count: uint64(r.N), Example: c.hitID(o, d)})
		return nil
	})
	if err != nil {
		return Aggregation{}, fmt.Errorf("aggregate: %w", err)
	}
	if len(vals) > maxFieldTerms {
		vals, out.Partial = vals[:maxFieldTerms], true
	}
	hasAny := "arrayExists(v -> " + has + ", " + col + ")"
	if !arr {
		hasAny = has
	}
	if carriers, err = c.count(ctx, "("+where+") AND "+hasAny); err != nil {
		return Aggregation{}, err
	}
	out.Distinct = len(vals)
	out.Missing = total - min(total, carriers)
	slices.SortFunc(vals, func(a, b AggValue) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return strings.Compare(a.Value, b.Value)
	})
	for i, v := range vals {
		if i < size {
			out.Values = append(out.Values, v)
		} else {
			out.Other += v.Count
		}
	}
	return out, nil
}

// Around returns the events of req just before and after the event id,
// as Index.Around does.
func (c *Cluster) Around(ctx context.Context, req SearchRequest, id string, before, after int) (Around, error) {
	var out Around
	err := c.consistent(ctx, func(full bool) error {
		var err error
		out, err = c.around(ctx, req, id, before, after, full)
		return err
	})
	return out, err
}

func (c *Cluster) around(ctx context.Context, req SearchRequest, id string, before, after int, full bool) (Around, error) {
	var key, summary string
	err := c.query(ctx, c.u.Host, "SELECT k, s"+c.from()+c.live("origin = "+sqlString(c.origin)+" AND doc = "+sqlString(id), full)+" LIMIT 1 FORMAT JSONEachRow", func(line []byte) error {
		var r struct {
			K string `json:"k"`
			S string `json:"s"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		key, summary = r.K, r.S
		return nil
	})
	if err != nil {
		return Around{}, fmt.Errorf("event %s: %w", id, err)
	}
	if key == "" {
		return Around{}, fmt.Errorf("event %s: %w", id, ErrNotFound)
	}
	cur, err := json.Marshal([]string{key, c.origin, id})
	if err != nil {
		return Around{}, err
	}
	req.Facets, req.Histogram, req.SortField = false, false, ""
	b := req
	b.Asc, b.Cursor, b.Size = false, base64URL(cur), before
	older, err := c.search(ctx, b, full)
	if err != nil {
		return Around{}, err
	}
	a := req
	a.Asc, a.Cursor, a.Size = true, base64URL(cur), after
	newer, err := c.search(ctx, a, full)
	if err != nil {
		return Around{}, err
	}
	where, err := c.where(req, full)
	if err != nil {
		return Around{}, err
	}
	in, err := c.count(ctx, "("+where+") AND origin = "+sqlString(c.origin)+" AND doc = "+sqlString(id))
	if err != nil {
		return Around{}, err
	}
	pos, err := c.count(ctx, "("+where+") AND k < "+sqlString(key))
	if err != nil {
		return Around{}, err
	}
	total, err := c.count(ctx, where)
	if err != nil {
		return Around{}, err
	}
	out := Around{Total: total, Position: pos, Anchor: -1}
	for i := len(older.Hits) - 1; i >= 0; i-- {
		out.Hits = append(out.Hits, older.Hits[i])
	}
	if in > 0 {
		t, _ := KeyTime(key)
		out.Anchor = len(out.Hits)
		out.Hits = append(out.Hits, SearchHit{ID: id, Time: t, Summary: DecodeSummary(summary)})
	}
	out.Hits = append(out.Hits, newer.Hits...)
	out.Earlier, out.Later = older.Next, newer.Next
	return out, nil
}
