// Package libevtx runs libevtx's evtxexport (Debian libevtx-utils) and
// parses its Event Viewer-style XML into generic element trees: the
// reference rendering casescope's EVTX reader is tested against. It is a
// test helper; nothing in the product imports it.
//
// evtxexport's XML is not always well formed: it escapes <, > and & in
// most values but writes some string values verbatim (e.g. SOAP envelopes
// in LiveId events), so Parse takes each record's <Data> contents as raw
// text when they hold markup, and keeps carriage returns (which an XML
// parser would fold into line feeds) so values compare exactly.
package libevtx

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Element is one XML element: its local name, attributes in document
// order, child elements and the character data directly inside it.
type Element struct {
	Name     string
	Attrs    []Attr
	Children []*Element
	// Text is the element's own character data, concatenated and kept
	// verbatim (for container elements it is the indentation whitespace).
	Text string
}

// Attr is one attribute, by local name.
type Attr struct {
	Name  string
	Value string
}

// Child returns the first child element named name, or nil.
func (e *Element) Child(name string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Attr returns the value of the attribute named name and whether it exists.
func (e *Element) Attr(name string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// Record is one <Event> document of evtxexport's output.
type Record struct {
	Raw  string   // the document as evtxexport wrote it
	Root *Element // the <Event> element; nil when Err is set
	Err  error    // the document could not be parsed
}

// Export is what evtxexport rendered of one file.
type Export struct {
	Records []Record
	// Complete is false when evtxexport stopped early: it aborts the whole
	// export at the first record it cannot render (exit status 1), so
	// Records then holds only the records before that one.
	Complete bool
	Stderr   string
}

// Run exports the allocated records of the EVTX file at path with
// "evtxexport -f xml" (bin is the evtxexport executable). Recovered
// records (evtxexport -m recovered) are not included: casescope's reader
// delivers the allocated records, as "-m items" does.
func Run(ctx context.Context, bin, path string) (Export, error) {
	cmd := exec.CommandContext(ctx, bin, "-f", "xml", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return Export{}, fmt.Errorf("run evtxexport %s: %w", path, err)
	}
	return Export{Records: Parse(stdout.Bytes()), Complete: err == nil, Stderr: stderr.String()}, nil
}

// Parse splits evtxexport's XML output (its version banner, then one
// <Event> document per record, each starting at column 0 with everything
// inside indented) into records and parses each.
func Parse(out []byte) []Record {
	s := string(out)
	const start = "\n<Event"
	var recs []Record
	i := strings.Index(s, start)
	for i >= 0 {
		next := strings.Index(s[i+len(start):], start)
		end := len(s)
		if next >= 0 {
			next += i + len(start)
			end = next
		}
		raw := strings.TrimRight(s[i+1:end], "\n")
		root, err := ParseDocument(raw)
		recs = append(recs, Record{Raw: raw, Root: root, Err: err})
		i = next
	}
	return recs
}

// ParseDocument parses one <Event> document, as evtxexport writes it (see
// the package comment on raw values), into an element tree.
func ParseDocument(doc string) (*Element, error) {
	doc = escapeRawData(doc)
	// Keep carriage returns: XML end-of-line handling would turn "\r\n"
	// into "\n" and a lone "\r" into "\n" inside values.
	if strings.IndexByte(doc, '\r') >= 0 {
		doc = strings.ReplaceAll(doc, "\r", "&#13;")
	}
	// XML 1.0 forbids other control characters even as references, but
	// values hold them: carry them through the parser in the private use
	// area and put them back.
	if hasCtrl(doc) {
		doc = strings.Map(func(r rune) rune {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
				return ctrlBase + r
			}
			return r
		}, doc)
	}
	dec := xml.NewDecoder(strings.NewReader(doc))
	dec.Strict = false
	var stack []*Element
	var root *Element
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse evtxexport XML: %w", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			el := &Element{Name: tok.Name.Local}
			for _, a := range tok.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				el.Attrs = append(el.Attrs, Attr{Name: a.Name.Local, Value: unmapCtrl(a.Value)})
			}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.Children = append(parent.Children, el)
			} else if root == nil {
				root = el
			}
			stack = append(stack, el)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("parse evtxexport XML: unbalanced </%s>", tok.Name.Local)
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += unmapCtrl(string(tok))
			}
		}
	}
	if root == nil || root.Name != "Event" {
		return nil, fmt.Errorf("parse evtxexport XML: no <Event> element")
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("parse evtxexport XML: %d unclosed elements", len(stack))
	}
	return root, nil
}

// escapeRawData escapes the contents of every <Data> element (not
// self-closed; its only attribute is Name; they never nest) that holds
// markup: evtxexport wrote that value verbatim, its & included.
func escapeRawData(doc string) string {
	var b strings.Builder
	rest := doc
	for {
		i := strings.Index(rest, "<Data")
		if i < 0 {
			break
		}
		gt := strings.IndexByte(rest[i:], '>')
		if gt < 0 {
			break
		}
		open := i + gt + 1
		if rest[open-2] == '/' || (rest[i+5] != '>' && rest[i+5] != ' ') {
			b.WriteString(rest[:open])
			rest = rest[open:]
			continue
		}
		end := strings.Index(rest[open:], "</Data>")
		if end < 0 {
			break
		}
		end += open
		inner := rest[open:end]
		b.WriteString(rest[:open])
		if strings.IndexByte(inner, '<') >= 0 {
			_, _ = markupEscaper.WriteString(&b, inner)
		} else {
			b.WriteString(inner)
		}
		rest = rest[end:]
	}
	if b.Len() == 0 {
		return doc
	}
	b.WriteString(rest)
	return b.String()
}

var markupEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func hasCtrl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return true
		}
	}
	return false
}

// ctrlBase is where ParseDocument maps control characters U+0000–U+001F
// while parsing (U+F700–U+F71F, private use).
const ctrlBase = 0xF700

func unmapCtrl(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= ctrlBase && r < ctrlBase+0x20 {
			return r - ctrlBase
		}
		return r
	}, s)
}

// Field is one flattened EventData/UserData value.
type Field struct {
	Name  string
	Value string
}

// Data flattens the EventData or UserData of an <Event> element with
// casescope's documented convention (evtx/doc.go, "Flattening EventData
// and UserData"): <Data Name="X"> is X, every unnamed <Data> is a field
// named "Data" (in order, repeated), <Binary> is "Binary", any other
// element is its name, deeper elements are dotted paths ("Parent.Child"),
// attributes other than Data's Name are "path.@Attr" (those of EventData
// itself "EventData.@Attr"); for UserData the fields are the children of
// its single child, whose name is returned as element and whose own
// attributes are "@Attr". Other children of Event (RenderingInfo, …) are
// dotted paths under their own names. Namespace declarations are skipped
// (Parse drops them).
func Data(ev *Element) (fields []Field, element string) {
	for _, c := range ev.Children {
		switch c.Name {
		case "System":
		case "EventData":
			for _, a := range c.Attrs {
				fields = append(fields, Field{Name: "EventData.@" + a.Name, Value: a.Value})
			}
			for _, d := range c.Children {
				name := d.Name
				if d.Name == "Data" {
					if n, ok := d.Attr("Name"); ok && n != "" {
						name = n
					}
				}
				fields = flatten(fields, name, d, d.Name == "Data")
			}
		case "UserData":
			if len(c.Children) == 0 {
				continue
			}
			top := c.Children[0]
			element = top.Name
			for _, a := range top.Attrs {
				fields = append(fields, Field{Name: "@" + a.Name, Value: a.Value})
			}
			for _, d := range top.Children {
				fields = flatten(fields, d.Name, d, false)
			}
		default:
			fields = flatten(fields, c.Name, c, false)
		}
	}
	return fields, element
}

func flatten(fields []Field, name string, el *Element, dataElem bool) []Field {
	for _, a := range el.Attrs {
		if dataElem && a.Name == "Name" {
			continue
		}
		fields = append(fields, Field{Name: name + ".@" + a.Name, Value: a.Value})
	}
	if len(el.Children) == 0 {
		return append(fields, Field{Name: name, Value: el.Text})
	}
	for _, c := range el.Children {
		fields = flatten(fields, name+"."+c.Name, c, false)
	}
	return fields
}
