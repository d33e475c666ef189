package ioc

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"casescope/evtx"
)

// matchOne compiles one IOC and reports whether it hits a data field
// holding value.
func matchOne(t *testing.T, typ Type, ioc, value string) bool {
	t.Helper()
	m, err := Compile([]IOC{{ID: "x", Type: typ, Value: ioc, Enabled: true}})
	if err != nil {
		t.Fatalf("Compile(%s %q): %v", typ, ioc, err)
	}
	// An account field: usernames match only there (TestFieldFits).
	hits := m.Match(&evtx.Event{Data: []evtx.Field{{Name: "TargetUserName", Value: value}}}, nil)
	return len(hits) > 0
}

// TestFieldFits is the case: a username IOC typed as such must
// not match a file path holding the name (Image, CommandLine,
// TargetFilename), only account fields; other types match anywhere.
func TestFieldFits(t *testing.T) {
	m, err := Compile([]IOC{{ID: "u", Type: TypeUsername, Value: "jdoe", Enabled: true},
		{ID: "f", Type: TypeFilename, Value: "jdoe.exe", Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	ev := &evtx.Event{Data: []evtx.Field{
		{Name: "Image", Value: `C:\Users\jdoe\jdoe.exe`},
		{Name: "CommandLine", Value: `C:\Users\jdoe\jdoe.exe /c whoami`},
		{Name: "TargetFilename", Value: `C:\Users\jdoe\AppData\x.txt`},
		{Name: "TargetUserName", Value: "jdoe"},
		{Name: "EventData.SubjectAccountName", Value: "CORP\\jdoe"},
	}}
	got := map[string][]string{}
	for _, h := range m.Match(ev, nil) {
		got[h.IOCID] = append(got[h.IOCID], h.Field)
	}
	if want := []string{"TargetUserName", "EventData.SubjectAccountName"}; !slices.Equal(got["u"], want) {
		t.Errorf("username hits: got %v, want %v", got["u"], want)
	}
	if want := []string{"Image", "CommandLine"}; !slices.Equal(got["f"], want) {
		t.Errorf("filename hits: got %v, want %v", got["f"], want)
	}
}

func TestMatchRules(t *testing.T) {
	const (
		md5    = "975b45b669930b0cc773eaf2b414206f"
		sha256 = "3656f37a1c6951ec4496fabb8ee957d3a6e3c276d5a3785476b482c9c0d39751"
		sysmon = "SHA1=8C5437CD76A89EC983E3B364E219944DA3DAB464,MD5=975B45B669930B0CC773EAF2B414206F,SHA256=3656F37A1C6951EC4496FABB8EE957D3A6E3C276D5A3785476B482C9C0D3,IMPHASH=00000000000000000000000000000000"
	)
	tests := []struct {
		name  string
		typ   Type
		ioc   string
		value string
		want  bool
	}{
		// IPv4 tokens.
		{"ip exact", TypeIP, "10.0.0.1", "10.0.0.1", true},
		{"ip longer last octet", TypeIP, "10.0.0.1", "10.0.0.12", false},
		{"ip longer first octet", TypeIP, "10.0.0.1", "110.0.0.1", false},
		{"ip five parts", TypeIP, "10.0.0.1", "10.0.0.1.5", false},
		{"ip inside five parts", TypeIP, "0.0.1.5", "10.0.0.1.5", false},
		{"ip with port", TypeIP, "10.0.0.1", "10.0.0.1:445", true},
		{"ip in url", TypeIP, "10.0.0.1", "http://10.0.0.1/a", true},
		{"ip in unc", TypeIP, "10.0.0.1", `\\10.0.0.1\c$`, true},
		{"ip end of sentence", TypeIP, "10.0.0.1", "connect to 10.0.0.1.", true},
		{"ip after label colon", TypeIP, "10.0.0.1", "Address:10.0.0.1", true},
		{"ip glued to letter", TypeIP, "10.0.0.1", "x10.0.0.1", false},
		{"ip glued to hex letter", TypeIP, "10.0.0.1", "a10.0.0.1", false},
		{"ip 0x prefix", TypeIP, "10.0.0.1", "0x10.0.0.1", false},
		{"ip leading zeros", TypeIP, "10.0.0.1", "010.000.000.001", true},
		{"ip version string", TypeIP, "10.0.17.1", "10.0.17763.1", false},
		{"ip mapped in 4624", TypeIP, "10.0.0.1", "::ffff:10.0.0.1", true},
		{"ip mapped upper", TypeIP, "10.0.0.1", "::FFFF:10.0.0.1", true},
		{"ip mapped hex form", TypeIP, "10.0.0.1", "::ffff:a00:1", true},
		{"ip mapped other", TypeIP, "10.0.0.1", "::ffff:10.0.0.12", false},
		{"ip mapped ioc", TypeIP, "::ffff:10.0.0.1", "10.0.0.1", true},
		{"ip timestamp", TypeIP, "17.16.28.0/24", "17:16:28.214161", false},
		// CIDR.
		{"cidr4 inside", TypeIP, "10.0.0.0/8", "10.200.3.4", true},
		{"cidr4 outside", TypeIP, "10.0.0.0/8", "11.0.0.1", false},
		{"cidr4 inside mapped", TypeIP, "192.168.1.0/24", "::ffff:192.168.1.77", true},
		{"cidr4 unmasked ioc", TypeIP, "192.168.1.9/24", "192.168.1.200", true},
		{"cidr4 edge", TypeIP, "192.168.1.0/24", "192.168.2.0", false},
		{"cidr4 with port", TypeIP, "172.16.0.0/12", "172.31.255.255:3389", true},
		{"cidr6 inside", TypeIP, "2001:db8::/32", "2001:db8:abcd::1", true},
		{"cidr6 outside", TypeIP, "2001:db8::/32", "2001:db9::1", false},
		{"cidr6 mapped ioc", TypeIP, "::ffff:10.0.0.0/104", "10.9.9.9", true},
		// IPv6 normalisation.
		{"ip6 compressed vs expanded", TypeIP, "fe80::1", "fe80:0:0:0:0:0:0:1", true},
		{"ip6 expanded vs compressed", TypeIP, "2001:db8:0:0:1:0:0:1", "2001:DB8::1:0:0:1", true},
		{"ip6 leading zeros", TypeIP, "2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", true},
		{"ip6 bracket port", TypeIP, "2001:db8::1", "[2001:db8::1]:443", true},
		{"ip6 zone", TypeIP, "fe80::1", "fe80::1%12", true},
		{"ip6 different", TypeIP, "fe80::1", "fe80::10", false},
		{"ip6 loopback", TypeIP, "::1", "::1", true},
		// Hashes.
		{"md5 in sysmon hashes", TypeMD5, md5, sysmon, true},
		{"md5 upper ioc", TypeMD5, "975B45B669930B0CC773EAF2B414206F", sysmon, true},
		{"md5 one more hex char", TypeMD5, md5, md5 + "a", false},
		{"md5 one hex char before", TypeMD5, md5, "0" + md5, false},
		{"md5 inside sha256", TypeMD5, md5, "SHA256=" + sha256[:16] + md5 + sha256[48:], false},
		{"md5 prefix of sha256", TypeMD5, "3656f37a1c6951ec4496fabb8ee957d3", sysmon, false},
		{"md5 glued letter", TypeMD5, md5, "x" + md5, false},
		{"md5 underscore", TypeMD5, md5, "payload_" + md5 + ".bin", true},
		{"sha1 in hashes", TypeSHA1, "8c5437cd76a89ec983e3b364e219944da3dab464", sysmon, true},
		{"sha1 differs", TypeSHA1, "8c5437cd76a89ec983e3b364e219944da3dab465", sysmon, false},
		{"sha256 exact", TypeSHA256, sha256, "SHA256=" + sha256, true},
		{"sha256 longer", TypeSHA256, sha256, sha256 + "0", false},
		// Domains.
		{"domain exact", TypeDomain, "evil.com", "evil.com", true},
		{"domain subdomain", TypeDomain, "evil.com", "a.b.EVIL.com", true},
		{"domain prefix word", TypeDomain, "evil.com", "notevil.com", false},
		{"domain hyphen word", TypeDomain, "evil.com", "not-evil.com", false},
		{"domain longer tld", TypeDomain, "evil.com", "evil.com.au", false},
		{"domain longer label", TypeDomain, "evil.com", "evil.comx", false},
		{"domain in url", TypeDomain, "evil.com", "https://cdn.evil.com/x.ps1", true},
		{"domain in text", TypeDomain, "evil.com", "Resolved evil.com. Done", true},
		{"domain with port", TypeDomain, "evil.com", "evil.com:8443", true},
		{"domain in email", TypeDomain, "evil.com", "bob@evil.com", true},
		{"domain trailing dot ioc", TypeDomain, "evil.com.", "evil.com", true},
		// Hostnames.
		{"host exact", TypeHostname, "WKS01", "wks01", true},
		{"host fqdn", TypeHostname, "WKS01", "WKS01.corp.local", true},
		{"host unc", TypeHostname, "WKS01", `\\WKS01\c$`, true},
		{"host machine account", TypeHostname, "WKS01", "WKS01$", true},
		{"host longer", TypeHostname, "WKS01", "WKS011", false},
		{"host prefix", TypeHostname, "WKS01", "XWKS01", false},
		{"host hyphen", TypeHostname, "WKS01", "WKS01-B", false},
		{"host as label", TypeHostname, "WKS01", "a.WKS01.corp", false},
		{"host fqdn ioc", TypeHostname, "dc01.corp.local", "DC01.corp.local", true},
		{"host fqdn ioc longer", TypeHostname, "dc01.corp.local", "dc01.corp.local.evil", false},
		// User names.
		{"user bare", TypeUsername, "alice", "alice", true},
		{"user domain form", TypeUsername, "alice", `CORP\alice`, true},
		{"user upn form", TypeUsername, "alice", "alice@corp.local", true},
		{"user case", TypeUsername, "Alice", "ALICE", true},
		{"user malice", TypeUsername, "alice", "malice", false},
		{"user alice2", TypeUsername, "alice", "alice2", false},
		{"user dotted", TypeUsername, "alice", "alice.smith", false},
		{"user machine account", TypeUsername, "alice", "alice$", false},
		{"user in domain part", TypeUsername, "alice", "bob@alice.com", false},
		{"user command line", TypeUsername, "alice", "net user alice /add", true},
		{"user qualified", TypeUsername, `CORP\alice`, `corp\Alice`, true},
		{"user qualified other domain", TypeUsername, `CORP\alice`, `XCORP\alice`, false},
		{"user qualified bare", TypeUsername, `CORP\alice`, "alice", false},
		{"user qualified upn", TypeUsername, `CORP\alice`, "alice@corp.local", true},
		{"user qualified malice", TypeUsername, `CORP\alice`, `CORP\malice`, false},
		{"user upn ioc", TypeUsername, "alice@corp.local", "ALICE@CORP.LOCAL", true},
		{"user upn ioc netbios", TypeUsername, "alice@corp.local", `CORP\alice`, true},
		{"user nt authority", TypeUsername, `NT AUTHORITY\SYSTEM`, `NT AUTHORITY\SYSTEM`, true},
		// SIDs.
		{"sid exact", TypeSID, "S-1-5-18", "S-1-5-18", true},
		{"sid longer", TypeSID, "S-1-5-18", "S-1-5-180", false},
		{"sid sub authority", TypeSID, "S-1-5-21-1-2-3", "S-1-5-21-1-2-3-500", false},
		{"sid in registry", TypeSID, "S-1-5-21-1-2-3-1001", `HKU\S-1-5-21-1-2-3-1001_Classes\x`, true},
		{"sid lower", TypeSID, "s-1-5-18", "S-1-5-18", true},
		// File names.
		{"file path", TypeFilename, "mimikatz.exe", `C:\Tools\mimikatz.exe`, true},
		{"file bare", TypeFilename, "mimikatz.exe", "MIMIKATZ.EXE", true},
		{"file prefix word", TypeFilename, "mimikatz.exe", "notmimikatz.exe", false},
		{"file longer ext", TypeFilename, "mimikatz.exe", "mimikatz.exe.bak", false},
		{"file cmd", TypeFilename, "cmd.exe", `C:\Windows\System32\cmd.exe`, true},
		{"file xcmd", TypeFilename, "cmd.exe", `C:\Tools\xcmd.exe`, false},
		{"file quoted command", TypeFilename, "cmd.exe", `"C:\Windows\system32\cmd.exe" /c whoami`, true},
		{"file forward slash", TypeFilename, "cmd.exe", "c:/windows/cmd.exe", true},
		{"file ads", TypeFilename, "cmd.exe", `C:\x\cmd.exe:Zone.Identifier`, true},
		{"file directory", TypeFilename, "cmd.exe", `C:\x\cmd.exe\y`, true},
		{"file hyphen", TypeFilename, "cmd.exe", `C:\x\my-cmd.exe`, false},
		// File paths.
		{"path exact", TypeFilepath, `C:\Tools\mimikatz.exe`, `c:\tools\MIMIKATZ.exe`, true},
		{"path slashes", TypeFilepath, `C:\Tools\mimikatz.exe`, `C:/Tools/mimikatz.exe`, true},
		{"path repeated separators", TypeFilepath, `C:\Tools\mimikatz.exe`, `C:\\Tools\\\mimikatz.exe`, true},
		{"path ioc slashes", TypeFilepath, `C://Tools/mimikatz.exe`, `C:\Tools\mimikatz.exe`, true},
		{"path nt prefix", TypeFilepath, `C:\Tools\mimikatz.exe`, `\??\C:\Tools\mimikatz.exe`, true},
		{"path in command", TypeFilepath, `C:\Tools\mimikatz.exe`, `"C:\Tools\mimikatz.exe" privilege::debug`, true},
		{"path directory prefix", TypeFilepath, `C:\Tools`, `C:\Tools\mimikatz.exe`, true},
		{"path longer dir", TypeFilepath, `C:\Tools`, `C:\Toolsx\mimikatz.exe`, false},
		{"path longer name", TypeFilepath, `C:\Tools\mimikatz.exe`, `C:\Tools\mimikatz.exe.bak`, false},
		{"path other drive", TypeFilepath, `C:\Tools\mimikatz.exe`, `DC:\Tools\mimikatz.exe`, false},
		{"path relative", TypeFilepath, `\AppData\Local\Temp\x.exe`, `C:\Users\bob\AppData\Local\Temp\x.exe`, true},
		// Registry.
		{"reg exact", TypeRegistry, `HKLM\Software\Evil`, `HKLM\SOFTWARE\Evil`, true},
		{"reg long hive", TypeRegistry, `HKLM\Software\Evil`, `HKEY_LOCAL_MACHINE\Software\Evil\Run`, true},
		{"reg kernel hive", TypeRegistry, `HKEY_LOCAL_MACHINE\Software\Evil`, `\REGISTRY\MACHINE\SOFTWARE\Evil`, true},
		{"reg kernel to short", TypeRegistry, `\REGISTRY\MACHINE\SOFTWARE\Evil`, `HKLM\SOFTWARE\Evil`, true},
		{"reg substring", TypeRegistry, `CurrentVersion\Run`, `HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\RunOnce\x`, true},
		{"reg hkcu below hku", TypeRegistry, `HKCU\Software\Evil`, `HKU\S-1-5-21-1-2-3-1001\Software\Evil\x`, true},
		{"reg hkcu below kernel users", TypeRegistry, `HKCU\Software\Evil`, `\REGISTRY\USER\S-1-5-21-1-2-3-1001\Software\Evil`, true},
		{"reg hkcu not machine", TypeRegistry, `HKCU\Software\Evil`, `HKLM\Software\Evil`, false},
		{"reg hkcr", TypeRegistry, `HKCR\CLSID\{x}`, `HKLM\SOFTWARE\Classes\CLSID\{x}\InprocServer32`, true},
		{"reg other hive", TypeRegistry, `HKLM\Software\Evil`, `HKU\Software\Evil`, false},
		// Substring types.
		{"url", TypeURL, "http://evil.com/a", "GET HTTP://EVIL.COM/a?b=1", true},
		{"url miss", TypeURL, "http://evil.com/a", "http://evil.com/b", false},
		{"command", TypeCommand, "-enc JAB", `powershell.exe -nop -ENC jabzAD0A`, true},
		{"command miss", TypeCommand, "-enc JAB", `powershell.exe -nop -e JAB`, false},
		{"string", TypeString, "Invoke-Mimikatz", "IEX (Invoke-MimiKatz -Dump)", true},
		{"string unicode", TypeString, "ÄRGER", "x ärger y", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchOne(t, tc.typ, tc.ioc, tc.value); got != tc.want {
				t.Errorf("%s %q in %q: got %v, want %v", tc.typ, tc.ioc, tc.value, got, tc.want)
			}
		})
	}
}

func TestMatchFieldsAndDedup(t *testing.T) {
	m, err := Compile([]IOC{
		{ID: "h", Type: TypeHostname, Value: "WKS01", Enabled: true},
		{ID: "u", Type: TypeUsername, Value: "alice", Enabled: true},
		{ID: "s", Type: TypeSID, Value: "S-1-5-21-1-2-3-1001", Enabled: true},
		{ID: "p", Type: TypeString, Value: "sysmon", Enabled: true},
		{ID: "c", Type: TypeString, Value: "sysmon/operational", Enabled: true},
		{ID: "f", Type: TypeFilename, Value: "cmd.exe", Enabled: true},
		{ID: "off", Type: TypeFilename, Value: "cmd.exe", Enabled: false},
		{ID: "f2", Type: TypeFilename, Value: "CMD.EXE", Enabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Len(), 7; got != want {
		t.Errorf("Len: got %d, want %d", got, want)
	}
	ev := &evtx.Event{
		Computer: "WKS01.corp.local",
		UserID:   "S-1-5-21-1-2-3-1001",
		Provider: "Microsoft-Windows-Sysmon",
		Channel:  "Microsoft-Windows-Sysmon/Operational",
		Data: []evtx.Field{
			{Name: "Image", Value: `C:\Windows\System32\cmd.exe`},
			{Name: "CommandLine", Value: `cmd.exe /c cmd.exe /c CMD.EXE`},
			{Name: "User", Value: `CORP\alice`},
			{Name: "Image", Value: `D:\cmd.exe`}, // same name again: no second hit
		},
	}
	prefix := []Hit{{IOCID: "old"}}
	got := m.Match(ev, prefix)
	want := []Hit{
		{IOCID: "old"},
		{IOCID: "h", Type: TypeHostname, Field: "Computer", Value: "WKS01"},
		{IOCID: "s", Type: TypeSID, Field: "UserID", Value: "S-1-5-21-1-2-3-1001"},
		{IOCID: "p", Type: TypeString, Field: "Provider", Value: "sysmon"},
		{IOCID: "p", Type: TypeString, Field: "Channel", Value: "sysmon"},
		{IOCID: "c", Type: TypeString, Field: "Channel", Value: "sysmon/operational"},
		{IOCID: "f", Type: TypeFilename, Field: "Image", Value: "cmd.exe"},
		{IOCID: "f2", Type: TypeFilename, Field: "Image", Value: "CMD.EXE"},
		{IOCID: "f", Type: TypeFilename, Field: "CommandLine", Value: "cmd.exe"},
		{IOCID: "f2", Type: TypeFilename, Field: "CommandLine", Value: "CMD.EXE"},
		{IOCID: "u", Type: TypeUsername, Field: "User", Value: "alice"},
	}
	sortHits(got[1:])
	sortHits(want[1:])
	if !slices.Equal(got, want) {
		t.Errorf("Match:\ngot  %v\nwant %v", got, want)
	}
}

func sortHits(h []Hit) {
	slices.SortFunc(h, func(a, b Hit) int {
		if c := cmpStr(a.Field, b.Field); c != 0 {
			return c
		}
		return cmpStr(a.IOCID, b.IOCID)
	})
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		ioc  IOC
	}{
		{"bad ip", IOC{ID: "1", Type: TypeIP, Value: "10.0.0.256", Enabled: true}},
		{"short md5", IOC{ID: "2", Type: TypeMD5, Value: "abc", Enabled: true}},
		{"sha1 as sha256", IOC{ID: "3", Type: TypeSHA256, Value: "8c5437cd76a89ec983e3b364e219944da3dab464", Enabled: true}},
		{"unknown type", IOC{ID: "4", Type: "email", Value: "a@b.c", Enabled: true}},
		{"empty", IOC{ID: "5", Type: TypeString, Value: "  ", Enabled: true}},
		{"filename with path", IOC{ID: "6", Type: TypeFilename, Value: `C:\x.exe`, Enabled: true}},
		{"bad sid", IOC{ID: "7", Type: TypeSID, Value: "S-1-x", Enabled: true}},
		{"bad domain", IOC{ID: "8", Type: TypeDomain, Value: "evil", Enabled: true}},
		{"invalid utf8", IOC{ID: "9", Type: TypeString, Value: "a\xffb", Enabled: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile([]IOC{{ID: "ok", Type: TypeString, Value: "x", Enabled: true}, tc.ioc})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Compile: got %v, want ErrInvalid", err)
			}
			if want := fmt.Sprintf("%q", tc.ioc.ID); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name ID %s", err, want)
			}
			if v := tc.ioc.Value; v != "  " && !strings.Contains(err.Error(), fmt.Sprintf("%q", v)) {
				t.Errorf("error %q does not name value %q", err, v)
			}
			// Disabled, the same IOC is ignored.
			tc.ioc.Enabled = false
			if _, err := Compile([]IOC{tc.ioc}); err != nil {
				t.Errorf("Compile(disabled): %v", err)
			}
		})
	}
}

func TestValidateNormalises(t *testing.T) {
	tests := []struct {
		typ       Type
		in, want  string
		wantTyped Type
	}{
		{"IP", " 10.0.0.1 ", "10.0.0.1", TypeIP},
		{"ip", "::ffff:10.0.0.1", "10.0.0.1", TypeIP},
		{"ip", "10.1.2.3/8", "10.0.0.0/8", TypeIP},
		{"ip", "10.1.2.3/32", "10.1.2.3", TypeIP},
		{"ip", "2001:DB8:0::1", "2001:db8::1", TypeIP},
		{"ip", "10[.]0[.]0[.]1", "10.0.0.1", TypeIP},
		{"md5", "975B45B669930B0CC773EAF2B414206F", "975b45b669930b0cc773eaf2b414206f", TypeMD5},
		{"domain", "*.Evil.COM.", "evil.com", TypeDomain},
		{"domain", "evil[.]com", "evil.com", TypeDomain},
		{"url", "hxxps://evil[.]com/a", "https://evil.com/a", TypeURL},
		{"sid", "s-1-5-18", "S-1-5-18", TypeSID},
		{"hostname", `\\WKS01.`, "WKS01", TypeHostname},
		{"string", " [.] ", "[.]", TypeString},
	}
	for _, tc := range tests {
		t.Run(string(tc.typ)+" "+tc.in, func(t *testing.T) {
			got, err := Validate(IOC{Type: tc.typ, Value: tc.in})
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got.Value != tc.want || got.Type != tc.wantTyped {
				t.Errorf("got %s %q, want %s %q", got.Type, got.Value, tc.wantTyped, tc.want)
			}
			again, err := Validate(got)
			if err != nil || again != got {
				t.Errorf("not idempotent: got %+v, %v", again, err)
			}
		})
	}
}

func TestMatchEmpty(t *testing.T) {
	m, err := Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Match(&evtx.Event{Computer: "x"}, nil); len(got) != 0 {
		t.Errorf("got %v, want no hits", got)
	}
	m, err = Compile([]IOC{{Type: TypeString, Value: "x", Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Match(nil, nil); len(got) != 0 {
		t.Errorf("nil event: got %v, want no hits", got)
	}
}

// TestMatchConcurrent shares one Matcher between goroutines (run with -race).
func TestMatchConcurrent(t *testing.T) {
	m, err := Compile([]IOC{
		{ID: "a", Type: TypeFilepath, Value: `C:\Tools\x.exe`, Enabled: true},
		{ID: "b", Type: TypeIP, Value: "10.0.0.0/8", Enabled: true},
		{ID: "c", Type: TypeMD5, Value: "975b45b669930b0cc773eaf2b414206f", Enabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	ev := &evtx.Event{Data: []evtx.Field{
		{Name: "Image", Value: "C:/Tools//x.exe"},
		{Name: "Ip", Value: "::ffff:10.1.2.3"},
		{Name: "Hashes", Value: "MD5=975B45B669930B0CC773EAF2B414206F"},
	}}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			var hits []Hit
			for range 200 {
				hits = m.Match(ev, hits[:0])
				if len(hits) != 3 {
					errs <- fmt.Sprintf("got %d hits, want 3: %v", len(hits), hits)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestMatchRepeatedData: every unnamed <Data> is a field "Data", repeated
// in order; an IOC in any of them is a hit on Data, reported once.
func TestMatchRepeatedData(t *testing.T) {
	m, err := Compile([]IOC{{ID: "f", Type: TypeFilename, Value: "psexesvc.exe", Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	ev := &evtx.Event{Channel: "System", Data: []evtx.Field{
		{Name: "Data", Value: "PSEXESVC"}, {Name: "Data", Value: ""}, {Name: "Data", Value: `%SystemRoot%\PSEXESVC.exe`},
		{Name: "Data", Value: `C:\Windows\PSEXESVC.EXE`},
	}}
	got := m.Match(ev, nil)
	want := []Hit{{IOCID: "f", Type: TypeFilename, Field: "Data", Value: "psexesvc.exe"}}
	if !slices.Equal(got, want) {
		t.Errorf("Match: got %v, want %v", got, want)
	}
}
