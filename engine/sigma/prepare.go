package sigma

import (
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"casescope/evtx"
)

// System fields and the rule field names that reach them. Names are
// matched after normName (lower case, no spaces). The Execution
// ProcessID/ThreadID carry an Execution_ prefix because a bare "ProcessID"
// would collide with Sysmon's EventData ProcessId under case-insensitive
// lookup.
const (
	sysEventID = iota
	sysChannel
	sysProvider
	sysComputer
	sysLevel
	sysTask
	sysOpcode
	sysKeywords
	sysRecordID
	sysVersion
	sysProcessID
	sysThreadID
	sysUserID
	sysCount
)

// sysNames lists, per system field, the rule field names that reach it.
var sysNames = [sysCount][]string{
	sysEventID:   {"eventid"},
	sysChannel:   {"channel"},
	sysProvider:  {"provider_name", "providername", "provider"},
	sysComputer:  {"computer", "computername"},
	sysLevel:     {"level"},
	sysTask:      {"task"},
	sysOpcode:    {"opcode"},
	sysKeywords:  {"keywords"},
	sysRecordID:  {"eventrecordid"},
	sysVersion:   {"system_version"},
	sysProcessID: {"execution_processid", "executionprocessid"},
	sysThreadID:  {"execution_threadid", "executionthreadid"},
	sysUserID:    {"security_userid", "securityuserid"},
}

// pval is one event value: the raw text and, once asked for, its
// lower-cased form.
type pval struct {
	raw    string
	low    string
	hasLow bool
	stamp  uint32   // scan number once scanned with the literal index; 0 before
	found  [2]int32 // found[0]:found[1] in prepared.found: literal ids in the value, sorted
}

// entry links a value into the list of values of one field slot.
type entry struct {
	val  int32
	next int32 // index+1 of the next entry of the same slot; 0 ends
}

// slotPair is the up to two slots one event field name feeds: its own
// name and, for dotted UserData paths and unnamed Data_N, the short name
// (the last path element, or Data).
type slotPair struct{ a, b int32 }

// maxNameCache bounds a scratch's field-name cache; hostile files could
// otherwise grow it without limit.
const maxNameCache = 8192

// prepared is one event made ready for matching, and the per-goroutine
// scratch that holds it (kept in the Ruleset's sync.Pool). Strings it hands
// out may point into buf and are valid only until the next reset.
type prepared struct {
	rs        *Ruleset
	vals      []pval
	ents      []entry
	head      []int32 // per slot: index+1 of the first entry; 0: absent
	touched   []int32 // slots with a head, to clear on reset
	dataStart int     // vals[dataStart:] are EventData/UserData values
	buf       []byte
	names     map[string]slotPair
	chans     map[string]*chanRoute
	seen      []uint32 // per indexed literal: stamp of the last value it was found in
	stamp     uint32   // last scan number handed out
	found     []int32  // literal ids found per scanned value (see pval.found)
	anySeen   []uint32 // per indexed literal: event stamp when found in any value
	evStamp   uint32   // this event's number, for anySeen
	indexMin  int      // Ruleset.indexMin
}

func newPrepared(rs *Ruleset) *prepared {
	return &prepared{
		rs:       rs,
		head:     make([]int32, len(rs.slotNames)),
		names:    make(map[string]slotPair, 256),
		chans:    make(map[string]*chanRoute, 16),
		indexMin: rs.indexMin,
		seen:     make([]uint32, len(rs.lix.lits)),
		anySeen:  make([]uint32, len(rs.lix.lits)),
	}
}

// scanAll scans every value of the event with the literal index and marks
// each literal found in any of them (see anyFound).
func (p *prepared) scanAll() {
	p.evStamp++
	if p.evStamp == 0 {
		clear(p.anySeen)
		p.evStamp = 1
	}
	for vi := range p.vals {
		v := &p.vals[vi]
		if v.stamp == 0 {
			p.contains(int32(vi), -1)
		}
		for _, id := range p.found[v.found[0]:v.found[1]] {
			p.anySeen[id] = p.evStamp
		}
	}
}

// anyFound reports whether one of the literal ids occurs in the event;
// valid after scanAll.
func (p *prepared) anyFound(ids []int32) bool {
	for _, id := range ids {
		if p.anySeen[id] == p.evStamp {
			return true
		}
	}
	return false
}

// contains reports whether indexed literal id occurs in value vi, scanning
// the value with the literal index on first use (id -1 only scans).
func (p *prepared) contains(vi, id int32) bool {
	v := &p.vals[vi]
	if v.stamp == 0 {
		p.stamp++
		if p.stamp == 0 {
			clear(p.seen)
			p.stamp = 1
		}
		v.stamp = p.stamp
		start := len(p.found)
		p.found = p.rs.lix.scan(p.low(vi), p.seen, v.stamp, p.found)
		slices.Sort(p.found[start:])
		v.found = [2]int32{int32(start), int32(len(p.found))}
	}
	if id < 0 {
		return false
	}
	if p.seen[id] == v.stamp {
		return true
	}
	if v.stamp == p.stamp {
		// The value scanned last: seen is exact for it.
		return false
	}
	_, ok := slices.BinarySearch(p.found[v.found[0]:v.found[1]], id)
	return ok
}

// reset loads ev. Only fields that some rule names get a slot; every data
// value is kept for keyword searches.
func (p *prepared) reset(ev *evtx.Event) {
	for _, s := range p.touched {
		p.head[s] = 0
	}
	p.touched = p.touched[:0]
	p.vals = p.vals[:0]
	p.ents = p.ents[:0]
	p.buf = p.buf[:0]
	p.found = p.found[:0]
	rs := p.rs
	for f := 0; f < sysCount; f++ {
		if len(rs.sysSlots[f]) == 0 {
			continue
		}
		var v string
		switch f {
		case sysEventID:
			v = p.uintString(uint64(ev.EventID))
		case sysChannel:
			v = ev.Channel
		case sysProvider:
			v = ev.Provider
		case sysComputer:
			v = ev.Computer
		case sysLevel:
			v = p.uintString(uint64(ev.Level))
		case sysTask:
			v = p.uintString(uint64(ev.Task))
		case sysOpcode:
			v = p.uintString(uint64(ev.Opcode))
		case sysKeywords:
			v = ev.Keywords
		case sysRecordID:
			v = p.uintString(ev.RecordID)
		case sysVersion:
			v = p.uintString(uint64(ev.Version))
		case sysProcessID:
			v = p.uintString(uint64(ev.ProcessID))
		case sysThreadID:
			v = p.uintString(uint64(ev.ThreadID))
		case sysUserID:
			v = ev.UserID
		}
		vi := p.addVal(v)
		for _, s := range rs.sysSlots[f] {
			p.link(s, vi)
		}
	}
	p.dataStart = len(p.vals)
	for i := range ev.Data {
		f := &ev.Data[i]
		vi := p.addVal(f.Value)
		sp := p.lookup(f.Name)
		if sp.a >= 0 {
			p.link(sp.a, vi)
		}
		if sp.b >= 0 {
			p.link(sp.b, vi)
		}
	}
}

func (p *prepared) addVal(v string) int32 {
	p.vals = append(p.vals, pval{raw: v})
	return int32(len(p.vals) - 1)
}

// link appends value vi to slot s, keeping document order.
func (p *prepared) link(s, vi int32) {
	p.ents = append(p.ents, entry{val: vi})
	e := int32(len(p.ents)) // index+1
	h := p.head[s]
	if h == 0 {
		p.head[s] = e
		p.touched = append(p.touched, s)
		return
	}
	for p.ents[h-1].next != 0 {
		h = p.ents[h-1].next
	}
	p.ents[h-1].next = e
}

// uintString renders n into the scratch buffer without allocating.
func (p *prepared) uintString(n uint64) string {
	start := len(p.buf)
	p.buf = strconv.AppendUint(p.buf, n, 10)
	return p.bufString(start)
}

// bufString returns buf[start:] as a string sharing buf's memory. buf is
// only appended to until the next reset, and nothing handed out survives
// the Match call, so the bytes never change under a live string.
func (p *prepared) bufString(start int) string {
	if start == len(p.buf) {
		return ""
	}
	return unsafe.String(&p.buf[start], len(p.buf)-start)
}

// low returns the lower-cased value vi, computing it once.
func (p *prepared) low(vi int32) string {
	v := &p.vals[vi]
	if v.hasLow {
		return v.low
	}
	s := v.raw
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || (c >= 'A' && c <= 'Z') {
			break
		}
	}
	if i == len(s) {
		v.low = s
	} else {
		start := len(p.buf)
		p.buf = appendLower(p.buf, s)
		v.low = p.bufString(start)
	}
	v.hasLow = true
	return v.low
}

// lookup maps an event field name to the slots rules know it by.
func (p *prepared) lookup(name string) slotPair {
	if sp, ok := p.names[name]; ok {
		return sp
	}
	sp := p.rs.nameSlots(name)
	if len(p.names) >= maxNameCache {
		clear(p.names)
	}
	p.names[name] = sp
	return sp
}

// nameSlots resolves a field name without the cache.
func (rs *Ruleset) nameSlots(name string) slotPair {
	sp := slotPair{a: -1, b: -1}
	n := normName(name)
	if s, ok := rs.slots[n]; ok {
		sp.a = s
	}
	short := ""
	if i := strings.LastIndexByte(n, '.'); i >= 0 && i+1 < len(n) {
		short = n[i+1:]
	} else if rest, ok := strings.CutPrefix(n, "data_"); ok && rest != "" && isDigits(rest) {
		short = "data"
	}
	if short != "" {
		if s, ok := rs.slots[short]; ok && s != sp.a {
			sp.b = s
		}
	}
	return sp
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// route returns the channel's routing table (nil: no channel-bound rules).
func (p *prepared) route(channel string) *chanRoute {
	if r, ok := p.chans[channel]; ok {
		return r
	}
	r := p.rs.routes[lowerString(channel)]
	if len(p.chans) >= maxNameCache {
		clear(p.chans)
	}
	p.chans[channel] = r
	return r
}
