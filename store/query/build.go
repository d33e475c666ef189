package query

import (
	bq "github.com/blevesearch/bleve/v2/search/query"
)

// node is the parse tree: *andNode, *orNode, *notNode, leaf or allNode.
type node any

type andNode struct{ kids []node }

type orNode struct{ kids []node }

type notNode struct{ kid node }

// leaf is one finished Bleve query (a field clause or free text).
type leaf struct{ q bq.Query }

// allNode matches every event ("*", "time:*", "[* TO *]" on time).
type allNode struct{}

// build turns the parse tree into a Bleve query.
//
// NOT is compiled into a BooleanQuery: "a b -c" becomes must=[a b],
// must_not=[c], and a lone "-c" becomes must_not=[c], which Bleve runs as
// everything minus c. The must part is always a ConjunctionQuery, even with
// one clause: Bleve's BooleanQuery treats a must searcher that is a
// MatchNone searcher (a MatchQuery whose words are all stop words, say) as
// absent, which would turn "the -x" into "everything but x"; a conjunction
// that cannot match is not a MatchNone searcher, so it keeps its meaning.
// Callers that wrap the result in their own BooleanQuery should do the
// same.
func build(n node) bq.Query {
	switch n := n.(type) {
	case leaf:
		return n.q
	case allNode:
		return bq.NewMatchAllQuery()
	case *notNode:
		switch k := n.kid.(type) {
		case *notNode:
			return build(k.kid)
		case allNode:
			return bq.NewMatchNoneQuery()
		}
		return bq.NewBooleanQuery(nil, nil, []bq.Query{build(n.kid)})
	case *orNode:
		var kids []bq.Query
		for _, k := range flatten(n.kids, true) {
			if _, ok := k.(allNode); ok {
				return bq.NewMatchAllQuery()
			}
			kids = append(kids, build(k))
		}
		return bq.NewDisjunctionQuery(kids)
	case *andNode:
		var must, mustNot []bq.Query
		for _, k := range flatten(n.kids, false) {
			switch k := k.(type) {
			case allNode:
				continue
			case *notNode:
				switch kk := k.kid.(type) {
				case allNode:
					return bq.NewMatchNoneQuery()
				case *notNode:
					must = append(must, build(kk.kid))
				default:
					mustNot = append(mustNot, build(kk))
				}
			default:
				must = append(must, build(k))
			}
		}
		switch {
		case len(mustNot) > 0:
			return bq.NewBooleanQuery(must, nil, mustNot)
		case len(must) == 0:
			return bq.NewMatchAllQuery()
		case len(must) == 1:
			return must[0]
		}
		return bq.NewConjunctionQuery(must)
	}
	return bq.NewMatchNoneQuery() // unreachable: every node type is handled
}

// flatten splices nested OR (or) / AND (!or) nodes into one list, so
// "a OR (b OR c)" is one disjunction.
func flatten(kids []node, or bool) []node {
	var out []node
	for _, k := range kids {
		switch k := k.(type) {
		case *orNode:
			if or {
				out = append(out, flatten(k.kids, true)...)
				continue
			}
		case *andNode:
			if !or {
				out = append(out, flatten(k.kids, false)...)
				continue
			}
		}
		out = append(out, k)
	}
	return out
}
