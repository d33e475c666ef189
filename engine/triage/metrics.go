package triage

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Metrics are a case's event counts, Hayabusa's eid-, computer- and
// log-metrics in one: each table lists counts with their percentage of
// the case's events.
type Metrics struct {
	Total      int          `json:"total"`
	First      time.Time    `json:"first"`
	Last       time.Time    `json:"last"`
	ByEvent    []EventCount `json:"by_event"`
	ByChannel  []NameCount  `json:"by_channel"`
	ByComputer []NameCount  `json:"by_computer"`
	ByFile     []FileCount  `json:"by_file"`
	// Interval is the width of the OverTime buckets: hour, day, month or
	// year, the finest that keeps at most MaxBuckets of them.
	Interval string       `json:"interval"`
	OverTime []TimeBucket `json:"over_time"`
}

// EventCount is one event ID of one channel and provider.
type EventCount struct {
	EventID  uint32  `json:"event_id"`
	Channel  string  `json:"channel"`
	Provider string  `json:"provider"`
	Count    int     `json:"count"`
	Percent  float64 `json:"percent"`
}

// NameCount is one channel's or computer's events.
type NameCount struct {
	Name    string  `json:"name"`
	Count   int     `json:"count"`
	Percent float64 `json:"percent"`
}

// FileCount is one evidence file's events.
type FileCount struct {
	FileID  uint64    `json:"file_id"`
	Name    string    `json:"name"`
	Count   int       `json:"count"`
	Percent float64   `json:"percent"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}

// TimeBucket is the events of one interval starting at Time (UTC).
type TimeBucket struct {
	Time    time.Time `json:"time"`
	Count   int       `json:"count"`
	Percent float64   `json:"percent"`
}

// MaxBuckets bounds the over-time table.
const MaxBuckets = 400

// Percent is n as a percentage of total, to two decimals.
func Percent(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return float64(int64(float64(n)*10000/float64(total)+0.5)) / 100
}

// MetricsOf computes the metrics of s; ByFile is left for the caller,
// who knows the files.
func (s *Summary) MetricsOf() Metrics {
	m := Metrics{Total: s.Events.Count, First: s.Events.First.UTC(), Last: s.Events.Last.UTC(),
		ByEvent: []EventCount{}, ByChannel: []NameCount{}, ByComputer: []NameCount{}, ByFile: []FileCount{}, OverTime: []TimeBucket{}}
	channels := map[string]int{}
	for k, n := range s.ByEvent {
		m.ByEvent = append(m.ByEvent, EventCount{EventID: k.EventID, Channel: k.Channel, Provider: k.Provider, Count: n, Percent: Percent(n, m.Total)})
		channels[k.Channel] += n
	}
	slices.SortFunc(m.ByEvent, func(a, b EventCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Channel, b.Channel), cmp.Compare(a.EventID, b.EventID),
			strings.Compare(a.Provider, b.Provider))
	})
	m.ByChannel = nameCounts(channels, m.Total)
	hosts := map[string]int{}
	for name, h := range s.Hosts {
		hosts[name] = h.Count
	}
	m.ByComputer = nameCounts(hosts, m.Total)
	m.Interval, m.OverTime = s.overTime()
	return m
}

func nameCounts(src map[string]int, total int) []NameCount {
	out := make([]NameCount, 0, len(src))
	for name, n := range src {
		out = append(out, NameCount{Name: name, Count: n, Percent: Percent(n, total)})
	}
	slices.SortFunc(out, func(a, b NameCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Name, b.Name))
	})
	return out
}

// overTime buckets the hourly counts by the finest interval that keeps
// at most MaxBuckets non-empty buckets, in time order.
func (s *Summary) overTime() (string, []TimeBucket) {
	trunc := []struct {
		name string
		fn   func(time.Time) time.Time
	}{
		{"hour", func(t time.Time) time.Time { return t }},
		{"day", func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }},
		{"month", func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC) }},
		{"year", func(t time.Time) time.Time { return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for i, tr := range trunc {
		by := map[time.Time]int{}
		for h, n := range s.Hours {
			by[tr.fn(time.Unix(h*3600, 0).UTC())] += n
		}
		if len(by) > MaxBuckets && i < len(trunc)-1 {
			continue
		}
		out := make([]TimeBucket, 0, len(by))
		for t, n := range by {
			out = append(out, TimeBucket{Time: t, Count: n, Percent: Percent(n, s.Events.Count)})
		}
		slices.SortFunc(out, func(a, b TimeBucket) int { return a.Time.Compare(b.Time) })
		return tr.name, out
	}
	return "", nil
}

// Tables names the metrics tables CSV can write.
var Tables = []string{"event", "channel", "computer", "file", "time"}

// ErrUnknownTable is returned for a table name not in Tables.
var ErrUnknownTable = errors.New("unknown metrics table")

// WriteCSV writes one metrics table (one of Tables) as CSV with a header
// row; times are RFC 3339 UTC, percentages have two decimals.
func (m Metrics) WriteCSV(w io.Writer, table string) error {
	cw := csv.NewWriter(w)
	pct := func(p float64) string { return strconv.FormatFloat(p, 'f', 2, 64) }
	n := strconv.Itoa
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	var rows [][]string
	switch table {
	case "event":
		rows = append(rows, []string{"event_id", "channel", "provider", "count", "percent"})
		for _, r := range m.ByEvent {
			rows = append(rows, []string{strconv.FormatUint(uint64(r.EventID), 10), r.Channel, r.Provider, n(r.Count), pct(r.Percent)})
		}
	case "channel", "computer":
		list := m.ByChannel
		if table == "computer" {
			list = m.ByComputer
		}
		rows = append(rows, []string{table, "count", "percent"})
		for _, r := range list {
			rows = append(rows, []string{r.Name, n(r.Count), pct(r.Percent)})
		}
	case "file":
		rows = append(rows, []string{"file_id", "file", "count", "percent", "first", "last"})
		for _, r := range m.ByFile {
			rows = append(rows, []string{strconv.FormatUint(r.FileID, 10), r.Name, n(r.Count), pct(r.Percent), ts(r.First), ts(r.Last)})
		}
	case "time":
		rows = append(rows, []string{m.Interval, "count", "percent"})
		for _, r := range m.OverTime {
			rows = append(rows, []string{ts(r.Time), n(r.Count), pct(r.Percent)})
		}
	default:
		return fmt.Errorf("%w %q (want one of %s)", ErrUnknownTable, table, strings.Join(Tables, ", "))
	}
	for _, r := range rows {
		if err := cw.Write(defuse(r)); err != nil {
			return fmt.Errorf("write metrics CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write metrics CSV: %w", err)
	}
	return nil
}

// defuse keeps spreadsheets from running event text as a formula (CSV
// injection): a cell starting with = + - @ or a tab/CR gets a leading
// apostrophe; a lone "-" is left alone.
func defuse(row []string) []string {
	for i, c := range row {
		if len(c) > 1 {
			switch c[0] {
			case '=', '+', '-', '@', '\t', '\r':
				row[i] = "'" + c
			}
		}
	}
	return row
}
