// Package query parses the casescope search language into a Bleve query
// over the event index layout defined in package store (index.go).
//
// The language is Lucene-like and hand-parsed (recursive descent; no
// pass-through to Bleve's query-string syntax):
//
//	EventID:4624 host:HOST-7 IpAddress:10.1.2.3 time:2024-05-14
//	CommandLine:*mimikatz* -User:"NT AUTHORITY\SYSTEM"
//	(EventID:4624 OR eid:4625) AND LogonType:(3 OR 10) time:>now-24h
//	EventID:[4624 TO 4634] sigma.level:>=high tag:* "invoke-mimikatz"
//
// Grammar, loosest binding first: OR (also "||"), AND (also "&&", or
// nothing: adjacent clauses are ANDed, as analysts expect), NOT (also "!"
// or a "-" prefix; "+" is accepted and means required, which every clause
// already is). Keywords are case-insensitive, so the words and/or/not must
// be quoted to be searched for. Parentheses group, and "field:(a OR b)"
// applies field to every bare value inside.
//
// Values: plain words, "quoted strings" (\" and \\ are the only escapes
// inside quotes), wildcards * and ? (unquoted only), /regex/ (matched
// against the whole lower-cased value, Bleve/vellum regexp syntax, no
// anchors), ranges [a TO b] with { } for exclusive ends and * for an open
// end, comparisons field:>=5, field:<10, and field:* for "field exists".
// Outside quotes a backslash escapes only a syntax character (space, \, ",
// parentheses, :, *, ?, +, -, !, &, |, [, ], {, }, /, ^, ~, <, >, =);
// before any other character it is a literal backslash, so Windows paths
// such as Image:C:\Windows\cmd.exe can be typed as they are.
//
// Field names are case-insensitive. The system aliases map to the index's
// own fields: EventID/event_id/eid/id → event_id; EventRecordID/record_id
// → record_id; Level (numbers or critical, error, warning, information,
// verbose); Channel; Provider/Provider_Name/source; Computer/ComputerName/
// host/hostname; time/@timestamp/TimeCreated/timestamp; file (ledger file
// id); user/UserID (the user keyword field, which also holds
// TargetUserName, SubjectUserName, User, … values); sigma/sigma.rule;
// sigma.title; sigma.level (a level name; comparisons such as
// sigma.level:>=high go through sigma.max); sigma.max; sigma.pack (the
// hit rule's pack: core, emerging-threats, threat-hunting, custom); ioc; ioc.type;
// ioc.count; tag/tags; starred; time_invalid (true on events whose time
// the index clamped); recovered (true on records recovered past a broken
// record header in a damaged chunk). sigma:*, ioc:* and tag:* mean "has any". The System
// fields without a field of their own are kv terms under "system.<name>":
// Qualifiers, Task, Opcode, Keywords, ProviderGUID (Provider.Guid),
// EventSourceName, ActivityID and RelatedActivityID (Correlation.…),
// ThreadID, and System.ProcessID (Execution.ProcessID) and System.Version,
// since plain ProcessId and Version are Sysmon event data. A braced GUID
// ({0CCE9215-…}) is a value, not a range.
// Every other name is an event data field and is searched in the kv field
// as the lower-cased token "name=value" (for a dotted UserData path, its
// leaf name, as the index stores it): TargetUserName:admin* is the
// wildcard kv:"targetusername=admin*", LogonType:3 the term
// kv:"logontype=3". Field:* means the field exists; Field:"" means it is
// absent or empty (empty values are not indexed). Names with spaces are
// quoted ("Threat Name":x) or written without the spaces (ThreatName:x).
// KnownField and Options.Strict check names against a built-in list of
// Windows/Sysmon field names (known_fields.go).
//
// Values of keyword fields are lower-cased, as the index stores them.
// Numeric fields take numbers (decimal or 0x hex) and ranges; time takes
// dates (2019-03-01, 2019-03-01T12:00:00Z, RFC 3339 with offset, quoted
// "2019-03-01 12:00"; no zone means UTC), now±N{s,m,h,d,w}, today and
// yesterday. A date written with less precision means the whole period:
// time:2019-03-01 is that day, >2019-03-01 starts on 2019-03-02, and an
// inclusive upper bound [.. TO 2019-03-02] includes all of 2019-03-02, as
// in Elasticsearch. Ranges and comparisons on data and keyword fields are
// rejected with a ParseError, as are wildcards on numbers and times.
//
// Regular expressions are matched against whole lower-cased values and
// made case-insensitive. They are compiled here as the index will compile
// them (vellum), with tighter limits, because Bleve builds the automaton
// again for every index segment and a pathological pattern costs seconds.
//
// Wildcards are bounded too (cost.go): at most 8 * or ? per term (a run
// of stars counts once) and 256 characters per wildcard term, the
// automaton of every wildcard is built here once (as for regexps), and a
// query's whole-dictionary walks (leading wildcards, free text, regexps
// without a literal prefix) share a budget of about 20 free-text words. A
// query over a limit is a ParseError saying which limit; web's search
// timeout bounds the cost of what remains.
//
// Free text (a bare word or phrase) matches the analysed text field (all
// of its words), any event data value containing it, the computer name, or
// a Sigma rule title; see freeText for the cost. A bare word that looks
// like a path or URL (C:\Windows\x.exe, http://host/x) is free text, not a
// field clause.
//
// NOT is compiled so that Bleve's BooleanQuery cannot turn "x -y" into
// "everything but y" when x matches nothing (see build); callers wrapping
// the query in their own BooleanQuery must put it in a ConjunctionQuery.
//
// Parse never panics and is safe for concurrent use; every syntax problem
// is a *ParseError with the 1-based column (in characters) where it was
// found.
package query
