package tally

import (
	"strconv"
	"strings"
	"time"
)

// isoLayouts are the text forms ParseTime accepts, tried in order. A
// time without a zone is taken as UTC (the rule per format, in input's
// doc.go, says which fields can be like that and why they are used).
var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999 -0700",
	"2006-01-02 15:04:05.999999999 Z07:00",
	"2006-01-02 15:04:05.999999999 MST",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999 MST",
	"01/02/2006 15:04:05.999999999",
	"01/02/2006 15:04:05",
	"02/Jan/2006:15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 2006 MST",
	"20060102-150405",
	"Mon, 02 Jan 2006 15:04:05 MST",
	"2006-01-02",
}

// ParseTime reads a timestamp as text: ISO 8601 with 'T' or a space,
// with or without fraction and zone (none = UTC), a few other common
// forms, or a number (see ParseEpoch). ok is false when nothing fits.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if c := s[0]; c >= '0' && c <= '9' || c == '-' {
		if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "eE") {
			return ParseEpoch(f)
		}
	}
	for _, l := range isoLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// ParseEpoch reads a Unix time whose unit follows from its magnitude:
// seconds up to 1e11 (year 5138), milliseconds up to 1e14, microseconds
// (Timesketch's "timestamp") up to 1e17, nanoseconds beyond. Zero and
// negative numbers are not times.
func ParseEpoch(f float64) (time.Time, bool) {
	switch {
	case f <= 0:
		return time.Time{}, false
	case f < 1e11:
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
	case f < 1e14:
		return time.UnixMicro(int64(f * 1e3)).UTC(), true
	case f < 1e17:
		return time.UnixMicro(int64(f)).UTC(), true
	default:
		return time.Unix(0, int64(f)).UTC(), true
	}
}
