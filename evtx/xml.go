package evtx

import (
	"strconv"
	"strings"
)

// renderXML renders a record's element tree as Event Viewer-style XML,
// laid out like libevtx's `evtxexport -f xml` (two-space indent, empty
// elements as <X/>), so the two can be diffed.
func (r *renderer) renderXML(items []Item) string {
	var b strings.Builder
	for _, it := range items {
		if it.Elem != nil {
			r.xmlElem(&b, it.Elem, 0)
		}
	}
	return b.String()
}

func (r *renderer) xmlElem(b *strings.Builder, e *Node, depth int) {
	indent := strings.Repeat("  ", depth)
	b.WriteString(indent)
	b.WriteByte('<')
	b.WriteString(e.Name)
	for _, a := range e.Attrs {
		b.WriteByte(' ')
		b.WriteString(a.Name)
		b.WriteString(`="`)
		r.xmlItems(b, a.Items, true)
		b.WriteByte('"')
	}
	if len(e.Kids) == 0 {
		b.WriteString("/>\n")
		return
	}
	if !hasElems(e.Kids) {
		var t strings.Builder
		r.xmlItems(&t, e.Kids, false)
		if strings.Trim(t.String(), "\r\n") == "" {
			// libevtx shows content made only of line breaks ("\n") as
			// an empty element; the field keeps the value as written.
			b.WriteString("/>\n")
			return
		}
		b.WriteByte('>')
		b.WriteString(t.String())
		b.WriteString("</")
		b.WriteString(e.Name)
		b.WriteString(">\n")
		return
	}
	b.WriteString(">\n")
	for _, it := range e.Kids {
		if it.Elem != nil {
			r.xmlElem(b, it.Elem, depth+1)
			continue
		}
		var t strings.Builder
		r.xmlItems(&t, []Item{it}, false)
		if strings.TrimSpace(t.String()) != "" {
			b.WriteString(indent + "  ")
			b.WriteString(t.String())
			b.WriteByte('\n')
		}
	}
	b.WriteString(indent)
	b.WriteString("</")
	b.WriteString(e.Name)
	b.WriteString(">\n")
}

// xmlItems writes character content, escaped; references are written as
// references and CDATA as a CDATA section.
func (r *renderer) xmlItems(b *strings.Builder, items []Item, attr bool) {
	for _, it := range items {
		switch it.Kind {
		case kText:
			xmlEscape(b, it.Text, attr)
		case kSubst:
			xmlEscape(b, r.render(it.Val), attr)
		case kCData:
			b.WriteString("<![CDATA[")
			b.WriteString(strings.ReplaceAll(it.Text, "]]>", "]]]]><![CDATA[>"))
			b.WriteString("]]>")
		case kCharRef:
			b.WriteString("&#")
			b.WriteString(strconv.Itoa(int(it.Char)))
			b.WriteByte(';')
		case kEntity:
			b.WriteByte('&')
			b.WriteString(it.Name)
			b.WriteByte(';')
		case kPI:
			b.WriteString("<?")
			b.WriteString(it.Name)
			if it.Text != "" {
				b.WriteByte(' ')
				b.WriteString(it.Text)
			}
			b.WriteString("?>")
		}
	}
}

func xmlEscape(b *strings.Builder, s string, attr bool) {
	for _, c := range s {
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			if attr {
				b.WriteString("&quot;")
			} else {
				b.WriteRune(c)
			}
		default:
			b.WriteRune(c)
		}
	}
}
