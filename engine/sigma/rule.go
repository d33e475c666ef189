package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// Hit is one rule that matched an event. Tags is the rule's own slice,
// shared by every hit of the rule: read it, never modify it.
type Hit struct {
	RuleID string   `json:"rule_id"`
	Title  string   `json:"title"`
	Level  string   `json:"level"`
	Tags   []string `json:"tags,omitempty"`
	Pack   string   `json:"pack,omitempty"` // the rule's pack (see Packs)
	// Correlation is the correlation type of a correlation's hit
	// (Correlate); "" for a detection rule's.
	Correlation string `json:"correlation,omitempty"`
	// CorrelationOnly marks a hit of a rule that only feeds correlations
	// (referred to by one that does not generate it): not a detection
	// by itself.
	CorrelationOnly bool `json:"-"`
}

// Rule is the metadata of a loaded rule. Path is the file's path inside
// the fs.FS it was loaded from.
type Rule struct {
	ID             string   `json:"id"`
	Title          string   `json:"title"`
	Status         string   `json:"status,omitempty"`
	Level          string   `json:"level,omitempty"`
	Description    string   `json:"description,omitempty"`
	Author         string   `json:"author,omitempty"`
	Path           string   `json:"path"`
	Tags           []string `json:"tags,omitempty"`
	References     []string `json:"references,omitempty"`
	FalsePositives []string `json:"false_positives,omitempty"`
	// Logsource names the rule's logsource as product/category/service,
	// the parts it gives ("windows/process_creation", "webserver").
	Logsource string `json:"logsource,omitempty"`
	// Pack is the rule's pack (see Packs).
	Pack string `json:"pack"`
	// Name is the rule's optional name, by which correlations may refer
	// to it.
	Name string `json:"name,omitempty"`
	// Correlation is set on a correlation rule (see correlation.go).
	Correlation *CorrelationInfo `json:"correlation,omitempty"`
}

// Skipped is a rule file (or one document of it) that was not loaded, and
// why. ID and Title are empty when the file could not be read that far.
type Skipped struct {
	Path   string `json:"path"`
	ID     string `json:"id,omitempty"`
	Title  string `json:"title,omitempty"`
	Reason string `json:"reason"`
	// Logsource as in Rule ("" when the file could not be read that far).
	Logsource string `json:"logsource,omitempty"`
	// Pack is the pack of the rule's file (see Packs).
	Pack string `json:"pack"`
}

// logsource is a rule's logsource block.
type logsource struct {
	Product  string `yaml:"product"`
	Category string `yaml:"category"`
	Service  string `yaml:"service"`
}

// String names the logsource by the parts it gives, lower case:
// "windows/process_creation", "windows/security", "webserver".
func (l logsource) String() string {
	var parts []string
	for _, p := range []string{l.Product, l.Category, l.Service} {
		if p != "" {
			parts = append(parts, strings.ToLower(p))
		}
	}
	return strings.Join(parts, "/")
}

// parsedRule is one rule document, parsed but not compiled.
type parsedRule struct {
	meta      Rule
	logsource logsource
	detection *yaml.Node // mapping node
	corr      *parsedCorrelation
}

// parseRuleDocs parses every YAML document of one file. Documents that are
// valid rules come back in rules; the others in skipped.
func parseRuleDocs(path string, data []byte) (rules []parsedRule, skipped []Skipped) {
	defer func() {
		// yaml.v3 has panicked on hostile input in the past; a rule file
		// must never take the process down.
		if r := recover(); r != nil {
			skipped = append(skipped, Skipped{Path: path, Reason: fmt.Sprintf("yaml parser panic: %v", r)})
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 0; ; doc++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			skipped = append(skipped, Skipped{Path: path, Reason: "invalid YAML: " + err.Error()})
			break
		}
		if doc >= 64 {
			skipped = append(skipped, Skipped{Path: path, Reason: "too many YAML documents in one file"})
			break
		}
		r, err := parseRule(path, &n)
		if err != nil {
			skipped = append(skipped, Skipped{Path: path, ID: r.meta.ID, Title: r.meta.Title, Reason: err.Error(), Logsource: r.meta.Logsource})
			continue
		}
		rules = append(rules, r)
	}
	return rules, skipped
}

// parseRule reads one YAML document. On error the returned rule still
// carries whatever metadata was read, for the skip report.
func parseRule(path string, doc *yaml.Node) (parsedRule, error) {
	r := parsedRule{meta: Rule{Path: path}}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return r, errors.New("rule is not a YAML mapping")
	}
	var (
		ls       *yaml.Node
		falsePos *yaml.Node
		corr     *yaml.Node
	)
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i].Value, doc.Content[i+1]
		switch k {
		case "title":
			r.meta.Title = scalar(v)
		case "id":
			r.meta.ID = scalar(v)
		case "status":
			r.meta.Status = strings.ToLower(scalar(v))
		case "level":
			r.meta.Level = strings.ToLower(scalar(v))
		case "description":
			r.meta.Description = scalar(v)
		case "author":
			r.meta.Author = scalar(v)
		case "tags":
			r.meta.Tags = stringList(v)
		case "references":
			r.meta.References = stringList(v)
		case "falsepositives":
			falsePos = v
		case "logsource":
			ls = v
		case "detection":
			r.detection = v
		case "action":
			return r, fmt.Errorf("rule collections (action: %s) are not supported", scalar(v))
		case "name":
			r.meta.Name = scalar(v)
		case "correlation":
			corr = v
		case "filter":
			return r, errors.New("filter documents are not supported")
		}
	}
	if falsePos != nil {
		r.meta.FalsePositives = stringList(falsePos)
	}
	if r.meta.Title == "" {
		return r, errors.New("rule has no title")
	}
	if r.meta.ID == "" {
		// Sigma makes id optional; the path identifies such a rule (and
		// its name, when it has one, within a file of several).
		r.meta.ID = path
		if r.meta.Name != "" {
			r.meta.ID = path + "#" + r.meta.Name
		}
	}
	if corr != nil {
		c, err := parseCorrelation(corr)
		if err != nil {
			return r, fmt.Errorf("correlation: %w", err)
		}
		r.corr = c
		r.meta.Correlation = &c.info
		r.meta.Logsource = "correlation/" + c.info.Type
		return r, nil
	}
	if ls == nil || ls.Kind != yaml.MappingNode {
		return r, errors.New("rule has no logsource mapping")
	}
	if err := ls.Decode(&r.logsource); err != nil {
		return r, fmt.Errorf("read logsource: %w", err)
	}
	r.meta.Logsource = r.logsource.String()
	if r.detection == nil || r.detection.Kind != yaml.MappingNode {
		return r, errors.New("rule has no detection mapping")
	}
	return r, nil
}

// scalar returns a scalar node's text ("" for anything else).
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// stringList reads a scalar or a sequence of scalars.
func stringList(n *yaml.Node) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" || n.Value == "" {
			return nil
		}
		return []string{n.Value}
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind == yaml.ScalarNode && c.Tag != "!!null" {
				out = append(out, c.Value)
			}
		}
		return out
	}
	return nil
}
