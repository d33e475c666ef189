package sigma

import "sort"

// optimize reorders the children of and/or nodes so that cheap tests run
// first and negations (usually filters that rarely decide) run last. Order
// never changes the result: the nodes have no side effects. Costs are
// computed bottom-up once, so the work is linear in the tree's size.
func optimize(n node) node {
	out, _ := optimizeCost(n)
	return out
}

// optimizeCost returns the reordered node and a rough relative price of
// evaluating it on a typical event.
func optimizeCost(n node) (node, int) {
	switch x := n.(type) {
	case andNode:
		kids, costs := optimizeKids(x)
		// An and usually stops at its first false child: about the
		// price of its cheapest one.
		c := 0
		for i, k := range costs {
			if i == 0 || k < c {
				c = k
			}
		}
		return andNode(kids), c + len(kids)
	case orNode:
		kids, costs := optimizeKids(x)
		c := 0
		for _, k := range costs {
			c += k
		}
		return orNode(kids), c
	case notNode:
		k, c := optimizeCost(x.n)
		return notNode{k}, 1000 + c
	case constNode, existsNode:
		return n, 1
	case *fieldNode:
		c := 2
		for i := range x.matchers {
			c += matcherCost(&x.matchers[i])
		}
		return n, c
	case fieldrefNode:
		return n, 8
	case *keywordNode:
		c := 40
		for i := range x.matchers {
			c += 20 * matcherCost(&x.matchers[i])
		}
		return n, c
	}
	return n, 100
}

func optimizeKids(kids []node) ([]node, []int) {
	type kc struct {
		n node
		c int
	}
	tmp := make([]kc, len(kids))
	for i, k := range kids {
		tmp[i].n, tmp[i].c = optimizeCost(k)
	}
	sort.SliceStable(tmp, func(i, j int) bool { return tmp[i].c < tmp[j].c })
	out := make([]node, len(tmp))
	costs := make([]int, len(tmp))
	for i, t := range tmp {
		out[i], costs[i] = t.n, t.c
	}
	return out, costs
}

func matcherCost(m *matcher) int {
	switch m.kind {
	case kEquals, kAny, kPrefix, kSuffix:
		return 1
	case kContains:
		return 3
	case kGlob:
		return 6
	case kCIDR, kLT, kLTE, kGT, kGTE:
		return 8
	case kRegex:
		return 50
	}
	return 10
}
