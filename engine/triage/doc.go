// Package triage derives a case's first-hour inventories from its events:
// hosts (each Computer with its event counts, channels and first/last
// seen), accounts (each name/domain pair named in an event, with where it
// appeared and how it logged on), the logon summary (Security 4624/4625,
// 4648 explicit credentials, RDP 1149 and LocalSessionManager 21/22/25,
// grouped by the fields an analyst pivots on) and event metrics (counts by
// event ID and channel, by computer, over time).
//
// A Summary accumulates events one at a time (Add) and merges with
// another (Merge), so the engine can summarise each evidence file once,
// keep that summary, and answer a case's views by merging the files'
// summaries rather than re-reading every event. A Summary is not safe for
// concurrent use.
//
// Values are kept exactly as recorded: no case folding and no trimming, so
// "-" stays "-", and "DC01" and "dc01" are two hosts. Counts are events:
// an event naming one account as both subject and target counts once for
// that account. Logon rows of different event IDs are never merged (each
// row carries its event ID); 4624/4625 are taken from the Security channel
// only, 1149 from TerminalServices-RemoteConnectionManager/Operational and
// 21/22/25 from TerminalServices-LocalSessionManager/Operational, since
// those event IDs mean other things elsewhere.
package triage
