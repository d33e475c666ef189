package sigma

import (
	_ "embed"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// logsourcesYAML is the logsource mapping, documented in the file itself.
//
//go:embed logsources.yaml
var logsourcesYAML []byte

// source is one place a rule's logsource points at: channels (lower-cased),
// the event IDs there (none: every event of the channels), and how rule
// fields and values translate to those events.
type source struct {
	channels   []string
	eventIDs   []uint32
	fields     map[string]string            // normalised rule field -> event field
	values     map[string]map[string]string // normalised rule field -> lower-cased rule value -> event value
	conditions map[string][]string          // event field -> accepted values
}

type sourceSpec struct {
	Service    string                       `yaml:"service"`
	EventIDs   []uint32                     `yaml:"event_ids"`
	Fields     map[string]string            `yaml:"fields"`
	Values     map[string]map[string]string `yaml:"values"`
	Conditions map[string][]string          `yaml:"conditions"`
}

type categorySpec struct {
	sources     []sourceSpec
	unsupported string
}

func (c *categorySpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		return n.Decode(&c.sources)
	}
	var m struct {
		Unsupported string `yaml:"unsupported"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	if m.Unsupported == "" {
		return fmt.Errorf("line %d: category needs a list of sources or an unsupported reason", n.Line)
	}
	c.unsupported = m.Unsupported
	return nil
}

// logsourceMap is the parsed logsources.yaml.
type logsourceMap struct {
	services   map[string][]string // service -> lower-cased channels
	categories map[string]categorySpec
}

func parseLogsources(data []byte) (*logsourceMap, error) {
	var doc struct {
		Services   map[string][]string     `yaml:"services"`
		Categories map[string]categorySpec `yaml:"categories"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse logsource mapping: %w", err)
	}
	m := &logsourceMap{services: map[string][]string{}, categories: doc.Categories}
	for name, chans := range doc.Services {
		low := make([]string, len(chans))
		for i, c := range chans {
			low[i] = strings.ToLower(c)
		}
		m.services[strings.ToLower(name)] = low
	}
	for name, cat := range doc.Categories {
		for _, s := range cat.sources {
			if _, ok := m.services[strings.ToLower(s.Service)]; !ok {
				return nil, fmt.Errorf("logsource mapping: category %s uses unknown service %q", name, s.Service)
			}
		}
	}
	return m, nil
}

// resolve returns the sources a rule's logsource names. A nil slice with a
// nil error means the rule runs on every event.
func (m *logsourceMap) resolve(ls logsource) ([]source, error) {
	product := strings.ToLower(ls.Product)
	if product != "" && product != "windows" {
		return nil, fmt.Errorf("logsource product %q is not supported (Windows event logs and web-server access logs only)", ls.Product)
	}
	if ls.Category != "" {
		cat, ok := m.categories[strings.ToLower(ls.Category)]
		if !ok {
			return nil, fmt.Errorf("logsource category %q has no mapping", ls.Category)
		}
		if cat.unsupported != "" {
			return nil, fmt.Errorf("logsource category %q is not supported: %s", ls.Category, cat.unsupported)
		}
		out := make([]source, 0, len(cat.sources))
		for _, s := range cat.sources {
			out = append(out, m.build(s))
		}
		return out, nil
	}
	if ls.Service != "" {
		chans, ok := m.services[strings.ToLower(ls.Service)]
		if !ok {
			return nil, fmt.Errorf("logsource service %q has no mapping", ls.Service)
		}
		return []source{{channels: chans}}, nil
	}
	if product == "" {
		return nil, fmt.Errorf("logsource names no product, category or service")
	}
	return nil, nil
}

func (m *logsourceMap) build(s sourceSpec) source {
	src := source{
		channels:   m.services[strings.ToLower(s.Service)],
		eventIDs:   s.EventIDs,
		conditions: s.Conditions,
	}
	if len(s.Fields) > 0 {
		src.fields = make(map[string]string, len(s.Fields))
		for k, v := range s.Fields {
			src.fields[normName(k)] = v
		}
	}
	if len(s.Values) > 0 {
		src.values = make(map[string]map[string]string, len(s.Values))
		for k, vm := range s.Values {
			low := make(map[string]string, len(vm))
			for from, to := range vm {
				low[strings.ToLower(from)] = to
			}
			src.values[normName(k)] = low
		}
	}
	return src
}

// normName is the canonical form of a field name: lower-cased, with spaces
// removed (the Sigma specification strips spaces from event field names,
// and casescope matches field names case-insensitively).
func normName(s string) string {
	if strings.IndexByte(s, ' ') >= 0 {
		s = strings.ReplaceAll(s, " ", "")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}
