package query

import (
	"strings"
	"unicode/utf8"

	bq "github.com/blevesearch/bleve/v2/search/query"
)

// Wildcard and query cost limits. A wildcard or regexp clause is run by
// Bleve as an automaton walked over the field's term dictionary in every
// index segment, and the automaton is built again for each segment; a
// term such as "*a*a*a…" (300 stars) made one 600-byte query burn 99 s of
// CPU. These limits keep every accepted query's automaton small and the
// number of whole-dictionary walks per query bounded; the search timeout
// (web) bounds what is left.
const (
	// maxWildcards is the number of unescaped * and ? in one term; a run
	// of stars counts once, since "**" means "*".
	maxWildcards = 8
	// maxWildRunes is the length, in characters, of one wildcard term.
	maxWildRunes = 256
	// maxQuestionsAfterStar bounds the ? that follow a * in one term: the
	// automaton of "*a???????" must remember which of the last 8
	// characters could have been the "a" (2^8 states, times the term's
	// length), and vellum builds it with 256 transitions per state; 7 of
	// them after a long literal took 3.7 s to compile.
	maxQuestionsAfterStar = 4
	// maxQueryCost bounds the sum of clause costs in one query: about 20
	// free-text words, or 12 leading-wildcard terms.
	maxQueryCost = 100
	// costScan is a walk of a large dictionary from its start: a leading
	// wildcard on a keyword or text field, free text (its kv clause is
	// "*=*word*"), an unprefixed regexp.
	costScan = 4
	// costSeek is a walk of the terms under a literal prefix (a data
	// field's "name=", a wildcard after its first letters).
	costSeek = 1
	// costSmall is a walk of a small dictionary (computer names, Sigma
	// rule titles).
	costSmall = 1
)

// spend adds cost for a clause at rune index pos and refuses the query
// once the total passes maxQueryCost.
func (p *parser) spend(cost, pos int) error {
	p.cost += cost
	if p.cost > maxQueryCost {
		return errAt(pos, "query is too expensive: too many wildcard, regular-expression or free-text terms "+
			"(each scans the index's term lists); use field names such as CommandLine:*x*, fewer leading wildcards, or split the search")
	}
	return nil
}

// leadingCost is scan when pat starts with a wildcard (no literal prefix
// to seek to), else costSeek.
func leadingCost(pat string, scan int) int {
	if pat != "" && (pat[0] == '*' || pat[0] == '?') {
		return scan
	}
	return costSeek
}

// collapseStars replaces each run of unescaped stars in pat by one star,
// and counts the wildcards left and the ? that follow a * (every ? when
// starBefore: the clause puts a * in front of the term).
func collapseStars(pat string, starBefore bool) (string, int, int) {
	var b strings.Builder
	n, qAfterStar := 0, 0
	prevStar, seenStar := false, starBefore
	walkPat(pat, func(r rune, wild bool) {
		switch {
		case wild && r == '*' && prevStar:
			return
		case wild:
			n++
			if r == '?' && seenStar {
				qAfterStar++
			}
			seenStar = seenStar || r == '*'
			b.WriteRune(r)
		case r == '\\' || r == '*' || r == '?':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
		prevStar = wild && r == '*'
	})
	return b.String(), n, qAfterStar
}

// wildClause builds the wildcard query prefix+pat+suffix on field, where
// pat is the analyst's term (a pattern, see value) and prefix and suffix
// are the clause's own pattern parts. It checks the term against
// maxWildcards and maxWildRunes, spends cost, and compiles the automaton
// Bleve will build (checkRegexp) so a pattern it would refuse at search
// time ("dfa contains more than 10000 states") is a ParseError here.
func (p *parser) wildClause(field, prefix, pat, suffix string, pos, cost int) (bq.Query, error) {
	pat, n, qs := collapseStars(pat, strings.Contains(prefix, "*"))
	if n > maxWildcards {
		return nil, errAt(pos, "too many wildcards in one term (%d * or ?; at most %d)", n, maxWildcards)
	}
	if qs > maxQuestionsAfterStar {
		return nil, errAt(pos, "too many ? after a * in one term (%d; at most %d): the pattern's automaton would be too large", qs, maxQuestionsAfterStar)
	}
	if utf8.RuneCountInString(pat) > maxWildRunes {
		return nil, errAt(pos, "wildcard term is too long (over %d characters)", maxWildRunes)
	}
	if err := p.spend(cost, pos); err != nil {
		return nil, err
	}
	q, re := wildQuery(field, prefix+pat+suffix)
	if err := checkRegexp(re, pos); err != nil {
		return nil, err
	}
	return q, nil
}
