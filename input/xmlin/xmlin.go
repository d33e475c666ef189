package xmlin

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"casescope/evtx"
	"casescope/input/tally"
)

// node is one XML element: attributes and children in document order.
type node struct {
	name  string
	attrs []xml.Attr
	kids  []*node
	text  strings.Builder // character data directly inside (all of it)
}

func (n *node) child(name string) *node {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func (n *node) attr(name string) (string, bool) {
	if n == nil {
		return "", false
	}
	for _, a := range n.attrs {
		if a.Name.Local == name && a.Name.Space != "xmlns" {
			return a.Value, true
		}
	}
	return "", false
}

func (n *node) attrText(name string) string { s, _ := n.attr(name); return s }

// maxDepth bounds element nesting inside one event.
const maxDepth = 64

// newDecoder returns a lenient decoder: any declared charset is taken as
// already decoded (the input package turns UTF-16 into UTF-8 before).
func newDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(r)
	d.Strict = false
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	return d
}

// readElem reads the element whose start tag was just read, to its end.
func readElem(d *xml.Decoder, se xml.StartElement, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, errors.New("XML nested too deeply")
	}
	n := &node{name: se.Name.Local, attrs: se.Attr}
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("element %s not closed", n.name)
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			k, err := readElem(d, t, depth+1)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		case xml.CharData:
			n.text.Write(t)
		case xml.EndElement:
			return n, nil
		}
	}
}

// Stream reads every <Event> element of r (at any depth: under an
// <Events> root or none) as an Event located by the offset of its '<'.
// Malformed XML ends the stream: the rest is one skipped record.
func Stream(ctx context.Context, r io.Reader, t *tally.Tally, fn func(*evtx.Event) error) error {
	d := newDecoder(bufio.NewReaderSize(r, 64<<10))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		at := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			t.Bad(0, at, "invalid XML, rest of file unreadable: %s", err.Error())
			return nil
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Event" {
			continue
		}
		n, err := readElem(d, se, 0)
		if err != nil {
			t.Bad(0, at, "invalid XML, rest of file unreadable: %s", err.Error())
			return nil
		}
		ev, timeOK := toEvent(n)
		if !timeOK {
			t.NoTime++
		}
		tally.Place(ev, at)
		t.Good()
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// ReadOne reads the <Event> element starting at r's position.
// The event's own text, as written, is its XML rendering (Event.XML),
// when it is at most maxXML bytes.
func ReadOne(r io.Reader) (*evtx.Event, error) {
	raw := &capped{max: maxXML}
	d := newDecoder(bufio.NewReader(io.TeeReader(r, raw)))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("read event: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			n, err := readElem(d, se, 0)
			if err != nil {
				return nil, fmt.Errorf("read event: %w", err)
			}
			ev, _ := toEvent(n)
			if end := d.InputOffset(); !raw.over && end <= int64(len(raw.b)) {
				ev.XML = string(raw.b[:end])
			}
			return ev, nil
		}
	}
}

// maxXML bounds the raw text kept as an event's XML rendering.
const maxXML = 1 << 20

// capped keeps the first max bytes written to it.
type capped struct {
	b    []byte
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	n := len(p)
	if room := c.max - len(c.b); room < n {
		c.over = true
		p = p[:max(room, 0)]
	}
	c.b = append(c.b, p...)
	return n, nil // what is not kept is dropped, never refused
}

// Fragment flattens an XML fragment holding event data: an <EventData>
// or <UserData> element (SIEM exports carry them as strings) or a whole
// <Event>, whose data is returned.
func Fragment(s string) ([]evtx.Field, error) {
	d := newDecoder(strings.NewReader(s))
	ev := &evtx.Event{}
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ev.Data, nil
			}
			return nil, fmt.Errorf("parse event data XML: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		n, err := readElem(d, se, 0)
		if err != nil {
			return nil, fmt.Errorf("parse event data XML: %w", err)
		}
		switch n.name {
		case "EventData":
			eventData(ev, n)
		case "UserData":
			userData(ev, n)
		case "Event":
			e, _ := toEvent(n)
			ev.Data = append(ev.Data, e.Data...)
		default:
			generic(ev, n.name, n, "")
		}
	}
}

// toEvent maps an <Event> element.
func toEvent(n *node) (*evtx.Event, bool) {
	ev := &evtx.Event{}
	timeOK := false
	for _, k := range n.kids {
		switch k.name {
		case "System":
			timeOK = system(ev, k)
		case "EventData":
			eventData(ev, k)
		case "UserData":
			userData(ev, k)
		default:
			generic(ev, k.name, k, "")
		}
	}
	return ev, timeOK
}

func num(s string) uint64 {
	s = strings.TrimSpace(s)
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		n, _ := strconv.ParseUint(h, 16, 64)
		return n
	}
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// systemTyped lists, per System element, the attributes Event has a typed
// field for; "" stands for the element's text (as in evtx).
var systemTyped = map[string][]string{
	"Provider": {"Name", "Guid", "EventSourceName"}, "EventID": {"", "Qualifiers"},
	"Version": {""}, "Level": {""}, "Task": {""}, "Opcode": {""}, "Keywords": {""},
	"TimeCreated": {"SystemTime"}, "EventRecordID": {""},
	"Correlation": {"ActivityID", "RelatedActivityID"}, "Execution": {"ProcessID", "ThreadID"},
	"Channel": {""}, "Computer": {""}, "Security": {"UserID"},
}

func system(ev *evtx.Event, sys *node) bool {
	text := func(name string) (string, bool) {
		c := sys.child(name)
		if c == nil {
			return "", false
		}
		return c.text.String(), true
	}
	if p := sys.child("Provider"); p != nil {
		ev.Provider = p.attrText("Name")
		ev.ProviderGUID = tally.GUID(p.attrText("Guid"))
		ev.EventSourceName = p.attrText("EventSourceName")
		if ev.Provider == "" {
			ev.Provider = ev.EventSourceName
		}
	}
	if e := sys.child("EventID"); e != nil {
		ev.EventID = uint32(num(e.text.String()))
		ev.Qualifiers = e.attrText("Qualifiers")
	}
	if s, ok := text("Version"); ok {
		ev.Version = uint8(num(s))
	}
	if s, ok := text("Level"); ok {
		ev.Level = uint8(num(s))
	}
	if s, ok := text("Task"); ok {
		ev.Task = uint16(num(s))
	}
	if s, ok := text("Opcode"); ok {
		ev.Opcode = uint8(num(s))
	}
	ev.Keywords, _ = text("Keywords")
	timeOK := false
	if tc := sys.child("TimeCreated"); tc != nil {
		ev.TimeCreated, timeOK = tally.ParseTime(tc.attrText("SystemTime"))
	}
	if s, ok := text("EventRecordID"); ok {
		ev.RecordID = num(s)
	}
	if c := sys.child("Correlation"); c != nil {
		ev.ActivityID = tally.GUID(c.attrText("ActivityID"))
		ev.RelatedActivityID = tally.GUID(c.attrText("RelatedActivityID"))
	}
	if x := sys.child("Execution"); x != nil {
		ev.ProcessID = uint32(num(x.attrText("ProcessID")))
		ev.ThreadID = uint32(num(x.attrText("ThreadID")))
	}
	ch, _ := text("Channel")
	ev.Channel = tally.Channel(ch)
	ev.Computer, _ = text("Computer")
	ev.UserID = sys.child("Security").attrText("UserID")
	typed := func(elem, attr string) bool {
		for _, a := range systemTyped[elem] {
			if a == attr {
				return true
			}
		}
		return false
	}
	for _, c := range sys.kids {
		if !typed(c.name, "") && len(c.kids) == 0 {
			if v := c.text.String(); v != "" || len(c.attrs) == 0 {
				ev.SystemExtra = append(ev.SystemExtra, evtx.Field{Name: c.name, Value: v})
			}
		}
		for _, a := range c.attrs {
			if typed(c.name, a.Name.Local) || isNS(a) {
				continue
			}
			ev.SystemExtra = append(ev.SystemExtra, evtx.Field{Name: c.name + ".@" + a.Name.Local, Value: a.Value})
		}
	}
	return timeOK
}

func isNS(a xml.Attr) bool { return a.Name.Space == "xmlns" || a.Name.Local == "xmlns" }

func eventData(ev *evtx.Event, ed *node) {
	attrs(ev, "EventData", ed, "")
	if s := strings.TrimSpace(ed.text.String()); s != "" && len(ed.kids) == 0 {
		ev.Data = append(ev.Data, evtx.Field{Name: "EventData", Value: ed.text.String()})
	}
	for _, e := range ed.kids {
		if e.name == "Data" {
			if name, ok := e.attr("Name"); ok {
				generic(ev, name, e, "Name")
				continue
			}
		}
		generic(ev, e.name, e, "")
	}
}

func userData(ev *evtx.Event, ud *node) {
	attrs(ev, "UserData", ud, "")
	for i, e := range ud.kids {
		if i > 0 {
			generic(ev, e.name, e, "")
			continue
		}
		ev.UserDataElement = e.name
		attrs(ev, "", e, "")
		if len(e.kids) == 0 {
			if s := e.text.String(); s != "" {
				ev.Data = append(ev.Data, evtx.Field{Name: e.name, Value: s})
			}
			continue
		}
		for _, k := range e.kids {
			generic(ev, k.name, k, "")
		}
	}
}

func attrs(ev *evtx.Event, path string, e *node, skip string) {
	for _, a := range e.attrs {
		if a.Name.Local == skip || isNS(a) {
			continue
		}
		name := "@" + a.Name.Local
		if path != "" {
			name = path + "." + name
		}
		ev.Data = append(ev.Data, evtx.Field{Name: name, Value: a.Value})
	}
}

func generic(ev *evtx.Event, path string, e *node, skip string) {
	attrs(ev, path, e, skip)
	if len(e.kids) == 0 {
		ev.Data = append(ev.Data, evtx.Field{Name: path, Value: e.text.String()})
		return
	}
	if s := e.text.String(); strings.TrimSpace(s) != "" {
		ev.Data = append(ev.Data, evtx.Field{Name: path, Value: s})
	}
	for _, k := range e.kids {
		generic(ev, path+"."+k.name, k, "")
	}
}
