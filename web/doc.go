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
// Requests that change state are refused when the browser marks them
// cross-origin (http.CrossOriginProtection).
//
// API (JSON, snake_case; errors are {"error": "reason"}):
//
//	GET    /api/system                          engine status, version, upload limit, IOC types
//	GET    /api/jobs/{id}                       a re-hunt job's progress
//	GET    /api/cases                           cases with their counts
//	POST   /api/cases                           {"name", "description"} → 201 case
//	GET    /api/cases/{case}                    counts and latest_event
//	GET    /api/cases/{case}/files[?hidden=0]   file records
//	POST   /api/cases/{case}/upload             multipart, one part per file, streamed
//	POST   /api/cases/{case}/import             {"path": "/abs/path"} on this machine
//	POST   /api/cases/{case}/files/{id}/requeue|hide|unhide
//	DELETE /api/cases/{case}/files/{id}
//	GET    /api/cases/{case}/search             q, strict, from, to, last, filters, size, cursor, sort
//	GET    /api/cases/{case}/events/{id}        one event with detections and tag
//	PUT    /api/cases/{case}/events/{id}/tag    {"starred", "tags", "note"}
//	GET    /api/cases/{case}/sigma              hits by rule
//	GET    /api/cases/{case}/iocs               IOCs with hits
//	POST   /api/cases/{case}/iocs               {"iocs": [...]} or {"text", "format"}
//	PATCH  /api/cases/{case}/iocs/{id}          {"enabled", "description", "value", "type"}
//	DELETE /api/cases/{case}/iocs/{id}
//
// {case} is a case ID or name. Uploads are read part by part from the
// request body straight into engine.ImportUpload, so a file of several GB
// never sits in memory; Config.MaxUploadBytes bounds each file (413 above
// it). JSON bodies go through http.MaxBytesReader.
//
// One function, writeError, maps errors to status codes: 4xx bodies say
// what was wrong, 5xx bodies reveal nothing (the cause is logged).
package web
