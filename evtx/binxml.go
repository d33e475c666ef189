// This file is derived from the Velocidex EVTX parser: evtx.go of
// www.velocidex.com/golang/evtx at upstream commit f4fa97e6f7fb
// (2025-06-30), Copyright 2018 Velocidex Innovations, Apache License 2.0
// (full text in LICENSE.velocidex beside this file).
//
// Changes from upstream: the token walk (fragment header, template
// instance, element start with and without a dependency identifier,
// attributes, value text, substitutions, inline and interned names) follows
// upstream, but
//   - every read is bounds-checked against the region being decoded and
//     every size, count and offset taken from the file is checked against
//     what the chunk can hold before anything is allocated or looped over;
//   - element nesting, template/BinXML nesting and the work done per chunk
//     and per record are capped (node and byte budgets), so a hostile
//     template cannot expand without bound;
//   - templates are cached by definition offset, not by their 32-bit ID;
//   - the output is a typed element tree (names, attributes, raw typed
//     values) instead of an ordered dict, so nothing is collapsed or lost;
//   - errors are returned instead of parsing on with zero values.
package evtx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
)

// Limits on what one chunk may make the decoder do. Over the shared corpus
// (about 32,000 records) a record needs at most ~1,500 units of work
// (tokens parsed plus nodes expanded) and a chunk ~15,000; the budgets are
// 40 and 17 times that, and bound a hostile chunk to tens of milliseconds.
const (
	maxElementDepth  = 64 // element nesting inside one BinXML stream
	maxNesting       = 8  // template instances / BinXML values inside each other
	chunkNodeBudget  = 256 << 10
	recordNodeBudget = 64 << 10
	recordByteBudget = 1 << 20 // value bytes referenced by one record's expansion
)

// errBudget marks a record or chunk that needs more work than the limits
// allow (an expansion blow-up): the chunk is abandoned.
var errBudget = errors.New("expansion exceeds the decoding budget")

// Token kinds of a parsed BinXML stream.
const (
	kElem = iota + 1
	kText
	kCData
	kCharRef
	kEntity
	kPI
	kSubst
	kInstance
)

// Value types (MS-EVEN6 2.2.17 / libevtx "value types").
const (
	tNull       = 0x00
	tString     = 0x01
	tAnsiString = 0x02
	tInt8       = 0x03
	tUInt8      = 0x04
	tInt16      = 0x05
	tUInt16     = 0x06
	tInt32      = 0x07
	tUInt32     = 0x08
	tInt64      = 0x09
	tUInt64     = 0x0a
	tReal32     = 0x0b
	tReal64     = 0x0c
	tBool       = 0x0d
	tBinary     = 0x0e
	tGUID       = 0x0f
	tSizeT      = 0x10
	tFileTime   = 0x11
	tSysTime    = 0x12
	tSID        = 0x13
	tHexInt32   = 0x14
	tHexInt64   = 0x15
	tBinXML     = 0x21
	tArray      = 0x80
)

// tnode is one parsed token of a template or BinXML stream; substitutions
// are still placeholders.
type tnode struct {
	kind     uint8
	name     string // element, attribute, entity or PI target name
	text     string // text, CDATA, PI data
	attrs    []tattr
	kids     []*tnode
	idx      uint16 // substitution index
	vtype    uint8  // substitution value type
	optional bool
	inst     *instance
}

type tattr struct {
	name string
	val  []*tnode
}

// instance is a template instance: a template and its substitution values.
type instance struct {
	tmpl   *template
	values []value
}

type template struct {
	nodes []*tnode
	err   error
}

// value is one substitution value: its declared type and where its bytes
// are in the chunk (kept as offsets so a BinXML value can be parsed in
// place and raw bytes shown when a value cannot be decoded).
type value struct {
	typ uint8
	off int
	n   int
}

// chunkDecoder decodes the records of one chunk. It owns the chunk's
// template and name caches and the chunk's work budget. Not safe for
// concurrent use.
type chunkDecoder struct {
	buf       []byte // the whole chunk; offsets in the file are chunk-relative
	names     map[uint32]string
	templates map[uint32]*template
	nodesLeft int // chunk budget
	recNodes  int // record budget
	recBytes  int
}

func newChunkDecoder(buf []byte) *chunkDecoder {
	return &chunkDecoder{
		buf:       buf,
		names:     make(map[uint32]string, 64),
		templates: make(map[uint32]*template, 32),
		nodesLeft: chunkNodeBudget,
	}
}

// parser reads one BinXML stream in buf[pos:end]. Errors are sticky: after
// the first one every read returns zero and loops end.
type parser struct {
	d       *chunkDecoder
	buf     []byte
	pos     int
	end     int
	tmplCtx bool // element starts carry a dependency identifier (template definitions)
	depth   int
	nest    int
	err     error
}

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("at chunk offset 0x%x: %s", p.pos, fmt.Sprintf(format, args...))
	}
}

// need reports whether n more bytes are inside the region.
func (p *parser) need(n int) bool {
	if p.err != nil {
		return false
	}
	if n < 0 || n > p.end-p.pos {
		p.fail("needs %d bytes, %d left", n, p.end-p.pos)
		return false
	}
	return true
}

func (p *parser) u8() uint8 {
	if !p.need(1) {
		return 0
	}
	v := p.buf[p.pos]
	p.pos++
	return v
}

func (p *parser) u16() uint16 {
	if !p.need(2) {
		return 0
	}
	v := binary.LittleEndian.Uint16(p.buf[p.pos:])
	p.pos += 2
	return v
}

func (p *parser) u32() uint32 {
	if !p.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(p.buf[p.pos:])
	p.pos += 4
	return v
}

// tick charges one unit of work to the chunk and record budgets.
func (p *parser) tick() bool {
	if p.err != nil {
		return false
	}
	p.d.nodesLeft--
	p.d.recNodes--
	if p.d.nodesLeft < 0 || p.d.recNodes < 0 {
		p.err = errBudget
		return false
	}
	return true
}

// utf16String decodes n UTF-16LE code units at buf[off:], dropping
// trailing NULs.
func utf16String(b []byte) string {
	n := len(b) / 2
	for n > 0 && b[2*n-2] == 0 && b[2*n-1] == 0 {
		n--
	}
	ascii := true
	for i := 0; i < n; i++ {
		if b[2*i+1] != 0 || b[2*i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		s := make([]byte, n)
		for i := range s {
			s[i] = b[2*i]
		}
		return string(s)
	}
	u := make([]uint16, n)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// prefixedString reads a UTF-16 string preceded by its length in code
// units (u16).
func (p *parser) prefixedString() string {
	n := int(p.u16())
	if !p.need(2 * n) {
		return ""
	}
	s := utf16String(p.buf[p.pos : p.pos+2*n])
	p.pos += 2 * n
	return s
}

// name reads a name reference: a chunk offset, followed by the name
// structure itself when it is defined here (offset == position), otherwise
// interned elsewhere in the chunk.
func (p *parser) name() string {
	off := p.u32()
	if p.err != nil {
		return ""
	}
	if int(off) == p.pos {
		// Inline: next-name offset (4), hash (2), length (2), UTF-16, NUL.
		if !p.need(8) {
			return ""
		}
		n := int(binary.LittleEndian.Uint16(p.buf[p.pos+6:]))
		p.pos += 8
		if !p.need(2*n + 2) {
			return ""
		}
		s, ok := p.d.names[off]
		if !ok {
			s = utf16String(p.buf[p.pos : p.pos+2*n])
			p.d.names[off] = s
		}
		p.pos += 2*n + 2
		return s
	}
	if s, ok := p.d.names[off]; ok {
		return s
	}
	// Interned: the name must lie wholly inside the chunk.
	b := p.d.buf
	if int(off) < 0 || int(off)+8 > len(b) {
		p.fail("name offset 0x%x outside the chunk", off)
		return ""
	}
	n := int(binary.LittleEndian.Uint16(b[off+6:]))
	if int(off)+8+2*n > len(b) {
		p.fail("name at 0x%x longer than the chunk", off)
		return ""
	}
	s := utf16String(b[int(off)+8 : int(off)+8+2*n])
	p.d.names[off] = s
	return s
}

// content parses tokens until the end of the element (top == false, the
// EndElement token is consumed) or the end of the stream (top == true).
func (p *parser) content(top bool) []*tnode {
	var out []*tnode
	for p.err == nil {
		if p.pos >= p.end {
			if !top {
				p.fail("stream ends inside an element")
			}
			return out
		}
		if !p.tick() {
			return out
		}
		tok := p.buf[p.pos]
		switch tok {
		case 0x00: // end of stream
			p.pos++
			if !top {
				p.fail("end of stream inside an element")
			}
			return out
		case 0x0f: // fragment header: major, minor, flags
			p.pos++
			if p.need(3) {
				p.pos += 3
			}
		case 0x01, 0x41:
			if e := p.element(); e != nil {
				out = append(out, e)
			}
		case 0x04: // end element
			p.pos++
			if top {
				p.fail("end element outside an element")
			}
			return out
		case 0x05, 0x45, 0x07, 0x47, 0x08, 0x48, 0x09, 0x49, 0x0d, 0x0e:
			if n := p.valueToken(); n != nil {
				out = append(out, n)
			}
		case 0x0a: // PI target, then PI data
			p.pos++
			n := &tnode{kind: kPI, name: p.name()}
			if p.pos < p.end && p.buf[p.pos] == 0x0b {
				p.pos++
				n.text = p.prefixedString()
			}
			out = append(out, n)
		case 0x0c:
			if n := p.templateInstance(); n != nil {
				out = append(out, n)
			}
		default:
			p.fail("unknown token 0x%02x", tok)
		}
	}
	return out
}

// valueToken parses a text, CDATA, character or entity reference, or
// substitution token (the tokens that may also form an attribute value).
func (p *parser) valueToken() *tnode {
	tok := p.u8()
	switch tok {
	case 0x05, 0x45:
		if t := p.u8(); t != tString && p.err == nil {
			p.fail("value text of type 0x%02x", t)
			return nil
		}
		return &tnode{kind: kText, text: p.prefixedString()}
	case 0x07, 0x47:
		return &tnode{kind: kCData, text: p.prefixedString()}
	case 0x08, 0x48:
		return &tnode{kind: kCharRef, idx: p.u16()}
	case 0x09, 0x49:
		return &tnode{kind: kEntity, name: p.name()}
	case 0x0d, 0x0e:
		idx := p.u16()
		vt := p.u8()
		return &tnode{kind: kSubst, idx: idx, vtype: vt, optional: tok == 0x0e}
	}
	p.fail("unexpected token 0x%02x", tok)
	return nil
}

func isValueToken(tok byte) bool {
	switch tok {
	case 0x05, 0x45, 0x07, 0x47, 0x08, 0x48, 0x09, 0x49, 0x0d, 0x0e:
		return true
	}
	return false
}

// element parses an element from its start token to its end.
func (p *parser) element() *tnode {
	tok := p.u8()
	if p.tmplCtx {
		p.u16() // dependency identifier
	}
	p.u32() // data size
	n := &tnode{kind: kElem, name: p.name()}
	if tok&0x40 != 0 {
		p.u32() // attribute list size
	}
	if p.err != nil {
		return nil
	}
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxElementDepth {
		p.fail("elements nested deeper than %d", maxElementDepth)
		return nil
	}
	for p.err == nil {
		if !p.need(1) || !p.tick() {
			return nil
		}
		switch t := p.buf[p.pos]; t {
		case 0x06, 0x46: // attribute: name, then its value tokens
			p.pos++
			a := tattr{name: p.name()}
			for p.err == nil && p.pos < p.end && isValueToken(p.buf[p.pos]) {
				if !p.tick() {
					return nil
				}
				if v := p.valueToken(); v != nil {
					a.val = append(a.val, v)
				}
			}
			n.attrs = append(n.attrs, a)
		case 0x02: // close start element: content follows
			p.pos++
			n.kids = p.content(false)
			return n
		case 0x03: // close empty element
			p.pos++
			return n
		default:
			p.fail("unexpected token 0x%02x in element start", t)
		}
	}
	return nil
}

// templateInstance parses a template instance token: the template (defined
// here or earlier in the chunk) and its substitution values.
func (p *parser) templateInstance() *tnode {
	p.pos++ // token
	p.u8()  // unknown, 1
	p.u32() // template ID
	defOff := p.u32()
	if p.err != nil {
		return nil
	}
	if p.nest >= maxNesting {
		p.fail("templates nested deeper than %d", maxNesting)
		return nil
	}
	var t *template
	if int(defOff) == p.pos {
		// Defined inline: next offset (4), GUID (16), data size (4), data.
		if !p.need(24) {
			return nil
		}
		size := int(binary.LittleEndian.Uint32(p.buf[p.pos+20:]))
		if !p.need(24 + size) {
			return nil
		}
		t = p.d.template(defOff, p.nest)
		p.pos += 24 + size
	} else {
		t = p.d.template(defOff, p.nest)
	}
	if t.err != nil {
		if errors.Is(t.err, errBudget) {
			p.err = errBudget
		} else {
			p.fail("template at 0x%x: %s", defOff, t.err.Error())
		}
		return nil
	}
	count := int(p.u32())
	if p.err != nil {
		return nil
	}
	// Each value needs a 4-byte descriptor: a count the rest of the stream
	// cannot hold is damage, refused before allocating.
	if count > (p.end-p.pos)/4 {
		p.fail("%d substitution values cannot fit in %d bytes", count, p.end-p.pos)
		return nil
	}
	vals := make([]value, count)
	desc := p.pos
	p.pos += 4 * count
	for i := range vals {
		size := int(binary.LittleEndian.Uint16(p.buf[desc+4*i:]))
		typ := p.buf[desc+4*i+2]
		if !p.need(size) {
			return nil
		}
		vals[i] = value{typ: typ, off: p.pos, n: size}
		p.pos += size
	}
	return &tnode{kind: kInstance, inst: &instance{tmpl: t, values: vals}}
}

// template returns the template defined at chunk offset off, parsing it on
// first use.
func (d *chunkDecoder) template(off uint32, nest int) *template {
	if t, ok := d.templates[off]; ok {
		return t
	}
	t := &template{}
	d.templates[off] = t
	if int(off)+24 > len(d.buf) {
		t.err = fmt.Errorf("definition offset outside the chunk")
		return t
	}
	size := int(binary.LittleEndian.Uint32(d.buf[off+20:]))
	start := int(off) + 24
	if size > len(d.buf)-start {
		t.err = fmt.Errorf("definition of %d bytes does not fit in the chunk", size)
		return t
	}
	// Marked as failing while being parsed: a template that refers to
	// itself ends here instead of recursing.
	t.err = fmt.Errorf("template refers to itself")
	p := &parser{d: d, buf: d.buf, pos: start, end: start + size, tmplCtx: true, nest: nest + 1}
	nodes := p.content(true)
	t.nodes, t.err = nodes, p.err
	return t
}

// parseBinXML parses a BinXML value (substitution type 0x21) in place.
// Element starts carry no dependency identifier there (libevtx,
// MS-EVEN6).
func (d *chunkDecoder) parseBinXML(v value, nest int) ([]*tnode, error) {
	if nest >= maxNesting {
		return nil, fmt.Errorf("BinXML values nested deeper than %d", maxNesting)
	}
	p := &parser{d: d, buf: d.buf, pos: v.off, end: v.off + v.n, nest: nest + 1}
	nodes := p.content(true)
	return nodes, p.err
}

// Node is one element of a decoded record: name, attributes and content
// with substitutions filled in.
type Node struct {
	Name  string
	Attrs []Attr
	Kids  []Item
}

// Attr is one attribute; its value is a sequence of items (text and typed
// values), usually one.
type Attr struct {
	Name  string
	Items []Item
}

// Item is one piece of element content: a child element, literal text (or
// CDATA, a character or entity reference, a processing instruction), or a
// typed substitution value.
type Item struct {
	Elem *Node
	Kind uint8 // kElem, kText, kCData, kCharRef, kEntity, kPI, kSubst
	Text string
	Name string // entity or PI target name
	Char uint16 // character reference
	Val  value
}

// expand instantiates parsed tokens with their substitution values into
// the element tree. Every node charges the budgets; nested BinXML values
// are parsed where they are used.
func (d *chunkDecoder) expand(nodes []*tnode, vals []value, out []Item, depth, nest int) ([]Item, error) {
	if depth > 4*maxElementDepth {
		return out, fmt.Errorf("expansion nested deeper than %d", 4*maxElementDepth)
	}
	for _, n := range nodes {
		d.nodesLeft--
		d.recNodes--
		if d.nodesLeft < 0 || d.recNodes < 0 {
			return out, errBudget
		}
		switch n.kind {
		case kElem:
			if len(n.kids) == 1 && n.kids[0].kind == kSubst && n.kids[0].optional && emptyValue(vals, n.kids[0].idx) {
				// An element filled only by an optional substitution
				// whose value is NULL or empty is left out, as Windows
				// and libevtx do (<Binary> of an event without data).
				continue
			}
			e := &Node{Name: n.name}
			for _, a := range n.attrs {
				items, err := d.expand(a.val, vals, nil, depth+1, nest)
				if err != nil {
					return out, err
				}
				if omitAttr(items) {
					continue
				}
				e.Attrs = append(e.Attrs, Attr{Name: a.name, Items: items})
			}
			kids, err := d.expand(n.kids, vals, nil, depth+1, nest)
			if err != nil {
				return out, err
			}
			e.Kids = kids
			if len(kids) == 1 && kids[0].Kind == kSubst && kids[0].Val.typ&tArray != 0 {
				// An array value fills one copy of its element per item,
				// as Windows and libevtx render it (<Data>a</Data><Data>b</Data>).
				if parts, ok := splitArray(d.buf, kids[0].Val); ok {
					d.nodesLeft -= len(parts)
					d.recNodes -= len(parts)
					if d.nodesLeft < 0 || d.recNodes < 0 {
						return out, errBudget
					}
					for _, v := range parts {
						c := &Node{Name: e.Name, Attrs: e.Attrs}
						if v.typ != tString || v.n > 0 {
							c.Kids = []Item{{Kind: kSubst, Val: v}}
						}
						out = append(out, Item{Elem: c, Kind: kElem})
					}
					continue
				}
			}
			out = append(out, Item{Elem: e, Kind: kElem})
		case kText, kCData, kPI:
			out = append(out, Item{Kind: n.kind, Text: n.text, Name: n.name})
		case kCharRef:
			out = append(out, Item{Kind: kCharRef, Char: n.idx})
		case kEntity:
			out = append(out, Item{Kind: kEntity, Name: n.name})
		case kSubst:
			if int(n.idx) >= len(vals) {
				continue // no such value: nothing to substitute
			}
			v := vals[n.idx]
			d.recBytes -= v.n
			if d.recBytes < 0 {
				return out, errBudget
			}
			switch v.typ {
			case tNull:
			case tBinXML:
				sub, err := d.parseBinXML(v, nest)
				if err != nil {
					return out, err
				}
				out, err = d.expand(sub, nil, out, depth+1, nest+1)
				if err != nil {
					return out, err
				}
			default:
				out = append(out, Item{Kind: kSubst, Val: v})
			}
		case kInstance:
			var err error
			out, err = d.expand(n.inst.tmpl.nodes, n.inst.values, out, depth+1, nest+1)
			if err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

func emptyValue(vals []value, idx uint16) bool {
	return int(idx) >= len(vals) || vals[idx].typ == tNull || vals[idx].n == 0
}

// omitAttr reports whether an attribute's value came out empty from
// substitutions (a NULL or empty optional value): Windows and libevtx leave
// such attributes out (<Correlation/> without ActivityID).
func omitAttr(items []Item) bool {
	for _, it := range items {
		if it.Kind != kSubst || it.Val.n != 0 {
			return false
		}
	}
	return true
}

// decodeRecord decodes the BinXML of one record (chunk offsets start..end)
// into its top-level items.
func (d *chunkDecoder) decodeRecord(start, end int) ([]Item, error) {
	d.recNodes = recordNodeBudget
	d.recBytes = recordByteBudget
	p := &parser{d: d, buf: d.buf, pos: start, end: end}
	nodes := p.content(true)
	if p.err != nil {
		return nil, p.err
	}
	return d.expand(nodes, nil, nil, 0, 0)
}

// splitArray splits an array value (type | 0x80) into its items: UTF-16
// and ANSI strings at NULs, SIDs by their own length, other types by their
// fixed size. ok is false when the bytes do not divide into items.
func splitArray(buf []byte, v value) ([]value, bool) {
	t := v.typ &^ tArray
	b := buf[v.off : v.off+v.n]
	var out []value
	switch t {
	case tString:
		// Each item ends with a NUL: "a\0\0" is "a" and "".
		if len(b)%2 != 0 {
			return nil, false
		}
		start := 0
		for i := 0; i+1 < len(b); i += 2 {
			if b[i] == 0 && b[i+1] == 0 {
				out = append(out, value{typ: t, off: v.off + start, n: i - start})
				start = i + 2
			}
		}
		if start < len(b) || len(b) == 0 {
			out = append(out, value{typ: t, off: v.off + start, n: len(b) - start})
		}
	case tAnsiString:
		start := 0
		for i := range b {
			if b[i] == 0 {
				out = append(out, value{typ: t, off: v.off + start, n: i - start})
				start = i + 1
			}
		}
		if start < len(b) || len(b) == 0 {
			out = append(out, value{typ: t, off: v.off + start, n: len(b) - start})
		}
	case tSID:
		for i := 0; i < len(b); {
			if len(b)-i < 8 || len(b)-i < 8+4*int(b[i+1]) {
				return nil, false
			}
			n := 8 + 4*int(b[i+1])
			out = append(out, value{typ: t, off: v.off + i, n: n})
			i += n
		}
	default:
		size := arrayItemSize(t, len(b))
		if size == 0 || len(b)%size != 0 {
			return nil, false
		}
		for i := 0; i < len(b); i += size {
			out = append(out, value{typ: t, off: v.off + i, n: size})
		}
	}
	return out, len(out) > 0
}
