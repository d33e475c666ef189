package jsonin

import (
	"strconv"
	"strings"
	"time"

	"casescope/evtx"
	"casescope/input/tally"
	"casescope/input/xmlin"
)

// Shape names what a JSON record was read as.
type Shape int

// The record shapes, in the order toEvent tries them.
const (
	Generic      Shape = iota // any other JSON: flattened
	EvtxDump                  // {"Event":{"System":…,"EventData":…}} (evtx_dump, Hayabusa, Chainsaw)
	ECS                       // Winlogbeat / Elastic ECS: winlog.*, event.code, host.name
	Flat                      // NXLog, Mordor, Sentinel: EventID and Channel at the top
	Velociraptor              // Velociraptor parse_evtx rows: System.EventID.Value
)

// shapeOf tells a record's shape from its members.
func shapeOf(v *value) Shape {
	if !v.isObject() {
		return Generic
	}
	if e, ok := v.get("Event"); ok && e.isObject() {
		if s, ok := e.get("System"); ok && s.isObject() {
			return EvtxDump
		}
	}
	if w, ok := v.get("winlog"); ok && w.isObject() {
		return ECS
	}
	if s, ok := v.get("System"); ok && s.isObject() {
		if _, ok := s.path("EventID", "Value"); ok {
			return Velociraptor
		}
	}
	if _, ok := v.get("EventID"); ok {
		for _, n := range []string{"Channel", "EventLog", "SourceName", "Provider", "ProviderName", "EventSourceName", "Computer", "Hostname"} {
			if _, ok := v.get(n); ok {
				return Flat
			}
		}
	}
	return Generic
}

// toEvent maps one JSON record to an Event.
func toEvent(v *value) (*evtx.Event, Shape, bool) {
	ev := &evtx.Event{}
	sh := shapeOf(v)
	var timeOK bool
	switch sh {
	case EvtxDump:
		e, _ := v.get("Event")
		timeOK = evtxDump(ev, e)
	case ECS:
		timeOK = ecs(ev, v)
	case Flat:
		timeOK = flat(ev, v)
	case Velociraptor:
		timeOK = velociraptor(ev, v)
	default:
		timeOK = generic(ev, v)
	}
	return ev, sh, timeOK
}

// evtxDump maps evtx_dump's rendering of the EVTX XML: elements as
// members, attributes under "#attributes", element text beside
// attributes as "#text".
func evtxDump(ev *evtx.Event, e *value) bool {
	sys, _ := e.get("System")
	timeOK := false
	for i := range sys.members {
		m := &sys.members[i]
		v := &m.val
		switch m.name {
		case "Provider":
			ev.Provider = attr(v, "Name")
			ev.ProviderGUID = tally.GUID(attr(v, "Guid"))
			ev.EventSourceName = attr(v, "EventSourceName")
			if ev.Provider == "" {
				ev.Provider = ev.EventSourceName
			}
			extraAttrs(ev, m.name, v, "Name", "Guid", "EventSourceName")
		case "EventID":
			ev.EventID = uint32(num(text(v)))
			ev.Qualifiers = attr(v, "Qualifiers")
		case "Version":
			ev.Version = uint8(num(text(v)))
		case "Level":
			ev.Level = uint8(num(text(v)))
		case "Task":
			ev.Task = uint16(num(text(v)))
		case "Opcode":
			ev.Opcode = uint8(num(text(v)))
		case "Keywords":
			ev.Keywords = text(v)
		case "TimeCreated":
			ev.TimeCreated, timeOK = tally.ParseTime(attr(v, "SystemTime"))
			extraAttrs(ev, m.name, v, "SystemTime")
		case "EventRecordID":
			ev.RecordID = num(text(v))
		case "Correlation":
			ev.ActivityID = tally.GUID(attr(v, "ActivityID"))
			ev.RelatedActivityID = tally.GUID(attr(v, "RelatedActivityID"))
			extraAttrs(ev, m.name, v, "ActivityID", "RelatedActivityID")
		case "Execution":
			ev.ProcessID = uint32(num(attr(v, "ProcessID")))
			ev.ThreadID = uint32(num(attr(v, "ThreadID")))
			extraAttrs(ev, m.name, v, "ProcessID", "ThreadID")
		case "Channel":
			ev.Channel = tally.Channel(text(v))
		case "Computer":
			ev.Computer = text(v)
		case "Security":
			ev.UserID = attr(v, "UserID")
			extraAttrs(ev, m.name, v, "UserID")
		case "#attributes":
		default:
			if s, ok := v.scalar(); ok {
				ev.SystemExtra = append(ev.SystemExtra, evtx.Field{Name: m.name, Value: s})
			} else {
				if t, ok := v.get("#text"); ok {
					s, _ := t.scalar()
					ev.SystemExtra = append(ev.SystemExtra, evtx.Field{Name: m.name, Value: s})
				}
				extraAttrs(ev, m.name, v)
			}
		}
	}
	for i := range e.members {
		m := &e.members[i]
		switch m.name {
		case "System", "#attributes":
		case "EventData":
			eventData(ev, &m.val)
		case "UserData":
			userData(ev, &m.val)
		default:
			xmlish(ev, m.name, &m.val)
		}
	}
	return timeOK
}

// eventData flattens evtx_dump's EventData as the EVTX reader does its
// XML: named Data by name, unnamed Data as repeated "Data", Binary, other
// elements by dotted path.
func eventData(ev *evtx.Event, v *value) {
	if !v.isObject() {
		if s, ok := v.scalar(); ok && s != "" {
			ev.Data = append(ev.Data, evtx.Field{Name: "EventData", Value: s})
		}
		return
	}
	if a, ok := v.get("#attributes"); ok {
		for _, am := range a.members {
			if isNS(am.name) {
				continue
			}
			s, _ := am.val.scalar()
			ev.Data = append(ev.Data, evtx.Field{Name: "EventData.@" + am.name, Value: s})
		}
	}
	for i := range v.members {
		m := &v.members[i]
		switch m.name {
		case "#attributes":
		case "#text":
			xmlish(ev, "EventData", &m.val)
		default:
			xmlish(ev, m.name, &m.val)
		}
	}
}

// userData flattens UserData's single child's children by name.
func userData(ev *evtx.Event, v *value) {
	if !v.isObject() {
		return
	}
	first := true
	for i := range v.members {
		m := &v.members[i]
		if m.name == "#attributes" {
			continue
		}
		if !first || !m.val.isObject() {
			xmlish(ev, m.name, &m.val)
			continue
		}
		first = false
		ev.UserDataElement = m.name
		for j := range m.val.members {
			k := &m.val.members[j]
			switch k.name {
			case "#attributes":
				for _, am := range k.val.members {
					if !isNS(am.name) {
						s, _ := am.val.scalar()
						ev.Data = append(ev.Data, evtx.Field{Name: "@" + am.name, Value: s})
					}
				}
			case "#text":
				xmlish(ev, m.name, &k.val)
			default:
				xmlish(ev, k.name, &k.val)
			}
		}
	}
}

// xmlish flattens an element rendered by evtx_dump under path: an array
// is the element repeated, an object holds "#attributes" (path.@Attr),
// "#text" and child elements (path.Child).
func xmlish(ev *evtx.Event, path string, v *value) {
	switch v.kind {
	case '[':
		for i := range v.items {
			xmlish(ev, path, &v.items[i])
		}
	case '{':
		if a, ok := v.get("#attributes"); ok {
			for _, am := range a.members {
				if !isNS(am.name) {
					s, _ := am.val.scalar()
					ev.Data = append(ev.Data, evtx.Field{Name: path + ".@" + am.name, Value: s})
				}
			}
		}
		kids := false
		for i := range v.members {
			m := &v.members[i]
			switch m.name {
			case "#attributes":
			case "#text":
				kids = true
				xmlish(ev, path, &m.val)
			default:
				kids = true
				xmlish(ev, path+"."+m.name, &m.val)
			}
		}
		if !kids {
			ev.Data = append(ev.Data, evtx.Field{Name: path, Value: ""})
		}
	default:
		s, _ := v.scalar()
		ev.Data = append(ev.Data, evtx.Field{Name: path, Value: bareGUID(s)})
	}
}

// bareGUID braces a GUID evtx_dump wrote without braces: it renders GUID
// values upper case and unbraced, where Windows (and the EVTX reader)
// write "{…}". Text in any other form is kept.
func bareGUID(s string) string {
	if len(s) != 36 || strings.ToUpper(s) != s {
		return s
	}
	return tally.GUID(s)
}

func isNS(name string) bool { return name == "xmlns" || strings.HasPrefix(name, "xmlns:") }

// attr returns attribute name of an evtx_dump element ("" when absent).
func attr(v *value, name string) string {
	a, ok := v.path("#attributes", name)
	if !ok {
		return ""
	}
	s, _ := a.scalar()
	return s
}

// extraAttrs keeps an element's attributes without a typed field in
// SystemExtra as "Element.@Attr", as the EVTX reader does.
func extraAttrs(ev *evtx.Event, elem string, v *value, typed ...string) {
	a, ok := v.get("#attributes")
	if !ok {
		return
	}
next:
	for _, am := range a.members {
		for _, t := range typed {
			if am.name == t {
				continue next
			}
		}
		if isNS(am.name) {
			continue
		}
		s, _ := am.val.scalar()
		ev.SystemExtra = append(ev.SystemExtra, evtx.Field{Name: elem + ".@" + am.name, Value: s})
	}
}

// text returns an element's text: the scalar itself or its "#text".
func text(v *value) string {
	if v == nil {
		return ""
	}
	if s, ok := v.scalar(); ok {
		return s
	}
	if t, ok := v.get("#text"); ok {
		s, _ := t.scalar()
		return s
	}
	return ""
}

// num reads an unsigned decimal (or 0x hex) number written as a JSON
// number or string; 0 when it is not one.
func num(s string) uint64 {
	s = strings.TrimSpace(s)
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		n, _ := strconv.ParseUint(h, 16, 64)
		return n
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < 1<<64 {
		return uint64(f)
	}
	return 0
}

// keywords renders Keywords as the EVTX reader does (hex, 0x-prefixed):
// NXLog writes it as a signed 64-bit decimal.
func keywords(s string) string {
	if s == "" || strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		return strings.ToLower(s)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return "0x" + strconv.FormatUint(uint64(n), 16)
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return "0x" + strconv.FormatUint(n, 16)
	}
	return s
}

// ecs maps a Winlogbeat record: winlog.event_data (and user_data) as the
// event's data under their own names, the System fields from winlog.*,
// and every other member flattened to dotted names after them. Time:
// @timestamp (Winlogbeat writes the event's creation time there).
func ecs(ev *evtx.Event, v *value) bool {
	w, _ := v.get("winlog")
	s := func(names ...string) string {
		x, ok := w.path(names...)
		if !ok {
			return ""
		}
		t, _ := x.scalar()
		return t
	}
	ev.EventID = uint32(num(s("event_id")))
	if ev.EventID == 0 {
		if c, ok := v.path("event", "code"); ok {
			t, _ := c.scalar()
			ev.EventID = uint32(num(t))
		}
	}
	ev.Channel = tally.Channel(s("channel"))
	ev.Provider = s("provider_name")
	ev.ProviderGUID = tally.GUID(s("provider_guid"))
	ev.Computer = s("computer_name")
	if ev.Computer == "" {
		if h, ok := v.path("host", "name"); ok {
			ev.Computer, _ = h.scalar()
		}
	}
	ev.RecordID = num(s("record_id"))
	ev.ProcessID = uint32(num(s("process", "pid")))
	ev.ThreadID = uint32(num(s("process", "thread", "id")))
	ev.UserID = s("user", "identifier")
	ev.ActivityID = tally.GUID(s("activity_id"))
	ev.RelatedActivityID = tally.GUID(s("related_activity_id"))
	ev.Version = uint8(num(s("version")))
	if x, ok := w.get("event_data"); ok {
		flatten(ev, "", x)
	}
	if x, ok := w.get("user_data"); ok {
		flatten(ev, "", x)
	}
	var t time.Time
	ok := false
	if ts, has := v.get("@timestamp"); has {
		st, _ := ts.scalar()
		t, ok = tally.ParseTime(st)
	}
	ev.TimeCreated = t
	mapped := map[string]bool{"event_id": true, "channel": true, "provider_name": true, "provider_guid": true,
		"computer_name": true, "record_id": true, "event_data": true, "user_data": true, "activity_id": true,
		"related_activity_id": true, "version": true}
	for i := range v.members {
		m := &v.members[i]
		if m.name == "winlog" {
			for j := range w.members {
				if k := &w.members[j]; !mapped[k.name] {
					flatten(ev, "winlog."+k.name, &k.val)
				}
			}
			continue
		}
		flatten(ev, m.name, &m.val)
	}
	return ok
}

// flatSystem are the members of a flat record that are System fields
// (mapped to Event's typed fields, not repeated as data).
var flatSystem = map[string]bool{
	"EventID": true, "Channel": true, "EventLog": true, "Provider": true, "ProviderName": true, "SourceName": true,
	"EventSourceName": true, "ProviderGuid": true, "Computer": true, "Hostname": true, "EventRecordID": true,
	"RecordNumber": true, "RecordID": true, "Keywords": true, "Level": true, "Task": true, "Opcode": true, "Version": true,
	"ExecutionProcessID": true, "ExecutionThreadID": true, "ThreadID": true, "UserID": true, "ActivityID": true,
	"RelatedActivityID": true, "TimeCreated": true, "EventData": true,
}

// flatTimes are the time members of a flat record, in the order used:
// TimeCreated (the event's, UTC), @timestamp (Logstash's, UTC; NXLog
// exports have no other zoned time), TimeGenerated (Sentinel),
// EventTime (NXLog, local time without a zone, read as UTC), then
// Timestamp (Hayabusa's JSONL timelines).
var flatTimes = []string{"TimeCreated", "@timestamp", "TimeGenerated", "EventTime", "Timestamp", "timestamp"}

// flat maps NXLog / Mordor / Sentinel records: System fields at the top
// under their Windows (or NXLog) names, everything else as data; an
// EventData member holding XML or JSON as a string is expanded into
// fields, which win over top-level copies of the same names.
func flat(ev *evtx.Event, v *value) bool {
	s := func(name string) string {
		x, ok := v.get(name)
		if !ok {
			return ""
		}
		t, _ := x.scalar()
		return t
	}
	first := func(names ...string) string {
		for _, n := range names {
			if t := s(n); t != "" {
				return t
			}
		}
		return ""
	}
	ev.EventID = uint32(num(s("EventID")))
	ev.Channel = tally.Channel(first("Channel", "EventLog"))
	ev.Provider = first("Provider", "ProviderName", "SourceName", "EventSourceName")
	ev.EventSourceName = s("EventSourceName")
	ev.ProviderGUID = tally.GUID(s("ProviderGuid"))
	ev.Computer = first("Computer", "Hostname")
	ev.RecordID = num(first("EventRecordID", "RecordNumber", "RecordID"))
	ev.Keywords = keywords(s("Keywords"))
	ev.Level = uint8(num(s("Level")))
	ev.Task = uint16(num(s("Task")))
	ev.Opcode = uint8(num(s("Opcode")))
	ev.Version = uint8(num(s("Version")))
	ev.ProcessID = uint32(num(s("ExecutionProcessID")))
	ev.ThreadID = uint32(num(first("ExecutionThreadID", "ThreadID")))
	ev.UserID = s("UserID")
	ev.ActivityID = tally.GUID(s("ActivityID"))
	ev.RelatedActivityID = tally.GUID(s("RelatedActivityID"))
	ok := false
	used := ""
	for _, n := range flatTimes {
		if t := s(n); t != "" {
			if tt, good := tally.ParseTime(t); good {
				ev.TimeCreated, ok, used = tt, true, n
				break
			}
		}
	}
	// Text that is not a number (NXLog's Opcode "Info") stays as data.
	keepText := func(name string) bool {
		t := s(name)
		return t != "" && num(t) == 0 && t != "0"
	}
	var inner []evtx.Field
	if x, has := v.get("EventData"); has {
		if t, isStr := x.scalar(); isStr && x.kind == '"' {
			inner = embedded(t)
			if inner == nil && strings.TrimSpace(t) != "" {
				inner = []evtx.Field{{Name: "EventData", Value: t}}
			}
		} else {
			tmp := &evtx.Event{}
			flatten(tmp, "", x)
			inner = tmp.Data
		}
	}
	have := map[string]bool{}
	for _, f := range inner {
		have[f.Name] = true
	}
	ev.Data = append(ev.Data, inner...)
	for i := range v.members {
		m := &v.members[i]
		if have[m.name] || m.name == used {
			continue
		}
		if flatSystem[m.name] && !((m.name == "Opcode" || m.name == "Level" || m.name == "Task") && keepText(m.name)) {
			// A System member is data too when it is no number or the
			// typed field took another member's value.
			continue
		}
		flatten(ev, m.name, &m.val)
	}
	return ok
}

// embedded expands an EventData string: Event XML (<EventData>,
// <UserData>, or a whole <Event>) or a JSON object. nil when it is
// neither.
func embedded(s string) []evtx.Field {
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "<"):
		f, err := xmlin.Fragment(t)
		if err != nil {
			return nil
		}
		return f
	case strings.HasPrefix(t, "{"):
		v, err := parseOne([]byte(t))
		if err != nil || !v.isObject() {
			return nil
		}
		tmp := &evtx.Event{}
		flatten(tmp, "", &v)
		return tmp.Data
	}
	return nil
}

// velociraptor maps a Velociraptor parse_evtx row: System with
// EventID.Value, TimeCreated.SystemTime (Unix seconds), EventData.
func velociraptor(ev *evtx.Event, v *value) bool {
	sys, _ := v.get("System")
	s := func(names ...string) string {
		x, ok := sys.path(names...)
		if !ok {
			return ""
		}
		t, _ := x.scalar()
		return t
	}
	ev.EventID = uint32(num(s("EventID", "Value")))
	ev.Qualifiers = s("EventID", "Qualifiers")
	ev.Channel = tally.Channel(s("Channel"))
	ev.Computer = s("Computer")
	ev.Provider = s("Provider", "Name")
	ev.ProviderGUID = tally.GUID(s("Provider", "Guid"))
	ev.RecordID = num(s("EventRecordID"))
	ev.Level = uint8(num(s("Level")))
	ev.Task = uint16(num(s("Task")))
	ev.Opcode = uint8(num(s("Opcode")))
	ev.Version = uint8(num(s("Version")))
	ev.Keywords = keywords(s("Keywords"))
	ev.ProcessID = uint32(num(s("Execution", "ProcessID")))
	ev.ThreadID = uint32(num(s("Execution", "ThreadID")))
	ev.UserID = s("Security", "UserID")
	t, ok := tally.ParseTime(s("TimeCreated", "SystemTime"))
	ev.TimeCreated = t
	for i := range v.members {
		m := &v.members[i]
		switch m.name {
		case "System":
		case "EventData", "UserData":
			flatten(ev, "", &m.val)
		default:
			flatten(ev, m.name, &m.val)
		}
	}
	return ok
}
