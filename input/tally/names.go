package tally

import "strings"

// GUID renders a GUID as Windows renders a GUID value (and the EVTX
// reader shows it): braced, upper case. Anything that is not a GUID is
// kept as written.
func GUID(s string) string {
	t := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(t) != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
		return s
	}
	return "{" + strings.ToUpper(t) + "}"
}

// classicChannels are the classic logs' names by lower case: NXLog and
// SIEM exports write "security" where Windows says "Security".
var classicChannels = map[string]string{
	"security": "Security", "system": "System", "application": "Application",
	"setup": "Setup", "forwardedevents": "ForwardedEvents", "windows powershell": "Windows PowerShell",
}

// Channel spells a classic log's name as Windows does; other channel
// names are kept as written.
func Channel(s string) string {
	if c, ok := classicChannels[strings.ToLower(s)]; ok {
		return c
	}
	return s
}
