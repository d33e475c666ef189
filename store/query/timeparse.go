package query

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// granularity is the precision a time was written with: a date alone
// means the whole day.
type granularity int

const (
	gExact granularity = iota // fractional seconds, or now±N
	gSecond
	gMinute
	gHour
	gDay
	gMonth
	gYear
)

// after returns the start of the period after the one t starts.
func (g granularity) after(t time.Time) time.Time {
	switch g {
	case gSecond:
		return t.Add(time.Second)
	case gMinute:
		return t.Add(time.Minute)
	case gHour:
		return t.Add(time.Hour)
	case gDay:
		return t.AddDate(0, 0, 1)
	case gMonth:
		return t.AddDate(0, 1, 0)
	case gYear:
		return t.AddDate(1, 0, 0)
	}
	return t
}

// relTime matches now, now-24h, now+7d (units s, m, h, d, w).
var relTime = regexp.MustCompile(`^(?i)now(?:\s*([+-])\s*(\d{1,9})\s*([smhdw]))?$`)

var errTimeSyntax = errors.New("expected a date such as 2019-03-01, 2019-03-01T12:00:00Z or now-24h")

// timeLayout is a time format and the precision it expresses.
type timeLayout struct {
	layout string
	g      granularity
}

// parseTime parses an absolute or relative time. Times without a zone are
// UTC. The granularity is how much the text leaves open.
func parseTime(s string, now time.Time) (time.Time, granularity, error) {
	s = strings.TrimSpace(s)
	if m := relTime.FindStringSubmatch(s); m != nil {
		t := now.UTC()
		if m[1] != "" {
			n, _ := strconv.ParseInt(m[2], 10, 64) // ≤ 9 digits: cannot fail
			unit := time.Second
			switch strings.ToLower(m[3]) {
			case "m":
				unit = time.Minute
			case "h":
				unit = time.Hour
			case "d":
				unit = 24 * time.Hour
			case "w":
				unit = 7 * 24 * time.Hour
			}
			if n > math.MaxInt64/int64(unit) {
				return time.Time{}, 0, fmt.Errorf("time %q is out of range", s)
			}
			d := time.Duration(n) * unit
			if m[1] == "-" {
				d = -d
			}
			t = t.Add(d)
		}
		return t, gExact, checkTime(s, t, gExact)
	}
	switch strings.ToLower(s) {
	case "today":
		y, mo, d := now.UTC().Date()
		return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC), gDay, nil
	case "yesterday":
		y, mo, d := now.UTC().Date()
		return time.Date(y, mo, d-1, 0, 0, 0, 0, time.UTC), gDay, nil
	}
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:] // "2019-03-01 12:00" (quoted)
	}
	layouts := [...]timeLayout{
		{"2006-01-02T15:04:05", gSecond},
		{"2006-01-02T15:04", gMinute},
		{"2006-01-02T15", gHour},
		{"2006-01-02", gDay},
		{"2006-01", gMonth},
		{"2006", gYear},
	}
	for _, l := range layouts {
		for _, layout := range [2]string{l.layout, l.layout + "Z07:00"} {
			t, err := time.ParseInLocation(layout, s, time.UTC)
			if err != nil {
				continue
			}
			g := l.g
			if g == gSecond && strings.ContainsAny(s[min(len(s), 19):], ".,") {
				g = gExact
			}
			t = t.UTC()
			return t, g, checkTime(s, t, g)
		}
	}
	return time.Time{}, 0, errTimeSyntax
}

// checkTime rejects times Bleve cannot search: it stores them as int64
// nanoseconds and refuses query bounds outside 1677-12-01 to 2262-04-11
// (query.MinRFC3339CompatibleTime and MaxRFC3339CompatibleTime).
func checkTime(s string, t time.Time, g granularity) error {
	minT := time.Date(1677, 12, 1, 0, 0, 0, 0, time.UTC)
	maxT := time.Date(2262, 4, 11, 11, 59, 59, 0, time.UTC)
	if t.Before(minT) || g.after(t).After(maxT) {
		return fmt.Errorf("time %q is out of range (1678 to 2262)", s)
	}
	return nil
}
