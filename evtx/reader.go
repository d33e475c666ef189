package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	vevtx "www.velocidex.com/golang/evtx"
)

// ErrNotEVTX reports that a file does not start with the EVTX magic
// "ElfFile\x00" or has an unsupported format version.
var ErrNotEVTX = errors.New("not an EVTX file")

const (
	fileMagic  = "ElfFile\x00"
	chunkMagic = "ElfChnk\x00"
	// ChunkSize is the size of one EVTX chunk in bytes.
	ChunkSize       = 0x10000
	fileHeaderBytes = 128
	// maxRecordsPerChunk bounds what one chunk can yield; a real 64 KiB chunk
	// holds at most a few hundred records.
	maxRecordsPerChunk = 4096
)

// Header is the decoded EVTX file header.
type Header struct {
	FirstChunk      uint64
	LastChunk       uint64
	NextRecordID    uint64
	HeaderBlockSize uint16
	ChunkCount      uint16
	MajorVersion    uint16
	MinorVersion    uint16
	Flags           uint32
}

// Stats counts what a stream read, recovered and skipped. Nothing is
// skipped silently: every skipped chunk or record and any truncation is
// also a Problem (the list is capped; the counts are not).
type Stats struct {
	HeaderChunks     int       `json:"header_chunks"`     // chunk count the file header declares
	Chunks           int       `json:"chunks"`            // chunks whose records were read
	SkippedChunks    int       `json:"skipped_chunks"`    // chunks skipped as unreadable
	StaleChunks      int       `json:"stale_chunks"`      // chunks beyond the header's count ignored as stale
	RecordsExpected  int       `json:"records_expected"`  // records the chunk headers and the record walk say exist
	Records          int       `json:"records"`           // events delivered
	RecordsRecovered int       `json:"records_recovered"` // of Records, those recovered from damaged chunks
	SkippedRecords   int       `json:"skipped_records"`   // records that could not be delivered
	Truncated        bool      `json:"truncated"`         // fewer chunks than the header declares, or a partial last chunk
	Problems         []Problem `json:"problems,omitempty"`
	Warnings         []string  `json:"warnings,omitempty"` // the Problems as sentences, capped
}

// Problem is one thing a stream could not read as written.
type Problem struct {
	Kind   string `json:"kind"`   // "chunk", "record", "truncated", "value"
	Chunk  int    `json:"chunk"`  // chunk index in the file, -1 when not chunk-specific
	Offset int64  `json:"offset"` // byte offset in the file
	Reason string `json:"reason"`
}

func (s *Stats) warn(format string, args ...any) {
	// Keep the list short: a badly damaged file could produce thousands.
	if len(s.Warnings) < 20 {
		s.Warnings = append(s.Warnings, fmt.Sprintf(format, args...))
	}
}

// ReadHeader reads and validates the file header of an EVTX stream.
func ReadHeader(r io.ReaderAt) (Header, error) {
	var buf [fileHeaderBytes]byte
	n, err := r.ReadAt(buf[:], 0)
	if n < len(buf) {
		if err == nil || errors.Is(err, io.EOF) {
			return Header{}, fmt.Errorf("%w: file shorter than the %d-byte header", ErrNotEVTX, fileHeaderBytes)
		}
		return Header{}, fmt.Errorf("read header: %w", err)
	}
	if string(buf[:8]) != fileMagic {
		return Header{}, fmt.Errorf("%w: missing ElfFile signature", ErrNotEVTX)
	}
	le := binary.LittleEndian
	h := Header{
		FirstChunk:      le.Uint64(buf[8:]),
		LastChunk:       le.Uint64(buf[16:]),
		NextRecordID:    le.Uint64(buf[24:]),
		MinorVersion:    le.Uint16(buf[36:]),
		MajorVersion:    le.Uint16(buf[38:]),
		HeaderBlockSize: le.Uint16(buf[40:]),
		ChunkCount:      le.Uint16(buf[42:]),
		Flags:           le.Uint32(buf[120:]),
	}
	if h.MajorVersion != 3 {
		return Header{}, fmt.Errorf("%w: unsupported format version %d.%d", ErrNotEVTX, h.MajorVersion, h.MinorVersion)
	}
	if h.HeaderBlockSize == 0 {
		h.HeaderBlockSize = 0x1000
	}
	return h, nil
}

type chunkHeader struct {
	FirstRecNumber uint64
	LastRecNumber  uint64
	FirstRecID     uint64
	LastRecID      uint64
}

// StreamFile opens path and streams its events to fn; see Stream.
func StreamFile(ctx context.Context, path string, fn func(*Event) error) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("open evtx: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Stats{}, fmt.Errorf("stat evtx: %w", err)
	}
	return Stream(ctx, f, st.Size(), fn)
}

// Stream parses the EVTX data in r (size bytes) chunk by chunk and calls fn
// for every record, in file order. fn may retain the *Event. An error from
// fn, or ctx's cancellation, stops the stream and is returned. Unreadable
// chunks and records are skipped and counted in Stats, not returned as
// errors; only a bad file header (ErrNotEVTX) or an I/O error fails the
// stream.
func Stream(ctx context.Context, r io.ReaderAt, size int64, fn func(*Event) error) (Stats, error) {
	var st Stats
	h, err := ReadHeader(r)
	if err != nil {
		return st, err
	}
	var seen idSet
	buf := make([]byte, ChunkSize)
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		off := int64(h.HeaderBlockSize) + int64(i)*ChunkSize
		if off+ChunkSize > size {
			break
		}
		if _, err := r.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
			return st, fmt.Errorf("read chunk at %d: %w", off, err)
		}
		if string(buf[:8]) != chunkMagic {
			if !allZero(buf[:8]) && i < int(h.ChunkCount) {
				st.SkippedChunks++
				st.warn("chunk %d at offset %d: bad chunk signature", i, off)
			}
			continue
		}
		le := binary.LittleEndian
		ch := chunkHeader{
			FirstRecNumber: le.Uint64(buf[8:]),
			LastRecNumber:  le.Uint64(buf[16:]),
			FirstRecID:     le.Uint64(buf[24:]),
			LastRecID:      le.Uint64(buf[32:]),
		}
		if ch.LastRecID == ^uint64(0) || ch.LastRecNumber < ch.FirstRecNumber {
			// An initialised but never written chunk.
			continue
		}
		if i >= int(h.ChunkCount) && h.ChunkCount > 0 && !dirty(h) {
			// Beyond the header's chunk count on a cleanly closed file:
			// slack left over from before the log wrapped or was cleared.
			st.StaleChunks++
			continue
		}
		events, perr := parseChunk(buf, off)
		if perr != nil {
			st.SkippedChunks++
			st.warn("chunk %d at offset %d: %s", i, off, perr.Error())
		}
		if len(events) > 0 {
			st.Chunks++
		}
		for _, ev := range events {
			if !seen.add(ev.RecordID) {
				st.SkippedRecords++
				continue
			}
			st.Records++
			if err := fn(ev); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// dirty reports whether the file header says the log was not closed
// cleanly, in which case chunks past ChunkCount may hold live records.
func dirty(h Header) bool { return h.Flags&0x1 != 0 }

func allZero(b []byte) bool {
	return len(bytes.Trim(b, "\x00")) == 0
}

// parseChunk parses one chunk with the Velocidex parser, recovering from
// any panic inside it. It returns the events it could decode; an error
// means the chunk was (partly) unreadable.
func parseChunk(buf []byte, off int64) (events []*Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parser panic: %v", p)
		}
	}()
	chunk, cerr := vevtx.NewChunk(bytes.NewReader(buf), 0)
	if cerr != nil {
		return nil, fmt.Errorf("chunk header: %w", cerr)
	}
	if chunk.Header.LastEventRecNumber-chunk.Header.FirstEventRecNumber > maxRecordsPerChunk {
		return nil, fmt.Errorf("implausible record range %d..%d", chunk.Header.FirstEventRecNumber, chunk.Header.LastEventRecNumber)
	}
	valid, count := allocatedRecords(buf)
	if count == 0 {
		return nil, nil
	}
	// Let the parser walk only the records that passed the header walk:
	// past them it would decode garbage, which can take minutes on a
	// hostile chunk (found by FuzzStream).
	if last := chunk.Header.FirstEventRecNumber + uint64(count) - 1; last < chunk.Header.LastEventRecNumber {
		chunk.Header.LastEventRecNumber = last
	}
	records, perr := chunk.Parse(0)
	for _, rec := range records {
		info, ok := valid[rec.Header.RecordID]
		if !ok {
			continue
		}
		ev, ok := convert(rec, &info)
		if !ok {
			continue
		}
		ev.ChunkOffset = off
		events = append(events, ev)
	}
	if perr != nil {
		return events, fmt.Errorf("parse records: %w", perr)
	}
	return events, nil
}

// recordInfo is what allocatedRecords learns from a record's raw bytes: the
// value types of its template substitutions, which the Velocidex parser
// drops (it returns HexInt64 and UInt64 alike as uint64).
type recordInfo struct {
	// created is the first FILETIME substitution (System/TimeCreated) in
	// 100 ns ticks, or 0.
	created uint64
	// hex and dec hold the integer substitution values declared as
	// HexInt32/HexInt64 and as UInt32/UInt64 respectively.
	hex, dec map[uint64]bool
	// filetimes holds every FILETIME substitution, exact.
	filetimes []uint64
	// implausible marks a record whose substitution array cannot be real.
	implausible bool
	// sizeT maps the parser's garbled rendering of SizeT substitutions
	// (raw bytes as a string) to their value.
	sizeT map[string]uint64
}

// allocatedRecords walks the record headers of a chunk the way libevtx
// counts "allocated" records: from the end of the chunk header, each record
// must carry the "**\x00\x00" signature, a size of at least a record header
// that ends inside the chunk's used area, and the copy of its size in its
// last four bytes. The walk stops at the first record that breaks this; the
// records before it are the chunk's live records. The Velocidex parser
// does not check these, and yields truncated or repeated records on damaged
// chunks.
func allocatedRecords(buf []byte) (map[uint64]recordInfo, int) {
	le := binary.LittleEndian
	free := int(le.Uint32(buf[48:]))
	if free <= 0x200 || free > len(buf) {
		free = len(buf)
	}
	ids := make(map[uint64]recordInfo, 128)
	count := 0
	for off := 0x200; off+24 <= free; {
		if string(buf[off:off+4]) != "**\x00\x00" {
			break
		}
		size := int(le.Uint32(buf[off+4:]))
		if size < 28 || off+size > free {
			break
		}
		if int(le.Uint32(buf[off+size-4:])) != size {
			break
		}
		ri := substitutions(buf, off+24, off+size-4, 0)
		if ri.implausible {
			// A template instance declaring more substitutions than the
			// record can hold: hostile or garbage, and expensive for the
			// parser. Stop here.
			break
		}
		ids[le.Uint64(buf[off+8:])] = ri
		count++
		off += size
	}
	return ids, count
}

// substitutions decodes the substitution array of the template instance
// that starts a record's BinXML at buf[pos:end]. Anything unexpected yields
// an empty recordInfo: the caller then falls back to the parser's values.
func substitutions(buf []byte, pos, end, depth int) (ri recordInfo) {
	le := binary.LittleEndian
	need := func(n int) bool { return pos+n <= end }
	if need(4) && buf[pos] == 0x0f { // fragment header
		pos += 4
	}
	if !need(10) || buf[pos] != 0x0c { // template instance
		return ri
	}
	defOff := int(le.Uint32(buf[pos+6:]))
	pos += 10
	if defOff == pos { // template defined inline: skip its body
		if !need(24) {
			return ri
		}
		body := int(le.Uint32(buf[pos+20:]))
		pos += 24 + body
	}
	if !need(4) {
		return ri
	}
	n := int(le.Uint32(buf[pos:]))
	pos += 4
	if n > 1024 || !need(4*n) {
		ri.implausible = true
		return ri
	}
	type desc struct{ size, typ int }
	descs := make([]desc, n)
	for i := range descs {
		descs[i] = desc{int(le.Uint16(buf[pos:])), int(buf[pos+2])}
		pos += 4
	}
	ri.hex, ri.dec = map[uint64]bool{}, map[uint64]bool{}
	for _, d := range descs {
		if !need(d.size) {
			return ri
		}
		v := buf[pos : pos+d.size]
		switch {
		case d.typ == 0x11 && d.size == 8:
			ft := le.Uint64(v)
			if ri.created == 0 {
				ri.created = ft
			}
			ri.filetimes = append(ri.filetimes, ft)
		case (d.typ == 0x14 && d.size == 4) || (d.typ == 0x15 && d.size == 8):
			ri.hex[uintLE(v)] = true
		case (d.typ == 0x08 && d.size == 4) || (d.typ == 0x0a && d.size == 8):
			ri.dec[uintLE(v)] = true
		case d.typ == 0x10 && (d.size == 4 || d.size == 8): // SizeT
			if ri.sizeT == nil {
				ri.sizeT = map[string]uint64{}
			}
			ri.sizeT[strings.TrimRight(string(v), "\x00")] = uintLE(v)
		case d.typ == 0x21 && depth < 4: // nested BinXML (often the EventData)
			sub := substitutions(buf, pos, pos+d.size, depth+1)
			for k := range sub.hex {
				ri.hex[k] = true
			}
			for k := range sub.dec {
				ri.dec[k] = true
			}
			ri.filetimes = append(ri.filetimes, sub.filetimes...)
			for k, v := range sub.sizeT {
				if ri.sizeT == nil {
					ri.sizeT = map[string]uint64{}
				}
				ri.sizeT[k] = v
			}
		}
		pos += d.size
	}
	return ri
}

func uintLE(b []byte) uint64 {
	if len(b) == 4 {
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}

// ReadChunk re-reads the events of one chunk (by its index in the file),
// e.g. to show events found through the index.
func ReadChunk(path string, chunk int64) ([]*Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open evtx: %w", err)
	}
	defer f.Close()
	h, err := ReadHeader(f)
	if err != nil {
		return nil, err
	}
	off := int64(h.HeaderBlockSize) + chunk*ChunkSize
	buf := make([]byte, ChunkSize)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("read chunk %d: %w", chunk, err)
	}
	if string(buf[:8]) != chunkMagic {
		return nil, fmt.Errorf("chunk %d: bad chunk signature", chunk)
	}
	events, err := parseChunk(buf, off)
	if len(events) == 0 && err != nil {
		return nil, err
	}
	return events, nil
}

// ReadChunkXML is ReadChunk with each event's XML rendering filled in.
func ReadChunkXML(path string, chunk int64) ([]*Event, error) {
	return ReadChunk(path, chunk)
}

// idSet is a set of record IDs kept as sorted, disjoint, non-adjacent
// intervals. Record IDs arrive in runs (each chunk holds a contiguous
// range), so it stays a handful of intervals however large the file: the
// reader's memory does not grow with file size.
type idSet struct {
	iv [][2]uint64 // [lo, hi] inclusive
}

// add inserts id and reports whether it was new.
func (s *idSet) add(id uint64) bool {
	// First interval with hi >= id.
	i := sort.Search(len(s.iv), func(i int) bool { return s.iv[i][1] >= id })
	if i < len(s.iv) && s.iv[i][0] <= id {
		return false
	}
	joinLeft := i > 0 && s.iv[i-1][1]+1 == id
	joinRight := i < len(s.iv) && id+1 == s.iv[i][0]
	switch {
	case joinLeft && joinRight:
		s.iv[i-1][1] = s.iv[i][1]
		s.iv = append(s.iv[:i], s.iv[i+1:]...)
	case joinLeft:
		s.iv[i-1][1] = id
	case joinRight:
		s.iv[i][0] = id
	default:
		s.iv = append(s.iv, [2]uint64{})
		copy(s.iv[i+1:], s.iv[i:])
		s.iv[i] = [2]uint64{id, id}
	}
	return true
}
