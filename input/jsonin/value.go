package jsonin

import (
	"errors"
	"fmt"

	"github.com/go-json-experiment/json/jsontext"
)

// value is one JSON value with object members in document order (a Go
// map would lose the order EventData fields are shown in).
type value struct {
	kind    jsontext.Kind // 'n', 'f', 't', '"', '0', '{', '['
	text    string        // string contents, or a number, true/false as written
	members []member      // objects
	items   []value       // arrays
}

type member struct {
	name string
	val  value
}

// maxDepth bounds nesting: a hostile file of "[[[[…" must not exhaust the
// stack (jsontext limits depth too; this is the reader's own promise).
const maxDepth = 200

var errDepth = errors.New("JSON nested too deeply")

// readValue reads the decoder's next value.
func readValue(dec *jsontext.Decoder, depth int) (value, error) {
	if depth > maxDepth {
		return value{}, errDepth
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return value{}, err
	}
	v := value{kind: tok.Kind()}
	switch v.kind {
	case '{':
		for dec.PeekKind() != '}' {
			nt, err := dec.ReadToken()
			if err != nil {
				return value{}, err
			}
			name := nt.String()
			mv, err := readValue(dec, depth+1)
			if err != nil {
				return value{}, err
			}
			v.members = append(v.members, member{name: name, val: mv})
		}
		if _, err := dec.ReadToken(); err != nil {
			return value{}, err
		}
	case '[':
		for dec.PeekKind() != ']' {
			iv, err := readValue(dec, depth+1)
			if err != nil {
				return value{}, err
			}
			v.items = append(v.items, iv)
		}
		if _, err := dec.ReadToken(); err != nil {
			return value{}, err
		}
	case 'n':
	case '"', '0', 't', 'f':
		v.text = tok.String()
	default:
		return value{}, fmt.Errorf("unexpected JSON token %v", v.kind)
	}
	return v, nil
}

// get returns the member named name of an object (first of repeats).
func (v *value) get(name string) (*value, bool) {
	for i := range v.members {
		if v.members[i].name == name {
			return &v.members[i].val, true
		}
	}
	return nil, false
}

// path follows object members by name.
func (v *value) path(names ...string) (*value, bool) {
	cur := v
	for _, n := range names {
		next, ok := cur.get(n)
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// scalar renders a scalar as text: strings as they are, numbers as
// written, true/false; null as "". ok is false for objects and arrays.
func (v *value) scalar() (string, bool) {
	switch v.kind {
	case '"', '0', 't', 'f':
		return v.text, true
	case 'n':
		return "", true
	}
	return "", false
}

// isObject reports whether v is an object.
func (v *value) isObject() bool { return v.kind == '{' }
