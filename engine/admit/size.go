package admit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Byte multiples used in sizes and budgets.
const (
	KiB uint64 = 1 << 10
	MiB uint64 = 1 << 20
	GiB uint64 = 1 << 30
	TiB uint64 = 1 << 40
)

// ErrInvalidSize reports a size string ParseSize cannot read.
var ErrInvalidSize = errors.New("invalid size")

// unitMultiplier returns the multiplier of a lower-cased unit suffix. All
// units are binary (1024-based), as in docker's --memory and Go's
// GOMEMLIMIT: for a memory budget "2G" and "2GB" mean 2 GiB, never 2×10⁹
// bytes.
func unitMultiplier(unit string) (uint64, bool) {
	switch unit {
	case "", "b":
		return 1, true
	case "k", "kb", "kib":
		return KiB, true
	case "m", "mb", "mib":
		return MiB, true
	case "g", "gb", "gib":
		return GiB, true
	case "t", "tb", "tib":
		return TiB, true
	}
	return 0, false
}

// ParseSize parses a byte size such as "512MiB", "2G", "1.5GiB", "64 mb" or
// plain bytes "1048576". Units are case-insensitive and binary (K, KB, KiB
// all mean 1024 bytes; likewise M, G, T). A fractional number needs a unit
// and is rounded down to whole bytes. Negative numbers and sizes above
// math.MaxUint64 are rejected. Errors wrap ErrInvalidSize.
func ParseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" {
		return 0, fmt.Errorf("parse size %q: %w: no number", s, ErrInvalidSize)
	}
	mult, ok := unitMultiplier(unit)
	if !ok {
		return 0, fmt.Errorf("parse size %q: %w: unknown unit %q", s, ErrInvalidSize, unit)
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse size %q: %w: %w", s, ErrInvalidSize, err)
		}
		if n > math.MaxUint64/mult {
			return 0, fmt.Errorf("parse size %q: %w: too large", s, ErrInvalidSize)
		}
		return n * mult, nil
	}
	if mult == 1 {
		return 0, fmt.Errorf("parse size %q: %w: fractional bytes", s, ErrInvalidSize)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("parse size %q: %w: %w", s, ErrInvalidSize, err)
	}
	v := f * float64(mult)
	// float64(math.MaxUint64) rounds up to 2⁶⁴, so >= rejects exactly the
	// values that do not fit.
	if v >= float64(math.MaxUint64) {
		return 0, fmt.Errorf("parse size %q: %w: too large", s, ErrInvalidSize)
	}
	return uint64(v), nil
}

// formatSize renders n bytes for logs and sources, e.g. "1.5 GiB".
func formatSize(n uint64) string {
	switch {
	case n >= TiB:
		return strconv.FormatFloat(float64(n)/float64(TiB), 'f', 1, 64) + " TiB"
	case n >= GiB:
		return strconv.FormatFloat(float64(n)/float64(GiB), 'f', 1, 64) + " GiB"
	case n >= MiB:
		return strconv.FormatFloat(float64(n)/float64(MiB), 'f', 1, 64) + " MiB"
	case n >= KiB:
		return strconv.FormatFloat(float64(n)/float64(KiB), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatUint(n, 10) + " B"
}
