// Package jsonin reads JSON evidence into the flat evtx.Event: JSON
// lines, one array, one object, or values back to back (pretty-printed
// or not), decoded value by value with object members kept in order.
//
// A record's shape is told by its members (toEvent): evtx_dump and
// Hayabusa's {"Event":{"System":…,"EventData":…}} (attributes under
// "#attributes", text beside them as "#text"), Winlogbeat/ECS (winlog.*,
// event.code, host.name), the flat NXLog/Mordor/Sentinel exports
// (EventID, Channel, Hostname, SourceName … at the top; EventData as an
// embedded XML or JSON string expanded into fields), Velociraptor
// parse_evtx rows. Windows shapes land in the same fields as the EVTX
// reader gives (see evtx's doc.go): typed System fields, data fields by
// their Windows names in document order, GUIDs braced and upper case,
// classic channel names spelled as Windows does ("security" →
// "Security"). Known losses of the source, not repaired: evtx_dump writes
// SystemTime in microseconds and trims the whitespace around values.
// Any other JSON is flattened: nested objects to dotted names ("a.b"),
// array items by index ("a.0").
//
// A leaf beside evtx: it imports evtx's types, input/tally and
// input/xmlin only.
package jsonin
