package sigma

import (
	"casescope/internal/level"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"casescope/evtx"
)

// rulesFS holds the embedded rule packs (SigmaHQ rules/windows,
// rules/web, rules-emerging-threats and rules-threat-hunting, DRL 1.1;
// see rules/README.md).
//
//go:embed rules
var rulesFS embed.FS

// Embedded returns the embedded rule packs: SigmaHQ's Windows and web
// rules (pack core), its emerging-threats and its threat-hunting rules,
// as an fs.FS rooted at the rules folder (paths like
// "windows/process_creation/proc_creation_win_....yml",
// "web/webserver_generic/web_....yml", "emerging-threats/2024/...",
// "threat-hunting/windows/..."). Load tells each rule's pack by its
// folder (see Packs).
func Embedded() fs.FS {
	sub, err := fs.Sub(rulesFS, "rules")
	if err != nil {
		// fs.Sub fails only for an invalid path; "rules" is valid.
		panic(err)
	}
	return embeddedFS{sub}
}

// Options filter the rules Load accepts. The zero value accepts all.
type Options struct {
	// MinLevel drops rules below this level (informational < low < medium
	// < high < critical). Rules without a known level rank lowest.
	MinLevel string
	// Statuses, when not empty, keeps only rules whose status is listed
	// (stable, test, experimental, deprecated, unsupported).
	Statuses []string
}

// Ruleset is a compiled, routed set of rules. It is immutable after Load
// and safe for concurrent use by any number of goroutines.
type Ruleset struct {
	rules     []*loadedRule
	skipped   []Skipped
	slots     map[string]int32 // normalised field name -> slot
	slotNames []string
	sysSlots  [sysCount][]int32
	routes    map[string]*chanRoute // lower-cased channel -> routes
	catchAll  *ruleList             // rules bound to no channel
	eventID   int32                 // slot of EventID
	lix       *litIndex             // contains literals of all rules
	// Correlations (correlation.go), each after those it refers to.
	corrs      []*corrRule
	corrByID   map[string]*corrRule
	corrFields map[string][]string // referred detection rule id -> fields its correlations need
	// Tuning, fixed at Load (tests turn the shortcuts off to check that
	// they never change a result).
	prefilterMin int       // candidate rules with literal sets from which to scan the event
	indexMin     int       // value length from which contains uses the literal index
	pool         sync.Pool // *prepared
}

// loadedRule is a rule with its prebuilt hit.
type loadedRule struct {
	meta Rule
	hit  Hit
	pack PackSet // the rule's pack, one bit
}

// variant is a rule compiled for one source (its renames applied).
type variant struct {
	rule *loadedRule
	root node
	req  []int32 // literal ids one of which the event must hold; nil: none known
	pre  bool    // req is set
}

// ruleList is the rules of one routing bucket.
type ruleList struct {
	vs   []*variant
	nPre int // variants with a literal set
}

func (l *ruleList) add(v *variant) { l.vs = append(l.vs, v) }

// chanRoute holds the rules of one channel: by event ID, and those that
// apply to every event ID of the channel.
type chanRoute struct {
	byEID map[uint32]*ruleList
	any   *ruleList
}

// builder holds the state of one Load.
type builder struct {
	rs   *Ruleset
	used map[int32]bool // slots some compiled rule refers to
}

// slot returns the slot of a normalised field name for a compiled rule,
// creating it on first use.
func (b *builder) slot(n string) int32 {
	s := b.alloc(n)
	b.used[s] = true
	return s
}

func (b *builder) alloc(n string) int32 {
	if s, ok := b.rs.slots[n]; ok {
		return s
	}
	s := int32(len(b.rs.slotNames))
	b.rs.slots[n] = s
	b.rs.slotNames = append(b.rs.slotNames, n)
	return s
}

// Load parses every .yml/.yaml file under each source, in order, and
// compiles the rules that pass opts. A later source adds rules or replaces
// an earlier source's rule with the same id (so Load(opts, Embedded(),
// os.DirFS(dir)) layers a rules folder over the defaults); within one
// source the first rule with an id wins and duplicates are skipped. Rules
// that cannot be compiled are skipped with a reason (see Skipped). Only a
// failure to read a source is an error.
func Load(opts Options, sources ...fs.FS) (*Ruleset, error) {
	lm, err := parseLogsources(logsourcesYAML)
	if err != nil {
		return nil, err
	}
	return load(lm, opts, sources)
}

// load is Load with the logsource mapping already parsed.
func load(lm *logsourceMap, opts Options, sources []fs.FS) (*Ruleset, error) {
	statuses := map[string]bool{}
	for _, s := range opts.Statuses {
		statuses[strings.ToLower(strings.TrimSpace(s))] = true
	}
	minRank := 0
	if opts.MinLevel != "" {
		minRank = level.Rank(opts.MinLevel)
		if minRank == 0 {
			return nil, fmt.Errorf("load rules: unknown minimum level %q", opts.MinLevel)
		}
	}

	var (
		order   []string                    // rule ids in first-seen order
		byID    = map[string][]parsedRule{} // versions of a rule, one per source, in source order
		skipped []Skipped
	)
	for si, fsys := range sources {
		seen := map[string]string{} // id -> path, within this source
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			ext := strings.ToLower(path.Ext(p))
			if ext != ".yml" && ext != ".yaml" {
				return nil
			}
			if info, err := d.Info(); err == nil && info.Size() > maxRuleFile {
				skipped = append(skipped, Skipped{Path: p, Pack: packOf(fsys, p), Reason: fmt.Sprintf("file larger than %d bytes", maxRuleFile)})
				return nil
			}
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			pack := packOf(fsys, p)
			rules, sk := parseRuleDocs(p, data)
			for i := range sk {
				sk[i].Pack = pack
			}
			skipped = append(skipped, sk...)
			for _, r := range rules {
				r.meta.Pack = pack
				if first, dup := seen[r.meta.ID]; dup {
					skipped = append(skipped, Skipped{Path: p, ID: r.meta.ID, Title: r.meta.Title, Pack: pack,
						Reason: "duplicate rule id, already defined in " + first, Logsource: r.meta.Logsource})
					continue
				}
				seen[r.meta.ID] = p
				if _, ok := byID[r.meta.ID]; !ok {
					order = append(order, r.meta.ID)
				}
				byID[r.meta.ID] = append(byID[r.meta.ID], r)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load rules from source %d: %w", si, err)
		}
	}

	b := newBuilder()

	var corrs []parsedRule
	for _, id := range order {
		// The last source's version wins; if it cannot be compiled, the
		// version it replaces is used instead.
		versions := byID[id]
		for i := len(versions) - 1; i >= 0; i-- {
			pr := versions[i]
			if minRank > 0 && level.Rank(pr.meta.Level) < minRank {
				break
			}
			if len(statuses) > 0 && !statuses[pr.meta.Status] {
				break
			}
			if pr.corr != nil {
				corrs = append(corrs, pr) // linked once every rule is in
				break
			}
			err := b.add(lm, pr)
			if err == nil {
				break
			}
			reason := err.Error()
			if i > 0 {
				reason += "; using the version in " + versions[i-1].meta.Path + " instead"
			}
			skipped = append(skipped, Skipped{Path: pr.meta.Path, ID: pr.meta.ID, Title: pr.meta.Title, Reason: reason,
				Logsource: pr.meta.Logsource, Pack: pr.meta.Pack})
		}
	}
	skipped = append(skipped, b.resolveCorrelations(corrs)...)
	sort.SliceStable(skipped, func(i, j int) bool { return skipped[i].Path < skipped[j].Path })
	return b.finish(skipped), nil
}

// newBuilder starts an empty rule set.
func newBuilder() *builder {
	rs := &Ruleset{
		slots:    map[string]int32{},
		routes:   map[string]*chanRoute{},
		catchAll: &ruleList{},

		prefilterMin: prefilterMin,
		indexMin:     indexMinLen,
	}
	b := &builder{rs: rs, used: map[int32]bool{}}
	// System field slots come first so every rule shares them.
	for f := 0; f < sysCount; f++ {
		for _, n := range sysNames[f] {
			b.alloc(n)
		}
	}
	rs.eventID = rs.slots["eventid"]
	return b
}

// finish makes the rules added so far a usable rule set.
func (b *builder) finish(skipped []Skipped) *Ruleset {
	rs := b.rs
	// Only system fields that some rule names are rendered per event.
	for f := 0; f < sysCount; f++ {
		for _, n := range sysNames[f] {
			s := rs.slots[n]
			if b.used[s] {
				rs.sysSlots[f] = append(rs.sysSlots[f], s)
			}
		}
	}
	rs.skipped = skipped
	rs.indexLiterals()
	rs.pool.New = func() any { return newPrepared(rs) }
	return rs
}

// maxRuleFile bounds the size of one rule file (the largest SigmaHQ rule
// is about 200 KB).
const maxRuleFile = 16 << 20

// add compiles one rule for each of its sources and routes the results.
// A panic while compiling (a bug, never expected) becomes an error, so
// that a bad rule file cannot take the process down.
func (b *builder) add(lm *logsourceMap, pr parsedRule) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error compiling the rule: %v", r)
		}
	}()
	srcs, err := lm.resolve(pr.logsource)
	if err != nil {
		return err
	}
	lr := &loadedRule{meta: pr.meta}
	var ok bool
	if lr.pack, ok = packBit(pr.meta.Pack); !ok {
		lr.pack, _ = packBit(PackCustom) // a rule built outside Load
	}
	lr.hit = Hit{RuleID: pr.meta.ID, Title: pr.meta.Title, Level: pr.meta.Level, Tags: pr.meta.Tags, Pack: pr.meta.Pack}

	if srcs == nil {
		c := &compiler{b: b}
		root, err := c.compileDetection(pr.detection)
		if err != nil {
			return err
		}
		b.rs.rules = append(b.rs.rules, lr)
		b.rs.catchAll.add(&variant{rule: lr, root: optimize(root)})
		return nil
	}

	type compiled struct {
		src  *source
		root node
		ids  []uint32
		any  bool
	}
	var out []compiled
	for i := range srcs {
		src := &srcs[i]
		c := &compiler{b: b, src: src}
		root, err := c.compileDetection(pr.detection)
		if err != nil {
			return err
		}
		if extra := c.conditionsNode(src.conditions); extra != nil {
			root = makeAnd([]node{extra, root})
		}
		cp := compiled{src: src, root: optimize(root)}
		ruleIDs, known := eventIDs(root, b.rs.eventID)
		switch {
		case len(src.eventIDs) > 0 && known:
			cp.ids = intersect(src.eventIDs, ruleIDs)
			if len(cp.ids) == 0 {
				continue // this source's events can never match
			}
		case len(src.eventIDs) > 0:
			cp.ids = src.eventIDs
		case known:
			cp.ids = ruleIDs
			if len(cp.ids) == 0 {
				continue
			}
		default:
			cp.any = true
		}
		out = append(out, cp)
	}
	if len(out) == 0 {
		return fmt.Errorf("no event of the rule's logsource can satisfy its EventID condition")
	}
	b.rs.rules = append(b.rs.rules, lr)
	for _, cp := range out {
		v := &variant{rule: lr, root: cp.root}
		for _, ch := range cp.src.channels {
			r := b.rs.routes[ch]
			if r == nil {
				r = &chanRoute{byEID: map[uint32]*ruleList{}, any: &ruleList{}}
				b.rs.routes[ch] = r
			}
			if cp.any {
				r.any.add(v)
				continue
			}
			for _, id := range cp.ids {
				l := r.byEID[id]
				if l == nil {
					l = &ruleList{}
					r.byEID[id] = l
				}
				l.add(v)
			}
		}
	}
	return nil
}

// Rules returns the metadata of every loaded rule, in load order, then
// of every correlation (Rule.Correlation set).
func (rs *Ruleset) Rules() []Rule {
	out := make([]Rule, 0, len(rs.rules)+len(rs.corrs))
	for _, r := range rs.rules {
		out = append(out, r.meta)
	}
	for _, c := range rs.corrs {
		out = append(out, c.meta)
	}
	return out
}

// Skipped returns the rules that were not loaded, with the reason, sorted
// by path.
func (rs *Ruleset) Skipped() []Skipped {
	return append([]Skipped(nil), rs.skipped...)
}

// Len returns the number of loaded rules, correlations included.
func (rs *Ruleset) Len() int { return len(rs.rules) + len(rs.corrs) }

// Match tests ev against every rule that can apply to its channel and
// event ID and appends a Hit per matching rule to dst (at most one per
// rule). It allocates nothing unless dst must grow. Safe for concurrent
// use.
func (rs *Ruleset) Match(ev *evtx.Event, dst []Hit) []Hit {
	return rs.MatchPacks(ev, AllPacks, dst)
}

// MatchPacks is Match with only the rules of the packs in set.
func (rs *Ruleset) MatchPacks(ev *evtx.Event, set PackSet, dst []Hit) []Hit {
	if rs == nil || len(rs.rules) == 0 || ev == nil || set == 0 {
		return dst
	}
	p := rs.pool.Get().(*prepared)
	p.reset(ev)
	lists := [3]*ruleList{rs.catchAll}
	if r := p.route(ev.Channel); r != nil {
		lists[1], lists[2] = r.byEID[ev.EventID], r.any
	}
	nPre := 0
	for _, l := range lists {
		if l != nil {
			nPre += l.nPre
		}
	}
	pre := nPre >= rs.prefilterMin
	if pre {
		p.scanAll()
	}
	start := len(dst)
	for _, l := range lists {
		if l != nil {
			dst = matchList(p, l.vs, set, pre, dst, start)
		}
	}
	rs.pool.Put(p)
	return dst
}

func matchList(p *prepared, vs []*variant, set PackSet, pre bool, dst []Hit, start int) []Hit {
	for _, v := range vs {
		if v.rule.pack&set == 0 {
			continue
		}
		if pre && v.pre && !p.anyFound(v.req) {
			continue
		}
		if !v.root.eval(p) {
			continue
		}
		dup := false
		for i := start; i < len(dst); i++ {
			if dst[i].RuleID == v.rule.hit.RuleID {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, v.rule.hit)
		}
	}
	return dst
}
