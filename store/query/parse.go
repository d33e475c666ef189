package query

import (
	"slices"
	"strings"
	"time"
	"unicode"

	bq "github.com/blevesearch/bleve/v2/search/query"
)

// Limits that keep hostile input cheap to reject.
const (
	maxQueryRunes = 64 << 10 // characters in one query
	maxDepth      = 100      // nested parentheses and NOTs
)

// Options tune Parse.
type Options struct {
	// Strict rejects a field name that is neither a system alias nor a
	// known event data field (KnownField), suggesting the closest name.
	Strict bool
	// Now anchors relative times such as time:>now-24h; zero means the
	// wall clock at the call.
	Now time.Time
	// FileIDs, when set, resolves file:NAME (a file name or a glob such
	// as file:*.evtx or file:"Security*", as typed, not a number) to the
	// IDs of the matching files; without it only numeric IDs match.
	FileIDs func(pattern string) []uint64
}

// Info describes a parsed query, for the UI.
type Info struct {
	// MatchAll is set when the query matches every event ("" or "*").
	MatchAll bool `json:"match_all,omitempty"`
	// Fields are the index fields the query searches, sorted.
	Fields []string `json:"fields,omitempty"`
	// DataFields are the event data field names used, in their canonical
	// spelling when known, sorted.
	DataFields []string `json:"data_fields,omitempty"`
	// UnknownFields are the data field names that are not in the built-in
	// list (possible typos; Strict rejects them), sorted.
	UnknownFields []string `json:"unknown_fields,omitempty"`
	// Terms are the free-text words and phrases, in query order.
	Terms []string `json:"terms,omitempty"`
}

// Parse turns an analyst's query string into a Bleve query over the
// casescope index layout. An empty query, or "*", matches all events.
// Errors are *ParseError; Parse never panics.
func Parse(q string, opts Options) (bq.Query, Info, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	src := []rune(q)
	if len(src) > maxQueryRunes {
		return nil, Info{}, &ParseError{Msg: "query is too long"}
	}
	p := &parser{src: src, opts: opts, used: map[string]bool{}, data: map[string]bool{}, unknown: map[string]bool{}}
	p.skipSpace()
	if p.atEnd() {
		return bq.NewMatchAllQuery(), Info{MatchAll: true}, nil
	}
	n, err := p.parseOr(nil)
	if err != nil {
		return nil, Info{}, err
	}
	p.skipSpace()
	if !p.atEnd() {
		return nil, Info{}, errAt(p.pos, "unexpected %q", string(p.src[p.pos]))
	}
	_, all := n.(allNode)
	info := Info{
		MatchAll:      all,
		Fields:        sortedKeys(p.used),
		DataFields:    sortedKeys(p.data),
		UnknownFields: sortedKeys(p.unknown),
		Terms:         p.terms,
	}
	return build(n), info, nil
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// parser is a recursive-descent parser working directly on the runes of
// the query; positions are rune indexes.
type parser struct {
	src     []rune
	pos     int
	opts    Options
	depth   int
	used    map[string]bool // index fields
	data    map[string]bool // data field display names
	unknown map[string]bool // unknown data field display names
	terms   []string
	cost    int // dictionary-walk cost spent so far (see spend)
}

// fieldCtx is the field that bare values belong to inside field:( … ).
type fieldCtx struct {
	spec fieldSpec
	pos  int // rune index of the field name, for errors
}

func (p *parser) atEnd() bool { return p.pos >= len(p.src) }

func (p *parser) peek() rune {
	if p.atEnd() {
		return 0
	}
	return p.src[p.pos]
}

func (p *parser) skipSpace() {
	for !p.atEnd() && unicode.IsSpace(p.src[p.pos]) {
		p.pos++
	}
}

// hasPrefix reports whether the input at the cursor starts with s.
func (p *parser) hasPrefix(s string) bool {
	i := p.pos
	for _, r := range s {
		if i >= len(p.src) || p.src[i] != r {
			return false
		}
		i++
	}
	return true
}

// isTerm reports whether r ends an unquoted word.
func isTerm(r rune) bool {
	return unicode.IsSpace(r) || r == '(' || r == ')' || r == '"'
}

// keyword reports whether the keyword kw (upper case; AND, OR, NOT) is at
// the cursor, in any case, as a whole word.
func (p *parser) keyword(kw string) bool {
	n := len(kw)
	if p.pos+n > len(p.src) {
		return false
	}
	for i := range n {
		if unicode.ToUpper(p.src[p.pos+i]) != rune(kw[i]) {
			return false
		}
	}
	return p.pos+n == len(p.src) || isTerm(p.src[p.pos+n])
}

// orOp and andOp report the length of an OR or AND operator at the
// cursor, 0 if there is none.
func (p *parser) orOp() int {
	switch {
	case p.keyword("OR"):
		return 2
	case p.hasPrefix("||"):
		return 2
	}
	return 0
}

func (p *parser) andOp() int {
	switch {
	case p.keyword("AND"):
		return 3
	case p.hasPrefix("&&"):
		return 2
	}
	return 0
}

// parseOr parses clauses joined by OR.
func (p *parser) parseOr(ctx *fieldCtx) (node, error) {
	first, err := p.parseAnd(ctx)
	if err != nil {
		return nil, err
	}
	kids := []node{first}
	for {
		p.skipSpace()
		n := p.orOp()
		if n == 0 {
			break
		}
		opPos := p.pos
		p.pos += n
		p.skipSpace()
		if p.atEnd() || p.peek() == ')' || p.orOp() > 0 || p.andOp() > 0 {
			return nil, errAt(opPos, "missing search term after %q", string(p.src[opPos:opPos+n]))
		}
		k, err := p.parseAnd(ctx)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &orNode{kids: kids}, nil
}

// parseAnd parses clauses joined by AND or by nothing (implicit AND).
func (p *parser) parseAnd(ctx *fieldCtx) (node, error) {
	var kids []node
	for {
		p.skipSpace()
		if p.atEnd() || p.peek() == ')' {
			break
		}
		if n := p.orOp(); n > 0 {
			if len(kids) == 0 {
				return nil, errAt(p.pos, "unexpected %q", string(p.src[p.pos:p.pos+n]))
			}
			break
		}
		if n := p.andOp(); n > 0 {
			opPos := p.pos
			if len(kids) == 0 {
				return nil, errAt(opPos, "unexpected %q", string(p.src[opPos:opPos+n]))
			}
			p.pos += n
			p.skipSpace()
			if p.atEnd() || p.peek() == ')' || p.orOp() > 0 || p.andOp() > 0 {
				return nil, errAt(opPos, "missing search term after %q", string(p.src[opPos:opPos+n]))
			}
		}
		k, err := p.parseUnary(ctx)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	switch len(kids) {
	case 0:
		if p.atEnd() {
			return nil, errAt(p.pos, "missing search term")
		}
		return nil, errAt(p.pos, "unexpected %q", string(p.src[p.pos]))
	case 1:
		return kids[0], nil
	}
	return &andNode{kids: kids}, nil
}

// parseUnary parses NOT/!/-/+ prefixes.
func (p *parser) parseUnary(ctx *fieldCtx) (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, errAt(p.pos, "query is nested too deeply")
	}
	start := p.pos
	switch {
	case p.keyword("NOT"), p.peek() == '!':
		op := "!"
		if p.peek() == '!' {
			p.pos++
		} else {
			op = string(p.src[start : start+3])
			p.pos += 3
		}
		p.skipSpace()
		if p.atEnd() || p.peek() == ')' || p.orOp() > 0 || p.andOp() > 0 {
			return nil, errAt(start, "missing search term after %q", op)
		}
		kid, err := p.parseUnary(ctx)
		if err != nil {
			return nil, err
		}
		return &notNode{kid: kid}, nil
	case p.peek() == '-' || p.peek() == '+':
		op := p.peek()
		p.pos++
		if p.atEnd() || unicode.IsSpace(p.peek()) || p.peek() == ')' {
			return nil, errAt(start, "missing search term after %q", string(op))
		}
		kid, err := p.parseUnary(ctx)
		if err != nil {
			return nil, err
		}
		if op == '+' {
			return kid, nil
		}
		return &notNode{kid: kid}, nil
	}
	return p.parsePrimary(ctx)
}

// parsePrimary parses a group, a field clause, or a bare value (free text,
// or a value of the enclosing field group).
func (p *parser) parsePrimary(ctx *fieldCtx) (node, error) {
	start := p.pos
	switch c := p.peek(); c {
	case '(':
		return p.parseGroup(ctx, start)
	case '"':
		lit, err := p.readQuoted()
		if err != nil {
			return nil, err
		}
		if p.peek() == ':' && validFieldName(lit) {
			p.pos++
			return p.fieldClause(lit, start)
		}
		v := value{pat: escapePat(lit), quoted: true, pos: start}
		if ctx != nil {
			return p.valueClause(ctx, v)
		}
		return p.freeText(v)
	case '/':
		re, err := p.readRegexp()
		if err != nil {
			return nil, err
		}
		if ctx != nil {
			return p.regexpClause(ctx, re, start)
		}
		return p.freeRegexp(re, start)
	case '[', '{', '>', '<':
		if ctx != nil {
			return p.fieldValue(ctx)
		}
		if c == '[' || c == '{' {
			return nil, errAt(start, "a range needs a field, as in EventID:[4624 TO 4634]")
		}
		return nil, errAt(start, "a comparison needs a field, as in EventID:>=4624")
	}
	pat, colon := p.readWord(true, "")
	if colon {
		name := patLiteral(pat)
		if pat == "*" && p.pos+1 < len(p.src) && p.src[p.pos+1] == '*' &&
			(p.pos+2 == len(p.src) || isTerm(p.src[p.pos+2])) {
			p.pos += 2 // Lucene's *:* = everything
			return allNode{}, nil
		}
		if validFieldName(name) && !patHasWild(pat) && !p.looksLikePath(name) {
			p.pos++
			return p.fieldClause(name, start)
		}
		rest, _ := p.readWord(false, "")
		pat += rest
	}
	if pat == "" {
		return nil, errAt(start, "unexpected %q", string(p.peek()))
	}
	v := value{pat: pat, pos: start}
	if ctx != nil {
		return p.valueClause(ctx, v)
	}
	return p.freeText(v)
}

// looksLikePath reports whether name followed by the colon at the cursor
// is rather the start of a Windows path (C:\…) or a URL (http://…), which
// analysts paste as free text.
func (p *parser) looksLikePath(name string) bool {
	next := rune(0)
	if p.pos+1 < len(p.src) {
		next = p.src[p.pos+1]
	}
	if len([]rune(name)) == 1 && next == '\\' {
		return true
	}
	return next == '/' && p.pos+2 < len(p.src) && p.src[p.pos+2] == '/'
}

// validFieldName reports whether s can be a field name: a letter, _ or @
// first, then letters, digits, _ . @ - or spaces (Defender's "Threat
// Name"), not ending in a dot.
func validFieldName(s string) bool {
	if s == "" || strings.HasSuffix(s, ".") || strings.TrimSpace(s) != s {
		return false
	}
	for i, r := range s {
		switch {
		case unicode.IsLetter(r), r == '_', r == '@':
		case i > 0 && (unicode.IsDigit(r) || r == '.' || r == '-' || r == ' '):
		default:
			return false
		}
	}
	return true
}

// fieldClause resolves name (typed at rune index start; the cursor is past
// its colon) and parses its value.
func (p *parser) fieldClause(name string, start int) (node, error) {
	spec, known := resolveField(name)
	if !known && p.opts.Strict {
		msg := "unknown field %q"
		if s := suggest(name); s != "" {
			return nil, errAt(start, msg+" (did you mean %q?)", name, s)
		}
		return nil, errAt(start, msg, name)
	}
	if spec.kind == kindData {
		p.data[spec.display] = true
		if !known {
			p.unknown[spec.display] = true
		}
	}
	return p.fieldValue(&fieldCtx{spec: spec, pos: start})
}

// fieldValue parses what follows "field:": a group, range, comparison,
// quoted string, regexp or word.
func (p *parser) fieldValue(ctx *fieldCtx) (node, error) {
	start := p.pos
	switch c := p.peek(); {
	case p.atEnd() || unicode.IsSpace(c) || c == ')':
		return nil, errAt(start, "missing value for field %q", ctx.spec.display)
	case c == '(':
		return p.parseGroup(ctx, start)
	case c == '{' && p.bracedGUIDAhead():
		// A GUID as Windows writes it ({0CCE9215-…}), not a range.
		lit := string(p.src[p.pos : p.pos+38])
		p.pos += 38
		return p.valueClause(ctx, value{pat: escapePat(lit), quoted: true, pos: start})
	case c == '[' || c == '{':
		return p.parseRange(ctx)
	case c == '>' || c == '<':
		op := string(c)
		p.pos++
		if p.peek() == '=' {
			op += "="
			p.pos++
		}
		v, err := p.readOperand()
		if err != nil {
			return nil, err
		}
		if v.pat == "" {
			return nil, errAt(p.pos, "missing value after %q", op)
		}
		return p.compareClause(ctx, op, v)
	case c == '"':
		lit, err := p.readQuoted()
		if err != nil {
			return nil, err
		}
		return p.valueClause(ctx, value{pat: escapePat(lit), quoted: true, pos: start})
	case c == '/':
		re, err := p.readRegexp()
		if err != nil {
			return nil, err
		}
		return p.regexpClause(ctx, re, start)
	}
	pat, _ := p.readWord(false, "")
	if pat == "" {
		return nil, errAt(start, "missing value for field %q", ctx.spec.display)
	}
	return p.valueClause(ctx, value{pat: pat, pos: start})
}

// bracedGUIDAhead reports whether the input at pos is a braced GUID,
// "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}", ending the value.
func (p *parser) bracedGUIDAhead() bool {
	if len(p.src)-p.pos < 38 || p.src[p.pos+37] != '}' {
		return false
	}
	for i, c := range p.src[p.pos+1 : p.pos+37] {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	end := p.pos + 38
	return end == len(p.src) || unicode.IsSpace(p.src[end]) || p.src[end] == ')'
}

// readOperand reads a quoted string or a word (a comparison operand or a
// range bound; stops also at ] and }).
func (p *parser) readOperand() (value, error) {
	start := p.pos
	if p.peek() == '"' {
		lit, err := p.readQuoted()
		if err != nil {
			return value{}, err
		}
		return value{pat: escapePat(lit), quoted: true, pos: start}, nil
	}
	pat, _ := p.readWord(false, "]}")
	return value{pat: pat, pos: start}, nil
}

// parseRange parses [lo TO hi], with { } for exclusive ends.
func (p *parser) parseRange(ctx *fieldCtx) (node, error) {
	start := p.pos
	loIncl := p.peek() == '['
	p.pos++
	p.skipSpace()
	lo, err := p.readOperand()
	if err != nil {
		return nil, err
	}
	if lo.pat == "" {
		if p.atEnd() {
			return nil, errAt(start, "unterminated range starting")
		}
		return nil, errAt(p.pos, "missing lower bound of range")
	}
	p.skipSpace()
	if !p.keyword("TO") {
		if p.atEnd() {
			return nil, errAt(start, "unterminated range starting")
		}
		return nil, errAt(p.pos, "expected TO in range")
	}
	p.pos += 2
	p.skipSpace()
	hi, err := p.readOperand()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.atEnd() {
		return nil, errAt(start, "unterminated range starting")
	}
	if hi.pat == "" {
		return nil, errAt(p.pos, "missing upper bound of range")
	}
	c := p.peek()
	if c != ']' && c != '}' {
		return nil, errAt(p.pos, "expected \"]\" or \"}\" to close the range")
	}
	p.pos++
	return p.rangeClause(ctx, lo, hi, loIncl, c == ']')
}

// readQuoted reads a "quoted string" at the cursor; inside, only \" and
// \\ are escapes.
func (p *parser) readQuoted() (string, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for {
		if p.atEnd() {
			return "", errAt(start, "unterminated quote starting")
		}
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c == '\\' && p.pos+1 < len(p.src) && (p.src[p.pos+1] == '"' || p.src[p.pos+1] == '\\'):
			b.WriteRune(p.src[p.pos+1])
			p.pos += 2
		default:
			b.WriteRune(c)
			p.pos++
		}
	}
}

// readRegexp reads a /regexp/ at the cursor; \/ stands for a slash, every
// other escape is passed to the regexp unchanged.
func (p *parser) readRegexp() (string, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for {
		if p.atEnd() {
			return "", errAt(start, "unterminated regular expression (quote a value that starts with \"/\") starting")
		}
		c := p.src[p.pos]
		switch {
		case c == '/':
			p.pos++
			return b.String(), nil
		case c == '\\' && p.pos+1 < len(p.src):
			if p.src[p.pos+1] != '/' {
				b.WriteRune('\\')
			}
			b.WriteRune(p.src[p.pos+1])
			p.pos += 2
		default:
			b.WriteRune(c)
			p.pos++
		}
	}
}

// isSpecial reports whether a backslash before r escapes it.
func isSpecial(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune(`\"():*?+-!&|[]{}/^~<>=`, r)
}

// readWord reads an unquoted word as a pattern (see value). With
// stopAtColon it stops before the first unescaped colon and reports it;
// stops lists extra terminators.
func (p *parser) readWord(stopAtColon bool, stops string) (pat string, colon bool) {
	var b strings.Builder
	for !p.atEnd() {
		c := p.src[p.pos]
		if isTerm(c) || strings.ContainsRune(stops, c) {
			break
		}
		if c == ':' && stopAtColon {
			return b.String(), true
		}
		if c == '\\' {
			if p.pos+1 < len(p.src) && isSpecial(p.src[p.pos+1]) {
				b.WriteString(escapePat(string(p.src[p.pos+1])))
				p.pos += 2
			} else {
				b.WriteString(`\\`)
				p.pos++
			}
			continue
		}
		b.WriteRune(c)
		p.pos++
	}
	return b.String(), false
}

// parseGroup parses "( … )" whose "(" is at start, for a whole clause or a
// field's value group.
func (p *parser) parseGroup(ctx *fieldCtx, start int) (node, error) {
	p.pos++
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, errAt(start, "query is nested too deeply")
	}
	p.skipSpace()
	if p.peek() == ')' {
		return nil, errAt(start, "empty parentheses")
	}
	n, err := p.parseOr(ctx)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ')' {
		return nil, errAt(start, "unclosed \"(\"")
	}
	p.pos++
	return n, nil
}
