package ioc

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/coregx/ahocorasick"

	"casescope/evtx"
)

// Hit is one IOC found in one field of an event.
type Hit struct {
	IOCID string `json:"ioc_id"`
	Type  Type   `json:"type"`
	Field string `json:"field"` // event field name: "Computer", "Image", "Hashes", …
	Value string `json:"value"` // the IOC's normalised value (not the field text)
}

// Matcher finds a compiled set of IOCs in events. It is immutable after
// Compile and safe for concurrent use.
type Matcher struct {
	iocs []IOC // enabled IOCs, normalised; indexes are the int32s below

	// text holds all literal patterns and runs on the lowered value. path
	// holds the filepath patterns again and runs on the path view, only
	// for values whose path view differs; text skips them then.
	text literals
	path literals

	hashes  map[string][]int32 // lower-case hex → IOCs
	hashLen [65]bool           // hex token lengths present in hashes

	ips    map[netip.Prefix][]int32 // masked prefix → IOCs
	ipLen4 []int                    // distinct IPv4 prefix lengths, longest first
	ipLen6 []int                    // distinct IPv6 prefix lengths, longest first
	cls    [256]uint8               // token byte classes (tokenClasses)

	bufs sync.Pool // *scratch
}

// literals is one Aho-Corasick automaton and what its patterns stand for.
type literals struct {
	ac      *ahocorasick.Automaton // nil when there are no patterns
	entries [][]entry              // per pattern ID: the IOCs it stands for

	ids      map[string]int // pattern → ID, while compiling
	patterns []string       // while compiling
}

// add registers pattern p for e (once per distinct pair).
func (l *literals) add(p string, e entry) {
	if p == "" {
		return
	}
	if l.ids == nil {
		l.ids = make(map[string]int)
	}
	id, ok := l.ids[p]
	if !ok {
		id = len(l.patterns)
		l.ids[p] = id
		l.patterns = append(l.patterns, p)
		l.entries = append(l.entries, nil)
	}
	if !slices.Contains(l.entries[id], e) {
		l.entries[id] = append(l.entries[id], e)
	}
}

// build compiles the automaton and drops the compile-time index.
func (l *literals) build() error {
	if len(l.patterns) > 0 {
		ac, err := ahocorasick.NewBuilder().AddStrings(l.patterns).Build()
		if err != nil {
			return fmt.Errorf("build automaton: %w", err)
		}
		l.ac = ac
	}
	l.ids, l.patterns = nil, nil
	return nil
}

// scan checks every candidate of l in s, skipping path-view entries if
// skipPath.
func (l *literals) scan(st *state, s []byte, skipPath bool) {
	if l.ac == nil {
		return
	}
	for _, c := range l.ac.FindAllOverlapping(s) {
		for _, e := range l.entries[c.PatternID] {
			if skipPath && e.kind.pathView() {
				continue
			}
			st.candidate(e, s, c.Start, c.End)
		}
	}
}

// entry ties an AC pattern to one IOC and the rule its candidates must pass.
type entry struct {
	ioc  int32
	kind kind
}

// scratch holds per-call buffers so Match does not allocate for them.
type scratch struct {
	lower, path []byte
	fieldHits   []int32 // IOCs already hit in the current field
}

// maxKeptBuf bounds the buffers returned to the pool, in bytes.
const maxKeptBuf = 1 << 20

// Compile validates and normalises the enabled IOCs (disabled ones are
// ignored) and builds a Matcher. An invalid IOC fails the whole compile
// with an error naming its ID and value that wraps ErrInvalid.
func Compile(iocs []IOC) (*Matcher, error) {
	m := &Matcher{
		hashes: make(map[string][]int32),
		ips:    make(map[netip.Prefix][]int32),
		cls:    tokenClasses(),
	}
	m.bufs.New = func() any { return new(scratch) }
	addPattern := func(p string, e entry) {
		m.text.add(p, e)
		if e.kind.pathView() {
			m.path.add(p, e)
		}
	}
	seen4 := map[int]bool{}
	seen6 := map[int]bool{}
	for _, in := range iocs {
		if !in.Enabled {
			continue
		}
		c, err := Validate(in)
		if err != nil {
			return nil, fmt.Errorf("compile ioc %q: %w", in.ID, err)
		}
		idx := int32(len(m.iocs))
		m.iocs = append(m.iocs, c)
		v := fold(c.Value)
		switch c.Type {
		case TypeIP:
			p, err := parseIPIOC(c.Value)
			if err != nil {
				return nil, fmt.Errorf("compile ioc %q: %w", in.ID, err)
			}
			m.ips[p] = append(m.ips[p], idx)
			if p.Addr().Is4() && !seen4[p.Bits()] {
				seen4[p.Bits()] = true
				m.ipLen4 = append(m.ipLen4, p.Bits())
			} else if p.Addr().Is6() && !seen6[p.Bits()] {
				seen6[p.Bits()] = true
				m.ipLen6 = append(m.ipLen6, p.Bits())
			}
		case TypeMD5, TypeSHA1, TypeSHA256:
			m.hashes[v] = append(m.hashes[v], idx)
			m.hashLen[len(v)] = true
		case TypeDomain:
			addPattern(v, entry{idx, kindDomain})
		case TypeHostname:
			k := kindHostname
			if strings.Contains(v, ".") {
				k = kindHostDotted
			}
			addPattern(v, entry{idx, k})
		case TypeUsername:
			for _, u := range userVariants(v) {
				addPattern(u.pattern, entry{idx, u.kind})
			}
		case TypeSID:
			addPattern(v, entry{idx, kindSID})
		case TypeFilename:
			addPattern(v, entry{idx, kindFilename})
		case TypeFilepath:
			addPattern(string(pathViewInto(nil, []byte(v))), entry{idx, kindFilepath})
		case TypeRegistry:
			for _, r := range registryVariants(v) {
				addPattern(r.pattern, entry{idx, r.kind})
			}
		default: // url, command, string
			addPattern(v, entry{idx, kindSubstring})
		}
	}
	// Longest prefixes first: the exact-address probe is the likeliest hit.
	slices.Sort(m.ipLen4)
	slices.Reverse(m.ipLen4)
	slices.Sort(m.ipLen6)
	slices.Reverse(m.ipLen6)
	if err := m.text.build(); err != nil {
		return nil, err
	}
	if err := m.path.build(); err != nil {
		return nil, err
	}
	return m, nil
}

// variant is one literal pattern standing for an IOC.
type variant struct {
	pattern string
	kind    kind
}

// userVariants returns the patterns for a lowered user name: the name as
// given, plus "user@domain" for "domain\user" and "label\user" for
// "user@label.rest".
func userVariants(v string) []variant {
	out := []variant{{v, kindUser}}
	if dom, user, ok := strings.Cut(v, `\`); ok && dom != "" && user != "" {
		out = append(out, variant{user + "@" + dom, kindUserUPN})
	} else if user, dom, ok := strings.Cut(v, "@"); ok && user != "" && dom != "" {
		label, _, _ := strings.Cut(dom, ".")
		out = append(out, variant{label + `\` + user, kindUser})
	}
	return out
}

// Registry roots, indexes into hiveNames.
const (
	hiveMachine = iota
	hiveUsers
	hiveCurrent
	hiveClasses
	hiveCount
)

// hiveNames returns the lowered spellings of registry root h, each with a
// trailing separator.
func hiveNames(h int) []string {
	switch h {
	case hiveMachine:
		return []string{`hklm\`, `hkey_local_machine\`, `\registry\machine\`}
	case hiveUsers:
		return []string{`hku\`, `hkey_users\`, `\registry\user\`}
	case hiveCurrent:
		return []string{`hkcu\`, `hkey_current_user\`}
	case hiveClasses:
		return []string{`hkcr\`, `hkey_classes_root\`}
	}
	return nil
}

// registryVariants returns the patterns for a lowered registry IOC: the
// value itself and, when it starts with a hive, the same rest under every
// spelling of that hive. HKCU also matches below HKU\<SID>, and HKCR also
// matches HKLM\Software\Classes.
func registryVariants(v string) []variant {
	out := []variant{{v, kindSubstring}}
	for h := range hiveCount {
		for _, name := range hiveNames(h) {
			rest, ok := strings.CutPrefix(v, name)
			if !ok || rest == "" {
				continue
			}
			for _, alt := range hiveNames(h) {
				out = append(out, variant{alt + rest, kindSubstring})
			}
			switch h {
			case hiveCurrent:
				out = append(out, variant{`\` + rest, kindRegHKU})
			case hiveClasses:
				for _, alt := range hiveNames(hiveMachine) {
					out = append(out, variant{alt + `software\classes\` + rest, kindSubstring})
				}
			}
			return out
		}
	}
	return out
}

// Len returns the number of compiled (enabled) IOCs.
func (m *Matcher) Len() int { return len(m.iocs) }

// Match appends to dst the hits of ev and returns the extended slice. Each
// (IOC, field) pair is reported at most once per call. Fields are searched
// in order: Computer, UserID, Provider, Channel, then the data fields.
func (m *Matcher) Match(ev *evtx.Event, dst []Hit) []Hit {
	if len(m.iocs) == 0 || ev == nil {
		return dst
	}
	sc := m.bufs.Get().(*scratch)
	st := state{m: m, sc: sc, hits: dst, start: len(dst)}
	st.field("Computer", ev.Computer)
	st.field("UserID", ev.UserID)
	st.field("Provider", ev.Provider)
	st.field("Channel", ev.Channel)
	for i := range ev.Data {
		st.field(ev.Data[i].Name, ev.Data[i].Value)
	}
	if cap(sc.lower) <= maxKeptBuf && cap(sc.path) <= maxKeptBuf {
		m.bufs.Put(sc)
	}
	return st.hits
}

// state is one Match call in progress.
type state struct {
	m     *Matcher
	sc    *scratch
	hits  []Hit
	start int // first hit of this call in hits
	name  string
}

// field matches one field value.
func (st *state) field(name, value string) {
	if value == "" {
		return
	}
	m, sc := st.m, st.sc
	st.name = name
	sc.fieldHits = sc.fieldHits[:0]
	sc.lower = foldInto(sc.lower, value)
	s := sc.lower
	split := m.path.ac != nil && needsPathView(s)
	m.text.scan(st, s, split)
	if split {
		sc.path = pathViewInto(sc.path, s)
		m.path.scan(st, sc.path, false)
	}
	if len(m.hashes) > 0 || len(m.ips) > 0 {
		st.scanTokens(s)
	}
}

// candidate records e's IOC if it is new for this field and s[i:j] passes
// its rule.
func (st *state) candidate(e entry, s []byte, i, j int) {
	if st.seen(e.ioc) || !check(e.kind, s, i, j) {
		return
	}
	st.add(e.ioc)
}

func (st *state) seen(ioc int32) bool {
	for _, h := range st.sc.fieldHits {
		if h == ioc {
			return true
		}
	}
	return false
}

// add records a hit of ioc in the current field, unless an earlier field of
// the same name already had it.
func (st *state) add(ioc int32) {
	c := &st.m.iocs[ioc]
	if !FieldFits(c.Type, st.name) {
		return
	}
	st.sc.fieldHits = append(st.sc.fieldHits, ioc)
	for _, h := range st.hits[st.start:] {
		if h.Field == st.name && h.IOCID == c.ID && h.Type == c.Type && h.Value == c.Value {
			return
		}
	}
	st.hits = append(st.hits, Hit{IOCID: c.ID, Type: c.Type, Field: st.name, Value: c.Value})
}

// addAll records each of iocs not yet seen in this field.
func (st *state) addAll(iocs []int32) {
	for _, i := range iocs {
		if !st.seen(i) {
			st.add(i)
		}
	}
}

// FieldFits reports whether an IOC of type t may match the field named
// name. A username IOC matches only account fields (names holding "user"
// or "account": TargetUserName, SubjectUserName, User, AccountName, …),
// so "admin" as a username does not match C:\Users\admin\x.exe in
// Image, CommandLine or TargetFilename. The other types match any field:
// hosts, paths, hashes, IPs and URLs appear under too many names to list,
// and their boundary rules keep them to values of their kind.
func FieldFits(t Type, name string) bool {
	if t != TypeUsername {
		return true
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:] // UserData paths by their leaf
	}
	n := strings.ToLower(name)
	return strings.Contains(n, "user") || strings.Contains(n, "account")
}
