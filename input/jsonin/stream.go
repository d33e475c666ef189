package jsonin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"

	"casescope/evtx"
	"casescope/input/tally"
)

// decOpts accept what real exports contain: repeated names (kept, in
// order) and invalid UTF-8 (replaced), rather than refusing the record.
var decOpts = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// sniffWindow is how much of a stream is looked at to tell JSON lines
// from pretty-printed values.
const sniffWindow = 64 << 10

// Stream reads every JSON record of r, which starts at stream offset 0:
// JSON lines (one value per line, bad lines skipped and counted), one
// array of records, one object, or values back to back (pretty-printed
// or not). Each record becomes an Event (its shape by its members, see
// toEvent) located by its first byte's offset. It returns the first
// record's shape. A syntax error outside JSON lines ends the stream: the
// rest cannot be resynchronised, and is one skipped record with the
// reason.
func Stream(ctx context.Context, r io.Reader, t *tally.Tally, fn func(*evtx.Event) error) (Shape, error) {
	br := bufio.NewReaderSize(r, sniffWindow)
	var off int64
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xEF\xBB\xBF")) {
		br.Discard(3)
		off = 3
	}
	head, _ := br.Peek(sniffWindow)
	i := bytes.IndexFunc(head, func(r rune) bool { return !isSpace(byte(r)) })
	if i < 0 {
		return Generic, nil // empty or blank: no records
	}
	first := Generic
	seen := false
	emit := func(v *value, at int64) error {
		ev, sh, timeOK := toEvent(v)
		if !seen {
			first, seen = sh, true
		}
		if !timeOK {
			t.NoTime++
		}
		tally.Place(ev, at)
		t.Good()
		return fn(ev)
	}
	if head[i] == '{' && lineMode(head[i:]) {
		return first, lines(ctx, br, off, t, emit)
	}
	br.Discard(i)
	off += int64(i)
	dec := jsontext.NewDecoder(br, decOpts...)
	base := off
	array := head[i] == '['
	if array {
		if _, err := dec.ReadToken(); err != nil {
			t.Bad(0, base, "invalid JSON: %s", err.Error())
			return first, nil
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return first, err
		}
		k := dec.PeekKind()
		if array && k == ']' {
			return first, nil
		}
		if k == 0 {
			break // end of input, or an error ReadValue reports
		}
		at := base + dec.InputOffset() + leading(dec.UnreadBuffer())
		v, err := readValue(dec, 0)
		if err != nil {
			t.Bad(0, at, "invalid JSON, rest of file unreadable: %s", err.Error())
			return first, nil
		}
		if err := emit(&v, at); err != nil {
			return first, err
		}
	}
	if _, err := dec.ReadToken(); err != nil && !errors.Is(err, io.EOF) {
		at := base + dec.InputOffset()
		t.Bad(0, at, "invalid JSON, rest of file unreadable: %s", err.Error())
	} else if array {
		t.Problem(0, base+dec.InputOffset(), "JSON array not closed (truncated file?)")
	}
	return first, nil
}

// lineMode reports whether a stream starting with head is JSON lines:
// its first line is one whole value. A first line longer than the window
// counts as one (pretty-printed values break lines early).
func lineMode(head []byte) bool {
	nl := bytes.IndexByte(head, '\n')
	if nl < 0 {
		return true
	}
	return jsontext.Value(bytes.TrimSpace(head[:nl])).IsValid(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
}

// lines reads JSON lines: each non-blank line one record; a line that is
// not one JSON value is skipped with its line number.
func lines(ctx context.Context, br *bufio.Reader, off int64, t *tally.Tally, emit func(*value, int64) error) error {
	var line []byte
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line = line[:0]
		var err error
		for {
			var part []byte
			part, err = br.ReadSlice('\n')
			line = append(line, part...)
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if len(line) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read: %w", err)
		}
		n++
		start := off
		off += int64(len(line))
		lead := leading(line)
		body := bytes.TrimSpace(line)
		if len(body) > 0 {
			v, perr := parseOne(body)
			if perr != nil {
				t.Bad(n, start, "invalid JSON: %s", perr.Error())
			} else if err := emit(&v, start+lead); err != nil {
				return err
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read: %w", err)
		}
	}
}

// parseOne parses b as exactly one JSON value.
func parseOne(b []byte) (value, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(b), decOpts...)
	v, err := readValue(dec, 0)
	if err != nil {
		return value{}, err
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("more than one value")
		}
		return value{}, err
	}
	return v, nil
}

// ReadOne reads the record starting at r's position (a record's offset
// as Stream located it) into an Event.
func ReadOne(r io.Reader) (*evtx.Event, error) {
	br := bufio.NewReader(r)
	for {
		b, err := br.Peek(1)
		if err != nil {
			return nil, fmt.Errorf("read record: %w", err)
		}
		if !isSpace(b[0]) && b[0] != ',' {
			break
		}
		br.Discard(1)
	}
	dec := jsontext.NewDecoder(br, decOpts...)
	v, err := readValue(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("read record: %w", err)
	}
	ev, _, _ := toEvent(&v)
	return ev, nil
}

// leading counts the whitespace and commas before a value.
func leading(b []byte) int64 {
	n := 0
	for n < len(b) && (isSpace(b[n]) || b[n] == ',') {
		n++
	}
	return int64(n)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// IsWindows reports whether a shape is a Windows event rendering.
func (s Shape) IsWindows() bool { return s != Generic }
