package query

import (
	"casescope/internal/level"
	"math"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	bq "github.com/blevesearch/bleve/v2/search/query"
	vregexp "github.com/blevesearch/vellum/regexp"
)

// maxKVValue mirrors store's cap on the bytes of one value in a kv token:
// the index keeps only the first 2048 bytes, so an exact match on a longer
// value is made on its first 2048 bytes too.
const maxKVValue = 2048

// value is a parsed value. pat is the value as a wildcard pattern: * and ?
// are wildcards, and \*, \? and \\ stand for a literal *, ? and \. A
// quoted value has no wildcards.
type value struct {
	pat    string
	quoted bool
	pos    int // rune index, for errors
}

// escapePat turns literal text into a pattern that matches only itself.
func escapePat(s string) string {
	if !strings.ContainsAny(s, `\*?`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == '\\' || r == '*' || r == '?' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// walkPat calls fn for each character of pat; wild is set for an
// unescaped * or ?.
func walkPat(pat string, fn func(r rune, wild bool)) {
	esc := false
	for _, r := range pat {
		switch {
		case esc:
			fn(r, false)
			esc = false
		case r == '\\':
			esc = true
		default:
			fn(r, r == '*' || r == '?')
		}
	}
	if esc {
		fn('\\', false)
	}
}

// patLiteral is the text of pat with escapes removed.
func patLiteral(pat string) string {
	var b strings.Builder
	walkPat(pat, func(r rune, _ bool) { b.WriteRune(r) })
	return b.String()
}

func patHasWild(pat string) bool {
	w := false
	walkPat(pat, func(_ rune, wild bool) { w = w || wild })
	return w
}

// patIsStar reports whether pat is only unescaped stars: "field exists".
func patIsStar(pat string) bool {
	return pat != "" && strings.Trim(pat, "*") == ""
}

// wildQuery matches pat against the terms of field, and returns the
// regexp the automaton is built from. Bleve's wildcard syntax has no
// escape for a literal * or ?, so a pattern holding one becomes the
// equivalent regexp query instead.
func wildQuery(field, pat string) (bq.Query, string) {
	literalMeta := false
	var wc, re strings.Builder
	walkPat(pat, func(r rune, wild bool) {
		switch {
		case wild && r == '*':
			re.WriteString(".*")
		case wild:
			re.WriteString(".")
		default:
			literalMeta = literalMeta || r == '*' || r == '?'
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
		wc.WriteRune(r)
	})
	if literalMeta {
		q := bq.NewRegexpQuery(re.String())
		q.SetField(field)
		return q, re.String()
	}
	q := bq.NewWildcardQuery(wc.String())
	q.SetField(field)
	return q, re.String()
}

// prefixQuery is wildQuery for a "field exists" pattern (a literal prefix
// and a trailing star), whose automaton is trivial.
func prefixQuery(field, pat string) bq.Query {
	q, _ := wildQuery(field, pat)
	return q
}

func termQuery(field, term string) bq.Query {
	q := bq.NewTermQuery(term)
	q.SetField(field)
	return q
}

func regexpQuery(field, re string) bq.Query {
	q := bq.NewRegexpQuery(re)
	q.SetField(field)
	return q
}

func numRange(field string, lo, hi *float64, loIncl, hiIncl bool) bq.Query {
	if IsIntKeyField(field) {
		return intRange(field, lo, hi, loIncl, hiIncl)
	}
	q := bq.NewNumericRangeInclusiveQuery(lo, hi, &loIncl, &hiIncl)
	q.SetField(field)
	return q
}

func numEqual(field string, n float64) bq.Query {
	return numRange(field, &n, &n, true, true)
}

// numExists matches every document with a value in a numeric field.
func numExists(field string) bq.Query {
	lo := -math.MaxFloat64
	return numRange(field, &lo, nil, true, false)
}

func dateRange(start, end time.Time, startIncl, endIncl bool) bq.Query {
	q := bq.NewDateRangeInclusiveQuery(start, end, &startIncl, &endIncl)
	q.SetField(fieldTime)
	return q
}

// kvToken is the kv term for name=value, cut and lower-cased the way the
// index builds it.
func kvToken(key, v string) string {
	if len(v) > maxKVValue {
		v = v[:maxKVValue]
	}
	return key + strings.ToLower(v)
}

func (p *parser) use(fields ...string) {
	for _, f := range fields {
		p.used[f] = true
	}
}

// valueClause matches one value (word or quoted string) in a field.
func (p *parser) valueClause(ctx *fieldCtx, v value) (node, error) {
	spec := ctx.spec
	star := !v.quoted && patIsStar(v.pat)
	wild := !v.quoted && patHasWild(v.pat)
	lit := patLiteral(v.pat)
	switch spec.kind {
	case kindData:
		p.use(fieldKV)
		key := spec.index + "="
		switch {
		case star:
			return leaf{prefixQuery(fieldKV, escapePat(key)+"*")}, nil
		case v.quoted && lit == "":
			// Empty values are not indexed: "" means "absent or empty".
			return &notNode{kid: leaf{prefixQuery(fieldKV, escapePat(key)+"*")}}, nil
		case wild:
			q, err := p.wildClause(fieldKV, escapePat(key), strings.ToLower(v.pat), "", v.pos, costSeek)
			return leaf{q}, err
		}
		return leaf{termQuery(fieldKV, kvToken(key, lit))}, nil
	case kindKeyword, kindSigmaLevel:
		p.use(spec.index)
		if spec.index == fieldFile && !star && p.opts.FileIDs != nil && !allDigits(lit) {
			// file:NAME or a glob: the files it names, by ID.
			pat := lit
			if wild {
				pat = v.pat
			}
			var qs []bq.Query
			for _, id := range p.opts.FileIDs(pat) {
				qs = append(qs, termQuery(fieldFile, strconv.FormatUint(id, 10)))
			}
			if len(qs) == 0 {
				return leaf{bq.NewMatchNoneQuery()}, nil
			}
			return leaf{bq.NewDisjunctionQuery(qs)}, nil
		}
		switch {
		case star:
			return leaf{prefixQuery(spec.index, "*")}, nil
		case wild:
			q, err := p.wildClause(spec.index, "", strings.ToLower(v.pat), "", v.pos, leadingCost(v.pat, costScan))
			return leaf{q}, err
		}
		return leaf{termQuery(spec.index, strings.ToLower(lit))}, nil
	case kindTime:
		p.use(fieldTime)
		switch {
		case star:
			return allNode{}, nil
		case wild:
			return nil, errAt(v.pos, "wildcards are not supported on time; use a range such as time:[2019-01-01 TO 2019-01-31]")
		}
		t, g, err := parseTime(lit, p.opts.Now)
		if err != nil {
			return nil, errAt(v.pos, "%s", err.Error())
		}
		if g == gExact {
			return leaf{dateRange(t, t, true, true)}, nil
		}
		return leaf{dateRange(t, g.after(t), true, false)}, nil
	}
	// Numeric kinds.
	p.use(spec.index)
	switch {
	case star:
		return leaf{numExists(spec.index)}, nil
	case wild:
		return nil, errAt(v.pos, "wildcards are not supported on numeric field %q", spec.display)
	}
	if spec.kind == kindLevel {
		switch strings.ToLower(strings.TrimSpace(lit)) {
		case "information", "info", "informational":
			// Level 0 (LogAlways) is shown as Information too.
			return leaf{bq.NewDisjunctionQuery([]bq.Query{numEqual(spec.index, 0), numEqual(spec.index, 4)})}, nil
		}
	}
	n, err := number(spec, v)
	if err != nil {
		return nil, err
	}
	return leaf{numEqual(spec.index, n)}, nil
}

// number parses a numeric value: decimal, 0x hex, or a level name.
func number(spec fieldSpec, v value) (float64, error) {
	lit := strings.TrimSpace(patLiteral(v.pat))
	low := strings.ToLower(lit)
	switch spec.kind {
	case kindLevel:
		if n, ok := levelNumber(low); ok {
			return n, nil
		}
	case kindSigmaMax:
		if r := level.Rank(low); r > 0 {
			return float64(r), nil
		}
	}
	if i, err := strconv.ParseInt(lit, 0, 64); err == nil {
		return float64(i), nil
	}
	if f, err := strconv.ParseFloat(lit, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return f, nil
	}
	if spec.kind == kindSigmaMax {
		return 0, errAt(v.pos, "field %q expects a Sigma level (informational, low, medium, high, critical) or 0-5, got %q", spec.display, lit)
	}
	return 0, errAt(v.pos, "field %q expects a number, got %q", spec.display, lit)
}

// levelNumber maps Windows level names to the System/Level value.
func levelNumber(name string) (float64, bool) {
	switch name {
	case "logalways":
		return 0, true
	case "critical":
		return 1, true
	case "error":
		return 2, true
	case "warning":
		return 3, true
	case "information", "info", "informational":
		return 4, true
	case "verbose":
		return 5, true
	}
	return 0, false
}

// noRange is the error for a range or comparison on a field that has no
// order in the index.
func noRange(ctx *fieldCtx) error {
	if ctx.spec.kind == kindData {
		return errAt(ctx.pos, "range on data field %q is not supported", ctx.spec.display)
	}
	return errAt(ctx.pos, "range on field %q is not supported", ctx.spec.display)
}

// compareClause handles field:>v, >=, <, <=.
func (p *parser) compareClause(ctx *fieldCtx, op string, v value) (node, error) {
	star := value{pat: "*"}
	switch op {
	case ">":
		return p.rangeClause(ctx, v, star, false, true)
	case ">=":
		return p.rangeClause(ctx, v, star, true, true)
	case "<":
		return p.rangeClause(ctx, star, v, true, false)
	}
	return p.rangeClause(ctx, star, v, true, true)
}

// rangeClause handles lo..hi with inclusive or exclusive ends; an
// unquoted * is an open end.
func (p *parser) rangeClause(ctx *fieldCtx, lo, hi value, loIncl, hiIncl bool) (node, error) {
	spec := ctx.spec
	switch spec.kind {
	case kindData, kindKeyword:
		return nil, noRange(ctx)
	case kindSigmaLevel:
		// Levels are ordered through their rank in sigma.max.
		spec = fieldSpec{kindSigmaMax, fieldSigmaMax, spec.display}
	case kindTime:
		return p.timeRange(lo, hi, loIncl, hiIncl)
	}
	p.use(spec.index)
	var bounds [2]*float64
	for i, v := range [2]value{lo, hi} {
		if !v.quoted && patIsStar(v.pat) {
			continue
		}
		if !v.quoted && patHasWild(v.pat) {
			return nil, errAt(v.pos, "wildcards are not supported in a range")
		}
		n, err := number(spec, v)
		if err != nil {
			return nil, err
		}
		bounds[i] = &n
	}
	lb, ub := bounds[0], bounds[1]
	switch {
	case lb == nil && ub == nil:
		return leaf{numExists(spec.index)}, nil
	case lb != nil && ub != nil && (*lb > *ub || *lb == *ub && !(loIncl && hiIncl)):
		return nil, errAt(lo.pos, "empty range: nothing lies between %v and %v", *lb, *ub)
	}
	return leaf{numRange(spec.index, lb, ub, loIncl, hiIncl)}, nil
}

// timeRange builds a time range. A bound written with less than full
// precision covers its whole period: >2019-03-01 starts on 2019-03-02,
// <=2019-03-01 ends with 2019-03-01.
func (p *parser) timeRange(lo, hi value, loIncl, hiIncl bool) (node, error) {
	p.use(fieldTime)
	var start, end time.Time
	startIncl, endIncl := true, false
	for i, v := range [2]value{lo, hi} {
		if !v.quoted && patIsStar(v.pat) {
			continue
		}
		if !v.quoted && patHasWild(v.pat) {
			return nil, errAt(v.pos, "wildcards are not supported in a range")
		}
		t, g, err := parseTime(patLiteral(v.pat), p.opts.Now)
		if err != nil {
			return nil, errAt(v.pos, "%s", err.Error())
		}
		if i == 0 {
			start, startIncl = t, true
			switch {
			case !loIncl && g == gExact:
				startIncl = false
			case !loIncl:
				start = g.after(t)
			}
		} else {
			end, endIncl = t, false
			switch {
			case hiIncl && g == gExact:
				endIncl = true
			case hiIncl:
				end = g.after(t)
			}
		}
	}
	switch {
	case start.IsZero() && end.IsZero():
		return allNode{}, nil
	case !start.IsZero() && !end.IsZero() && (start.After(end) || start.Equal(end) && !(startIncl && endIncl)):
		return nil, errAt(lo.pos, "empty time range: %s is not before %s", start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	}
	return leaf{dateRange(start, end, startIncl, endIncl)}, nil
}

// Regexp limits. Bleve compiles a regexp into a vellum DFA of up to
// 10,000 states for every index segment at search time, which costs
// seconds for a pathological pattern (.{1000}, (a|b)*a(a|b){20}); a
// program of at most regexpMaxInsts instructions keeps the worst case near
// a second, and checking here, once, spares the search.
const (
	regexpMaxRunes = 1000
	regexpMaxCost  = 2000 // regexpCost budget, checked before vellum runs
	regexpMaxInsts = 1000
	vellumInstSize = 40 // bytes per instruction in vellum's size limit
)

// checkRegexp compiles re the way the index will (vellum's automaton, with
// a tighter size limit), so a pattern the index would refuse (anchors, \b,
// lazy quantifiers, too many states) is a parse error rather than a failed
// or very slow search.
func checkRegexp(re string, pos int) error {
	if utf8.RuneCountInString(re) > regexpMaxRunes {
		return errAt(pos, "regular expression is too long (over %d characters)", regexpMaxRunes)
	}
	parsed, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return errAt(pos, "invalid regular expression: %s", err.Error())
	}
	if regexpCost(parsed) > regexpMaxCost {
		return errAt(pos, "regular expression is too complex (large repetition counts or character classes)")
	}
	if _, err := vregexp.NewParsedWithLimit(re, parsed, regexpMaxInsts*vellumInstSize); err != nil {
		return errAt(pos, "invalid regular expression: %s", err.Error())
	}
	return nil
}

// regexpCost estimates the size of the automaton program for re, with
// counted repetitions expanded, so that \pL{500} is refused in
// microseconds instead of after vellum has compiled most of it.
func regexpCost(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass:
		return max(1, len(re.Rune)/2)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 4 // UTF-8 sequences
	case syntax.OpRepeat:
		n := re.Max
		if n < 0 {
			n = re.Min + 1
		}
		return regexpCost(re.Sub[0]) * max(n, 1)
	}
	c := 1
	for _, sub := range re.Sub {
		c += regexpCost(sub)
		if c > regexpMaxCost {
			return c
		}
	}
	return c
}

// regexpClause matches field:/re/. The regexp must match the whole
// lower-cased value and is made case-insensitive.
func (p *parser) regexpClause(ctx *fieldCtx, re string, pos int) (node, error) {
	spec := ctx.spec
	var field, full string
	switch spec.kind {
	case kindData:
		field, full = fieldKV, regexp.QuoteMeta(spec.index+"=")+"(?i:"+re+")"
	case kindKeyword, kindSigmaLevel:
		field, full = spec.index, "(?i:"+re+")"
	default:
		return nil, errAt(pos, "regular expressions are not supported on field %q", spec.display)
	}
	cost := costSeek
	if spec.kind != kindData {
		cost = costScan // no literal prefix: the whole dictionary is walked
	}
	if err := p.spend(cost, pos); err != nil {
		return nil, err
	}
	if err := checkRegexp(full, pos); err != nil {
		return nil, err
	}
	p.use(field)
	return leaf{regexpQuery(field, full)}, nil
}

// freeText matches a bare word or phrase anywhere an analyst would expect:
//
//   - text: the analysed long values (CommandLine, ScriptBlockText, …) —
//     a MatchQuery requiring every word (phrase: MatchPhraseQuery; with
//     wildcards: a wildcard on single tokens);
//   - kv: any event data value containing it, as the wildcard
//     "*=*term*" (or "*term*" when the term itself holds "=", so
//     "logontype=3" works as a name=value search);
//   - computer, channel, provider: a name containing it (or the
//     wildcard typed);
//   - event_id, record_id, level: the number, when it is one, and a
//     level's name (information, warning, …), so "4624" finds the
//     4624 events as Chainsaw's search does; Keywords and the other
//     System values are kv terms already (system.keywords=…);
//   - sigma.title: a Sigma rule title containing it.
//
// The System values are matched at query time from the fields they are
// indexed in anyway: nothing is added to the index, and cases indexed
// before this work unchanged.
//
// Cost: the kv and sigma.title wildcards start with "*", so Bleve cannot
// seek in the term dictionary; it runs the pattern's automaton over every
// distinct term of the field in every segment (for kv: one term per
// distinct name=value pair in the case, easily millions), then ORs the
// postings of all matching terms. Free text is therefore the slowest kind
// of clause; a field clause (CommandLine:*mimikatz*) only scans the terms
// under its "name=" prefix.
func (p *parser) freeText(v value) (node, error) {
	if !v.quoted && patIsStar(v.pat) {
		return allNode{}, nil
	}
	lit := patLiteral(v.pat)
	if strings.TrimSpace(lit) == "" {
		return nil, errAt(v.pos, "empty search term")
	}
	p.terms = append(p.terms, lit)
	p.use(fieldText, fieldKV, fieldComputer, fieldChannel, fieldProvider, fieldSigmaTitle)
	low := strings.ToLower(v.pat)
	var text bq.Query
	wild := !v.quoted && patHasWild(v.pat)
	if wild {
		var err error
		if text, err = p.wildClause(fieldText, "", low, "", v.pos, leadingCost(low, costScan)); err != nil {
			return nil, err
		}
	}
	switch {
	case wild:
	case v.quoted:
		q := bq.NewMatchPhraseQuery(lit)
		q.SetField(fieldText)
		text = q
	default:
		q := bq.NewMatchQuery(lit)
		q.SetField(fieldText)
		q.SetOperator(bq.MatchQueryOperatorAnd)
		text = q
	}
	// Names: small dictionaries (one term per computer, channel or
	// provider of the case), walked for the substring; one cost unit for
	// the three.
	names := []bq.Query{text}
	pre, suf := "*", "*"
	if wild {
		pre, suf = "", ""
	}
	for i, f := range []string{fieldComputer, fieldChannel, fieldProvider} {
		cost := 0
		if i == 0 {
			cost = costSmall
		}
		q, err := p.wildClause(f, pre, low, suf, v.pos, cost) // low: the pattern as typed, lower-cased
		if err != nil {
			return nil, err
		}
		names = append(names, q)
	}
	if !wild {
		names = append(names, systemNumbers(lit)...)
	}
	kvPrefix := "*=*"
	if strings.Contains(lit, "=") {
		kvPrefix = "*"
	}
	kv, err := p.wildClause(fieldKV, kvPrefix, low, "*", v.pos, costScan)
	if err != nil {
		return nil, err
	}
	title, err := p.wildClause(fieldSigmaTitle, "*", low, "*", v.pos, costSmall)
	if err != nil {
		return nil, err
	}
	return leaf{bq.NewDisjunctionQuery(append(names, kv, title))}, nil
}

// windowsLevels are the Level values by the names Event Viewer shows.
var windowsLevels = map[string]uint64{"critical": 1, "error": 2, "warning": 3, "information": 4, "verbose": 5}

// systemNumbers are the exact-term clauses of a free-text word on the
// numeric System fields: EventID and EventRecordID when it is a number,
// Level when it is a number or a level's name.
func systemNumbers(lit string) []bq.Query {
	var out []bq.Query
	w := strings.TrimSpace(lit)
	if n, err := strconv.ParseUint(w, 10, 64); err == nil {
		for _, f := range []string{fieldEventID, fieldRecordID, fieldLevel} {
			if k, ok := IntKey(f, n); ok {
				out = append(out, termQuery(f, k))
			}
		}
	} else if n, ok := windowsLevels[strings.ToLower(w)]; ok {
		k, _ := IntKey(fieldLevel, n)
		out = append(out, termQuery(fieldLevel, k))
	}
	return out
}

// freeRegexp matches a bare /re/ against text tokens, data values,
// computer names and Sigma titles (whole value, case-insensitive).
func (p *parser) freeRegexp(re string, pos int) (node, error) {
	ci := "(?i:" + re + ")"
	kv := "[^=]*=" + ci
	// Text and kv are whole-dictionary walks; computer names and rule
	// titles are small dictionaries.
	if err := p.spend(2*costScan+2*costSmall, pos); err != nil {
		return nil, err
	}
	if err := checkRegexp(kv, pos); err != nil {
		return nil, err
	}
	p.terms = append(p.terms, "/"+re+"/")
	p.use(fieldText, fieldKV, fieldComputer, fieldSigmaTitle)
	return leaf{bq.NewDisjunctionQuery([]bq.Query{
		regexpQuery(fieldText, ci),
		regexpQuery(fieldKV, kv),
		regexpQuery(fieldComputer, ci),
		regexpQuery(fieldSigmaTitle, ci),
	})}, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
