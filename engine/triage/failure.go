package triage

import "strings"

// failureReasons decodes the NTSTATUS codes of 4625's Status and
// SubStatus (Microsoft's "4625(F): An account failed to log on").
var failureReasons = map[string]string{
	"0xc000005e": "no logon servers available",
	"0xc0000064": "no such user",
	"0xc000006a": "bad password",
	"0xc000006d": "bad user name or password",
	"0xc000006e": "account restriction",
	"0xc000006f": "outside allowed logon hours",
	"0xc0000070": "workstation restriction",
	"0xc0000071": "password expired",
	"0xc0000072": "account disabled",
	"0xc00000dc": "server in the wrong state",
	"0xc0000133": "clock skew between client and domain controller",
	"0xc000015b": "logon type not granted",
	"0xc000018c": "trust relationship failed",
	"0xc0000192": "Netlogon service not started",
	"0xc0000193": "account expired",
	"0xc0000224": "password must change at next logon",
	"0xc0000225": "Windows bug (not a risk)",
	"0xc0000234": "account locked out",
	"0xc00002ee": "an error occurred during logon",
	"0xc0000371": "local account store lacks secret material",
	"0xc0000413": "authentication firewall: not allowed",
	"0x0":        "no status",
}

// FailureCode is the code that explains a 4625: SubStatus, unless it is
// absent or 0x0, then Status; lower case, "0x" kept.
func FailureCode(status, subStatus string) string {
	s := strings.ToLower(strings.TrimSpace(subStatus))
	if s == "" || s == "0x0" || s == "-" {
		s = strings.ToLower(strings.TrimSpace(status))
	}
	if s == "" {
		s = "-"
	}
	return s
}

// FailureReason decodes a status code ("0xc000006a" → "bad password");
// an unknown code is returned as "unknown status".
func FailureReason(code string) string {
	if r, ok := failureReasons[strings.ToLower(code)]; ok {
		return r
	}
	return "unknown status"
}
