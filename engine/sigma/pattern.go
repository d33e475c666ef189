package sigma

import (
	"strings"
	"unicode/utf8"
)

// piece is one part of a Sigma string value: a literal run of text, or a
// wildcard ('*' any run of characters, '?' exactly one character).
type piece struct {
	lit  string
	wild byte // 0 for a literal, '*' or '?'
}

// sstring is a Sigma string value with its escapes resolved: literal runs
// and wildcards kept apart, so that modifiers can rewrite the literal text
// without ever mistaking a literal '*' for a wildcard.
type sstring []piece

// parseSString resolves Sigma's escaping: '*' and '?' are wildcards, a
// backslash escapes '*', '?' and itself, and a backslash before any other
// character (or at the end) is a literal backslash. This is the rule of the
// Sigma specification as implemented by pySigma, so "C:\Windows\*" ends in a
// literal star while "C:\Windows\\*" ends in a backslash and a wildcard.
func parseSString(s string) sstring {
	var out sstring
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, piece{lit: lit.String()})
			lit.Reset()
		}
	}
	escaped := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if escaped {
			if c != '*' && c != '?' && c != '\\' {
				lit.WriteByte('\\')
			}
			lit.WriteByte(c)
			escaped = false
			continue
		}
		switch c {
		case '\\':
			escaped = true
		case '*', '?':
			flush()
			out = append(out, piece{wild: c})
		default:
			lit.WriteByte(c)
		}
	}
	if escaped {
		lit.WriteByte('\\')
	}
	flush()
	return out
}

// literalSString wraps plain text (no wildcards) as an sstring.
func literalSString(s string) sstring {
	if s == "" {
		return nil
	}
	return sstring{{lit: s}}
}

// hasWildcards reports whether s holds a '*' or '?' wildcard.
func (s sstring) hasWildcards() bool {
	for _, p := range s {
		if p.wild != 0 {
			return true
		}
	}
	return false
}

// plain returns the literal text of s; valid only without wildcards.
func (s sstring) plain() string {
	var b strings.Builder
	for _, p := range s {
		b.WriteString(p.lit)
	}
	return b.String()
}

// withStar returns s with a '*' wildcard added at the start and/or end,
// unless one is already there (the contains/startswith/endswith modifiers).
func (s sstring) withStar(front, back bool) sstring {
	out := make(sstring, 0, len(s)+2)
	if front && (len(s) == 0 || s[0].wild != '*') {
		out = append(out, piece{wild: '*'})
	}
	out = append(out, s...)
	if back && (len(out) == 0 || out[len(out)-1].wild != '*') {
		out = append(out, piece{wild: '*'})
	}
	return out
}

// normalized merges adjacent literals and collapses runs of '*'.
func (s sstring) normalized() sstring {
	var out sstring
	for _, p := range s {
		if p.wild == 0 && p.lit == "" {
			continue
		}
		if n := len(out); n > 0 {
			last := &out[n-1]
			if p.wild == 0 && last.wild == 0 {
				last.lit += p.lit
				continue
			}
			if p.wild == '*' && last.wild == '*' {
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// glob matches a text against a wildcard pattern. The pattern is split at
// '*' into segments; each segment is literal text in which '?' stands for
// exactly one character (rune). Leftmost matching of each segment is then
// correct, so matching is linear in practice and never backtracks.
type glob struct {
	segs     [][]piece // segments between '*'; no '*' inside
	anchorL  bool      // no '*' before the first segment
	anchorR  bool      // no '*' after the last segment
	onlyStar bool      // pattern is just '*'
}

func newGlob(s sstring) *glob {
	g := &glob{anchorL: true, anchorR: true}
	var cur []piece
	for i, p := range s {
		if p.wild == '*' {
			if i == 0 {
				g.anchorL = false
			}
			if i == len(s)-1 {
				g.anchorR = false
			}
			if len(cur) > 0 {
				g.segs = append(g.segs, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, p)
	}
	if len(cur) > 0 {
		g.segs = append(g.segs, cur)
	}
	g.onlyStar = len(g.segs) == 0 && !g.anchorL
	return g
}

// segMatchAt reports whether seg matches text at byte offset i, and the
// offset just past the match.
func segMatchAt(seg []piece, text string, i int) (int, bool) {
	for _, p := range seg {
		if p.wild == '?' {
			if i >= len(text) {
				return 0, false
			}
			_, n := utf8.DecodeRuneInString(text[i:])
			i += n
			continue
		}
		if !strings.HasPrefix(text[i:], p.lit) {
			return 0, false
		}
		i += len(p.lit)
	}
	return i, true
}

// segFind finds the leftmost match of seg in text at or after from.
func segFind(seg []piece, text string, from int) (start, end int, ok bool) {
	// Anchor the search on the first literal of the segment when there is
	// one before any '?': strings.Index is much faster than stepping.
	if seg[0].wild == 0 {
		for from <= len(text) {
			k := strings.Index(text[from:], seg[0].lit)
			if k < 0 {
				return 0, 0, false
			}
			s := from + k
			if e, ok := segMatchAt(seg, text, s); ok {
				return s, e, true
			}
			from = s + 1
		}
		return 0, 0, false
	}
	for s := from; s <= len(text); {
		if e, ok := segMatchAt(seg, text, s); ok {
			return s, e, true
		}
		if s == len(text) {
			break
		}
		_, n := utf8.DecodeRuneInString(text[s:])
		s += n
	}
	return 0, 0, false
}

func (g *glob) match(text string) bool {
	if g.onlyStar {
		return true
	}
	if len(g.segs) == 0 {
		return text == ""
	}
	segs := g.segs
	pos := 0
	if g.anchorL {
		e, ok := segMatchAt(segs[0], text, 0)
		if !ok {
			return false
		}
		if len(segs) == 1 && g.anchorR {
			return e == len(text)
		}
		pos = e
		segs = segs[1:]
	}
	if g.anchorR && len(segs) > 0 {
		last := segs[len(segs)-1]
		segs = segs[:len(segs)-1]
		for _, seg := range segs {
			_, e, ok := segFind(seg, text, pos)
			if !ok {
				return false
			}
			pos = e
		}
		if len(last) == 1 && last[0].wild == 0 {
			return len(text)-pos >= len(last[0].lit) && strings.HasSuffix(text, last[0].lit)
		}
		// The last segment must end exactly at the end of text: try every
		// start at or after pos (a segment with '?' has a fixed rune count,
		// so at most a few starts can end at len(text)).
		for s := len(text); s >= pos; s-- {
			if s < len(text) && !utf8.RuneStart(text[s]) {
				continue
			}
			if e, ok := segMatchAt(last, text, s); ok && e == len(text) {
				return true
			}
		}
		return false
	}
	for _, seg := range segs {
		_, e, ok := segFind(seg, text, pos)
		if !ok {
			return false
		}
		pos = e
	}
	return true
}
