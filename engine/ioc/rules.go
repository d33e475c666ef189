package ioc

import (
	"bytes"
	"slices"
)

// Boundary rules. Every function here works on the lowered view of one field
// value, s, and a candidate occurrence s[i:j] of an IOC's pattern. Bytes of
// 0x80 and above (parts of UTF-8 sequences) count as letters everywhere, so
// "alice" does not match inside "alicé".

// kind selects the boundary rule applied to an Aho-Corasick candidate.
type kind uint8

const (
	kindSubstring  kind = iota // url, command, string, registry: no check
	kindDomain                 // name or subdomain
	kindHostname               // whole token; FQDN suffix allowed after a bare name
	kindHostDotted             // whole token, for a host name containing a dot
	kindUser                   // whole user token
	kindUserUPN                // user@domain variant of DOMAIN\user: may go on with ".suffix"
	kindSID                    // whole SID token
	kindFilename               // whole path component
	kindFilepath               // path view: whole path or directory prefix
	kindRegHKU                 // HKCU rest, must sit below HKU\<SID>
)

// pathView reports whether a kind is matched on the path view (see
// pathViewInto) rather than the lowered value.
func (k kind) pathView() bool { return k == kindFilepath }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isWordByte: letters, digits, '_' and non-ASCII.
func isWordByte(c byte) bool { return isAlnum(c) || c == '_' || c >= 0x80 }

// isHostByte: characters of one DNS/NetBIOS label.
func isHostByte(c byte) bool { return isAlnum(c) || c == '-' || c == '_' || c >= 0x80 }

// isUserByte: characters that continue an account name ("alice.smith",
// "alice2", "DC01$").
func isUserByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '-' || c == '$' || c >= 0x80
}

// isNameSep: characters that end a file name in logged text: path
// separators, quotes, whitespace and the punctuation that joins fields in
// composite values and command lines.
func isNameSep(c byte) bool {
	switch c {
	case '\\', '/', '"', '\'', ' ', '\t', '\r', '\n', '=', ':', ',', ';',
		'(', ')', '[', ']', '<', '>', '|', '*', '?':
		return true
	}
	return false
}

func isSIDByte(c byte) bool { return isAlnum(c) || c == '-' || c >= 0x80 }

// check applies rule k to the candidate s[i:j].
func check(k kind, s []byte, i, j int) bool {
	switch k {
	case kindSubstring:
		return true
	case kindDomain:
		return (i == 0 || s[i-1] == '.' || !isHostByte(s[i-1])) && domainEnd(s, j)
	case kindHostname:
		return (i == 0 || !(isHostByte(s[i-1]) || s[i-1] == '.')) && (j == len(s) || !isHostByte(s[j]))
	case kindHostDotted:
		return (i == 0 || !(isHostByte(s[i-1]) || s[i-1] == '.')) && domainEnd(s, j)
	case kindUser:
		return (i == 0 || !isUserByte(s[i-1])) && (j == len(s) || !isUserByte(s[j]))
	case kindUserUPN:
		return (i == 0 || !isUserByte(s[i-1])) &&
			(j == len(s) || !isUserByte(s[j]) || s[j] == '.' && j+1 < len(s) && isHostByte(s[j+1]))
	case kindSID:
		return (i == 0 || !isSIDByte(s[i-1])) && (j == len(s) || !isSIDByte(s[j]))
	case kindFilename:
		return (i == 0 || isNameSep(s[i-1])) && nameEnd(s, j)
	case kindFilepath:
		before := i == 0 || s[i] == '\\' || isNameSep(s[i-1])
		return before && (s[j-1] == '\\' || nameEnd(s, j))
	case kindRegHKU:
		return belowUsersHiveSID(s, i)
	}
	return false
}

// domainEnd: s[j:] does not continue the name ("evil.com.au", "evil.comx"),
// but may end a sentence ("evil.com.") or go on with a path or port.
func domainEnd(s []byte, j int) bool {
	if j == len(s) {
		return true
	}
	if s[j] == '.' {
		return j+1 == len(s) || !isHostByte(s[j+1])
	}
	return !isHostByte(s[j])
}

// nameEnd: s[j:] does not continue a file name; a trailing '.' ending a
// sentence is allowed.
func nameEnd(s []byte, j int) bool {
	if j == len(s) || isNameSep(s[j]) {
		return true
	}
	return s[j] == '.' && (j+1 == len(s) || isNameSep(s[j+1]))
}

// usersHives returns the spellings of HKEY_USERS in lowered text.
func usersHives() [3]string { return [...]string{`hku`, `hkey_users`, `\registry\user`} }

// belowUsersHiveSID reports whether s[:i] ends with "<users hive>\<SID>",
// e.g. "hku\s-1-5-21-1-2-3-1001" (also "…-1001_classes").
func belowUsersHiveSID(s []byte, i int) bool {
	p := bytes.LastIndexByte(s[:i], '\\')
	if p < 0 || !bytes.HasPrefix(s[p+1:i], []byte("s-1-")) {
		return false
	}
	pre := s[:p]
	for _, h := range usersHives() {
		if bytes.HasSuffix(pre, []byte(h)) {
			k := len(pre) - len(h)
			if k == 0 || !isWordByte(pre[k-1]) {
				return true
			}
		}
	}
	return false
}

// foldInto appends the lowered form of v to dst: ASCII bytes are lowered
// in place, and a value with non-ASCII bytes goes through strings.ToLower
// (so IOC patterns and field values are folded the same way).
func foldInto(dst []byte, v string) []byte {
	dst = slices.Grow(dst[:0], len(v))[:len(v)]
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 0x80 {
			return append(dst[:0], bytes.ToLower([]byte(v))...)
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
	return dst
}

// fold returns the lowered form of v as foldInto builds it.
func fold(v string) string { return string(foldInto(nil, v)) }

// needsPathView reports whether the path view of s differs from s.
func needsPathView(s []byte) bool {
	return bytes.IndexByte(s, '/') >= 0 || bytes.Contains(s, []byte(`\\`))
}

// pathViewInto appends s with '/' turned into '\' and runs of '\' collapsed
// to one.
func pathViewInto(dst, s []byte) []byte {
	dst = dst[:0]
	for _, c := range s {
		if c == '/' {
			c = '\\'
		}
		if c == '\\' && len(dst) > 0 && dst[len(dst)-1] == '\\' {
			continue
		}
		dst = append(dst, c)
	}
	return dst
}
