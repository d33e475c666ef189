package sigma

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// matchKind says how one compiled value is tested against one event value.
type matchKind uint8

const (
	kEquals   matchKind = iota // whole value equals lit
	kPrefix                    // value starts with lit
	kSuffix                    // value ends with lit
	kContains                  // value contains lit
	kGlob                      // wildcard pattern g
	kAny                       // pattern "*": every value
	kRegex                     // re matches somewhere in the value
	kCIDR                      // value is an IP address inside pfx
	kLT                        // value is a number < num
	kLTE                       // value is a number <= num
	kGT                        // value is a number > num
	kGTE                       // value is a number >= num
)

// matcher is one compiled Sigma value. String kinds compare against the
// lower-cased event value (lit and g are lower-cased at compile time)
// unless cased is set; re, cidr and the numeric kinds use the raw value.
type matcher struct {
	kind  matchKind
	cased bool
	lit   string
	// alt is the braced form a GUID literal also matches (see guidForm):
	// "{g}" for equality, "{g" for a prefix, "g}" for a suffix; "" when
	// lit is no GUID.
	alt  string
	lit1 int32    // kContains: literal index id + 1; 0 when not indexed
	pre  []prelit // kRegex: one of these must occur (lower-cased) first
	g    *glob
	re   *regexp.Regexp
	pfx  netip.Prefix
	num  float64
}

// prelit is a literal a regular expression needs, with its literal
// index id + 1 (0: not indexed).
type prelit struct {
	lit string
	id1 int32
}

// matchVal tests event value vi of p.
func (m *matcher) matchVal(p *prepared, vi int32) bool {
	if m.kind == kRegex && len(m.pre) > 0 && !m.prefilter(p, vi) {
		return false
	}
	if m.kind > kGlob {
		return m.matchRaw(p.vals[vi].raw)
	}
	var v string
	if m.cased {
		v = p.vals[vi].raw
	} else {
		v = p.low(vi)
	}
	switch m.kind {
	case kEquals:
		return v == m.lit || (m.alt != "" && v == m.alt)
	case kPrefix:
		return strings.HasPrefix(v, m.lit) || (m.alt != "" && strings.HasPrefix(v, m.alt))
	case kSuffix:
		return strings.HasSuffix(v, m.lit) || (m.alt != "" && strings.HasSuffix(v, m.alt))
	case kContains:
		if m.lit1 != 0 && len(v) >= p.indexMin {
			return p.contains(vi, m.lit1-1)
		}
		return strings.Contains(v, m.lit)
	case kGlob:
		return m.g.match(v)
	}
	return false
}

// prefilter reports whether value vi holds one of the literals the
// regular expression needs.
func (m *matcher) prefilter(p *prepared, vi int32) bool {
	low := p.low(vi)
	for _, pl := range m.pre {
		if pl.id1 != 0 && len(low) >= p.indexMin {
			if p.contains(vi, pl.id1-1) {
				return true
			}
		} else if strings.Contains(low, pl.lit) {
			return true
		}
	}
	return false
}

// matchRaw tests the kinds that read the raw value.
func (m *matcher) matchRaw(raw string) bool {
	switch m.kind {
	case kAny:
		return true
	case kRegex:
		return m.re.MatchString(raw)
	case kCIDR:
		a, err := netip.ParseAddr(strings.TrimSpace(raw))
		if err != nil {
			return false
		}
		return m.pfx.Contains(a.Unmap())
	case kLT, kLTE, kGT, kGTE:
		f, ok := parseNumber(raw)
		if !ok {
			return false
		}
		switch m.kind {
		case kLT:
			return f < m.num
		case kLTE:
			return f <= m.num
		case kGT:
			return f > m.num
		default:
			return f >= m.num
		}
	}
	return false
}

// parseNumber reads a decimal, float or 0x-prefixed hex number.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			return 0, false
		}
		return float64(u), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// rawValue is one value from a rule as written: the scalar's text, or null.
type rawValue struct {
	text string
	null bool
}

// valueMode is the family of a field's modifiers, decided by the first
// modifier that changes how values are read.
type valueMode uint8

const (
	modeString valueMode = iota
	modeRegex
	modeCIDR
	modeExists
	modeFieldref
	modeNumber
)

// fieldSpec is a field's values after its modifiers were applied.
type fieldSpec struct {
	matchers []matcher
	all      bool     // every value must match (the all modifier)
	null     bool     // a null value: field absent or empty
	exists   int8     // modeExists: +1 exists: true, -1 exists: false
	refs     []string // modeFieldref: the referenced field names
	refKind  matchKind
	cased    bool
	mode     valueMode
}

// maxExpansion bounds the values one rule value may expand into (windash
// on a value with many dashes grows as 5^n).
const maxExpansion = 4096

// compileValues applies a field's modifiers to its values. valueMap, when
// not nil, translates rule values (lower-cased keys) to the event's
// spelling before anything else.
func compileValues(mods []string, vals []rawValue, valueMap map[string]string) (fieldSpec, error) {
	var spec fieldSpec
modes:
	for _, m := range mods {
		switch strings.ToLower(m) {
		case "re":
			spec.mode = modeRegex
		case "cidr":
			spec.mode = modeCIDR
		case "exists":
			spec.mode = modeExists
		case "fieldref":
			spec.mode = modeFieldref
		case "lt", "lte", "gt", "gte":
			spec.mode = modeNumber
		default:
			continue
		}
		break modes
	}
	switch spec.mode {
	case modeRegex:
		return compileRegex(mods, vals)
	case modeCIDR:
		return compileCIDR(mods, vals)
	case modeExists:
		return compileExists(mods, vals)
	case modeNumber:
		return compileNumber(mods, vals)
	case modeFieldref:
		return compileFieldref(mods, vals)
	}

	// String mode: resolve escapes, then run the modifiers in order.
	var strs []sstring
	for _, v := range vals {
		if v.null {
			spec.null = true
			continue
		}
		if to, ok := valueMap[strings.ToLower(v.text)]; ok {
			strs = append(strs, literalSString(to))
			continue
		}
		strs = append(strs, parseSString(v.text))
	}
	for _, m := range mods {
		var err error
		switch strings.ToLower(m) {
		case "contains":
			strs = mapS(strs, func(s sstring) sstring { return s.withStar(true, true) })
		case "startswith":
			strs = mapS(strs, func(s sstring) sstring { return s.withStar(false, true) })
		case "endswith":
			strs = mapS(strs, func(s sstring) sstring { return s.withStar(true, false) })
		case "all":
			spec.all = true
		case "cased":
			spec.cased = true
		case "windash":
			strs, err = expandWindash(strs)
		case "base64":
			strs, err = encodeEach(strs, m, func(b string) []string {
				return []string{base64.StdEncoding.EncodeToString([]byte(b))}
			})
		case "base64offset":
			strs, err = encodeEach(strs, m, base64Offsets)
		case "utf16le", "wide":
			strs, err = encodeEach(strs, m, func(b string) []string { return []string{utf16Bytes(b, false, false)} })
		case "utf16be":
			strs, err = encodeEach(strs, m, func(b string) []string { return []string{utf16Bytes(b, true, false)} })
		case "utf16":
			strs, err = encodeEach(strs, m, func(b string) []string { return []string{utf16Bytes(b, false, true)} })
		case "expand":
			return spec, fmt.Errorf("modifier expand (placeholders) is not supported")
		default:
			return spec, fmt.Errorf("unknown or misplaced modifier %q", m)
		}
		if err != nil {
			return spec, err
		}
	}
	for _, s := range strs {
		spec.matchers = append(spec.matchers, stringMatcher(s, spec.cased))
	}
	return spec, nil
}

// guidForm reports whether s is a GUID, bare or in braces, in any case,
// and returns it bare and lower-cased. Windows renders GUIDs braced
// (Event Viewer, libevtx), other tools and the SigmaHQ test data bare; the
// rules write either.
func guidForm(s string) (string, bool) {
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return "", false
		}
	}
	return strings.ToLower(s), true
}

// guidMatcher matches a GUID literal (bare, lower case) braced or bare and
// in any case: the bare form is a substring of the braced one, so a
// contains needs nothing more; equality, prefix and suffix also try the
// braced form.
func guidMatcher(kind matchKind, bare string) matcher {
	m := matcher{kind: kind, lit: bare}
	switch kind {
	case kEquals:
		m.alt = "{" + bare + "}"
	case kPrefix:
		m.alt = "{" + bare
	case kSuffix:
		m.alt = bare + "}"
	}
	return m
}

func mapS(in []sstring, f func(sstring) sstring) []sstring {
	out := make([]sstring, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// stringMatcher turns a wildcard pattern into the cheapest matcher that
// implements it: plain string operations for the usual shapes, a glob only
// when wildcards sit inside the text.
func stringMatcher(s sstring, cased bool) matcher {
	s = s.normalized()
	if !cased {
		low := make(sstring, len(s))
		for i, p := range s {
			low[i] = piece{lit: lowerString(p.lit), wild: p.wild}
		}
		s = low
	}
	m := matcher{cased: cased}
	n := len(s)
	switch {
	case n == 0:
		m.kind, m.lit = kEquals, ""
	case n == 1 && s[0].wild == '*':
		m.kind = kAny
	case !s.hasWildcards():
		m.kind, m.lit = kEquals, s.plain()
	case n == 2 && s[0].wild == 0 && s[1].wild == '*':
		m.kind, m.lit = kPrefix, s[0].lit
	case n == 2 && s[0].wild == '*' && s[1].wild == 0:
		m.kind, m.lit = kSuffix, s[1].lit
	case n == 3 && s[0].wild == '*' && s[1].wild == 0 && s[2].wild == '*':
		m.kind, m.lit = kContains, s[1].lit
	default:
		m.kind, m.g = kGlob, newGlob(s)
	}
	if m.kind == kEquals || m.kind == kPrefix || m.kind == kSuffix || m.kind == kContains {
		if bare, ok := guidForm(m.lit); ok {
			m = guidMatcher(m.kind, bare)
		}
	}
	return m
}

// encodeEach applies an encoding modifier to wildcard-free values.
func encodeEach(in []sstring, mod string, enc func(string) []string) ([]sstring, error) {
	var out []sstring
	for _, s := range in {
		if s.hasWildcards() {
			return nil, fmt.Errorf("modifier %s cannot encode a value with wildcards", mod)
		}
		for _, e := range enc(s.plain()) {
			out = append(out, literalSString(e))
		}
	}
	return out, nil
}

// base64Offsets is the base64offset modifier: the value base64-encoded at
// each of the three byte alignments it can have inside a longer encoded
// text, cut to the characters that do not depend on the neighbouring bytes
// (the Sigma specification's algorithm, as in pySigma).
func base64Offsets(b string) []string {
	starts := [3]int{0, 2, 3}
	ends := [3]int{0, -3, -2} // 0: up to the end
	out := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", i) + b))
		end := len(enc)
		if e := ends[(len(b)+i)%3]; e != 0 {
			end += e
		}
		if starts[i] >= end {
			continue
		}
		out = append(out, enc[starts[i]:end])
	}
	return out
}

// utf16Bytes encodes s as UTF-16 (little-endian unless be), with a
// little-endian byte order mark when bom is set (Sigma's utf16 modifier).
func utf16Bytes(s string, be, bom bool) string {
	var b strings.Builder
	put := func(u uint16) {
		if be {
			b.WriteByte(byte(u >> 8))
			b.WriteByte(byte(u))
		} else {
			b.WriteByte(byte(u))
			b.WriteByte(byte(u >> 8))
		}
	}
	if bom {
		b.WriteString("\xff\xfe")
	}
	for _, u := range utf16.Encode([]rune(s)) {
		put(u)
	}
	return b.String()
}

// windashChars are the characters the windash modifier lets a leading
// dash or slash of a command-line flag stand for: hyphen-minus, slash, en
// dash, em dash and horizontal bar.
var windashChars = [...]string{"-", "/", "\u2013", "\u2014", "\u2015"}

// isWordRune is Python's \w for str patterns, which pySigma's windash
// regular expression \B[-/]\b relies on.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r)
}

// expandWindash implements the windash modifier: every '-' or '/' that is
// not preceded by a word character and is followed by one (the regular
// expression \B[-/]\b applied to each literal run) is replaced by each of
// the five windashChars; values with n such characters expand to 5^n.
func expandWindash(in []sstring) ([]sstring, error) {
	var out []sstring
	for _, s := range in {
		type pos struct{ piece, off int }
		var ps []pos
		for pi, p := range s {
			if p.wild != 0 {
				continue
			}
			lit := p.lit
			for off := 0; off < len(lit); off++ {
				c := lit[off]
				if c != '-' && c != '/' {
					continue
				}
				if off > 0 {
					r, _ := utf8.DecodeLastRuneInString(lit[:off])
					if isWordRune(r) {
						continue
					}
				}
				if off+1 >= len(lit) {
					continue
				}
				r, _ := utf8.DecodeRuneInString(lit[off+1:])
				if !isWordRune(r) {
					continue
				}
				ps = append(ps, pos{pi, off})
			}
		}
		if len(ps) == 0 {
			out = append(out, s)
			continue
		}
		total := 1
		for range ps {
			total *= len(windashChars)
			if total > maxExpansion {
				return nil, fmt.Errorf("modifier windash expands to more than %d values", maxExpansion)
			}
		}
		for combo := 0; combo < total; combo++ {
			c := combo
			choice := make([]int, len(ps))
			for i := range ps {
				choice[i] = c % len(windashChars)
				c /= len(windashChars)
			}
			ns := make(sstring, len(s))
			copy(ns, s)
			// Rewrite each piece from its last position backwards so the
			// earlier offsets stay valid.
			for i := len(ps) - 1; i >= 0; i-- {
				p := ps[i]
				lit := ns[p.piece].lit
				ns[p.piece].lit = lit[:p.off] + windashChars[choice[i]] + lit[p.off+1:]
			}
			out = append(out, ns)
		}
	}
	return out, nil
}

func compileRegex(mods []string, vals []rawValue) (fieldSpec, error) {
	spec := fieldSpec{mode: modeRegex}
	flags := ""
	for _, m := range mods {
		switch strings.ToLower(m) {
		case "re":
		case "i", "ignorecase":
			flags += "i"
		case "m", "multiline":
			flags += "m"
		case "s", "dotall":
			flags += "s"
		case "all":
			spec.all = true
		default:
			return spec, fmt.Errorf("modifier %q cannot be combined with re", m)
		}
	}
	for _, v := range vals {
		if v.null {
			spec.null = true
			continue
		}
		expr := v.text
		if flags != "" {
			expr = "(?" + flags + ")" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return spec, fmt.Errorf("regular expression %q is not valid RE2: %w", v.text, err)
		}
		m := matcher{kind: kRegex, re: re}
		for _, l := range regexLiterals(expr) {
			m.pre = append(m.pre, prelit{lit: l})
		}
		spec.matchers = append(spec.matchers, m)
	}
	return spec, nil
}

func compileCIDR(mods []string, vals []rawValue) (fieldSpec, error) {
	spec := fieldSpec{mode: modeCIDR}
	for _, m := range mods {
		switch strings.ToLower(m) {
		case "cidr":
		case "all":
			spec.all = true
		default:
			return spec, fmt.Errorf("modifier %q cannot be combined with cidr", m)
		}
	}
	for _, v := range vals {
		if v.null {
			spec.null = true
			continue
		}
		p, err := netip.ParsePrefix(strings.TrimSpace(v.text))
		if err != nil {
			return spec, fmt.Errorf("cidr value %q: %w", v.text, err)
		}
		spec.matchers = append(spec.matchers, matcher{kind: kCIDR, pfx: p.Masked()})
	}
	return spec, nil
}

func compileExists(mods []string, vals []rawValue) (fieldSpec, error) {
	spec := fieldSpec{mode: modeExists}
	if len(mods) != 1 {
		return spec, fmt.Errorf("modifier exists cannot be combined with others")
	}
	if len(vals) != 1 || vals[0].null {
		return spec, fmt.Errorf("modifier exists needs one value, true or false")
	}
	switch strings.ToLower(strings.TrimSpace(vals[0].text)) {
	case "true", "yes":
		spec.exists = 1
	case "false", "no":
		spec.exists = -1
	default:
		return spec, fmt.Errorf("modifier exists needs true or false, not %q", vals[0].text)
	}
	return spec, nil
}

func compileNumber(mods []string, vals []rawValue) (fieldSpec, error) {
	spec := fieldSpec{mode: modeNumber}
	var kind matchKind
	for _, m := range mods {
		switch strings.ToLower(m) {
		case "lt":
			kind = kLT
		case "lte":
			kind = kLTE
		case "gt":
			kind = kGT
		case "gte":
			kind = kGTE
		case "all":
			spec.all = true
		default:
			return spec, fmt.Errorf("modifier %q cannot be combined with %s", m, strings.Join(mods, "|"))
		}
	}
	for _, v := range vals {
		if v.null {
			return spec, fmt.Errorf("comparison modifiers need a number, not null")
		}
		f, ok := parseNumber(v.text)
		if !ok {
			return spec, fmt.Errorf("comparison modifiers need a number, not %q", v.text)
		}
		spec.matchers = append(spec.matchers, matcher{kind: kind, num: f})
	}
	return spec, nil
}

func compileFieldref(mods []string, vals []rawValue) (fieldSpec, error) {
	spec := fieldSpec{mode: modeFieldref, refKind: kEquals}
	for _, m := range mods {
		switch strings.ToLower(m) {
		case "fieldref":
		case "contains":
			spec.refKind = kContains
		case "startswith":
			spec.refKind = kPrefix
		case "endswith":
			spec.refKind = kSuffix
		case "cased":
			spec.cased = true
		case "all":
			spec.all = true
		default:
			return spec, fmt.Errorf("modifier %q cannot be combined with fieldref", m)
		}
	}
	for _, v := range vals {
		if v.null || strings.TrimSpace(v.text) == "" {
			return spec, fmt.Errorf("modifier fieldref needs a field name")
		}
		spec.refs = append(spec.refs, strings.TrimSpace(v.text))
	}
	return spec, nil
}

// lowerString lower-cases s. ASCII text that is already lower case comes
// back unchanged without allocation; invalid UTF-8 bytes are kept as they
// are (strings.ToLower would replace them).
func lowerString(s string) string {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || (c >= 'A' && c <= 'Z') {
			break
		}
	}
	if i == len(s) {
		return s
	}
	return string(appendLower(make([]byte, 0, len(s)), s))
}

// appendLower appends the lower-cased s to dst (see lowerString).
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			dst = append(dst, c)
			i++
			continue
		}
		if r == '\u017f' {
			// Latin long s: Unicode case folding equates it with s, and
			// lower-casing alone would not.
			r = 's'
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
		i += n
	}
	return dst
}
