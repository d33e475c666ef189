// Package evtx streams Windows EVTX files into flat Events.
//
// It wraps the Velocidex parser (www.velocidex.com/golang/evtx) and reads a
// file one 64 KiB chunk at a time, so memory use is bounded by one chunk's
// records whatever the file size. It is a leaf package: it imports nothing
// of casescope, never logs, and never panics on input — a panic inside the
// underlying parser is recovered and counted as a skipped chunk.
//
// Value rendering. EventData values are rendered as strings the way the
// Rust evtx parser (and so Chainsaw/Hayabusa) shows them: HexInt32/HexInt64
// as "0x3e7", GUIDs without braces, booleans "true"/"false", binary as
// upper-case hex, FILETIME values as "2006-01-02T15:04:05.0000000Z".
// The Velocidex parser drops value types (HexInt64 and UInt64 both come out
// as uint64, FILETIMEs as float Unix seconds), so the reader also decodes
// each record's substitution array itself (recordInfo) to learn the declared
// types and the exact FILETIMEs; where that is ambiguous (the same value
// under a hex and a decimal type) a uint64 is shown in hex and a uint32 in
// hex only for well-known HexInt32 field names.
//
// Dirty files. A record is delivered only when its header is intact: the
// reader walks each chunk's record headers as libevtx does (signature, size
// inside the chunk's used area, trailing size copy) and drops what the
// parser yields beyond the first broken one. Chunks with a bad signature are
// skipped and counted in Stats; the rest of the file is still read. On a
// cleanly closed file, chunks beyond the header's chunk count are stale
// slack and ignored. Duplicate record IDs within a file are dropped.
package evtx
