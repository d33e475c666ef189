package engine

import (
	"context"
	"path"
	"strings"
	"sync"

	"casescope/store"
)

// facetFields are the facets whose values the index holds lower-cased,
// with the query field that finds one event of a value.
var facetFields = map[string]string{"channel": "Channel", "computer": "Computer", "provider": "Provider"}

// maxNameLookups bounds the searches one page's facets may run to find
// values' original case (each a one-hit term query on the index).
const maxNameLookups = 40

// nameCase remembers, per case and facet, the original case of the
// lower-cased names facets hold: computer, channel and provider names are
// few, and each is looked up once.
type nameCase struct {
	mu    sync.Mutex
	names map[nameKey]string
}

type nameKey struct {
	caseID       uint64
	field, lower string
}

// restoreFacetCase gives facet values the case Windows wrote them in
// ("Security", not "security"): from the page's own rows first, then a
// one-hit search per value not seen before.
func (e *Engine) restoreFacetCase(ctx context.Context, caseID uint64, idx store.Events, facets map[string][]store.FacetCount, hits []store.SearchHit) {
	if len(facets) == 0 {
		return
	}
	e.names.mu.Lock()
	if e.names.names == nil {
		e.names.names = map[nameKey]string{}
	}
	for _, h := range hits {
		for f, v := range map[string]string{"channel": h.Summary.Channel, "computer": h.Summary.Computer, "provider": h.Summary.Provider} {
			if v != "" {
				e.names.names[nameKey{caseID, f, strings.ToLower(v)}] = v
			}
		}
	}
	e.names.mu.Unlock()
	lookups := 0
	for f, qf := range facetFields {
		for i, fc := range facets[f] {
			k := nameKey{caseID, f, strings.ToLower(fc.Value)}
			e.names.mu.Lock()
			orig, ok := e.names.names[k]
			e.names.mu.Unlock()
			if !ok && lookups < maxNameLookups {
				// One example of the value, in no particular order: the
				// lookup must not rank every event of a channel.
				lookups++
				res, err := idx.Search(ctx, store.SearchRequest{Query: qf + ":" + quoteValue(fc.Value), Size: 1, Any: true})
				if err != nil {
					continue // asked again next time
				}
				orig = "" // no better name: remembered too, not asked again
				if len(res.Hits) > 0 {
					s := res.Hits[0].Summary
					orig = map[string]string{"channel": s.Channel, "computer": s.Computer, "provider": s.Provider}[f]
					if strings.ToLower(orig) != k.lower {
						orig = ""
					}
				}
				e.names.mu.Lock()
				e.names.names[k] = orig
				e.names.mu.Unlock()
				ok = true
			}
			if ok && orig != "" {
				facets[f][i].Value = orig
			}
		}
	}
}

// fileResolver returns the query's file:NAME resolver for a case: a name
// or glob (path.Match syntax, case-insensitive) matched against each
// file's name as imported and its base name.
func (e *Engine) fileResolver(caseID uint64) func(pattern string) []uint64 {
	return func(pattern string) []uint64 {
		files, err := e.ledger.Files(caseID)
		if err != nil {
			return nil
		}
		pat := strings.ToLower(pattern)
		var out []uint64
		for _, f := range files {
			name := strings.ToLower(f.Name)
			base := name
			if i := strings.LastIndexAny(name, `/\`); i >= 0 {
				base = name[i+1:]
			}
			ok1, _ := path.Match(pat, name)
			ok2, _ := path.Match(pat, base)
			if ok1 || ok2 {
				out = append(out, f.ID)
			}
		}
		return out
	}
}
