package ioc

import (
	"bytes"
	"net/netip"
)

// Token byte classes: the characters of IP and hash tokens.
const (
	clsDigit uint8 = 1 << iota
	clsHexLetter
	clsDot
	clsColon
)

// tokenClasses returns the class of every byte (0 for bytes that end a
// token). Compile stores it in the Matcher.
func tokenClasses() [256]uint8 {
	var t [256]uint8
	for c := '0'; c <= '9'; c++ {
		t[c] = clsDigit
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = clsHexLetter
		t[c-'a'+'A'] = clsHexLetter
	}
	t['.'] = clsDot
	t[':'] = clsColon
	return t
}

// scanTokens finds hash and IP tokens in s (lowered) in one pass over the
// maximal runs of hex digits, '.' and ':'.
//
// A hash candidate is a maximal run of hex digits inside such a run whose
// length is that of a hash IOC and that is not glued to a letter, so a hash
// never matches inside a longer hex string, nor after "0x".
//
// An IP candidate is a run with a digit and a dot, or with two colons. It
// must not be glued to a letter or '_'; a trailing '.' (end of sentence)
// and a single leading or trailing ':' ("addr:10.0.0.1") are not part of
// it. IPv6 tokens are parsed by net/netip, so zero-compressed, expanded and
// IPv4-mapped forms all normalise to one address; "10.0.0.1:445" yields
// 10.0.0.1.
func (st *state) scanTokens(s []byte) {
	m := st.m
	cls := &m.cls
	hashes, ips := len(m.hashes) > 0, len(m.ips) > 0
	for i := 0; i < len(s); {
		if cls[s[i]] == 0 {
			i++
			continue
		}
		j, seen, colons := i, uint8(0), 0
		for ; j < len(s); j++ {
			c := cls[s[j]]
			if c == 0 {
				break
			}
			seen |= c
			if c == clsColon {
				colons++
			}
		}
		if ips && (seen&clsDigit != 0 && seen&clsDot != 0 || colons >= 2) {
			st.ipToken(s, i, j)
		}
		if hashes && j-i >= 32 {
			st.hexRuns(s, i, j)
		}
		i = j
	}
}

// hexRuns looks up the maximal hex runs of s[a:b] of hash length.
func (st *state) hexRuns(s []byte, a, b int) {
	m := st.m
	for i := a; i < b; {
		if !isHex(s[i]) {
			i++
			continue
		}
		j := i + 1
		for j < b && isHex(s[j]) {
			j++
		}
		if n := j - i; n < len(m.hashLen) && m.hashLen[n] &&
			(i == 0 || !isWordByte(s[i-1]) || s[i-1] == '_') &&
			(j == len(s) || !isWordByte(s[j]) || s[j] == '_') {
			if iocs, ok := m.hashes[string(s[i:j])]; ok {
				st.addAll(iocs)
			}
		}
		i = j
	}
}

func (st *state) ipToken(s []byte, a, b int) {
	for b > a && s[b-1] == '.' {
		b--
	}
	if b-a >= 2 && s[a] == ':' && s[a+1] != ':' {
		a++
	}
	if b-a >= 2 && s[b-1] == ':' && s[b-2] != ':' {
		b--
	}
	if b-a < 2 || a > 0 && isWordByte(s[a-1]) || b < len(s) && isWordByte(s[b]) {
		return
	}
	tok := s[a:b]
	colons := bytes.Count(tok, []byte(":"))
	if colons == 0 {
		if addr, ok := parseV4(tok); ok {
			st.lookupIP(addr)
		}
		return
	}
	if colons >= 2 && plausibleV6(tok) {
		if addr, err := netip.ParseAddr(string(tok)); err == nil {
			st.lookupIP(addr.Unmap())
			return
		}
	}
	// "10.0.0.1:445", "::ffff:10.0.0.1:445" and the like: try the dotted
	// pieces between colons as IPv4.
	if bytes.IndexByte(tok, '.') < 0 {
		return
	}
	for len(tok) > 0 {
		k := bytes.IndexByte(tok, ':')
		if k < 0 {
			k = len(tok)
		}
		if addr, ok := parseV4(tok[:k]); ok {
			st.lookupIP(addr)
		}
		if k == len(tok) {
			break
		}
		tok = tok[k+1:]
	}
}

// lookupIP probes the prefix map once per distinct prefix length.
func (st *state) lookupIP(addr netip.Addr) {
	m := st.m
	lens := m.ipLen6
	if addr.Is4() {
		lens = m.ipLen4
	}
	for _, n := range lens {
		p, err := addr.Prefix(n)
		if err != nil {
			continue
		}
		if iocs, ok := m.ips[p]; ok {
			st.addAll(iocs)
		}
	}
}

// parseV4 parses a dotted quad. Unlike netip it accepts leading zeros
// ("010.000.000.001"), which some logs write; each part still has at most
// three digits and is at most 255.
func parseV4(b []byte) (netip.Addr, bool) {
	var out [4]byte
	part, digits, n := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits++
			n = n*10 + int(c-'0')
			if digits > 3 || n > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			if digits == 0 || part == 3 {
				return netip.Addr{}, false
			}
			out[part] = byte(n)
			part, digits, n = part+1, 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if part != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	out[3] = byte(n)
	return netip.AddrFrom4(out), true
}

// plausibleV6 is a cheap filter before netip.ParseAddr (which allocates):
// colon-separated groups of at most four hex digits, at most nine of them,
// and only the last may be a dotted quad. Timestamps such as
// "17:16:28.214161" fail it.
func plausibleV6(tok []byte) bool {
	groups := 0
	for len(tok) > 0 {
		k := bytes.IndexByte(tok, ':')
		last := k < 0
		if last {
			k = len(tok)
		}
		g := tok[:k]
		groups++
		if groups > 9 {
			return false
		}
		if bytes.IndexByte(g, '.') >= 0 {
			if !last || bytes.Count(g, []byte(".")) != 3 {
				return false
			}
		} else if len(g) > 4 {
			return false
		}
		if last {
			break
		}
		tok = tok[k+1:]
	}
	return true
}
