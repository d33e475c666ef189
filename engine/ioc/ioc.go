package ioc

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Type is the kind of an IOC; it decides how its value is matched.
type Type string

// The IOC types. Their string values are what CSV files and the API use.
const (
	TypeIP       Type = "ip"       // IPv4/IPv6 address or CIDR prefix
	TypeDomain   Type = "domain"   // DNS name; also matches subdomains
	TypeURL      Type = "url"      // substring
	TypeMD5      Type = "md5"      // 32 hex digits
	TypeSHA1     Type = "sha1"     // 40 hex digits
	TypeSHA256   Type = "sha256"   // 64 hex digits
	TypeFilename Type = "filename" // last path component, e.g. mimikatz.exe
	TypeFilepath Type = "filepath" // full or partial path, e.g. C:\Tools\x.exe
	TypeUsername Type = "username" // alice, CORP\alice or alice@corp.local
	TypeSID      Type = "sid"      // S-1-5-21-…
	TypeHostname Type = "hostname" // NetBIOS name or FQDN
	TypeCommand  Type = "command"  // command-line fragment, substring
	TypeRegistry Type = "registry" // registry key or value path, substring
	TypeString   Type = "string"   // any text, substring
)

// MaxValueLen is the longest IOC value accepted, in bytes.
const MaxValueLen = 4096

// ErrInvalid reports an IOC whose type is unknown or whose value does not
// fit its type. Errors from Validate, Compile, ParseText and ParseCSV wrap
// it.
var ErrInvalid = errors.New("invalid ioc")

// typeList returns the types in documentation order.
func typeList() [14]Type {
	return [...]Type{
		TypeIP, TypeDomain, TypeURL, TypeMD5, TypeSHA1, TypeSHA256,
		TypeFilename, TypeFilepath, TypeUsername, TypeSID, TypeHostname,
		TypeCommand, TypeRegistry, TypeString,
	}
}

// sidRe matches a security identifier in any letter case.
var sidRe = regexp.MustCompile(`^[Ss]-1-[0-9]+(-[0-9]+)*$`)

// Types returns every IOC type, in a stable order (for UIs and help text).
func Types() []Type {
	all := typeList()
	return all[:]
}

// ParseType returns the Type named by s, ignoring case and surrounding
// space. It fails with ErrInvalid for an unknown name.
func ParseType(s string) (Type, error) {
	t := Type(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range typeList() {
		if k == t {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w: unknown type %q", ErrInvalid, s)
}

// IOC is one indicator of compromise of a case.
type IOC struct {
	ID          string `json:"id"`
	Type        Type   `json:"type"`
	Value       string `json:"value"`
	Enabled     bool   `json:"enabled"`
	Description string `json:"description"`
	Source      string `json:"source"`
}

// Validate checks ioc and returns it with its Type and Value normalised:
// surrounding space is trimmed everywhere; IPs become netip's canonical form
// (IPv4-mapped IPv6 unmapped, CIDRs masked, /32 and /128 written as plain
// addresses); hashes and domains are lower-cased; defanged ip, domain, url
// and hostname values ("hxxp://evil[.]com") are refanged; a domain loses a
// leading "*." and a trailing dot; a SID gets an upper-case "S". Other
// values keep their spelling, since matching ignores case anyway. The error
// wraps ErrInvalid and names the value.
func Validate(ioc IOC) (IOC, error) {
	t, err := ParseType(string(ioc.Type))
	if err != nil {
		return ioc, fmt.Errorf("%w: unknown type %q for value %q", ErrInvalid, ioc.Type, ioc.Value)
	}
	ioc.Type = t
	v, err := normalise(t, ioc.Value)
	if err != nil {
		return ioc, err
	}
	ioc.Value = v
	return ioc, nil
}

// invalid builds an ErrInvalid error naming the value (shortened to 64
// bytes).
func invalid(t Type, v, reason string) error {
	if len(v) > 64 {
		v = strings.ToValidUTF8(v[:64], "") + "…"
	}
	return fmt.Errorf("%w: %s %q: %s", ErrInvalid, t, v, reason)
}

// normalise validates v for type t and returns its canonical form, at most
// MaxValueLen bytes of valid UTF-8.
func normalise(t Type, raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", invalid(t, raw, "not valid UTF-8 text")
	}
	v, err := normaliseValid(t, raw)
	if err == nil && len(v) > MaxValueLen {
		return "", invalid(t, v, fmt.Sprintf("longer than %d bytes", MaxValueLen))
	}
	return v, err
}

func normaliseValid(t Type, raw string) (string, error) {
	v := strings.TrimSpace(raw)
	switch t {
	case TypeIP, TypeDomain, TypeURL, TypeHostname:
		v = refang(v)
	}
	if v == "" {
		return "", invalid(t, raw, "empty value")
	}
	if len(v) > MaxValueLen {
		return "", invalid(t, v, fmt.Sprintf("longer than %d bytes", MaxValueLen))
	}
	switch t {
	case TypeIP:
		p, err := parseIPIOC(v)
		if err != nil {
			return "", invalid(t, v, "not an IP address or CIDR prefix")
		}
		if p.IsSingleIP() {
			return p.Addr().String(), nil
		}
		return p.String(), nil
	case TypeMD5, TypeSHA1, TypeSHA256:
		want := map[Type]int{TypeMD5: 32, TypeSHA1: 40, TypeSHA256: 64}[t]
		if len(v) != want || !allHex(v) {
			return "", invalid(t, v, fmt.Sprintf("want %d hex digits", want))
		}
		return strings.ToLower(v), nil
	case TypeDomain:
		v = strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(v), "*."), ".")
		if !isDomainName(v) {
			return "", invalid(t, v, "not a domain name (want labels joined by dots, e.g. evil.com)")
		}
		return v, nil
	case TypeHostname:
		v = strings.TrimRight(strings.TrimLeft(v, `\`), ".")
		if v == "" || strings.ContainsAny(v, " \t\r\n\\/@:") {
			return "", invalid(t, v, `a host name has no spaces, slashes, '@' or ':'`)
		}
		return v, nil
	case TypeFilename:
		if strings.ContainsAny(v, `\/`) {
			return "", invalid(t, v, "a file name has no path separators (use type filepath)")
		}
		return v, nil
	case TypeUsername:
		if strings.Count(v, `\`) > 1 || strings.ContainsAny(v, "/\r\n\t") ||
			strings.HasPrefix(v, `\`) || strings.HasSuffix(v, `\`) ||
			strings.HasPrefix(v, "@") || strings.HasSuffix(v, "@") {
			return "", invalid(t, v, `want user, DOMAIN\user or user@domain`)
		}
		return v, nil
	case TypeSID:
		if !sidRe.MatchString(v) {
			return "", invalid(t, v, "not a SID (want S-1-…)")
		}
		return "S" + v[1:], nil
	case TypeURL, TypeCommand, TypeRegistry, TypeString, TypeFilepath:
		return v, nil
	}
	return "", invalid(t, v, "unknown type")
}

// parseIPIOC parses an address or CIDR prefix, unmapping IPv4-mapped IPv6
// forms, and returns it as a masked prefix (a single address as /32 or
// /128).
func parseIPIOC(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("parse prefix: %w", err)
		}
		a := p.Addr()
		if a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(v, "["), "]"))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("parse address: %w", err)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, errors.New("zoned address")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return s != ""
}

// isDomainName reports whether v (lower case) is at least two non-empty
// labels of host characters joined by dots.
func isDomainName(v string) bool {
	if !strings.Contains(v, ".") {
		return false
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !isHostByte(label[i]) {
				return false
			}
		}
	}
	return true
}

// refang undoes common defanging: hxxp(s)://, [.], (.), {.}, [dot], [:],
// [://] and [@].
func refang(v string) string {
	if !strings.ContainsAny(v, "[({") && !strings.Contains(strings.ToLower(v), "hxxp") {
		return v
	}
	r := strings.NewReplacer(
		"[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "(dot)", ".",
		"[://]", "://", "[:]", ":", "[@]", "@", "[at]", "@",
	)
	v = r.Replace(v)
	lower := strings.ToLower(v)
	for _, p := range []string{"hxxps://", "hxxp://"} {
		if strings.HasPrefix(lower, p) {
			v = "http" + v[4:]
			break
		}
	}
	return v
}
