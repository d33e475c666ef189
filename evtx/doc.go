// Package evtx streams Windows EVTX files into flat Events.
//
// It reads a file one 64 KiB chunk at a time with its own BinXML decoder
// (binxml.go, derived from the Velocidex parser at upstream commit
// f4fa97e6f7fb, Apache-2.0, licence in LICENSE.velocidex), so memory use is
// bounded by one chunk whatever the file size. It is a leaf package: it
// imports nothing of casescope, never logs, and never panics on input.
//
// # Bounds
//
// Every size, count and offset read from the file is checked against what
// the chunk can hold before anything is allocated or looped over: a
// template's substitution count must fit in the bytes left (4 bytes per
// descriptor), value, string and name lengths must fit, name and template
// offsets must lie inside the chunk. Elements nest at most 64 deep,
// templates and BinXML values at most 8. Expansion (a template whose
// substitutions repeat BinXML that repeats again) is charged to a node and
// byte budget per record and per chunk: a record over its budget is
// skipped, a chunk over its budget is abandoned, each with a Problem; the
// rest of the file goes on. ctx is checked before every record. A panic in
// the decoder is recovered and reported as a skipped record.
//
// # Records and accounting
//
// Records are found by walking each chunk's record headers from offset
// 0x200 to the chunk's free-space offset: signature "**\0\0", a size that
// ends inside that area, and the copy of the size in the record's last four
// bytes, as libevtx does. A record is identified by its chunk and its
// offset in the chunk (Event.ChunkOffset, Event.RecordOffset); nothing is
// ever de-duplicated on EventRecordID (a filtered multi-channel save repeats
// IDs). Where the walk breaks, the broken span is a Problem and one
// SkippedRecords. With Options.Recover (what the engine uses) the reader
// scans forward in the chunk's used area for the next valid record header
// and continues; the records delivered that way count in RecordsRecovered
// and carry Event.Recovered. Past a break, a record numbered outside the
// range the chunk header declares is slack of an earlier use of the chunk,
// not a live record: it is counted in StaleRecords with a Problem and not
// delivered. What recovery delivers is exactly libevtx's recovered records
// numbered inside a chunk's declared range and not among its allocated
// ones (evtx.TestRecoveredAreLibevtxRecovered). Without Recover the valid
// records after the break are counted as skipped (out-of-range ones as
// stale) and named in the Problem. RecordsExpected is, per
// chunk, the larger of the chunk header's count (last - first + 1) and what
// the walk found; records the header declares but the walk cannot find are
// SkippedRecords with a Problem. A bad chunk signature within the header's
// chunk count is SkippedChunks and a Problem (past it, slack: StaleChunks).
// A chunk whose record numbers overlap an earlier chunk's (a copied or
// stale chunk) is a Problem; its records are still delivered. A file shorter than its header's chunk count is Truncated with
// a Problem saying how many chunks and bytes are missing; the records wholly
// present in a partial last chunk are read. On a cleanly closed file,
// chunks beyond the header's chunk count are stale slack (StaleChunks).
// libevtx's "recovered records" (deleted records in the chunks' free
// space) are left alone.
//
// # Values
//
// Substitution values are rendered as libevtx's evtxexport shows them,
// except for timestamps (Windows' own precision; libevtx pads to 9 digits):
//
//	type              rendering
//	String (0x01)     UTF-16LE, trailing NULs dropped
//	AnsiString (0x02) decoded with Options.CodePage (default 1252)
//	Int8 … Int64      signed decimal (Int8 is a number, never a character)
//	UInt8 … UInt64    unsigned decimal
//	Real32, Real64    shortest decimal that round-trips ("1.5", "1e+20")
//	Bool              "true" / "false"
//	Binary            upper-case hex, "0A1B"
//	GUID              braced upper case, "{54849625-5478-4994-A5BA-3E3B0328C30D}"
//	SizeT             unsigned decimal (as libevtx shows it)
//	FILETIME          ISO 8601 UTC, 7 fractional digits: "2019-03-19T23:34:36.1234567Z"
//	SYSTEMTIME        ISO 8601 UTC, milliseconds: "2019-04-27T21:06:49.341Z"
//	SID               "S-1-5-21-…"
//	HexInt32          lower-case hex without padding, "0xc000006d", "0x0"
//	HexInt64          lower-case hex without padding, "0x3e7"
//	                  (Event Viewer's form, which SigmaHQ rules, Chainsaw
//	                  and Hayabusa use; libevtx pads to 8/16 digits)
//	BinXML (0x21)     expanded in place as elements
//	array (type|0x80) one copy of the enclosing element per item
//	                  (<Data>a</Data><Data>b</Data>), as Windows and libevtx
//	                  render it; inside an attribute, items joined by ", "
//
// A value whose bytes do not fit its type is kept as upper-case hex and
// reported as a Problem of kind "value". TimeCreated is exact from the
// FILETIME (every FILETIME is representable: 1601-01-01 to year ~60056);
// when SystemTime is missing the record header's FILETIME is used. The
// reader never fails an event for its time; clamping for the index is the
// index's business.
//
// # Flattening EventData and UserData
//
// One convention for every kind of file (WEC/NullType included):
//
//   - <Data Name="X">v</Data> → field X = v (empty values kept);
//   - every unnamed <Data> → a field named "Data", repeated in order,
//     empties kept (no joining, no Data_1);
//   - <Binary> → field "Binary" (hex), for every provider;
//   - any other element (ComplexData, …) and elements nested inside Data
//     → dotted paths, "ComplexData.Item" or "X.Item";
//   - attributes other than Data's Name → "path.@Attr" ("X.@Type",
//     "EventData.@Name"); namespace declarations (xmlns) are skipped;
//   - UserData: the children of its single child element by their names,
//     deeper levels dotted ("Parent.Child"); UserDataElement names that
//     child; its attributes are "@Attr";
//   - other Event children (RenderingInfo, ProcessingErrorData, …) as
//     dotted paths under their own names.
//
// # XML
//
// ReadChunkXML fills Event.XML with the record rendered from the decoded
// tree as Event Viewer-style XML, laid out like `evtxexport -f xml` (two
// spaces per level, empty elements as <X/>, attributes with NULL values
// left out) so the two can be diffed.
package evtx
