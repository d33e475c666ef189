// Package xmlin reads Windows events rendered as XML (Event Viewer's
// "Save as XML", wevtutil qe /f:xml, python-evtx and evtx_dump XML, one
// <Event> per line without a root) into the flat evtx.Event, with the
// EVTX reader's flattening conventions (see evtx's doc.go): named Data by
// name, unnamed Data as repeated "Data", other elements by dotted path,
// attributes as "path.@Attr", UserData's single child's children by name,
// System fields typed and every other System item in SystemExtra. An
// event read back by ReadOne carries its own text as Event.XML.
//
// It is a leaf beside evtx: it imports evtx's types and input/tally only.
package xmlin
