// Package weblog reads web-server logs into the flat evtx.Event: IIS and
// other W3C extended logs (#Fields directives) and Apache/Nginx access
// logs (common, combined, and with a leading virtual host). Fields are
// named as Sigma's webserver taxonomy names them (the W3C names):
// c-ip, cs-username, cs-method, cs-uri (target), cs-uri-stem, cs-uri-query, cs-version,
// sc-status, sc-bytes, cs-referer, cs-user-agent, cs-host; W3C files keep
// their own field names, with cs(User-Agent), cs(Referer), cs(Cookie)
// also given under the taxonomy's cs-user-agent, cs-referer, cs-cookie.
//
// Zeek's native TSV logs (#separator, #fields, tab-separated values) are
// read by the same code: fields by their Zeek names (id.orig_h …), the
// time from ts (Unix seconds), channel "zeek", provider "zeek:<#path>".
//
// Time: W3C date and time columns are UTC (as IIS writes them); with no
// date column the day comes from the last #Date directive. Access-log
// times carry their offset and are converted to UTC. A line whose time
// cannot be read is kept with the zero time (time_invalid).
//
// A leaf beside evtx: it imports evtx's types and input/tally only.
package weblog
