// Package bench holds the full-scale import benchmark tools (not part of
// the casescope binary): mkcorpus builds the 11,590-file import folder from
// the shared test corpus, ingestbench runs casescope on it and reports
// wall time, throughput, peak RSS, stage times, index size and time to the
// first searchable event; mkbig assembles one huge EVTX file from real
// chunks for the one-big-file benchmark; mktext builds one large NDJSON
// and one large W3C file for the text-format figures; searchload drives
// `casescope serve` with N searching clients (logged in at once from one
// address) while an import runs, and reports p50/p95 per query. See
// BENCHMARKS.md.
package bench
