package sigma

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"casescope/evtx"
)

// ErrRuleNotFound is returned when no source holds a rule of that id.
var ErrRuleNotFound = errors.New("sigma rule not found")

// Explanation says why a rule matched an event: each named search
// identifier (selection, filter, keywords) of its detection is evaluated
// on its own against the event, with the fields it tests and the event's
// values of them.
type Explanation struct {
	Condition  []string         `json:"condition"`
	Selections []SelectionMatch `json:"selections"`
}

// SelectionMatch is one search identifier of a rule's detection.
type SelectionMatch struct {
	Name    string       `json:"name"`
	Matched bool         `json:"matched"`
	Fields  []FieldMatch `json:"fields"`
	// Error says why the identifier could not be evaluated on its own
	// (e.g. it can never match the rule's log source alone).
	Error string `json:"error,omitempty"`
}

// FieldMatch is one field condition of a search identifier.
type FieldMatch struct {
	Field      string   `json:"field"`       // as the rule writes it, modifiers included ("CommandLine|contains")
	Values     []string `json:"values"`      // the rule's values (at most maxExplainValues)
	MoreCount  int      `json:"more"`        // values left out
	Event      string   `json:"event"`       // the event's value of the field ("" when absent)
	EventField string   `json:"event_field"` // the event\'s name of the field (the log source may rename it)
	Present    bool     `json:"present"`     // the event has the field
	Keywords   bool     `json:"keywords"`    // a keyword list (matched against every value)
	Matched    bool     `json:"matched"`     // this field's condition alone holds for the event
	Skipped    string   `json:"skipped,omitempty"`
}

const maxExplainValues = 20

// RuleSource finds the YAML file of the rule with the given id and path
// (Rule.Path) in sources, the last source first (it wins at Load).
func RuleSource(id, path string, sources ...fs.FS) ([]byte, error) {
	for i := len(sources) - 1; i >= 0; i-- {
		data, err := fs.ReadFile(sources[i], path)
		if err != nil {
			continue
		}
		rules, _ := parseRuleDocs(path, data)
		for _, r := range rules {
			if r.meta.ID == id {
				return data, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: %s in %s", ErrRuleNotFound, id, path)
}

// Explain evaluates each search identifier of the rule with id in the
// YAML file data against ev on its own, and each field condition of the
// identifier on its own, compiled as the rule set compiles them (same
// modifiers and log source mapping).
func Explain(data []byte, id string, ev *evtx.Event) (Explanation, error) {
	rules, _ := parseRuleDocs("rule.yml", data)
	var pr *parsedRule
	for i := range rules {
		if rules[i].meta.ID == id {
			pr = &rules[i]
		}
	}
	if pr == nil || pr.detection == nil {
		return Explanation{}, fmt.Errorf("%w: %s", ErrRuleNotFound, id)
	}
	lm, err := parseLogsources(logsourcesYAML)
	if err != nil {
		return Explanation{}, err
	}
	var ex Explanation
	det := pr.detection
	for i := 0; i+1 < len(det.Content); i += 2 {
		name, v := det.Content[i].Value, det.Content[i+1]
		switch name {
		case "condition":
			if v.Kind == yaml.SequenceNode {
				ex.Condition = stringList(v)
			} else {
				ex.Condition = []string{scalar(v)}
			}
			continue
		case "timeframe":
			continue
		}
		sel := SelectionMatch{Name: name}
		sel.Matched, err = matchAlone(lm, pr, name, v, ev)
		if err != nil {
			sel.Error = err.Error()
		}
		sel.Fields = explainFields(lm, pr, name, v, ev)
		ex.Selections = append(ex.Selections, sel)
	}
	return ex, nil
}

// matchAlone compiles {name: v, condition: name} under the rule's log
// source and matches it against ev.
func matchAlone(lm *logsourceMap, pr *parsedRule, name string, v *yaml.Node, ev *evtx.Event) (bool, error) {
	det := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: name}, v,
		{Kind: yaml.ScalarNode, Value: "condition"}, {Kind: yaml.ScalarNode, Value: name},
	}}
	b := newBuilder()
	one := parsedRule{meta: Rule{ID: name, Title: name}, logsource: pr.logsource, detection: det}
	if err := b.add(lm, one); err != nil {
		return false, err
	}
	var buf [1]Hit
	return len(b.finish(nil).Match(ev, buf[:0])) > 0, nil
}

// explainFields lists the field conditions of a search identifier (a
// mapping, or a list of mappings or keywords) with the event's values.
func explainFields(lm *logsourceMap, pr *parsedRule, name string, v *yaml.Node, ev *evtx.Event) []FieldMatch {
	var out []FieldMatch
	var maps []*yaml.Node
	var keywords []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		maps = append(maps, v)
	case yaml.SequenceNode:
		for _, c := range v.Content {
			if c.Kind == yaml.MappingNode {
				maps = append(maps, c)
			} else {
				keywords = append(keywords, c)
			}
		}
	default:
		keywords = append(keywords, v)
	}
	for _, m := range maps {
		for i := 0; i+1 < len(m.Content); i += 2 {
			key, val := m.Content[i].Value, m.Content[i+1]
			field, _, _ := strings.Cut(key, "|")
			fm := FieldMatch{Field: key}
			fm.Values, fm.MoreCount = valuesOf(val)
			fm.EventField = renamed(lm, pr, ev, field)
			fm.Event, fm.Present = eventValue(ev, fm.EventField)
			one := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{m.Content[i], val}}
			ok, err := matchAlone(lm, pr, name, one, ev)
			fm.Matched = ok
			if err != nil {
				fm.Skipped = err.Error()
			}
			out = append(out, fm)
		}
	}
	if len(keywords) > 0 {
		fm := FieldMatch{Field: "keywords", Keywords: true}
		for _, k := range keywords {
			vs, more := valuesOf(k)
			fm.Values = append(fm.Values, vs...)
			fm.MoreCount += more
		}
		seq := &yaml.Node{Kind: yaml.SequenceNode, Content: keywords}
		ok, err := matchAlone(lm, pr, name, seq, ev)
		fm.Matched = ok
		if err != nil {
			fm.Skipped = err.Error()
		}
		out = append(out, fm)
	}
	return out
}

func valuesOf(v *yaml.Node) ([]string, int) {
	var all []string
	switch v.Kind {
	case yaml.SequenceNode:
		for _, c := range v.Content {
			all = append(all, c.Value)
		}
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			all = append(all, "null")
		} else {
			all = append(all, v.Value)
		}
	}
	if len(all) > maxExplainValues {
		return all[:maxExplainValues], len(all) - maxExplainValues
	}
	return all, 0
}

// renamed is the event field a rule field reads for this event: the log
// source mapping's rename for the source that covers the event's channel
// (Sysmon's Image is Security 4688's NewProcessName), else the field.
func renamed(lm *logsourceMap, pr *parsedRule, ev *evtx.Event, field string) string {
	srcs, err := lm.resolve(pr.logsource)
	if err != nil {
		return field
	}
	channel := strings.ToLower(ev.Channel)
	for _, src := range srcs {
		covers := false
		for _, ch := range src.channels {
			covers = covers || ch == channel
		}
		if !covers {
			continue
		}
		if len(src.eventIDs) > 0 && !slices.Contains(src.eventIDs, ev.EventID) {
			continue
		}
		if to, ok := src.fields[normName(field)]; ok {
			return to
		}
		return field
	}
	return field
}

// eventValue is the event's value of a Sigma field: a data field by its
// name, else the System field of that name.
func eventValue(ev *evtx.Event, field string) (string, bool) {
	if v, ok := ev.Get(field); ok {
		return v, true
	}
	switch strings.ToLower(field) {
	case "eventid":
		return strconv.FormatUint(uint64(ev.EventID), 10), true
	case "channel":
		return ev.Channel, true
	case "computer", "computername":
		return ev.Computer, true
	case "provider_name":
		return ev.Provider, true
	case "level":
		return strconv.Itoa(int(ev.Level)), true
	}
	return "", false
}
