package store

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search/query"
)

// The cluster answers the query language by translating the Bleve query
// that store/query builds (the language's one parse tree) into a SQL
// condition over columns that hold exactly the terms the Bleve index
// holds (clusterRow): a term is equality on a scalar column or has() on an
// array column, a wildcard or regexp a whole-value match(), ranges are
// comparisons, and free text the standard analyser's tokens. The SQL keeps
// to functions ClickHouse 18.16 has, which current releases still have.

// sqlColumn maps an index field to its column and whether the column is
// an array of terms.
func sqlColumn(field string) (col string, array bool, err error) {
	switch field {
	case FieldEventID, FieldRecordID, FieldLevel, FieldChannel, FieldProvider, FieldComputer, FieldFile:
		return field, false, nil
	case FieldTimeInvalid:
		return "time_invalid", false, nil
	case FieldSortKey:
		return "k", false, nil
	case FieldFacet:
		return "f", false, nil
	case FieldKV, FieldText, FieldUser, FieldTag, FieldStarred, FieldIOC:
		return field, true, nil
	case FieldSigmaRule, FieldSigmaTitle, FieldSigmaLevel, FieldSigmaPack, FieldIOCType:
		return strings.ReplaceAll(field, ".", "_"), true, nil
	case FieldSigmaMax, FieldIOCCount:
		return strings.ReplaceAll(field, ".", "_"), false, nil
	}
	return "", false, fmt.Errorf("field %q has no cluster column: %w", field, ErrBadQuery)
}

// sqlString quotes s as a ClickHouse string literal.
func sqlString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// sqlTranslator turns Bleve queries into SQL conditions.
type sqlTranslator struct {
	standard analysis.Analyzer // the text field's analyser
}

// valueCond applies a condition on one value (written with x) to a
// column: directly on a scalar, through arrayExists on an array.
func valueCond(col string, array bool, cond func(x string) string) string {
	if array {
		return "arrayExists(x -> " + cond("x") + ", " + col + ")"
	}
	return cond(col)
}

// wildcardRegexp is Bleve's translation of a wildcard to a regexp.
func wildcardRegexp(w string) string {
	var b strings.Builder
	for _, r := range w {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	return b.String()
}

// literalFilter is a condition on x that every value matching the
// wildcard w satisfies: it starts with w's leading literal and contains
// each later literal part of two bytes or more. "" when w has none.
func literalFilter(w string) string {
	parts := strings.FieldsFunc(w, func(r rune) bool { return r == '*' || r == '?' })
	var c []string
	for i, p := range parts {
		switch {
		case i == 0 && !strings.HasPrefix(w, "*") && !strings.HasPrefix(w, "?"):
			c = append(c, "substring(x, 1, "+strconv.Itoa(len(p))+") = "+sqlString(p))
		case len(p) >= 2:
			c = append(c, "position(x, "+sqlString(p)+") > 0")
		}
	}
	return strings.Join(c, " AND ")
}

// wholeMatch is a whole-value regexp match, as Bleve's term automata
// match whole terms. ClickHouse lets "." match a newline unless told
// (?-s); Bleve's automata do not.
func wholeMatch(x, re string) string {
	return "match(" + x + ", " + sqlString("(?-s)^(?:"+re+")$") + ")"
}

func (t sqlTranslator) tokens(s string) []string {
	out := []string{}
	for _, tok := range t.standard.Analyze([]byte(s)) {
		out = append(out, string(tok.Term))
	}
	return out
}

// cond translates q.
func (t sqlTranslator) cond(q query.Query) (string, error) {
	switch q := q.(type) {
	case *query.MatchAllQuery:
		return "1", nil
	case *query.MatchNoneQuery:
		return "0", nil
	case *query.ConjunctionQuery:
		return t.join(q.Conjuncts, " AND ", "1")
	case *query.DisjunctionQuery:
		if q.Min > 1 {
			return "", fmt.Errorf("disjunction with min %v: %w", q.Min, ErrBadQuery)
		}
		return t.join(q.Disjuncts, " OR ", "0")
	case *query.BooleanQuery:
		parts := []string{}
		for _, sub := range []query.Query{q.Must, q.Should, q.Filter} {
			if sub == nil {
				continue
			}
			c, err := t.cond(sub)
			if err != nil {
				return "", err
			}
			parts = append(parts, "("+c+")")
		}
		if q.MustNot != nil {
			c, err := t.cond(q.MustNot)
			if err != nil {
				return "", err
			}
			parts = append(parts, "NOT ("+c+")")
		}
		if len(parts) == 0 {
			return "1", nil
		}
		return strings.Join(parts, " AND "), nil
	case *query.TermQuery:
		col, arr, err := sqlColumn(q.FieldVal)
		if err != nil {
			return "", err
		}
		if arr {
			return "has(" + col + ", " + sqlString(q.Term) + ")", nil
		}
		return col + " = " + sqlString(q.Term), nil
	case *query.PrefixQuery:
		col, arr, err := sqlColumn(q.FieldVal)
		if err != nil {
			return "", err
		}
		n := strconv.Itoa(len(q.Prefix))
		return valueCond(col, arr, func(x string) string {
			return "substring(" + x + ", 1, " + n + ") = " + sqlString(q.Prefix)
		}), nil
	case *query.WildcardQuery:
		col, arr, err := sqlColumn(q.FieldVal)
		if err != nil {
			return "", err
		}
		// Always the regexp, even for a trailing star: Bleve's wildcard
		// automaton's "." does not cross a newline, and neither does
		// re2's, so "Data:*" skips multi-line values in both stores.
		re := wildcardRegexp(q.Wildcard)
		if pre := literalFilter(q.Wildcard); arr && pre != "" {
			// The regexp runs only on the values holding the pattern's
			// literal parts (a cheap byte search first: 18.16 evaluates
			// both sides of an AND on every value).
			return "arrayExists(x -> " + wholeMatch("x", re) + ", arrayFilter(x -> " + pre + ", " + col + "))", nil
		}
		return valueCond(col, arr, func(x string) string { return wholeMatch(x, re) }), nil
	case *query.RegexpQuery:
		col, arr, err := sqlColumn(q.FieldVal)
		if err != nil {
			return "", err
		}
		return valueCond(col, arr, func(x string) string { return wholeMatch(x, q.Regexp) }), nil
	case *query.TermRangeQuery:
		col, arr, err := sqlColumn(q.FieldVal)
		if err != nil {
			return "", err
		}
		return valueCond(col, arr, func(x string) string {
			var c []string
			if q.Min != "" {
				c = append(c, x+boundOp(">", q.InclusiveMin, true)+sqlString(q.Min))
			}
			if q.Max != "" {
				c = append(c, x+boundOp("<", q.InclusiveMax, false)+sqlString(q.Max))
			}
			if len(c) == 0 {
				return "1"
			}
			return strings.Join(c, " AND ")
		}), nil
	case *query.NumericRangeQuery:
		col, _, err := sqlColumn(q.FieldVal)
		if err != nil {
			return "", err
		}
		// Numeric fields hold a value only when above zero (see
		// clusterRow): zero is "no value", as in the index.
		c := []string{col + " > 0"}
		if q.Min != nil && *q.Min > -math.MaxFloat64 {
			c = append(c, col+boundOp(">", q.InclusiveMin, true)+strconv.FormatFloat(*q.Min, 'f', -1, 64))
		}
		if q.Max != nil && *q.Max < math.MaxFloat64 {
			c = append(c, col+boundOp("<", q.InclusiveMax, false)+strconv.FormatFloat(*q.Max, 'f', -1, 64))
		}
		return strings.Join(c, " AND "), nil
	case *query.DateRangeQuery:
		if q.FieldVal != FieldTime {
			return "", fmt.Errorf("date range on %q: %w", q.FieldVal, ErrBadQuery)
		}
		var c []string
		if !q.Start.IsZero() {
			c = append(c, "tns"+boundOp(">", q.InclusiveStart, true)+strconv.FormatInt(clampNanos(q.Start.Time), 10))
		}
		if !q.End.IsZero() {
			c = append(c, "tns"+boundOp("<", q.InclusiveEnd, false)+strconv.FormatInt(clampNanos(q.End.Time), 10))
		}
		if len(c) == 0 {
			return "1", nil
		}
		return strings.Join(c, " AND "), nil
	case *query.MatchQuery:
		col, _, err := sqlColumn(q.FieldVal)
		if err != nil {
			return "", err
		}
		toks := t.tokens(q.Match)
		if len(toks) == 0 {
			return "0", nil
		}
		var c []string
		for _, tok := range toks {
			c = append(c, "has("+col+", "+sqlString(tok)+")")
		}
		if q.Operator == query.MatchQueryOperatorAnd {
			return strings.Join(c, " AND "), nil
		}
		return strings.Join(c, " OR "), nil
	case *query.MatchPhraseQuery:
		_, _, err := sqlColumn(q.FieldVal)
		if err != nil {
			return "", err
		}
		// The index keeps no term positions (the text field has no term
		// vectors), so Bleve's phrase query never matches there: a
		// quoted free-text phrase is found through its other clauses
		// (data values, computer, rule titles). The same here.
		return "0", nil
	}
	return "", fmt.Errorf("query %T has no cluster translation: %w", q, ErrBadQuery)
}

func (t sqlTranslator) join(qs []query.Query, op, empty string) (string, error) {
	if len(qs) == 0 {
		return empty, nil
	}
	parts := make([]string, 0, len(qs))
	for _, sub := range qs {
		c, err := t.cond(sub)
		if err != nil {
			return "", err
		}
		parts = append(parts, "("+c+")")
	}
	return strings.Join(parts, op), nil
}

// boundOp is the comparison operator for a bound: ">" or "<", with "=" when
// inclusive (Bleve's defaults: an inclusive minimum, an exclusive
// maximum, when unset).
func boundOp(op string, incl *bool, def bool) string {
	in := def
	if incl != nil {
		in = *incl
	}
	if in {
		return " " + op + "= "
	}
	return " " + op + " "
}
