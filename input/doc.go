// Package input reads evidence files of every supported format into the
// flat evtx.Event: EVTX (package evtx), Windows events as JSON (package
// jsonin: evtx_dump/Hayabusa, Winlogbeat/ECS, NXLog/Mordor/Sentinel flat
// exports, Velociraptor rows) and as XML (package xmlin), generic JSON,
// CSV timelines (csvin), IIS W3C and Apache/Nginx access logs and Zeek's
// TSV logs (weblog).
// The format is told by content, never by the file name; gzip by its
// magic bytes, UTF-16 text by its byte-order mark.
//
// # Records, identity and accounting
//
// A text record is located by the byte offset of its first byte in the
// (decompressed, UTF-8) stream, stored in the Event's ChunkOffset and
// RecordOffset (tally.Place) so the document ID is derived from the file
// and that offset: re-reading a file after a crash yields the same IDs,
// and ReadAt reads one record back by its offset (a seek for plain files;
// gzip and UTF-16 files are read forward to it). Records that cannot be
// parsed are skipped, counted and named by line (or offset) in the
// Stats' problems; a file none of whose records parse is an error
// (ErrNoRecords) carrying the first reason. Nothing is read whole: JSON
// and XML are decoded value by value, CSV and logs line by line.
//
// # Time, per format
//
//   - EVTX, Windows XML, evtx_dump JSON: System/TimeCreated/@SystemTime.
//   - Winlogbeat/ECS: @timestamp (Winlogbeat writes the event's time there).
//   - Flat Windows JSON: TimeCreated, else @timestamp, else TimeGenerated,
//     else EventTime (NXLog's local time without a zone, read as UTC: it
//     is used only when nothing zoned is present), else Timestamp
//     (Hayabusa JSONL).
//   - Generic JSON: @timestamp, datetime, timestamp, Timestamp, time, Time,
//     TimeCreated, TimeGenerated, EventTime, eventTime, date, date_time,
//     ts, _ts, created_at, UtcTime; the first that parses.
//   - CSV: datetime, timestamp (Timesketch: microseconds), then the same
//     names as JSON, then date+time columns (plaso l2tcsv: MM/DD/YYYY with
//     its timezone column).
//   - IIS W3C: date and time columns, UTC (as IIS writes them), the day
//     from #Date when there is no date column.
//   - Access logs: [02/Jan/2006:15:04:05 -0700], converted to UTC.
//   - Zeek TSV: ts (Unix seconds).
//
// Text without a zone is read as UTC; numbers are Unix times, the unit by
// magnitude (tally.ParseEpoch). A record whose time cannot be parsed is
// kept at the zero time, which the index flags time_invalid, and the
// file's warnings count them.
package input
