// Package describe names Windows events: a built-in table from (channel,
// event ID) — and, where an ID means different things for different
// providers in one channel (System, Application), (provider, event ID) — to
// a short description such as "An account was successfully logged on".
//
// The table covers the common Security, System, Sysmon, PowerShell,
// TaskScheduler, WMI, Windows Defender, BITS, WinRM, Remote Desktop
// (TerminalServices, RdpCoreTS), AppLocker, Group Policy and Shell-Core
// events. It was written by hand from Microsoft's documentation of these
// events and common DFIR knowledge; for a few System provider events the
// wording was checked against the providers' published message tables.
// Descriptions are plain ASCII text without the event ID; a UI shows
// "4624 - An account was successfully logged on" itself.
//
// The table is code (switch statements), so it is immutable and safe for
// concurrent use. Lookups are case-insensitive on channel and provider. An
// event ID that is not in its channel's table is unknown ("") — except on a
// channel the table does not know at all (ForwardedEvents, an empty channel
// from a converted ETW trace, …), where Security-range IDs (1100-1108 and
// 4608-6424) fall back to their Security description.
package describe
