package evtx

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
)

// Options tune how a stream renders values.
type Options struct {
	// CodePage is the Windows code page of AnsiString values (1250–1258,
	// 874, 437, 850, 866, 28591–28605 …). 0 means 1252, the code page of
	// western Windows installations and libevtx's default.
	CodePage int
	// Recover delivers the live records after a broken record header in a
	// chunk (found by scanning forward), counted in RecordsRecovered.
	// Off, the walk stops at the break as libevtx's does and those records
	// are counted as skipped (the ingest's counts are still compared with
	// libevtx's).
	Recover bool
	// XML fills Event.XML with the record's Event Viewer-style XML.
	XML bool
}

// ansiDecoder returns the decoder for a Windows code page; an unknown code
// page falls back to 1252.
func ansiDecoder(cp int) *encoding.Decoder {
	if cp == 0 {
		cp = 1252
	}
	if c, ok := codePages()[cp]; ok {
		return c.NewDecoder()
	}
	return charmap.Windows1252.NewDecoder()
}

// CodePageSupported reports whether Options.CodePage may name cp (0 is the
// default, 1252).
func CodePageSupported(cp int) bool {
	_, ok := codePages()[cp]
	return ok || cp == 0
}

// codePages maps Windows code page numbers to their decoders.
func codePages() map[int]*charmap.Charmap {
	return map[int]*charmap.Charmap{
		437: charmap.CodePage437, 850: charmap.CodePage850, 852: charmap.CodePage852,
		855: charmap.CodePage855, 858: charmap.CodePage858, 860: charmap.CodePage860,
		862: charmap.CodePage862, 863: charmap.CodePage863, 865: charmap.CodePage865,
		866: charmap.CodePage866, 874: charmap.Windows874,
		1250: charmap.Windows1250, 1251: charmap.Windows1251, 1252: charmap.Windows1252,
		1253: charmap.Windows1253, 1254: charmap.Windows1254, 1255: charmap.Windows1255,
		1256: charmap.Windows1256, 1257: charmap.Windows1257, 1258: charmap.Windows1258,
		20866: charmap.KOI8R, 21866: charmap.KOI8U,
		28591: charmap.ISO8859_1, 28592: charmap.ISO8859_2, 28593: charmap.ISO8859_3,
		28594: charmap.ISO8859_4, 28595: charmap.ISO8859_5, 28596: charmap.ISO8859_6,
		28597: charmap.ISO8859_7, 28598: charmap.ISO8859_8, 28599: charmap.ISO8859_9,
		28603: charmap.ISO8859_13, 28605: charmap.ISO8859_15,
	}
}

// renderer renders typed values; it remembers the values it could not
// decode so the reader can report them.
type renderer struct {
	buf  []byte
	ansi *encoding.Decoder
	bad  []string // reasons, one per undecodable value
}

const fileTimeLayout = "2006-01-02T15:04:05.0000000Z"

// filetime converts a FILETIME (100 ns ticks since 1601-01-01 UTC) to a
// time. Every FILETIME is representable (years 1601 to ~60056).
func filetime(ft uint64) time.Time {
	const unixAt1601 = -11644473600 // seconds
	return time.Unix(int64(ft/1e7)+unixAt1601, int64(ft%1e7)*100).UTC()
}

func formatFileTime(ft uint64) string {
	return filetime(ft).Format(fileTimeLayout)
}

// raw returns a value's bytes.
func (r *renderer) raw(v value) []byte { return r.buf[v.off : v.off+v.n] }

// undecodable keeps the raw bytes as upper-case hex and notes the problem.
func (r *renderer) undecodable(v value, why string) string {
	r.bad = append(r.bad, fmt.Sprintf("value of type 0x%02x (%d bytes) at chunk offset 0x%x: %s", v.typ, v.n, v.off, why))
	return strings.ToUpper(hex.EncodeToString(r.raw(v)))
}

// render renders one value as libevtx does (table in doc.go).
func (r *renderer) render(v value) string {
	b := r.raw(v)
	if v.typ&tArray != 0 {
		return r.renderArray(v)
	}
	s, ok := r.scalar(v.typ, b)
	if !ok {
		return r.undecodable(v, "size does not match the type")
	}
	return s
}

// fixedSize is the size of the fixed-size value types, 0 for the others.
func fixedSize(t uint8) int {
	switch t {
	case tInt8, tUInt8:
		return 1
	case tInt16, tUInt16:
		return 2
	case tInt32, tUInt32, tReal32, tHexInt32, tBool:
		return 4
	case tInt64, tUInt64, tReal64, tHexInt64, tFileTime:
		return 8
	case tGUID, tSysTime:
		return 16
	}
	return 0
}

// scalar renders a single value of type t from b; ok is false when b does
// not fit the type.
func (r *renderer) scalar(t uint8, b []byte) (string, bool) {
	le := binary.LittleEndian
	if n := fixedSize(t); n != 0 && len(b) != n {
		return "", false
	}
	switch t {
	case tNull:
		return "", true
	case tString:
		if len(b)%2 != 0 {
			return "", false
		}
		return utf16String(b), true
	case tAnsiString:
		b = trimNUL(b)
		if r.ansi == nil {
			return string(b), true
		}
		s, err := r.ansi.Bytes(b)
		if err != nil {
			return "", false
		}
		return string(s), true
	case tInt8:
		return strconv.FormatInt(int64(int8(b[0])), 10), true
	case tUInt8:
		return strconv.FormatUint(uint64(b[0]), 10), true
	case tInt16:
		return strconv.FormatInt(int64(int16(le.Uint16(b))), 10), true
	case tUInt16:
		return strconv.FormatUint(uint64(le.Uint16(b)), 10), true
	case tInt32:
		return strconv.FormatInt(int64(int32(le.Uint32(b))), 10), true
	case tUInt32:
		return strconv.FormatUint(uint64(le.Uint32(b)), 10), true
	case tInt64:
		return strconv.FormatInt(int64(le.Uint64(b)), 10), true
	case tUInt64:
		return strconv.FormatUint(le.Uint64(b), 10), true
	case tReal32:
		return formatReal(float64(math.Float32frombits(le.Uint32(b))), 32), true
	case tReal64:
		return formatReal(math.Float64frombits(le.Uint64(b)), 64), true
	case tBool:
		if le.Uint32(b) != 0 {
			return "true", true
		}
		return "false", true
	case tBinary:
		return strings.ToUpper(hex.EncodeToString(b)), true
	case tGUID:
		return formatGUID(b), true
	case tSizeT:
		// libevtx shows a pointer-sized value in decimal.
		switch len(b) {
		case 4:
			return strconv.FormatUint(uint64(le.Uint32(b)), 10), true
		case 8:
			return strconv.FormatUint(le.Uint64(b), 10), true
		}
		return "", false
	case tFileTime:
		return formatFileTime(le.Uint64(b)), true
	case tSysTime:
		return formatSystemTime(b), true
	case tSID:
		return formatSID(b)
	case tHexInt32:
		return "0x" + strconv.FormatUint(uint64(le.Uint32(b)), 16), true
	case tHexInt64:
		return "0x" + strconv.FormatUint(le.Uint64(b), 16), true
	}
	return "", false
}

func formatReal(f float64, bits int) string {
	return strconv.FormatFloat(f, 'g', -1, bits)
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// formatGUID renders a GUID braced and upper case, as libevtx and Event
// Viewer show it.
func formatGUID(b []byte) string {
	le := binary.LittleEndian
	return fmt.Sprintf("{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}",
		le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]), b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
}

// formatSystemTime renders a SYSTEMTIME (year, month, day of week, day,
// hour, minute, second, milliseconds) as ISO 8601 UTC with milliseconds,
// field by field, so even an invalid date is shown as written.
func formatSystemTime(b []byte) string {
	le := binary.LittleEndian
	f := func(i int) uint16 { return le.Uint16(b[2*i:]) }
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", f(0), f(1), f(3), f(4), f(5), f(6), f(7))
}

// formatSID renders a SID as S-revision-authority-sub-…
func formatSID(b []byte) (string, bool) {
	if len(b) < 8 {
		return "", false
	}
	n := int(b[1])
	if len(b) != 8+4*n {
		return "", false
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var s strings.Builder
	s.WriteString("S-")
	s.WriteString(strconv.Itoa(int(b[0])))
	s.WriteByte('-')
	if auth >= 1<<32 {
		fmt.Fprintf(&s, "0x%012X", auth)
	} else {
		s.WriteString(strconv.FormatUint(auth, 10))
	}
	for i := 0; i < n; i++ {
		s.WriteByte('-')
		s.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return s.String(), true
}

// renderArray renders an array value (type | 0x80): its items joined with
// ", ". String arrays are NUL-separated; fixed-size types are split by
// size; SIDs by their own length.
func (r *renderer) renderArray(v value) string {
	b := r.raw(v)
	t := v.typ &^ tArray
	var parts []string
	switch t {
	case tString:
		if len(b)%2 != 0 {
			return r.undecodable(v, "odd length of a string array")
		}
		b = trimNULPairs(b)
		start := 0
		for i := 0; i+1 < len(b); i += 2 {
			if b[i] == 0 && b[i+1] == 0 {
				parts = append(parts, utf16String(b[start:i]))
				start = i + 2
			}
		}
		if start < len(b) || len(b) > 0 {
			parts = append(parts, utf16String(b[start:]))
		}
	case tAnsiString:
		for _, p := range strings.Split(string(trimNUL(b)), "\x00") {
			s, _ := r.scalar(tAnsiString, []byte(p))
			parts = append(parts, s)
		}
	case tSID:
		for len(b) > 0 {
			if len(b) < 8 || len(b) < 8+4*int(b[1]) {
				return r.undecodable(v, "truncated SID in an array")
			}
			n := 8 + 4*int(b[1])
			s, _ := formatSID(b[:n])
			parts = append(parts, s)
			b = b[n:]
		}
	default:
		size := arrayItemSize(t, len(b))
		if size == 0 || len(b)%size != 0 {
			return r.undecodable(v, "array length does not match the item type")
		}
		for i := 0; i < len(b); i += size {
			s, ok := r.scalar(t, b[i:i+size])
			if !ok {
				return r.undecodable(v, "bad array item")
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

func trimNULPairs(b []byte) []byte {
	for len(b) >= 2 && b[len(b)-1] == 0 && b[len(b)-2] == 0 {
		b = b[:len(b)-2]
	}
	return b
}

// arrayItemSize is the size of one item of an array of fixed-size type t
// holding n bytes: SizeT items are 8 bytes, or 4 when n is not a multiple
// of 8 (a 32-bit writer); 0 for types of no fixed size.
func arrayItemSize(t uint8, n int) int {
	if t == tSizeT {
		if n%8 != 0 {
			return 4
		}
		return 8
	}
	return fixedSize(t)
}
