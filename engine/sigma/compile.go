package sigma

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// compiler turns a rule's detection into a node tree for one source. It
// allocates field slots in the Ruleset being built.
type compiler struct {
	b   *builder
	src *source // nil: no renames
}

// compileDetection compiles the detection block.
func (c *compiler) compileDetection(det *yaml.Node) (node, error) {
	sels := map[string]node{}
	var cond *yaml.Node
	for i := 0; i+1 < len(det.Content); i += 2 {
		name := det.Content[i].Value
		v := det.Content[i+1]
		switch name {
		case "condition":
			cond = v
			continue
		case "timeframe":
			continue
		}
		if _, dup := sels[name]; dup {
			return nil, fmt.Errorf("selection %q defined twice", name)
		}
		n, err := c.selection(v)
		if err != nil {
			return nil, fmt.Errorf("selection %s: %w", name, err)
		}
		sels[name] = n
	}
	if cond == nil {
		return nil, errors.New("detection has no condition")
	}
	var conds []string
	switch cond.Kind {
	case yaml.ScalarNode:
		conds = []string{cond.Value}
	case yaml.SequenceNode:
		for _, cn := range cond.Content {
			if cn.Kind != yaml.ScalarNode {
				return nil, errors.New("condition list holds a non-string")
			}
			conds = append(conds, cn.Value)
		}
	default:
		return nil, errors.New("condition is not a string")
	}
	if len(conds) == 0 {
		return nil, errors.New("empty condition")
	}
	var roots []node
	for _, cs := range conds {
		n, err := parseCondition(cs, sels)
		if err != nil {
			return nil, err
		}
		roots = append(roots, n)
	}
	// A list of conditions is their disjunction (Sigma 1.0).
	return makeOr(roots), nil
}

// selection compiles one search identifier's value.
func (c *compiler) selection(v *yaml.Node) (node, error) {
	switch v.Kind {
	case yaml.MappingNode:
		return c.fieldMap(v)
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			return nil, errors.New("empty list")
		}
		var kids []node
		var keywords []rawValue
		for _, item := range v.Content {
			switch item.Kind {
			case yaml.MappingNode:
				n, err := c.fieldMap(item)
				if err != nil {
					return nil, err
				}
				kids = append(kids, n)
			case yaml.ScalarNode:
				if item.Tag == "!!null" {
					return nil, errors.New("null keyword")
				}
				keywords = append(keywords, rawValue{text: item.Value})
			default:
				return nil, errors.New("list item is neither a map nor a value")
			}
		}
		if len(keywords) > 0 {
			kn, err := c.keyword(nil, keywords)
			if err != nil {
				return nil, err
			}
			kids = append(kids, kn)
		}
		return makeOr(kids), nil
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return nil, errors.New("selection is null")
		}
		return c.keyword(nil, []rawValue{{text: v.Value}})
	case yaml.AliasNode:
		return nil, errors.New("YAML aliases are not supported in detections")
	}
	return nil, errors.New("selection is not a map, list or value")
}

// fieldMap compiles a map: every field condition must hold.
func (c *compiler) fieldMap(m *yaml.Node) (node, error) {
	if len(m.Content) == 0 {
		return nil, errors.New("empty map")
	}
	var kids []node
	for i := 0; i+1 < len(m.Content); i += 2 {
		key := m.Content[i].Value
		vals, err := rawValues(m.Content[i+1])
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", key, err)
		}
		parts := strings.Split(key, "|")
		field, mods := strings.TrimSpace(parts[0]), parts[1:]
		var n node
		if field == "" {
			n, err = c.keyword(mods, vals)
		} else {
			n, err = c.field(field, mods, vals)
		}
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", key, err)
		}
		kids = append(kids, n)
	}
	return makeAnd(kids), nil
}

// rawValues reads a field's value: a scalar, null, or a list of those.
func rawValues(v *yaml.Node) ([]rawValue, error) {
	one := func(n *yaml.Node) (rawValue, error) {
		if n.Kind != yaml.ScalarNode {
			return rawValue{}, errors.New("value is not a string, number, boolean or null")
		}
		if n.Tag == "!!null" {
			return rawValue{null: true}, nil
		}
		return rawValue{text: n.Value}, nil
	}
	if v.Kind == yaml.SequenceNode {
		if len(v.Content) == 0 {
			return nil, errors.New("empty value list")
		}
		out := make([]rawValue, 0, len(v.Content))
		for _, item := range v.Content {
			rv, err := one(item)
			if err != nil {
				return nil, err
			}
			out = append(out, rv)
		}
		return out, nil
	}
	rv, err := one(v)
	if err != nil {
		return nil, err
	}
	return []rawValue{rv}, nil
}

// slotFor returns the slot of a rule field name, after this source's
// renames.
func (c *compiler) slotFor(field string) int32 {
	n := normName(field)
	if c.src != nil {
		if to, ok := c.src.fields[n]; ok {
			n = normName(to)
		}
	}
	return c.b.slot(n)
}

func (c *compiler) field(field string, mods []string, vals []rawValue) (node, error) {
	var vm map[string]string
	if c.src != nil {
		vm = c.src.values[normName(field)]
	}
	spec, err := compileValues(mods, vals, vm)
	if err != nil {
		return nil, err
	}
	slot := c.slotFor(field)
	switch spec.mode {
	case modeExists:
		return existsNode{slot: slot, want: spec.exists > 0}, nil
	case modeFieldref:
		kids := make([]node, 0, len(spec.refs))
		for _, r := range spec.refs {
			kids = append(kids, fieldrefNode{slot: slot, ref: c.slotFor(r), kind: spec.refKind, cased: spec.cased})
		}
		if spec.all {
			return makeAnd(kids), nil
		}
		return makeOr(kids), nil
	}
	if len(spec.matchers) == 0 && !spec.null {
		return constNode(false), nil
	}
	return newFieldNode(slot, spec), nil
}

// keyword compiles field-less values: each is searched, as a substring
// (or wildcard pattern) of any EventData/UserData value.
func (c *compiler) keyword(mods []string, vals []rawValue) (node, error) {
	for _, v := range vals {
		if v.null {
			return nil, errors.New("null keyword")
		}
	}
	spec, err := compileValues(mods, vals, nil)
	if err != nil {
		return nil, err
	}
	switch spec.mode {
	case modeString:
		// Keywords are full-text searches: a value is found anywhere in a
		// field unless the rule already chose startswith/endswith/contains.
		if !hasAnyMod(mods, "contains", "startswith", "endswith") {
			for i := range spec.matchers {
				spec.matchers[i] = rewrapContains(spec.matchers[i])
			}
		}
	case modeRegex:
	default:
		return nil, fmt.Errorf("modifiers %s need a field", strings.Join(mods, "|"))
	}
	return &keywordNode{matchers: spec.matchers, all: spec.all}, nil
}

func hasAnyMod(mods []string, names ...string) bool {
	for _, m := range mods {
		for _, n := range names {
			if strings.EqualFold(m, n) {
				return true
			}
		}
	}
	return false
}

// rewrapContains turns an equality-style matcher into its substring form.
func rewrapContains(m matcher) matcher {
	switch m.kind {
	case kEquals:
		if m.lit == "" {
			m.kind = kAny
		} else {
			m.kind = kContains
		}
	case kPrefix, kSuffix:
		m.kind = kContains
	case kGlob:
		g := *m.g
		g.anchorL, g.anchorR = false, false
		g.onlyStar = len(g.segs) == 0
		m.g = &g
	}
	return m
}

// conditionsNode compiles a source's extra conditions (event field ->
// accepted values, exact and case-insensitive).
func (c *compiler) conditionsNode(conds map[string][]string) node {
	if len(conds) == 0 {
		return nil
	}
	fields := make([]string, 0, len(conds))
	for f := range conds {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	var kids []node
	for _, f := range fields {
		spec := fieldSpec{}
		for _, v := range conds[f] {
			spec.matchers = append(spec.matchers, matcher{kind: kEquals, lit: lowerString(v)})
		}
		kids = append(kids, newFieldNode(c.b.slot(normName(f)), spec))
	}
	return makeAnd(kids)
}

// eventIDs returns the EventID values a node can only match with, when
// that can be told: known is false when the node may match any event ID.
func eventIDs(n node, slot int32) (ids []uint32, known bool) {
	switch x := n.(type) {
	case *fieldNode:
		if x.slot != slot || x.all || x.null || len(x.matchers) == 0 {
			return nil, false
		}
		for _, m := range x.matchers {
			if m.kind != kEquals {
				return nil, false
			}
			id, err := strconv.ParseUint(m.lit, 10, 32)
			if err != nil {
				return nil, false
			}
			ids = append(ids, uint32(id))
		}
		return ids, true
	case andNode:
		var best []uint32
		found := false
		for _, k := range x {
			kids, ok := eventIDs(k, slot)
			if !ok {
				continue
			}
			if !found {
				best, found = kids, true
				continue
			}
			best = intersect(best, kids)
		}
		return best, found
	case orNode:
		var all []uint32
		for _, k := range x {
			kids, ok := eventIDs(k, slot)
			if !ok {
				return nil, false
			}
			all = append(all, kids...)
		}
		return dedupe(all), true
	case constNode:
		if !x {
			return nil, true
		}
	}
	return nil, false
}

func intersect(a, b []uint32) []uint32 {
	var out []uint32
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

func dedupe(a []uint32) []uint32 {
	sort.Slice(a, func(i, j int) bool { return a[i] < a[j] })
	out := a[:0]
	for i, x := range a {
		if i == 0 || x != a[i-1] {
			out = append(out, x)
		}
	}
	return out
}
