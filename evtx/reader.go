package evtx

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNotEVTX reports that a file does not start with the EVTX magic
// "ElfFile\x00" or has an unsupported format version.
var ErrNotEVTX = errors.New("not an EVTX file")

const (
	fileMagic  = "ElfFile\x00"
	chunkMagic = "ElfChnk\x00"
	// ChunkSize is the size of one EVTX chunk in bytes.
	ChunkSize        = 0x10000
	fileHeaderBytes  = 128
	chunkHeaderBytes = 0x200 // chunk header plus the name and template hash tables
	recordHeaderSize = 24
	// maxRecordsPerChunk bounds what one chunk can yield: a record takes at
	// least 28 bytes of the chunk's 65,024 bytes of record space.
	maxRecordsPerChunk = (ChunkSize - chunkHeaderBytes) / 28
	// maxProblems caps Stats.Problems and Stats.Warnings; counts are not
	// capped.
	maxProblems = 50
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
	StaleRecords     int       `json:"stale_records"`     // records found past a break but numbered outside the chunk's declared range (slack of an earlier use), not delivered
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

// problem records one Problem and its sentence; the lists are capped
// because a badly damaged file could produce thousands.
func (s *Stats) problem(kind string, chunk int, off int64, format string, args ...any) {
	if len(s.Problems) >= maxProblems {
		return
	}
	p := Problem{Kind: kind, Chunk: chunk, Offset: off, Reason: fmt.Sprintf(format, args...)}
	s.Problems = append(s.Problems, p)
	where := fmt.Sprintf("at file offset %d", off)
	if chunk >= 0 {
		where = fmt.Sprintf("chunk %d, file offset %d", chunk, off)
	}
	s.Warnings = append(s.Warnings, fmt.Sprintf("%s (%s): %s", kind, where, p.Reason))
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

// StreamFile opens path and streams its events to fn; see Stream.
func StreamFile(ctx context.Context, path string, fn func(*Event) error) (Stats, error) {
	return StreamFileOptions(ctx, path, Options{}, fn)
}

// StreamFileOptions is StreamFile with rendering options.
func StreamFileOptions(ctx context.Context, path string, opts Options, fn func(*Event) error) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("open evtx: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Stats{}, fmt.Errorf("stat evtx: %w", err)
	}
	return StreamOptions(ctx, f, st.Size(), opts, fn)
}

// Stream parses the EVTX data in r (size bytes) chunk by chunk and calls fn
// for every record, in file order. fn may retain the *Event. An error from
// fn, or ctx's cancellation, stops the stream and is returned. Unreadable
// chunks and records are skipped and counted in Stats, not returned as
// errors; only a bad file header (ErrNotEVTX) or an I/O error fails the
// stream.
func Stream(ctx context.Context, r io.ReaderAt, size int64, fn func(*Event) error) (Stats, error) {
	return StreamOptions(ctx, r, size, Options{}, fn)
}

// StreamOptions is Stream with rendering options.
func StreamOptions(ctx context.Context, r io.ReaderAt, size int64, opts Options, fn func(*Event) error) (Stats, error) {
	return newStreamer(opts).stream(ctx, r, size, fn)
}

func (s *streamer) stream(ctx context.Context, r io.ReaderAt, size int64, fn func(*Event) error) (st Stats, err error) {
	buf := make([]byte, ChunkSize)
	err = scan(ctx, r, size, &st, func(int) (*Stats, []byte) { return &st, buf },
		func(c *Stats, buf []byte, i int, off int64, avail int) error {
			return s.chunk(ctx, c, buf, i, off, avail, fn)
		})
	return st, err
}

// scan walks the chunks of an EVTX stream: it reads the header into st
// (HeaderChunks, truncation), then reads each chunk, checks its signature
// and record numbers, and calls parse for each chunk whose records are to
// be read. next gives, before each chunk, the Stats its checks are
// counted in and the buffer to read it into (a sequential stream passes
// st and one buffer; a parallel one a fresh Stats and buffer per chunk,
// merged in file order). parse runs on scan's goroutine; an error from it
// stops the walk.
func scan(ctx context.Context, r io.ReaderAt, size int64, st *Stats, next func(chunk int) (*Stats, []byte),
	parse func(c *Stats, buf []byte, i int, off int64, avail int) error) error {
	h, err := ReadHeader(r)
	if err != nil {
		return err
	}
	st.HeaderChunks = int(h.ChunkCount)
	hbs := int64(h.HeaderBlockSize)
	if want := hbs + int64(h.ChunkCount)*ChunkSize; size < want {
		st.Truncated = true
		whole := int64(0)
		if size > hbs {
			whole = (size - hbs) / ChunkSize
		}
		partial := ""
		if size > hbs && (size-hbs)%ChunkSize != 0 {
			partial = fmt.Sprintf(" plus %d bytes of chunk %d", (size-hbs)%ChunkSize, whole)
		}
		st.problem("truncated", -1, size, "file ends after %d bytes: the header declares %d chunks, %d whole chunks are present%s; %d bytes missing",
			size, h.ChunkCount, whole, partial, want-size)
	}
	var seen []numRange
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		off := hbs + int64(i)*ChunkSize
		if off >= size {
			break
		}
		avail := int(min(size-off, ChunkSize))
		inHeader := i < int(h.ChunkCount)
		if avail < ChunkSize && !inHeader && !dirty(h) {
			break // trailing bytes after the last declared chunk of a cleanly closed file
		}
		c, buf := next(i)
		n, rerr := r.ReadAt(buf[:avail], off)
		if rerr != nil && !(errors.Is(rerr, io.EOF) && n == avail) {
			return fmt.Errorf("read chunk at %d: %w", off, rerr)
		}
		clear(buf[avail:])
		if avail < chunkHeaderBytes {
			break // the truncation problem covers it
		}
		if string(buf[:8]) != chunkMagic {
			switch {
			case allZero(buf[:chunkHeaderBytes]):
				// Allocated but never written.
			case inHeader:
				c.SkippedChunks++
				c.problem("chunk", i, off, "bad chunk signature %q", buf[:8])
			default:
				// Past the header's chunk count without a signature:
				// slack (a dirty file's header may lag, but a live chunk
				// has its signature).
				c.StaleChunks++
			}
			continue
		}
		if !inHeader && h.ChunkCount > 0 && !dirty(h) {
			// Beyond the header's chunk count on a cleanly closed file:
			// slack left over from before the log wrapped or was cleared.
			c.StaleChunks++
			continue
		}
		if first, last, ok := declaredRange(buf); ok {
			// Live chunks hold disjoint record-number ranges (a wrapped
			// log only rotates them); a repeat means a copied or stale
			// chunk, whose records are still delivered.
			for _, r := range seen {
				if first <= r.last && r.first <= last {
					c.problem("chunk", i, off, "record numbers %d-%d overlap those of chunk %d (%d-%d): a copied or stale chunk", first, last, r.chunk, r.first, r.last)
					break
				}
			}
			if len(seen) < maxTrackedChunks {
				seen = append(seen, numRange{first, last, i})
			}
		}
		if err := parse(c, buf, i, off, avail); err != nil {
			return err
		}
	}
	return nil
}

// numRange is the record-number range a chunk header declares.
type numRange struct {
	first, last uint64
	chunk       int
}

// maxTrackedChunks bounds the overlap check's memory and time (a 64 KiB
// chunk each: 4,096 chunks is a 256 MiB file).
const maxTrackedChunks = 4096

// declaredRange returns the record numbers a chunk header declares, if
// plausible.
func declaredRange(buf []byte) (first, last uint64, ok bool) {
	le := binary.LittleEndian
	first, last = le.Uint64(buf[8:]), le.Uint64(buf[16:])
	ok = le.Uint64(buf[32:]) != ^uint64(0) && last >= first && last-first < maxRecordsPerChunk
	return first, last, ok
}

// dirty reports whether the file header says the log was not closed
// cleanly, in which case chunks past ChunkCount may hold live records.
func dirty(h Header) bool { return h.Flags&0x1 != 0 }

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// streamer holds what a stream keeps across chunks.
type streamer struct {
	r       renderer
	xml     bool // render Event.XML
	recover bool // Options.Recover
}

func newStreamer(opts Options) *streamer {
	return &streamer{r: renderer{ansi: ansiDecoder(opts.CodePage)}, xml: opts.XML, recover: opts.Recover}
}

// recordAt checks the record header at pos: signature, a size that ends
// inside end, and the copy of the size in the record's last four bytes.
func recordAt(buf []byte, pos, end int) (int, bool) {
	if pos+recordHeaderSize+4 > end || string(buf[pos:pos+4]) != "**\x00\x00" {
		return 0, false
	}
	size := int(binary.LittleEndian.Uint32(buf[pos+4:]))
	if size < recordHeaderSize+4 || size > end-pos {
		return 0, false
	}
	if int(binary.LittleEndian.Uint32(buf[pos+size-4:])) != size {
		return 0, false
	}
	return size, true
}

// nextRecord finds the first valid record header in buf[from:end].
func nextRecord(buf []byte, from, end int) int {
	for pos := from; pos+recordHeaderSize+4 <= end; pos++ {
		if buf[pos] == '*' {
			if _, ok := recordAt(buf, pos, end); ok {
				return pos
			}
		}
	}
	return -1
}

// chunk reads the records of one chunk (buf, of which avail bytes were
// present in the file) by walking their headers, recovering past damaged
// ones, and calls fn for each.
func (s *streamer) chunk(ctx context.Context, st *Stats, buf []byte, idx int, off int64, avail int, fn func(*Event) error) error {
	le := binary.LittleEndian
	declared := -1
	first, last, ranged := declaredRange(buf)
	if ranged {
		declared = int(last - first + 1)
	}
	end := int(le.Uint32(buf[48:])) // free space offset: end of the records
	if end < chunkHeaderBytes || end > ChunkSize {
		end = ChunkSize
	}
	limit := min(end, avail)
	d := newChunkDecoder(buf)
	delivered, skipped, stale := 0, 0, 0
	recovering, abandoned := false, false
	pos := chunkHeaderBytes
	for pos+recordHeaderSize+4 <= limit && delivered+skipped+stale < maxRecordsPerChunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		size, ok := recordAt(buf, pos, end)
		if !ok && avail < end && string(buf[pos:pos+4]) == "**\x00\x00" {
			if n := int(le.Uint32(buf[pos+4:])); n > avail-pos && n <= end-pos {
				break // cut off by the end of the file: the truncation problem covers it
			}
		}
		if !ok {
			if allZero(buf[pos:limit]) {
				break
			}
			next := nextRecord(buf, pos+1, limit)
			skipped++
			st.SkippedRecords++
			to := "the end of the chunk's records"
			if next >= 0 {
				to = fmt.Sprintf("the next valid record at chunk offset 0x%x", next)
			}
			st.problem("record", idx, off+int64(pos), "broken record header at chunk offset 0x%x (%s); skipped to %s",
				pos, brokenReason(buf, pos, end), to)
			if next < 0 {
				break
			}
			if !s.recover {
				// Count the live records after the break without
				// delivering them.
				left := 0
				for p, seen := next, 0; p >= 0 && seen < maxRecordsPerChunk; seen++ {
					n, _ := recordAt(buf, p, end)
					if id := le.Uint64(buf[p+8:]); ranged && (id < first || id > last) {
						stale++
						st.StaleRecords++
					} else {
						left++
					}
					p = nextRecord(buf, p+n, limit)
				}
				skipped += left
				st.SkippedRecords += left
				st.problem("record", idx, off+int64(next), "%d valid records after the break left unread (recovery off)", left)
				break
			}
			pos, recovering = next, true
			continue
		}
		if recovering && ranged {
			// Past a break, a record numbered outside the range the chunk
			// header declares is slack left by an earlier use of the
			// chunk, not one of its live records: counted, not delivered.
			if id := le.Uint64(buf[pos+8:]); id < first || id > last {
				stale++
				st.StaleRecords++
				pos += size
				continue
			}
		}
		ev, err := s.record(st, d, buf, idx, off, pos, size)
		switch {
		case err != nil && d.nodesLeft < 0:
			skipped++
			st.SkippedRecords++
			abandoned = true
			st.problem("chunk", idx, off+int64(pos), "record at chunk offset 0x%x: %s; rest of the chunk abandoned", pos, err.Error())
		case err != nil:
			skipped++
			st.SkippedRecords++
			st.problem("record", idx, off+int64(pos), "record %d at chunk offset 0x%x not decoded: %s", le.Uint64(buf[pos+8:]), pos, err.Error())
		default:
			delivered++
			st.Records++
			if recovering {
				st.RecordsRecovered++
				ev.Recovered = true
			}
			ev.ChunkOffset = off
			if err := fn(ev); err != nil {
				return err
			}
		}
		if abandoned {
			break
		}
		pos += size
	}
	if stale > 0 {
		st.problem("record", idx, off, "%d record(s) past the break numbered outside the chunk's declared range %d-%d (stale slack) not delivered", stale, first, last)
	}
	walk := delivered + skipped
	st.RecordsExpected += max(walk, declared)
	if declared > walk {
		st.SkippedRecords += declared - walk
		why := "the rest is unreadable"
		if avail < ChunkSize {
			why = "the chunk is cut off by the end of the file"
		} else if abandoned {
			why = "the chunk was abandoned"
		}
		st.problem("record", idx, off, "chunk header declares %d records, %d found (%s)", declared, walk, why)
	}
	if delivered > 0 {
		st.Chunks++
	}
	return nil
}

// brokenReason says why the record header at pos is not valid.
func brokenReason(buf []byte, pos, end int) string {
	if pos+recordHeaderSize+4 > end {
		return "too close to the end of the records"
	}
	if string(buf[pos:pos+4]) != "**\x00\x00" {
		return "no record signature"
	}
	size := int(binary.LittleEndian.Uint32(buf[pos+4:]))
	if size < recordHeaderSize+4 || size > end-pos {
		return fmt.Sprintf("size %d does not fit", size)
	}
	return fmt.Sprintf("size %d but trailing size copy %d", size, binary.LittleEndian.Uint32(buf[pos+size-4:]))
}

// record decodes one record into an Event. A panic is the decoder's bug,
// not the input's fault; it is recovered and reported like bad input.
func (s *streamer) record(st *Stats, d *chunkDecoder, buf []byte, idx int, off int64, pos, size int) (ev *Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			ev, err = nil, fmt.Errorf("decoder panic: %v", p)
		}
	}()
	le := binary.LittleEndian
	items, err := d.decodeRecord(pos+recordHeaderSize, pos+size-4)
	if err != nil {
		return nil, err
	}
	r := &s.r
	r.buf, r.bad = buf, r.bad[:0]
	ev = &Event{RecordID: le.Uint64(buf[pos+8:]), RecordOffset: uint32(pos)}
	root := findEvent(items)
	r.flatten(ev, root, le.Uint64(buf[pos+16:]))
	if root == nil {
		st.problem("record", idx, off+int64(pos), "record %d at chunk offset 0x%x holds no XML element", ev.RecordID, pos)
	}
	if s.xml {
		ev.XML = r.renderXML(items)
	}
	for _, why := range r.bad {
		st.problem("value", idx, off+int64(pos), "record %d: %s", ev.RecordID, why)
	}
	return ev, nil
}

// ReadChunk re-reads the events of one chunk (by its index in the file),
// e.g. to show events found through the index, with default Options: the
// same events a default stream delivered from that chunk.
func ReadChunk(path string, chunk int64) ([]*Event, error) {
	return ReadChunkOptions(path, chunk, Options{})
}

// ReadChunkXML is ReadChunk with each event's XML rendering filled in.
func ReadChunkXML(path string, chunk int64) ([]*Event, error) {
	return ReadChunkOptions(path, chunk, Options{XML: true})
}

// ReadChunkOptions is ReadChunk with options; pass those the stream used
// (Recover, CodePage) to find the same events with the same values.
func ReadChunkOptions(path string, chunk int64, opts Options) ([]*Event, error) {
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
	n, err := f.ReadAt(buf, off)
	if err != nil && !(errors.Is(err, io.EOF) && n >= chunkHeaderBytes) {
		return nil, fmt.Errorf("read chunk %d: %w", chunk, err)
	}
	if string(buf[:8]) != chunkMagic {
		return nil, fmt.Errorf("chunk %d: bad chunk signature", chunk)
	}
	var events []*Event
	var st Stats
	s := newStreamer(opts)
	err = s.chunk(context.Background(), &st, buf, int(chunk), off, n, func(e *Event) error {
		events = append(events, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}
