package evtx

import (
	"encoding/binary"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// text renders an element's character content: text, values, character
// and entity references, CDATA; child elements are left to the caller.
func (r *renderer) text(items []Item) string {
	if len(items) == 1 {
		switch it := items[0]; it.Kind {
		case kText, kCData:
			return it.Text
		case kSubst:
			return r.render(it.Val)
		}
	}
	var b strings.Builder
	for _, it := range items {
		switch it.Kind {
		case kText, kCData:
			b.WriteString(it.Text)
		case kSubst:
			b.WriteString(r.render(it.Val))
		case kCharRef:
			b.WriteString(string(utf16.Decode([]uint16{it.Char})))
		case kEntity:
			b.WriteString(entityText(it.Name))
		}
	}
	return b.String()
}

// entityText resolves the XML predefined entities; others stay as written.
func entityText(name string) string {
	switch name {
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "amp":
		return "&"
	case "quot":
		return `"`
	case "apos":
		return "'"
	}
	return "&" + name + ";"
}

func (n *Node) attr(name string) ([]Item, bool) {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a.Items, true
		}
	}
	return nil, false
}

func (n *Node) child(name string) *Node {
	for _, it := range n.Kids {
		if it.Elem != nil && it.Elem.Name == name {
			return it.Elem
		}
	}
	return nil
}

func hasElems(items []Item) bool {
	for _, it := range items {
		if it.Elem != nil {
			return true
		}
	}
	return false
}

// findEvent returns the record's Event element.
func findEvent(items []Item) *Node {
	for _, it := range items {
		if it.Elem != nil && it.Elem.Name == "Event" {
			return it.Elem
		}
	}
	for _, it := range items {
		if it.Elem != nil {
			return it.Elem
		}
	}
	return nil
}

// parseUint reads an unsigned number rendered in decimal or 0x hex.
func parseUint(s string) uint64 {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		u, _ := strconv.ParseUint(s[2:], 16, 64)
		return u
	}
	u, _ := strconv.ParseUint(s, 10, 64)
	return u
}

// flatten fills ev from the record's Event element (see doc.go).
func (r *renderer) flatten(ev *Event, root *Node, headerFT uint64) {
	ev.TimeCreated = filetime(headerFT)
	if root == nil {
		return
	}
	for _, it := range root.Kids {
		e := it.Elem
		if e == nil {
			continue
		}
		switch e.Name {
		case "System":
			r.system(ev, e)
		case "EventData":
			r.eventData(ev, e)
		case "UserData":
			r.userData(ev, e)
		default:
			// RenderingInfo, ProcessingErrorData, DebugData, …: kept
			// under their own dotted names (libevtx leaves RenderingInfo
			// out; nothing is dropped here).
			r.generic(ev, e.Name, e, "")
		}
	}
}

func (r *renderer) elemText(sys *Node, name string) (string, bool) {
	e := sys.child(name)
	if e == nil {
		return "", false
	}
	return r.text(e.Kids), true
}

func (r *renderer) attrText(e *Node, name string) string {
	if e == nil {
		return ""
	}
	items, ok := e.attr(name)
	if !ok {
		return ""
	}
	return r.text(items)
}

func (r *renderer) system(ev *Event, sys *Node) {
	if p := sys.child("Provider"); p != nil {
		ev.Provider = r.attrText(p, "Name")
		ev.ProviderGUID = r.attrText(p, "Guid")
		ev.EventSourceName = r.attrText(p, "EventSourceName")
		if ev.Provider == "" {
			ev.Provider = ev.EventSourceName
		}
	}
	if e := sys.child("EventID"); e != nil {
		ev.EventID = uint32(parseUint(r.text(e.Kids)))
		ev.Qualifiers = r.attrText(e, "Qualifiers")
	}
	if s, ok := r.elemText(sys, "Version"); ok {
		ev.Version = uint8(parseUint(s))
	}
	if s, ok := r.elemText(sys, "Level"); ok {
		ev.Level = uint8(parseUint(s))
	}
	if s, ok := r.elemText(sys, "Task"); ok {
		ev.Task = uint16(parseUint(s))
	}
	if s, ok := r.elemText(sys, "Opcode"); ok {
		ev.Opcode = uint8(parseUint(s))
	}
	if s, ok := r.elemText(sys, "Keywords"); ok {
		ev.Keywords = s
	}
	if tc := sys.child("TimeCreated"); tc != nil {
		if items, ok := tc.attr("SystemTime"); ok {
			if t, ok := r.timeOf(items); ok {
				ev.TimeCreated = t
			}
		}
	}
	if s, ok := r.elemText(sys, "EventRecordID"); ok {
		if id := parseUint(s); id != 0 || strings.TrimSpace(s) == "0" {
			ev.RecordID = id
		}
	}
	if c := sys.child("Correlation"); c != nil {
		// As written: GUID values render upper case, GUIDs written as
		// text keep their case (libevtx shows both so).
		ev.ActivityID = r.attrText(c, "ActivityID")
		ev.RelatedActivityID = r.attrText(c, "RelatedActivityID")
	}
	if x := sys.child("Execution"); x != nil {
		ev.ProcessID = uint32(parseUint(r.attrText(x, "ProcessID")))
		ev.ThreadID = uint32(parseUint(r.attrText(x, "ThreadID")))
	}
	ev.Channel, _ = r.elemText(sys, "Channel")
	ev.Computer, _ = r.elemText(sys, "Computer")
	ev.UserID = r.attrText(sys.child("Security"), "UserID")
	r.systemExtra(ev, sys)
}

// systemTyped lists, per System element, the attributes Event has a typed
// field for; "" stands for the element's text.
var systemTyped = map[string][]string{
	"Provider": {"Name", "Guid", "EventSourceName"}, "EventID": {"", "Qualifiers"},
	"Version": {""}, "Level": {""}, "Task": {""}, "Opcode": {""}, "Keywords": {""},
	"TimeCreated": {"SystemTime"}, "EventRecordID": {""},
	"Correlation": {"ActivityID", "RelatedActivityID"}, "Execution": {"ProcessID", "ThreadID"},
	"Channel": {""}, "Computer": {""}, "Security": {"UserID"},
}

// systemExtra keeps every System element text and attribute that has no
// typed field in ev.SystemExtra, so nothing of System is lost.
func (r *renderer) systemExtra(ev *Event, sys *Node) {
	typed := func(elem, attr string) bool {
		for _, a := range systemTyped[elem] {
			if a == attr {
				return true
			}
		}
		return false
	}
	for _, it := range sys.Kids {
		c := it.Elem
		if c == nil {
			continue
		}
		if !typed(c.Name, "") && !hasElems(c.Kids) {
			if v := r.text(c.Kids); v != "" || len(c.Attrs) == 0 {
				ev.SystemExtra = append(ev.SystemExtra, Field{Name: c.Name, Value: v})
			}
		}
		for _, a := range c.Attrs {
			if typed(c.Name, a.Name) || a.Name == "xmlns" || strings.HasPrefix(a.Name, "xmlns:") {
				continue
			}
			ev.SystemExtra = append(ev.SystemExtra, Field{Name: c.Name + ".@" + a.Name, Value: r.text(a.Items)})
		}
	}
}

// timeOf reads TimeCreated/@SystemTime: exact from a FILETIME (or
// SYSTEMTIME) value, else parsed from text.
func (r *renderer) timeOf(items []Item) (time.Time, bool) {
	if len(items) == 1 && items[0].Kind == kSubst {
		v := items[0].Val
		b := r.raw(v)
		switch {
		case v.typ == tFileTime && len(b) == 8:
			return filetime(binary.LittleEndian.Uint64(b)), true
		case v.typ == tSysTime && len(b) == 16:
			le := binary.LittleEndian
			f := func(i int) int { return int(le.Uint16(b[2*i:])) }
			return time.Date(f(0), time.Month(f(1)), f(3), f(4), f(5), f(6), f(7)*1e6, time.UTC), true
		}
	}
	s := strings.TrimSpace(r.text(items))
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// eventData flattens EventData: <Data Name="X"> → X, unnamed <Data> →
// "Data" (repeated, in order), <Binary> → "Binary", anything else by its
// dotted path; attributes as "path.@Attr".
func (r *renderer) eventData(ev *Event, ed *Node) {
	r.attrs(ev, "EventData", ed, "")
	for _, it := range ed.Kids {
		e := it.Elem
		if e == nil {
			if it.Kind == kText && strings.TrimSpace(it.Text) == "" {
				continue
			}
			if it.Kind == kPI {
				continue
			}
			// Text directly inside EventData (no element around it).
			ev.Data = append(ev.Data, Field{Name: "EventData", Value: r.text([]Item{it})})
			continue
		}
		if e.Name == "Data" {
			if items, ok := e.attr("Name"); ok {
				r.generic(ev, r.text(items), e, "Name")
				continue
			}
		}
		r.generic(ev, e.Name, e, "")
	}
}

// userData flattens UserData: the children of its (single) child element,
// named by their own names, deeper levels dotted; UserDataElement names
// that child.
func (r *renderer) userData(ev *Event, ud *Node) {
	r.attrs(ev, "UserData", ud, "")
	first := true
	for _, it := range ud.Kids {
		e := it.Elem
		if e == nil {
			if it.Kind == kText && strings.TrimSpace(it.Text) != "" {
				ev.Data = append(ev.Data, Field{Name: "UserData", Value: it.Text})
			}
			continue
		}
		if !first {
			// A second child element (not seen in practice): its fields
			// keep its name as a prefix so nothing is dropped.
			r.generic(ev, e.Name, e, "")
			continue
		}
		first = false
		ev.UserDataElement = e.Name
		r.attrs(ev, "", e, "")
		if !hasElems(e.Kids) {
			if s := r.text(e.Kids); s != "" {
				ev.Data = append(ev.Data, Field{Name: e.Name, Value: s})
			}
			continue
		}
		for _, k := range e.Kids {
			if k.Elem != nil {
				r.generic(ev, k.Elem.Name, k.Elem, "")
			}
		}
	}
}

// attrs adds an element's attributes (except skip and namespace
// declarations) as "path.@Name" ("@Name" at the top).
func (r *renderer) attrs(ev *Event, path string, e *Node, skip string) {
	for _, a := range e.Attrs {
		if a.Name == skip || a.Name == "xmlns" || strings.HasPrefix(a.Name, "xmlns:") {
			continue
		}
		name := "@" + a.Name
		if path != "" {
			name = path + "." + name
		}
		ev.Data = append(ev.Data, Field{Name: name, Value: r.text(a.Items)})
	}
}

// generic flattens one element under path: its attributes, its text (as
// path, also when empty and there are no child elements) and its child
// elements as path.Child.
func (r *renderer) generic(ev *Event, path string, e *Node, skip string) {
	r.attrs(ev, path, e, skip)
	if !hasElems(e.Kids) {
		ev.Data = append(ev.Data, Field{Name: path, Value: r.text(e.Kids)})
		return
	}
	var text []Item
	for _, it := range e.Kids {
		if it.Elem == nil {
			text = append(text, it)
		}
	}
	if s := r.text(text); strings.TrimSpace(s) != "" {
		ev.Data = append(ev.Data, Field{Name: path, Value: s})
	}
	for _, it := range e.Kids {
		if it.Elem != nil {
			r.generic(ev, path+"."+it.Elem.Name, it.Elem, "")
		}
	}
}
