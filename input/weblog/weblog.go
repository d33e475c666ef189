package weblog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"casescope/evtx"
	"casescope/input/tally"
)

// Channel values of web-log events, so facets and queries tell them apart.
const (
	ChannelW3C    = "w3c"
	ChannelAccess = "access-log"
	ChannelZeek   = "zeek"
)

// lineReader yields lines with their byte offset and 1-based number,
// however long (a line is never cut).
type lineReader struct {
	br   *bufio.Reader
	off  int64
	n    int64
	line []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without its line break, its offset and
// number; io.EOF at the end.
func (l *lineReader) next() (string, int64, int64, error) {
	l.line = l.line[:0]
	var err error
	for {
		var part []byte
		part, err = l.br.ReadSlice('\n')
		l.line = append(l.line, part...)
		if err != bufio.ErrBufferFull {
			break
		}
	}
	if len(l.line) == 0 && err != nil {
		return "", 0, 0, err
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return "", 0, 0, fmt.Errorf("read: %w", err)
	}
	start := l.off
	l.off += int64(len(l.line))
	l.n++
	s := strings.TrimRight(string(l.line), "\r\n")
	if start == 0 {
		s = strings.TrimPrefix(s, "\uFEFF") // a UTF-8 byte-order mark
	}
	return s, start, l.n, nil
}

// access matches one access-log line: optional "vhost:port", remote
// host, ident, user, [time], "request", status, bytes, and for the
// combined format "referer" "user agent"; anything after is kept.
var access = regexp.MustCompile(`^(?:(\S+:\d+) )?(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}|-) (\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?(.*)$`)

// accessLoose is access for a request line holding unescaped quotes
// (attack traffic: "GET /?q=<script>alert("x")</script> HTTP/1.0"): the
// request runs to the last quote followed by a status and a size.
var accessLoose = regexp.MustCompile(`^(?:(\S+:\d+) )?(\S+) (\S+) (\S+) \[([^\]]+)\] "(.*)" (\d{3}|-) (\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?(.*)$`)

// IsAccessLine reports whether a line is an access-log line.
func IsAccessLine(s string) bool { return access.MatchString(s) || accessLoose.MatchString(s) }

// StreamAccess reads an access log; a line that is not an access-log line
// is skipped and counted with its number.
func StreamAccess(ctx context.Context, r io.Reader, t *tally.Tally, fn func(*evtx.Event) error) error {
	lr := newLineReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s, off, n, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		ev, timeOK, ok := accessEvent(s)
		if !ok {
			t.Bad(n, off, "not an access-log line: %.80q", s)
			continue
		}
		if !timeOK {
			t.NoTime++
		}
		tally.Place(ev, off)
		t.Good()
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// ReadAccess reads the access-log line at r's position.
func ReadAccess(r io.Reader) (*evtx.Event, error) {
	s, _, _, err := newLineReader(r).next()
	if err != nil {
		return nil, fmt.Errorf("read line: %w", err)
	}
	ev, _, ok := accessEvent(s)
	if !ok {
		return nil, errors.New("not an access-log line")
	}
	return ev, nil
}

func accessEvent(s string) (*evtx.Event, bool, bool) {
	m := access.FindStringSubmatch(s)
	if m == nil {
		m = accessLoose.FindStringSubmatch(s)
	}
	if m == nil {
		return nil, false, false
	}
	ev := &evtx.Event{Channel: ChannelAccess, Computer: hostOf(m[1])}
	add := func(name, v string) { ev.Data = append(ev.Data, evtx.Field{Name: name, Value: v}) }
	if m[1] != "" {
		add("cs-host", m[1])
	}
	add("c-ip", m[2])
	add("ident", m[3])
	add("cs-username", m[4])
	method, target, version := splitRequest(unescape(m[6]))
	add("cs-method", method)
	stem, query, _ := strings.Cut(target, "?")
	add("cs-uri", target)
	add("cs-uri-stem", stem)
	add("cs-uri-query", query)
	add("cs-version", version)
	add("request", unescape(m[6]))
	add("sc-status", m[7])
	add("sc-bytes", m[8])
	if m[9] != "" || m[10] != "" {
		add("cs-referer", unescape(m[9]))
		add("cs-user-agent", unescape(m[10]))
	}
	if rest := strings.TrimSpace(m[11]); rest != "" {
		add("extra", rest)
	}
	t, err := time.Parse("02/Jan/2006:15:04:05 -0700", m[5])
	if err != nil {
		return ev, false, true
	}
	ev.TimeCreated = t.UTC()
	return ev, true, true
}

func hostOf(vhost string) string {
	h, _, _ := strings.Cut(vhost, ":")
	return h
}

// splitRequest splits "GET /a?b HTTP/1.1"; a malformed request line is
// kept whole as the target.
func splitRequest(r string) (method, target, version string) {
	p := strings.Split(r, " ")
	if len(p) == 3 {
		return p[0], p[1], p[2]
	}
	if len(p) == 2 {
		return p[0], p[1], ""
	}
	return "", r, ""
}

// unescape undoes the \" and \\ escapes Apache writes in quoted fields.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(s)
}

// IsW3CHead reports whether the text starts like a W3C extended log (or
// Zeek's TSV, the same idea with tabs): its first non-blank line is a
// directive and a #Fields directive follows.
func IsW3CHead(head string) bool {
	s := strings.TrimLeft(head, " \t\r\n")
	return strings.HasPrefix(s, "#") && (strings.Contains(head, "#Fields:") || strings.Contains(head, "\n#fields\t"))
}

// w3cState is what the directives so far say.
type w3cState struct {
	fields   []string
	date     string // from #Date, "2006-01-02"
	software string
	zeek     bool   // Zeek TSV: "#fields" and values split on tabs, "ts" in Unix seconds
	path     string // Zeek's #path (conn, dns, http …)
}

// StreamW3C reads a W3C extended log. A data line before any #Fields is
// skipped and counted with its number.
func StreamW3C(ctx context.Context, r io.Reader, t *tally.Tally, fn func(*evtx.Event) error) error {
	return streamW3C(ctx, r, t, -1, fn)
}

// errFound stops a scan once the wanted record is read.
var errFound = errors.New("found")

// ReadW3C reads the record at offset off of a W3C log, r read from its
// start (the directives before it say what its fields are).
func ReadW3C(ctx context.Context, r io.Reader, off int64) (*evtx.Event, error) {
	var got *evtx.Event
	var t tally.Tally
	err := streamW3C(ctx, r, &t, off, func(ev *evtx.Event) error {
		got = ev
		return errFound
	})
	if got != nil {
		return got, nil
	}
	if err == nil {
		err = fmt.Errorf("no record at offset %d", off)
	}
	return nil, err
}

// streamW3C streams from the start; with only >= 0 it delivers just the
// line at that offset.
func streamW3C(ctx context.Context, r io.Reader, t *tally.Tally, only int64, fn func(*evtx.Event) error) error {
	lr := newLineReader(r)
	var st w3cState
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s, off, n, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if only >= 0 && off > only {
			return nil
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		if strings.HasPrefix(s, "#") {
			st.directive(s)
			continue
		}
		if only >= 0 && off != only {
			continue
		}
		if len(st.fields) == 0 {
			t.Bad(n, off, "W3C data line before any #Fields directive")
			continue
		}
		ev, timeOK := st.event(s)
		if !timeOK {
			t.NoTime++
		}
		tally.Place(ev, off)
		t.Good()
		if err := fn(ev); err != nil {
			if errors.Is(err, errFound) {
				return nil
			}
			return err
		}
	}
}

func (st *w3cState) directive(s string) {
	if z, ok := strings.CutPrefix(s, "#fields\t"); ok {
		st.zeek, st.fields = true, strings.Split(z, "\t")
		return
	}
	if p, ok := strings.CutPrefix(s, "#path\t"); ok {
		st.path = p
		return
	}
	name, val, _ := strings.Cut(s[1:], ":")
	val = strings.TrimSpace(val)
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "fields":
		st.fields = strings.Fields(val)
	case "date":
		if d, _, ok := strings.Cut(val, " "); ok {
			st.date = d
		} else {
			st.date = val
		}
	case "software":
		st.software = val
	}
}

// taxonomy gives W3C's bracketed header fields their names in Sigma's
// webserver taxonomy too.
var taxonomy = map[string]string{
	"cs(user-agent)": "cs-user-agent", "cs(referer)": "cs-referer", "cs(cookie)": "cs-cookie",
	"cs(host)": "cs-host",
}

// event maps one data line: values split on spaces, a value in double
// quotes kept whole (IIS Advanced Logging), "-" kept as written.
func (st *w3cState) event(s string) (*evtx.Event, bool) {
	var vals []string
	ev := &evtx.Event{Channel: ChannelW3C, Provider: st.software}
	if st.zeek {
		vals = strings.Split(s, "\t")
		ev.Channel, ev.Provider = ChannelZeek, "zeek"
		if st.path != "" {
			ev.Provider = "zeek:" + st.path
		}
	} else {
		vals = splitW3C(s)
	}
	var date, clock string
	var local [2]string // date-local, time-local
	timeOK := false
	for i, v := range vals {
		name := fmt.Sprintf("field%d", i+1)
		if i < len(st.fields) {
			name = st.fields[i]
		}
		ev.Data = append(ev.Data, evtx.Field{Name: name, Value: v})
		low := strings.ToLower(name)
		if alias, ok := taxonomy[low]; ok {
			ev.Data = append(ev.Data, evtx.Field{Name: alias, Value: strings.ReplaceAll(v, "+", " ")})
		}
		switch low {
		case "date":
			date = v
		case "time":
			clock = v
		case "ts":
			if st.zeek {
				if t, ok := tally.ParseTime(v); ok {
					ev.TimeCreated = t
					timeOK = true
				}
			}
		case "date-local":
			local[0] = v
		case "time-local":
			local[1] = v
		case "s-computername":
			ev.Computer = v
		case "s-sitename":
			if ev.Computer == "" {
				ev.Computer = v
			}
		}
	}
	if timeOK {
		return ev, true
	}
	if uri := w3cURI(ev.Data); uri != "" {
		ev.Data = append(ev.Data, evtx.Field{Name: "cs-uri", Value: uri})
	}
	if date == "" {
		date = st.date
	}
	if date == "" || clock == "" {
		// IIS Advanced Logging may log only local time (no zone: read
		// as UTC, like every zoneless time).
		date, clock = local[0], local[1]
	}
	if date == "" || clock == "" {
		return ev, false
	}
	t, ok := tally.ParseTime(date + " " + clock)
	if !ok {
		return ev, false
	}
	ev.TimeCreated = t
	return ev, true
}

// w3cURI is the request target as Sigma's cs-uri names it: the stem and,
// when logged ("-" is none), "?query". "" when the line has no stem or
// already a cs-uri.
func w3cURI(fs []evtx.Field) string {
	var stem, query string
	for _, f := range fs {
		switch strings.ToLower(f.Name) {
		case "cs-uri":
			return ""
		case "cs-uri-stem":
			stem = f.Value
		case "cs-uri-query":
			query = f.Value
		}
	}
	if stem == "" {
		return ""
	}
	if query != "" && query != "-" {
		return stem + "?" + query
	}
	return stem
}

// splitW3C splits a W3C data line on single spaces (two spaces are an
// empty field), keeping a double-quoted value whole without its quotes.
func splitW3C(s string) []string {
	var out []string
	for {
		if strings.HasPrefix(s, `"`) {
			end := strings.Index(s[1:], `"`)
			if end >= 0 {
				out = append(out, s[1:end+1])
				s = s[end+2:]
				if strings.HasPrefix(s, " ") {
					s = s[1:]
					continue
				}
				if s == "" {
					return out
				}
			}
		}
		v, rest, ok := strings.Cut(s, " ")
		out = append(out, v)
		if !ok {
			return out
		}
		s = rest
	}
}
