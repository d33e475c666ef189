package tally

import (
	"fmt"

	"casescope/evtx"
)

// MaxProblems caps the problems kept per file (the counts stay exact): a
// file of a million bad lines must not make a million warnings.
const MaxProblems = 50

// Tally accumulates a text file's accounting in evtx.Stats form, so the
// engine stores and shows it as it does an EVTX file's.
type Tally struct {
	Stats evtx.Stats
	// NoTime counts records kept without a parseable time (indexed with
	// the zero time, so they are flagged time_invalid).
	NoTime int
}

// Good counts one record delivered.
func (t *Tally) Good() {
	t.Stats.Records++
	t.Stats.RecordsExpected++
}

// Bad counts one record that could not be read, with where and why:
// line is 1-based (0 when unknown), off the byte offset in the
// (decompressed) stream.
func (t *Tally) Bad(line, off int64, format string, args ...any) {
	t.Stats.SkippedRecords++
	t.Stats.RecordsExpected++
	t.Problem(line, off, format, args...)
}

// Problem records a problem that is not a lost record (a truncated
// stream, a bad header line).
func (t *Tally) Problem(line, off int64, format string, args ...any) {
	if len(t.Stats.Problems) >= MaxProblems {
		return
	}
	reason := fmt.Sprintf(format, args...)
	t.Stats.Problems = append(t.Stats.Problems, evtx.Problem{Kind: "line", Chunk: -1, Offset: off, Reason: reason})
	if line > 0 {
		t.Stats.Warnings = append(t.Stats.Warnings, fmt.Sprintf("line %d (byte offset %d): %s", line, off, reason))
	} else {
		t.Stats.Warnings = append(t.Stats.Warnings, fmt.Sprintf("byte offset %d: %s", off, reason))
	}
}

// Finish adds the summary warnings (records without a time) once the
// stream ended.
func (t *Tally) Finish() {
	if t.NoTime > 0 {
		t.Stats.Warnings = append(t.Stats.Warnings, fmt.Sprintf("%d record(s) without a parseable time kept at the zero time (search time_invalid:true)", t.NoTime))
	}
}

// blockBits splits a text record's byte offset into the two parts of an
// EVTX-style locator: a 64 KiB block (evtx.ChunkSize) and the position in
// it, so store.DocRef works unchanged: IDs stay compact, sort in file
// order and are unique within the file.
const blockBits = 16

// Place sets ev's locator from the byte offset of the record's first
// byte in the (decompressed) stream. RecordOffset is one more than the
// position in the block, since 0 means "no offset" to store.DocRef.
func Place(ev *evtx.Event, off int64) {
	ev.ChunkOffset = off &^ (1<<blockBits - 1)
	ev.RecordOffset = uint32(off&(1<<blockBits-1)) + 1
}

// Offset returns the byte offset a locator (ChunkOffset, RecordOffset)
// made by Place names.
func Offset(chunkOffset int64, recordOffset uint32) int64 {
	return chunkOffset + int64(recordOffset) - 1
}
