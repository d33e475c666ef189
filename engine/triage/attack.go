package triage

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// Tactic is one ATT&CK enterprise tactic as Sigma tags name it
// ("attack.lateral-movement").
type Tactic struct {
	Tag  string `json:"tactic"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Tactics are the ATT&CK enterprise tactics in matrix order.
var Tactics = []Tactic{
	{"reconnaissance", "TA0043", "Reconnaissance"},
	{"resource-development", "TA0042", "Resource Development"},
	{"initial-access", "TA0001", "Initial Access"},
	{"execution", "TA0002", "Execution"},
	{"persistence", "TA0003", "Persistence"},
	{"privilege-escalation", "TA0004", "Privilege Escalation"},
	{"defense-evasion", "TA0005", "Defense Evasion"},
	{"credential-access", "TA0006", "Credential Access"},
	{"discovery", "TA0007", "Discovery"},
	{"lateral-movement", "TA0008", "Lateral Movement"},
	{"collection", "TA0009", "Collection"},
	{"command-and-control", "TA0011", "Command and Control"},
	{"exfiltration", "TA0010", "Exfiltration"},
	{"impact", "TA0040", "Impact"},
}

// NoTactic files the techniques of rules that carry no tactic tag.
const NoTactic = "no-tactic"

var techniqueTag = regexp.MustCompile(`^attack\.(t\d{4}(?:\.\d{3})?)$`)

// RuleTags is one Sigma hit of an event: the rule and its tags.
type RuleTags struct {
	RuleID string
	Title  string
	Tags   []string
}

// Attack is the ATT&CK view of a case's Sigma hits: a tactics ×
// techniques matrix and each host's techniques. Counts are events: an
// event with two rules of the same cell counts once in it.
type Attack struct {
	Tactics []AttackTactic `json:"tactics"`
	Hosts   []AttackHost   `json:"hosts"`
	// Untagged counts events with Sigma hits none of which names an
	// ATT&CK technique.
	Untagged int `json:"untagged"`
}

// AttackTactic is one column of the matrix.
type AttackTactic struct {
	Tactic
	Events     int               `json:"events"` // events with a hit of a rule tagged with the tactic
	Techniques []AttackTechnique `json:"techniques"`
}

// AttackTechnique is one cell: a technique under a tactic, with the rules
// that put it there (searching sigma.rule for them finds its events).
type AttackTechnique struct {
	Technique string       `json:"technique"` // T1059.001
	Events    int          `json:"events"`
	Rules     []AttackRule `json:"rules"`
}

// AttackRule is a rule of a cell.
type AttackRule struct {
	RuleID string `json:"rule_id"`
	Title  string `json:"title"`
}

// AttackHost is one computer's techniques.
type AttackHost struct {
	Computer   string         `json:"computer"`
	Techniques map[string]int `json:"techniques"` // technique → events
}

// AttackBuilder accumulates events' hits into an Attack. Not safe for
// concurrent use.
type AttackBuilder struct {
	tacticEvents map[string]int
	cells        map[[2]string]*cellAgg
	hosts        map[string]map[string]int
	untagged     int
}

type cellAgg struct {
	events int
	rules  map[string]string // id → title
}

// NewAttackBuilder returns an empty builder.
func NewAttackBuilder() *AttackBuilder {
	return &AttackBuilder{tacticEvents: map[string]int{}, cells: map[[2]string]*cellAgg{}, hosts: map[string]map[string]int{}}
}

// Add folds in one event's Sigma hits.
func (b *AttackBuilder) Add(computer string, hits []RuleTags) {
	if len(hits) == 0 {
		return
	}
	tactics := map[string]bool{}
	cells := map[[2]string]bool{}
	techs := map[string]bool{}
	for _, h := range hits {
		var ts, techniques []string
		for _, tag := range h.Tags {
			tag = strings.ToLower(tag)
			if m := techniqueTag.FindStringSubmatch(tag); m != nil {
				techniques = append(techniques, strings.ToUpper(m[1]))
				continue
			}
			if t, ok := strings.CutPrefix(tag, "attack."); ok && isTactic(t) {
				ts = append(ts, t)
			}
		}
		for _, t := range ts {
			tactics[t] = true
		}
		if len(ts) == 0 {
			ts = []string{NoTactic}
			if len(techniques) > 0 {
				tactics[NoTactic] = true
			}
		}
		for _, tech := range techniques {
			techs[tech] = true
			for _, t := range ts {
				k := [2]string{t, tech}
				c := b.cells[k]
				if c == nil {
					c = &cellAgg{rules: map[string]string{}}
					b.cells[k] = c
				}
				c.rules[h.RuleID] = h.Title
				cells[k] = true
			}
		}
	}
	for t := range tactics {
		b.tacticEvents[t]++
	}
	for k := range cells {
		b.cells[k].events++
	}
	if len(techs) == 0 {
		b.untagged++
		return
	}
	hm := b.hosts[computer]
	if hm == nil {
		hm = map[string]int{}
		b.hosts[computer] = hm
	}
	for t := range techs {
		hm[t]++
	}
}

func isTactic(t string) bool {
	for _, x := range Tactics {
		if x.Tag == t {
			return true
		}
	}
	return false
}

// Attack returns the matrix: every tactic in matrix order (a column for
// NoTactic last, when some rule lacks a tactic tag), techniques most
// events first; hosts most techniques first.
func (b *AttackBuilder) Attack() Attack {
	cols := append([]Tactic(nil), Tactics...)
	for k := range b.cells {
		if k[0] == NoTactic {
			cols = append(cols, Tactic{Tag: NoTactic, Name: "No tactic tag"})
			break
		}
	}
	out := Attack{Tactics: []AttackTactic{}, Hosts: []AttackHost{}, Untagged: b.untagged}
	for _, t := range cols {
		col := AttackTactic{Tactic: t, Events: b.tacticEvents[t.Tag], Techniques: []AttackTechnique{}}
		for k, c := range b.cells {
			if k[0] != t.Tag {
				continue
			}
			cell := AttackTechnique{Technique: k[1], Events: c.events}
			for id, title := range c.rules {
				cell.Rules = append(cell.Rules, AttackRule{RuleID: id, Title: title})
			}
			slices.SortFunc(cell.Rules, func(a, b AttackRule) int { return strings.Compare(a.RuleID, b.RuleID) })
			col.Techniques = append(col.Techniques, cell)
		}
		slices.SortFunc(col.Techniques, func(a, b AttackTechnique) int {
			return cmp.Or(cmp.Compare(b.Events, a.Events), strings.Compare(a.Technique, b.Technique))
		})
		out.Tactics = append(out.Tactics, col)
	}
	for name, techs := range b.hosts {
		out.Hosts = append(out.Hosts, AttackHost{Computer: name, Techniques: cloneCounts(techs)})
	}
	slices.SortFunc(out.Hosts, func(a, b AttackHost) int {
		return cmp.Or(cmp.Compare(len(b.Techniques), len(a.Techniques)), strings.Compare(a.Computer, b.Computer))
	})
	return out
}
