// Package web serves casescope's HTTP API and embedded browser UI with chi.
//
// The UI is static HTML, CSS and hand-written ES modules under static/,
// embedded with go:embed: no build step, no CDN, nothing fetched from
// anywhere but this server. Event data is attacker-controlled, so every
// response that carries it is JSON (encoding/json), and the scripts put text
// on the page with textContent or Text nodes only; their element helper
// (static/js/dom.js) refuses href, src, style and handler attributes. The
// Content-Security-Policy allows scripts, styles and connections from the
// server itself only, so even a mistake there cannot run inline code.
//
// # Who may do what
//
// Every API route but POST /api/login needs a session: an HttpOnly,
// SameSite=Strict cookie named per port (casescope_session_8080; Secure, and named __Host-casescope_session_PORT,
// under TLS) whose token the ledger keeps only as a hash. A session ends
// after Config.SessionIdle without a request, at logout, and at the next
// request after its user is disabled or changes role. Requests that change
// state must also carry the session's CSRF token in X-CSRF-Token
// (compared in constant time), on top of http.CrossOriginProtection,
// which refuses what a browser marks cross-origin. Each route is
// registered through Server.route with the least role it needs:
//
//	read-only  view, search, export (every GET of cases, files, events,
//	           detections, IOCs, jobs, system), logout, own password
//	analyst    + create cases, upload, requeue/hide/unhide/delete files,
//	           tag events, add/edit/delete IOCs
//	admin      + folder import (server-side paths), users, audit log
//
// No session gives 401, too low a role or a missing CSRF token 403. The
// UI hides what the role cannot use; the server decides regardless.
//
// Config.LocalToken (written by serve to <data>/serve.json, mode 0600) is
// accepted as "Authorization: Bearer <token>" on GET /api/system only, as
// the admin "local": casescope status reads the engine's state with it
// and nothing else.
//
// Logins are rate limited per (user name, remote address): after 5
// failures each further one locks that pair for 1 s, 2 s, 4 s … up to 15
// min (429 with Retry-After, answered before any password is hashed), so
// guessing stays slow while other users on the same address (every
// browser is 127.0.0.1 on the default bind) still log in. One address
// (100 failures, any names) and one name (50 failures, any addresses)
// have ceilings of their own (limiter.go). Keys are forgotten after 15
// quiet minutes and each map holds at most 10 000 keys. At most 4
// password checks run at once; up to 64 logins queue for them, each
// waiting as long as its client does (at most 2 min), so a team behind one
// address logging in together on a machine busy with an import is served
// in turn; only a 65th login in flight is refused (429). Proxy
// headers are not trusted: the remote address is the connection's.
//
// Every state-changing route, the case export and each login attempt
// write an audit entry (store.AuditEntry) with the actor, role, remote
// address, action, target and outcome: ok, denied (401/403), failed (other
// 4xx) or error (5xx). Refusals (403 cross-origin, CSRF or role, 421
// Host, 429 throttled) are coalesced (refusals.go): the first of each
// (kind, client, path) in a minute is written at once, the rest as one
// entry with their Count when the minute ends, so a flood writes a
// bounded number of entries. Anonymous requests to other routes are not
// recorded.
//
// Searches run under the request's context (a client that goes away
// stops its search) and Config.SearchTimeout (400 with the reason). Bulk
// tagging (tag-query) answers 202 with an engine.Job.
//
// While the server is reached on a loopback address and bound to one, a
// Host header that is not localhost, *.localhost, a loopback IP or one
// of Config.AllowedHosts is refused with 421 (DNS rebinding). Under TLS
// (Config.TLSCert/TLSKey; EnsureSelfSigned makes an ECDSA P-256
// certificate) every response carries HSTS.
//
// # API
//
// JSON, snake_case; errors are {"error": "reason"}.
//
//	POST   /api/login                           {"name", "password"} → {"user", "role", "csrf_token"} + cookie
//	POST   /api/logout                          ends the session
//	GET    /api/session                         {"user", "role", "csrf_token"}; 401 without a session
//	POST   /api/session/password                {"current", "new"}: change one's own password
//	GET    /api/system                          engine status, version, upload limit, IOC types
//	GET    /api/jobs/{id}                       a re-hunt or bulk-tag job's progress
//	GET    /api/cases                           the caller's cases (all for admins) with counts, "access", "owner"
//	POST   /api/cases                           {"name", "description"} → 201 case
//	GET    /api/cases/{case}                    counts, latest_event, the caller's "access" and "owner"
//	GET    /api/cases/{case}/members            [{"user", "role", "global_role", "by", "added"}]
//	PUT    /api/cases/{case}/members/{name}     {"role": "owner"|"analyst"|"read-only"} (owners, admins)
//	DELETE /api/cases/{case}/members/{name}     the last owner stays (409)
//	GET    /api/cases/{case}/files[?hidden=0]   file records
//	POST   /api/cases/{case}/upload             multipart, one part per file, streamed
//	POST   /api/cases/{case}/import             {"path": "/abs/path"} on this machine (admin)
//	POST   /api/cases/{case}/files/{id}/requeue|hide|unhide
//	DELETE /api/cases/{case}/files/{id}
//	GET    /api/cases/{case}/search             q, strict, from, to, last, filters, size, cursor, sort
//	GET    /api/cases/{case}/export             format=csv|jsonl|sigma-csv, q, tagged=1, from, to: a download
//	GET    /api/cases/{case}/events/{id}        one event with detections and tag
//	PUT    /api/cases/{case}/events/{id}/tag    {"starred", "tags"} ("note", if sent, becomes a comment)
//	GET    /api/cases/{case}/events/{id}/comments           the event's thread, oldest first
//	POST   /api/cases/{case}/events/{id}/comments           {"text"} → 201 comment
//	PATCH  /api/cases/{case}/events/{id}/comments/{cid}     {"text"}: the author only; audited before/after
//	DELETE /api/cases/{case}/events/{id}/comments/{cid}     the author, the case's owners, admins; audited
//	POST   /api/cases/{case}/tag-query          {"query", "tags", "starred"} → 202 job (kind "tag")
//	GET    /api/cases/{case}/sigma              hits by rule
//	GET    /api/cases/{case}/iocs               IOCs with hits
//	POST   /api/cases/{case}/iocs               {"iocs": [...]} or {"text", "format"}
//	PATCH  /api/cases/{case}/iocs/{id}          {"enabled", "description", "value", "type"}
//	DELETE /api/cases/{case}/iocs/{id}
//	GET    /api/users                           accounts (never hashes)
//	POST   /api/users                           {"name", "role", "password"?} → 201 {"user", "password" if generated}
//	PATCH  /api/users/{name}                    {"role", "disabled"}; the last enabled admin stays (409)
//	POST   /api/users/{name}/password           {"password"?} → {"user", "password" if generated}
//	GET    /api/audit                           ?before=seq&limit=N → {"entries" newest first, "next"}
//	GET    /api/audit/export                    ?format=csv|json: the whole log as a download
//
// Case membership: every route under /api/cases/{case} acts with the
// lesser of the caller's global role and their membership of the case
// (owner and analyst rank as analyst, read-only as read-only); a user who
// is no member gets 404, as for a case that does not exist; admins need
// no membership. A case's creator (or importer) is its owner.
//
// {case} is a case ID or name. Uploads are read part by part from the
// request body straight into engine.ImportUpload, so a file of several GB
// never sits in memory; Config.MaxUploadBytes bounds each file (413 above
// it). JSON bodies go through http.MaxBytesReader. No parameter names a
// path on the server except the admin's folder import: uploaded names are
// reduced to a safe base by the engine, case names live only in the
// ledger, and exports stream to the client.
//
// One function, writeError, maps errors to status codes: 4xx bodies say
// what was wrong, 5xx bodies reveal nothing (the cause is logged).
package web
