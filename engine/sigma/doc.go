// Package sigma loads Sigma detection rules, compiles them into predicate
// trees over evtx.Event, and matches events against them.
//
// It owns the rule loader (YAML → compiled rule), the logsource mapping
// (which channels, event IDs and field names a rule is about), the
// embedded rule packs (SigmaHQ's rules/windows and rules/web as pack
// core, rules-emerging-threats and rules-threat-hunting; Detection Rule
// License 1.1, see rules/README.md and pack.go) and the matcher. Every
// rule and hit names its pack; MatchPacks runs only the chosen packs. It does not store
// hits or decide what to do with them.
//
// # Use
//
//	rs, err := sigma.Load(sigma.Options{MinLevel: "medium"}, sigma.Embedded(), os.DirFS(dir))
//	...
//	hits = rs.Match(ev, hits[:0])
//
// A Ruleset is immutable after Load and safe for concurrent Match calls.
// Later sources add rules or replace earlier ones with the same id. A rule
// that cannot be compiled is not an error: it is listed by Skipped with the
// reason (unknown modifier, a regular expression RE2 cannot compile, a
// logsource with no event log source, an aggregation, ...). With the
// embedded core pack, the only skipped rules are those of the file_access
// and file_rename categories, which come from an ETW provider that never
// writes to an event log, and the proxy and web-server error-log rules;
// the other packs also skip their rules for other products.
//
// # Matching semantics
//
// Values are compared case-insensitively (both sides lower-cased with
// Unicode simple lower-casing) unless the cased modifier is given. A value
// without modifiers must equal the whole field value; * matches any run of
// characters and ? exactly one; \*, \? and \\ are a literal *, ? and \, and
// a backslash before any other character is itself (so C:\Windows\ needs no
// escaping). Lists are OR (AND with the all modifier), maps are AND, a list
// of maps is OR.
//
// Modifiers: contains, startswith, endswith, all, windash (a - or / that
// starts a word, \B[-/]\b, also matches /, -, en dash, em dash and
// horizontal bar), base64, base64offset (the three alignments, cut as in
// the Sigma specification), utf16le / wide, utf16be, utf16 (with a BOM),
// re with the i, m and s flags (Go RE2 syntax, unanchored; an expression
// RE2 cannot compile skips the rule), cidr (IPv4 and IPv6; IPv4-mapped
// IPv6 addresses are unmapped), exists, fieldref (equal, or with
// contains/startswith/endswith), lt, lte, gt, gte (decimal, float or 0x
// hex event values) and cased. Encoded values (base64, utf16) are matched
// case-insensitively too unless cased is given.
//
// null and the empty string differ:
//
//	Field: null           # the field is absent, or present with an empty value
//	Field: ''             # the field is present with an empty value
//	Field|exists: true    # the field is present (exists: false, absent)
//
// Keyword (field-less) selections, a string or list of strings under a
// selection name or a '|modifier' key, are searched as substrings (or
// wildcard patterns) of every EventData/UserData value, not of System
// fields.
//
// Conditions support and, or, not, parentheses, "1 of" / "any of" / "all
// of" a selection name pattern (with * and ?) or them (every selection not
// starting with _). A list of conditions is their OR. Aggregations (| count,
// near) are not supported and skip the rule; Sigma correlation rules
// (their successor) are, see correlation.go.
//
// # Fields
//
// Field names are matched case-insensitively and with spaces removed, on
// both sides (Defender's "Threat Name" is ThreatName). EventData fields
// keep their XML names; unnamed <Data> elements (Data, Data_1, ...) are all
// reached as Data; UserData fields and nested EventData are reached by
// their dotted path and by the path's last element. System fields are
// reached as EventID, Channel, Provider_Name (also ProviderName and
// Provider), Computer, Level, Task, Opcode, Keywords, EventRecordID,
// Security_UserID, Execution_ProcessID and Execution_ThreadID (the
// Execution_ prefix avoids a collision with EventData ProcessId under
// case-insensitive lookup) and System_Version. A name can denote several
// values at once (a System field and an EventData or UserData field of
// the same name, or several unnamed Data): the field matches when any
// value does, and with all, when each value of the rule matches some
// value of the field.
//
// # Logsources
//
// logsources.yaml, embedded, maps logsource.service to channels and
// logsource.category to channels, event IDs and field renames: for
// example process_creation runs on Sysmon 1 and on Security 4688 with
// Image read from NewProcessName and ParentImage from ParentProcessName.
// The file documents each mapping and what is deliberately not mapped. A
// rule with only product: windows runs on every event.
//
// # Performance
//
// Load routes every rule by lower-cased channel and event ID (event IDs
// come from the category, or from an EventID test the rule's condition
// cannot match without), so an event is tested only against the rules of
// its channel and ID, the channel's rules without an ID constraint, and
// the channel-less rules. Each event is prepared once per Match in a
// pooled scratch: values are linked to the field slots rules use and
// lower-cased on first use. Plain values compile to string operations,
// wildcards to a small glob matcher, never to regular expressions. A
// literal index over all rules' literals makes contains tests on long
// values an array load, and lets Match skip, before evaluation, every rule
// none of whose required literals occurs in the event (see prefilter.go).
// Match allocates nothing unless dst must grow.
package sigma
