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
	if t, ok := decimalSeconds(s); ok {
		return t, true
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

// decimalSeconds reads Unix seconds with a decimal fraction exactly
// ("1320279554.496300", Zeek's ts), which a float64 would round.
func decimalSeconds(s string) (time.Time, bool) {
	i := strings.IndexByte(s, '.')
	if i <= 0 || i == len(s)-1 || !digits(s[:i]) || !digits(s[i+1:]) {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || sec <= 0 || sec >= 1e11 {
		return time.Time{}, false
	}
	frac := s[i+1:]
	if len(frac) > 9 {
		frac = frac[:9]
	}
	ns, _ := strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
	return time.Unix(sec, int64(ns)).UTC(), true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
