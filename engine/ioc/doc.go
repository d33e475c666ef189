// Package ioc owns indicators of compromise: their types, validation and
// normalisation, bulk import from pasted text or CSV, CSV export, and the
// matcher that hunts a compiled set of IOCs in every field of an event.
//
// Matching. Compile turns the enabled IOCs into one Matcher. Per event the
// matcher looks at every data field plus the System fields Computer, UserID,
// Provider and Channel (a username IOC only at account fields: see
// FieldFits), one field at a time (a match never spans two
// fields), and reports each (IOC, field) pair at most once. All comparison
// is case-insensitive (ASCII folding; other text is lowered with
// strings.ToLower, which is not full Unicode case folding). The number of
// passes over a field does not grow with the number of IOCs; only real
// candidates are checked one by one:
//
//   - Literal types (domain, hostname, username, sid, filename, filepath,
//     registry, url, command, string) go into one Aho-Corasick automaton
//     (github.com/coregx/ahocorasick, a full DFA). One overlapping pass over
//     the lowered field value yields candidates; each candidate then passes
//     the exact boundary rule of its IOC type (rules.go). File paths are
//     matched on a view of the value with '/' turned into '\' and runs of
//     separators collapsed; when that view differs from the lowered value,
//     a second, small automaton holding only the filepath IOCs runs on it.
//   - Hashes (md5, sha1, sha256) and IPs are found by tokenising: maximal
//     hex runs of hash length are looked up in a map, and IP-looking tokens
//     (IPv4, IPv6 incl. IPv4-mapped and zero-compressed forms, optionally
//     followed by a port) are parsed once and looked up in a map keyed by
//     prefix, one probe per distinct prefix length among the IOCs. Exact
//     addresses are /32 or /128 prefixes, so CIDR and single-address IOCs
//     share one structure.
//
// Boundary rules, in short: ip, md5/sha1/sha256, sid and hostname match
// whole tokens; domain matches the name or any subdomain; filename matches a
// whole path component; filepath matches a normalised path or a directory
// prefix of one; username matches "alice", "CORP\alice" and
// "alice@corp.local" forms as whole tokens; url, command, string and
// registry are plain substrings (registry with the hive spelled HKLM,
// HKEY_LOCAL_MACHINE or \REGISTRY\MACHINE interchangeably, and HKCU also
// matching HKU\<SID>). See the rule functions in rules.go for the exact
// character classes.
//
// Concurrency. A Matcher is immutable after Compile and safe for concurrent
// use by any number of goroutines; scratch buffers come from a pool owned by
// the Matcher. The package holds no mutable state of its own.
//
// Caveats. An IOC that is very short or very common (a one-letter string)
// produces a hit on most events; Compile does not refuse it. The DFA costs
// memory roughly proportional to the total length of the literal IOCs
// (about 12 MB for a 10,000-IOC feed with 4,300 literal patterns, 46k
// states), and a large DFA makes the pass slower per byte through cache
// misses, not through more work: 10,000 IOCs cost about 1.6 times as much
// CPU per event as 10 (BenchmarkMatch).
package ioc
