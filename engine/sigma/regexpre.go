package sigma

import (
	"regexp/syntax"
	"strings"
)

// minPrefilterLen is the shortest literal worth testing before a regular
// expression runs.
const minPrefilterLen = 3

// regexLiterals returns lower-cased ASCII literals one of which must occur
// in any text the expression matches (case-insensitively), or nil when no
// useful set can be told. A regular expression is then only run on values
// that contain one of them, which the literal index answers cheaply.
func regexLiterals(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	alts, ok := required(re.Simplify())
	if !ok || len(alts) == 0 || len(alts) > 16 {
		return nil
	}
	for _, a := range alts {
		if len(a) < minPrefilterLen {
			return nil
		}
	}
	return alts
}

// required returns literals one of which every match of re contains.
func required(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		s, ok := asciiLower(re.Rune)
		return []string{s}, ok && s != ""
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		var best []string
		bestScore := -1
		consider := func(alts []string) {
			if sc := score(alts); sc > bestScore {
				best, bestScore = alts, sc
			}
		}
		var run strings.Builder
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				if s, ok := asciiLower(sub.Rune); ok {
					run.WriteString(s)
					continue
				}
			}
			if run.Len() > 0 {
				consider([]string{run.String()})
				run.Reset()
			}
			if alts, ok := required(sub); ok {
				consider(alts)
			}
		}
		if run.Len() > 0 {
			consider([]string{run.String()})
		}
		return best, bestScore >= 0
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			alts, ok := required(sub)
			if !ok {
				return nil, false
			}
			all = append(all, alts...)
		}
		return all, len(all) > 0
	}
	return nil, false
}

// score ranks literal sets: the shortest literal counts, then fewer
// alternatives.
func score(alts []string) int {
	if len(alts) == 0 {
		return -1
	}
	m := len(alts[0])
	for _, a := range alts[1:] {
		m = min(m, len(a))
	}
	return m*64 - len(alts)
}

// asciiLower lower-cases runes that are all ASCII.
func asciiLower(rs []rune) (string, bool) {
	b := make([]byte, len(rs))
	for i, r := range rs {
		if r >= 0x80 {
			return "", false
		}
		c := byte(r)
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return string(b), true
}
