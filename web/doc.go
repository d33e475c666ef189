// Package web serves casescope's HTTP API and embedded browser UI with chi.
//
// Every response body that carries event data is JSON (encoded by
// encoding/json) or html/template output; the UI's scripts insert text
// with textContent only, because event data is attacker-controlled. One
// function, writeError, maps errors to status codes: 4xx bodies say what
// was wrong, 5xx bodies reveal nothing (the cause is logged).
package web
