package sigma

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
)

// maxConditionDepth bounds nesting in a condition (parentheses and not),
// so a hostile rule cannot exhaust the stack.
const maxConditionDepth = 64

// condParser parses a Sigma condition into a node tree over the compiled
// selections. Grammar, loosest binding first:
//
//	expr    = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | primary
//	primary = "(" expr ")" | ("1" | "any" | "all") "of" (pattern | "them") | name
//
// Keywords are case-insensitive; a pattern may use * (and ?) as wildcards
// over selection names; "them" is every selection whose name does not
// start with an underscore.
type condParser struct {
	toks  []string
	pos   int
	sels  map[string]node
	names []string // sorted selection names
	depth int
}

func parseCondition(cond string, sels map[string]node) (node, error) {
	if strings.Contains(cond, "|") {
		return nil, errors.New("aggregations in the condition (| count(), near) are not supported")
	}
	p := &condParser{toks: tokenizeCondition(cond), sels: sels}
	for name := range sels {
		p.names = append(p.names, name)
	}
	sort.Strings(p.names)
	if len(p.toks) == 0 {
		return nil, errors.New("empty condition")
	}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("condition: unexpected %q", p.toks[p.pos])
	}
	return n, nil
}

func tokenizeCondition(s string) []string {
	var toks []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '(' || r == ')':
			flush()
			toks = append(toks, string(r))
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return toks
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *condParser) isKw(kw string) bool { return strings.EqualFold(p.peek(), kw) }

func (p *condParser) expr() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxConditionDepth {
		return nil, errors.New("condition nests too deeply")
	}
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	kids := []node{left}
	for p.isKw("or") {
		p.pos++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		kids = append(kids, r)
	}
	return makeOr(kids), nil
}

func (p *condParser) and() (node, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	kids := []node{left}
	for p.isKw("and") {
		p.pos++
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		kids = append(kids, r)
	}
	return makeAnd(kids), nil
}

func (p *condParser) unary() (node, error) {
	if p.isKw("not") {
		p.pos++
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxConditionDepth {
			return nil, errors.New("condition nests too deeply")
		}
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return makeNot(n), nil
	}
	return p.primary()
}

func (p *condParser) primary() (node, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, errors.New("condition ends too early")
	case t == "(":
		p.pos++
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, errors.New("condition: missing )")
		}
		p.pos++
		return n, nil
	case t == ")":
		return nil, errors.New("condition: unexpected )")
	case (t == "1" || strings.EqualFold(t, "any") || strings.EqualFold(t, "all")) &&
		p.pos+1 < len(p.toks) && strings.EqualFold(p.toks[p.pos+1], "of"):
		all := strings.EqualFold(t, "all")
		p.pos += 2
		target := p.peek()
		if target == "" || target == "(" || target == ")" {
			return nil, fmt.Errorf("condition: %s of needs a name pattern or them", t)
		}
		p.pos++
		kids, err := p.expand(target)
		if err != nil {
			return nil, err
		}
		if all {
			return makeAnd(kids), nil
		}
		return makeOr(kids), nil
	}
	switch strings.ToLower(t) {
	case "and", "or", "of", "them":
		return nil, fmt.Errorf("condition: unexpected %q", t)
	}
	p.pos++
	if strings.ContainsAny(t, "*?") {
		return nil, fmt.Errorf("condition: wildcard name %q outside 1 of / all of", t)
	}
	n, ok := p.sels[t]
	if !ok {
		return nil, fmt.Errorf("condition names undefined selection %q", t)
	}
	return n, nil
}

// expand returns the selections a "1 of"/"all of" target names.
func (p *condParser) expand(target string) ([]node, error) {
	var kids []node
	if strings.EqualFold(target, "them") {
		for _, name := range p.names {
			if !strings.HasPrefix(name, "_") {
				kids = append(kids, p.sels[name])
			}
		}
	} else {
		for _, name := range p.names {
			if ok, err := path.Match(escapeBrackets(target), name); err == nil && ok {
				kids = append(kids, p.sels[name])
			}
		}
	}
	if len(kids) == 0 {
		return nil, fmt.Errorf("condition: %q matches no selection", target)
	}
	return kids, nil
}

// escapeBrackets keeps path.Match from reading [ ] or \ in a selection
// pattern as character classes or escapes: only * and ? are wildcards.
func escapeBrackets(s string) string {
	if !strings.ContainsAny(s, `[]\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == '[' || r == ']' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// makeAnd flattens nested ands and drops constant-true children.
func makeAnd(kids []node) node {
	var out andNode
	for _, k := range kids {
		switch x := k.(type) {
		case andNode:
			out = append(out, x...)
		case constNode:
			if !x {
				return constNode(false)
			}
		default:
			out = append(out, k)
		}
	}
	switch len(out) {
	case 0:
		return constNode(true)
	case 1:
		return out[0]
	}
	return out
}

// makeOr flattens nested ors and drops constant-false children.
func makeOr(kids []node) node {
	var out orNode
	for _, k := range kids {
		switch x := k.(type) {
		case orNode:
			out = append(out, x...)
		case constNode:
			if x {
				return constNode(true)
			}
		default:
			out = append(out, k)
		}
	}
	switch len(out) {
	case 0:
		return constNode(false)
	case 1:
		return out[0]
	}
	return out
}

func makeNot(n node) node {
	switch x := n.(type) {
	case notNode:
		return x.n
	case constNode:
		return !x
	}
	return notNode{n}
}
