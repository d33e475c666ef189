package csvin

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"casescope/evtx"
	"casescope/input/tally"
)

// Channel of generic CSV rows (Windows timelines carry their own).
const Channel = "csv"

// Delimiters tried, in order, when sniffing.
var delimiters = []rune{',', '\t', ';', '|'}

// Sniff reports whether head (a file's first bytes) is CSV with a header:
// for some delimiter the header has at least two non-empty names and
// every whole row in head has as many fields. It returns the delimiter.
func Sniff(head string) (rune, bool) {
	for _, d := range delimiters {
		if sniffWith(head, d) {
			return d, true
		}
	}
	return 0, false
}

func sniffWith(head string, d rune) bool {
	// The last line may be cut by the head window: leave it out.
	if i := strings.LastIndexByte(head, '\n'); i > 0 && i < len(head)-1 {
		head = head[:i+1]
	}
	cr := csv.NewReader(strings.NewReader(head))
	cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes = d, -1, true
	hdr, err := cr.Read()
	if err != nil || len(hdr) < 2 {
		return false
	}
	for _, h := range hdr {
		if strings.TrimSpace(h) == "" || len(h) > 128 {
			return false
		}
	}
	rows := 0
	for rows < 20 {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || len(rec) != len(hdr) {
			return false
		}
		rows++
	}
	return rows > 0
}

// reader wraps a csv.Reader with the header and offsets.
type reader struct {
	cr     *csv.Reader
	header []string
	delim  rune
}

func newReader(r io.Reader, d rune) *reader {
	cr := csv.NewReader(r)
	cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes, cr.ReuseRecord = d, -1, true, true
	return &reader{cr: cr, delim: d}
}

// Stream reads every data row of r (from its start) as an Event located
// by the row's offset. A row the CSV reader cannot read is skipped and
// counted with its line.
func Stream(ctx context.Context, r io.Reader, d rune, t *tally.Tally, fn func(*evtx.Event) error) error {
	return stream(ctx, r, d, t, -1, fn)
}

// errFound stops a scan once the wanted row is read.
var errFound = errors.New("found")

// ReadAt reads the row at offset off, r read from the file's start (the
// header names its columns).
func ReadAt(ctx context.Context, r io.Reader, d rune, off int64) (*evtx.Event, error) {
	var got *evtx.Event
	var t tally.Tally
	err := stream(ctx, r, d, &t, off, func(ev *evtx.Event) error {
		got = ev
		return errFound
	})
	if got != nil {
		return got, nil
	}
	if err == nil {
		err = fmt.Errorf("no row at offset %d", off)
	}
	return nil, err
}

// Header reads the header row at the start of r.
func Header(r io.Reader, d rune) ([]string, error) {
	rd := newReader(r, d)
	hdr, err := rd.cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read CSV header: %w", err)
	}
	hdr = append([]string(nil), hdr...)
	if len(hdr) > 0 {
		hdr[0] = strings.TrimPrefix(hdr[0], "\uFEFF")
	}
	return hdr, nil
}

// ReadRow reads the row at r's position (a row's offset as Stream
// located it), its columns named by header.
func ReadRow(r io.Reader, header []string, d rune) (*evtx.Event, error) {
	rd := newReader(r, d)
	rec, err := rd.cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read CSV row: %w", err)
	}
	ev, _ := newMapping(header).event(rec)
	return ev, nil
}

func stream(ctx context.Context, r io.Reader, d rune, t *tally.Tally, only int64, fn func(*evtx.Event) error) error {
	rd := newReader(r, d)
	hdr, err := rd.cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		t.Bad(1, 0, "unreadable CSV header: %s", err.Error())
		return nil
	}
	rd.header = append([]string(nil), hdr...)
	if len(rd.header) > 0 {
		rd.header[0] = strings.TrimPrefix(rd.header[0], "\uFEFF")
	}
	m := newMapping(rd.header)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		off := rd.cr.InputOffset()
		if only >= 0 && off > only {
			return nil
		}
		rec, err := rd.cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				t.Bad(int64(pe.StartLine), off, "unreadable CSV row: %s", pe.Err.Error())
				continue
			}
			return fmt.Errorf("read CSV: %w", err)
		}
		if only >= 0 && off != only {
			continue
		}
		ev, timeOK := m.event(rec)
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

// mapping is what the header says about the columns.
type mapping struct {
	names                           []string
	times                           []int // candidate time columns, in order
	date, clock, zone               int   // l2tcsv date + time (+ timezone); -1 when absent
	eventID, channel, computer, prv int
	record, level                   int
	payload                         int // EvtxECmd's Payload: the event's EventData as JSON
	windows                         bool
}

// timeCols are the time columns, by lower-cased name, in the order tried.
var timeCols = []string{"datetime", "timestamp", "timecreated", "@timestamp", "date_time", "utctime", "eventtime", "time_created", "eventtimeutc"}

func newMapping(hdr []string) *mapping {
	m := &mapping{names: hdr, date: -1, clock: -1, zone: -1, eventID: -1, channel: -1, computer: -1, prv: -1, record: -1, level: -1}
	idx := map[string]int{}
	for i, h := range hdr {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, dup := idx[k]; !dup {
			idx[k] = i
		}
	}
	for _, n := range timeCols {
		if i, ok := idx[n]; ok {
			m.times = append(m.times, i)
		}
	}
	if i, ok := idx["time"]; ok {
		if j, ok := idx["date"]; ok {
			m.date, m.clock = j, i
			if z, ok := idx["timezone"]; ok {
				m.zone = z
			}
		} else {
			m.times = append(m.times, i)
		}
	}
	pick := func(names ...string) int {
		for _, n := range names {
			if i, ok := idx[n]; ok {
				return i
			}
		}
		return -1
	}
	m.eventID = pick("eventid", "event_id", "eventcode")
	m.channel = pick("channel", "logname", "log_name")
	m.computer = pick("computer", "computername", "hostname", "host")
	m.prv = pick("provider", "providername", "provider_name", "sourcename")
	m.record = pick("eventrecordid", "recordid", "event_record_id", "recordnumber")
	m.level = pick("level")
	m.payload = pick("payload")
	m.windows = m.eventID >= 0 && m.channel >= 0
	return m
}

func (m *mapping) event(rec []string) (*evtx.Event, bool) {
	ev := &evtx.Event{Channel: Channel, Data: make([]evtx.Field, 0, len(rec))}
	for i, v := range rec {
		name := fmt.Sprintf("field%d", i+1)
		if i < len(m.names) {
			name = m.names[i]
		}
		ev.Data = append(ev.Data, evtx.Field{Name: name, Value: v})
	}
	col := func(i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	if m.windows {
		n, _ := strconv.ParseUint(col(m.eventID), 10, 32)
		ev.EventID = uint32(n)
		ev.Channel = tally.Channel(col(m.channel))
		ev.Provider = col(m.prv)
		r, _ := strconv.ParseUint(col(m.record), 10, 64)
		ev.RecordID = r
		l, _ := strconv.ParseUint(col(m.level), 10, 8)
		ev.Level = uint8(l)
	}
	ev.Computer = col(m.computer)
	if m.windows && m.payload >= 0 {
		ev.Data = append(ev.Data, payloadFields(col(m.payload))...)
	}
	for _, i := range m.times {
		if t, ok := tally.ParseTime(col(i)); ok {
			ev.TimeCreated = t
			return ev, true
		}
	}
	if m.date >= 0 {
		z := strings.ToUpper(col(m.zone))
		if z == "" || z == "UTC" || z == "GMT" || z == "Z" {
			if t, ok := tally.ParseTime(col(m.date) + " " + col(m.clock)); ok {
				ev.TimeCreated = t
				return ev, true
			}
		}
	}
	return ev, false
}

// payloadFields expands EvtxECmd's Payload column, the event's data as
// JSON ({"EventData":{"Data":[{"@Name":"X","#text":"v"},…]}}), into
// fields named as the EVTX reader names them (X; unnamed Data as "Data"),
// so Sigma rules and queries see a timeline row's event data. Anything
// else yields nothing (the column stays as it is).
func payloadFields(s string) []evtx.Field {
	if !strings.HasPrefix(s, "{") {
		return nil
	}
	var p struct {
		EventData struct {
			Data json.RawMessage `json:"Data"`
		} `json:"EventData"`
	}
	if json.Unmarshal([]byte(s), &p) != nil || len(p.EventData.Data) == 0 {
		return nil
	}
	type item struct {
		Name string `json:"@Name"`
		Text any    `json:"#text"`
	}
	var items []item
	if json.Unmarshal(p.EventData.Data, &items) != nil {
		var one item
		if json.Unmarshal(p.EventData.Data, &one) != nil {
			return nil
		}
		items = []item{one}
	}
	out := make([]evtx.Field, 0, len(items))
	for _, it := range items {
		name := it.Name
		if name == "" {
			name = "Data"
		}
		var v string
		switch t := it.Text.(type) {
		case nil:
		case string:
			v = t
		default:
			b, _ := json.Marshal(t)
			v = string(b)
		}
		out = append(out, evtx.Field{Name: name, Value: v})
	}
	return out
}
