package ioc

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ParseError reports a bad line in pasted text or CSV. It wraps the cause
// (ErrInvalid for a bad IOC).
type ParseError struct {
	Line int // 1-based line number
	Err  error
}

// Error implements error.
func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Err) }

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// maxLine bounds one line of pasted text, in bytes.
const maxLine = 1 << 20

// ParseText reads one IOC per line, detecting each type with DetectType.
// Blank lines and lines starting with '#' are skipped, surrounding space
// and a UTF-8 byte-order mark are ignored, and a value repeated with the
// same type is kept once. The IOCs are validated and normalised, enabled,
// and have no ID, description or source. A bad line fails the whole parse
// with a *ParseError.
func ParseText(r io.Reader) ([]IOC, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var out []IOC
	seen := map[IOC]bool{}
	for line := 1; sc.Scan(); line++ {
		v := sc.Text()
		if line == 1 {
			v = strings.TrimPrefix(v, "\ufeff")
		}
		v = strings.TrimSpace(v)
		if v == "" || strings.HasPrefix(v, "#") {
			continue
		}
		c, err := Validate(IOC{Type: DetectType(v), Value: v, Enabled: true})
		if err != nil {
			return nil, &ParseError{Line: line, Err: err}
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ioc text: %w", err)
	}
	return out, nil
}

// csvColumns are the CSV columns, in the order WriteCSV writes them.
func csvColumns() [5]string {
	return [...]string{"type", "value", "description", "enabled", "source"}
}

// ParseCSV reads IOCs from CSV. A header row is optional: a first row whose
// first two cells are "type" and "value" names the columns (type, value,
// description, enabled, source, in any order; others are ignored);
// without one the columns are type, value[, description[, enabled[,
// source]]]. An empty type is detected from the value; an empty enabled
// cell means true. Lines starting with '#' are comments. Cells written by
// WriteCSV with a formula guard (a leading "'") are unguarded. Rows are
// validated and normalised but not de-duplicated. Errors are *ParseError
// naming the line.
func ParseCSV(r io.Reader) ([]IOC, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	col := map[string]int{"type": 0, "value": 1, "description": 2, "enabled": 3, "source": 4}
	maxCols := len(csvColumns())
	var out []IOC
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &ParseError{Line: pe.Line, Err: pe.Err}
			}
			return nil, fmt.Errorf("read ioc csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if first && len(rec) >= 2 && strings.EqualFold(strings.TrimSpace(rec[0]), "type") &&
			strings.EqualFold(strings.TrimSpace(rec[1]), "value") {
			col = map[string]int{}
			for i, name := range rec {
				name = strings.ToLower(strings.TrimSpace(name))
				if _, dup := col[name]; !dup {
					col[name] = i
				}
			}
			maxCols = -1
			continue
		}
		if maxCols >= 0 && len(rec) > maxCols {
			return nil, &ParseError{Line: line, Err: fmt.Errorf("%w: %d columns, want at most %d (type,value,description,enabled,source)", ErrInvalid, len(rec), maxCols)}
		}
		cell := func(name string) string {
			i, ok := col[name]
			if !ok || i >= len(rec) {
				return ""
			}
			return unguard(rec[i])
		}
		c, err := csvRow(cell)
		if err != nil {
			return nil, &ParseError{Line: line, Err: err}
		}
		out = append(out, c)
	}
	return out, nil
}

// csvRow builds and validates one IOC from a row's cells.
func csvRow(cell func(string) string) (IOC, error) {
	value := cell("value")
	typ := strings.TrimSpace(cell("type"))
	t := DetectType(value)
	if typ != "" {
		var err error
		if t, err = ParseType(typ); err != nil {
			return IOC{}, err
		}
	}
	enabled := true
	if e := strings.ToLower(strings.TrimSpace(cell("enabled"))); e != "" {
		switch e {
		case "yes", "y", "on":
			enabled = true
		case "no", "n", "off":
			enabled = false
		default:
			b, err := strconv.ParseBool(e)
			if err != nil {
				return IOC{}, fmt.Errorf("%w: enabled %q is not a boolean", ErrInvalid, e)
			}
			enabled = b
		}
	}
	return Validate(IOC{
		Type:        t,
		Value:       value,
		Enabled:     enabled,
		Description: strings.TrimSpace(cell("description")),
		Source:      strings.TrimSpace(cell("source")),
	})
}

// WriteCSV writes iocs as CSV with the header type,value,description,
// enabled,source; ParseCSV reads it back to the same IOCs (IDs are not
// written). Cells that a spreadsheet would run as a formula (starting with
// '=', '+', '-', '@', tab or CR) get a leading "'" guard, which ParseCSV
// removes again.
func WriteCSV(w io.Writer, iocs []IOC) error {
	cw := csv.NewWriter(w)
	head := csvColumns()
	if err := cw.Write(head[:]); err != nil {
		return fmt.Errorf("write ioc csv: %w", err)
	}
	for _, c := range iocs {
		rec := []string{string(c.Type), guard(c.Value), guard(c.Description), strconv.FormatBool(c.Enabled), guard(c.Source)}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write ioc csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write ioc csv: %w", err)
	}
	return nil
}

// needsGuard reports whether s would be read as a formula by a spreadsheet,
// or is itself a guarded-looking cell ("'" before such text), so that
// guard/unguard round-trip every string.
func needsGuard(s string) bool {
	for len(s) > 0 && s[0] == '\'' {
		s = s[1:]
	}
	return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0]))
}

func guard(s string) string {
	if needsGuard(s) {
		return "'" + s
	}
	return s
}

func unguard(s string) string {
	if strings.HasPrefix(s, "'") && needsGuard(s[1:]) {
		return s[1:]
	}
	return s
}
