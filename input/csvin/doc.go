// Package csvin reads CSV with a header row (Timesketch CSV, plaso
// l2tcsv, EvtxECmd and Hayabusa timelines, any other export) into the
// flat evtx.Event: one event per data row, each column a field named by
// its header, in order (a column beyond the header is "fieldN").
// Quoted fields may span lines; quotes are read leniently.
//
// Windows timelines map onto the System fields: EventID/EventId,
// Channel, Computer/Hostname, Provider, EventRecordID/EventRecordId/
// RecordID, Level; the columns stay as data too. EvtxECmd's Payload
// column (the event's data as JSON) is expanded into named fields.
//
// Time: the first column that parses, in the order datetime, timestamp
// (Timesketch: microseconds), Timestamp, TimeCreated, time, @timestamp,
// date_time, UtcTime, EventTime; else plaso l2tcsv's date (MM/DD/YYYY) +
// time (+ timezone when it is UTC); text without a zone is UTC. A row
// without a readable time is kept with the zero time (time_invalid).
//
// A leaf beside evtx: it imports evtx's types and input/tally only.
package csvin
