// Command mkbig assembles one large EVTX file from real chunks of the EVTX
// files under a directory, for the one-huge-file benchmark (a domain
// controller's multi-gigabyte Security.evtx). It prints the records and
// chunks written as JSON.
//
//	go run ./bench/mkbig -src ../shared/testdata/evtx -size 2GiB -out /tmp/big.evtx
//
// Whole chunks are copied: an EVTX chunk is self-contained (its string
// and template tables and every offset in its records are chunk-relative),
// so a chunk stays valid in any file. Only chunks casescope's own reader
// reads cleanly are taken, cycling through them until the file reaches
// -size. Each copy is renumbered so the file's records run 1..N in order:
// the record header's ID, the EventRecordID substitution value inside the
// record (what readers show as System/EventRecordID), and the chunk
// header's first/last record numbers and IDs. With libevtx's evtxexport
// on the PATH (or named by -libevtx), chunks it cannot export are left
// out too, so the file also serves the side-by-side run against
// evtxexport (a chunk only one parser reads would stop the other early).
// The bytes after a chunk's
// last record (slack that may hold deleted records) are zeroed so no
// reader recovers extra records. Then every checksum is recomputed (event
// records CRC32 and header CRC32 of each chunk, the file header's CRC32),
// and the file header declares the chunks and the next record ID of a
// cleanly closed log. libevtx's evtxinfo reports N records and no flags
// (the test checks it).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"casescope/engine/admit"
	"casescope/evtx"
)

// EVTX layout (libevtx's "Windows XML Event Log (EVTX) format").
const (
	headerBlock      = 0x1000 // file header block; chunks follow it
	chunkHeaderBytes = 0x200  // chunk header with its string and template tables
	recordHeaderSize = 24
	// maxChunks is the most chunks a file header can declare (a uint16).
	maxChunks = 0xffff
	// tokenTemplateInstance and typeUInt64 are the BinXML template
	// instance token and the UInt64 substitution type.
	tokenTemplateInstance = 0x0c
	typeUInt64            = 0x0a
)

// Result is what mkbig prints.
type Result struct {
	Records int64 `json:"records"`
	Chunks  int   `json:"chunks"`
}

func main() {
	src := flag.String("src", "../shared/testdata/evtx", "directory whose EVTX files give the chunks")
	size := flag.String("size", "2GiB", "file size to reach (rounded down to whole 64 KiB chunks), e.g. 200MiB")
	out := flag.String("out", "", "output file (overwritten)")
	libevtx := flag.String("libevtx", "evtxexport", "libevtx's evtxexport, to leave out chunks it cannot export; empty to skip")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "mkbig: -out is required")
		os.Exit(2)
	}
	n, err := admit.ParseSize(*size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkbig:", err)
		os.Exit(2)
	}
	if *libevtx != "" {
		p, err := exec.LookPath(*libevtx)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mkbig: %s not found: chunks checked with casescope's reader only\n", *libevtx)
		}
		*libevtx = p
	}
	res, err := assemble(context.Background(), *src, int64(n), *out, *libevtx, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkbig:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

// chunk is one source chunk ready to be renumbered.
type chunk struct {
	buf  []byte // 64 KiB, slack after the records zeroed
	free int    // free space offset: the end of the records
	// ids are the buffer offsets of each record's header ID; subs those
	// of its EventRecordID substitution value (-1 when it has none), in
	// record order.
	ids, subs []int
}

// assemble writes the file and returns its totals.
// libevtx is evtxexport's path, or empty to skip that check. How many
// chunks each check kept goes to notes.
func assemble(ctx context.Context, src string, size int64, out, libevtx string, notes io.Writer) (Result, error) {
	n := (size - headerBlock) / evtx.ChunkSize
	if n < 1 {
		return Result{}, fmt.Errorf("size %d holds no chunk (at least %d bytes)", size, headerBlock+evtx.ChunkSize)
	}
	if n > maxChunks {
		return Result{}, fmt.Errorf("size %d needs %d chunks; an EVTX header declares at most %d", size, n, maxChunks)
	}
	pool, seen, err := loadChunks(ctx, src)
	if err != nil {
		return Result{}, err
	}
	fmt.Fprintf(notes, "mkbig: %d of %d chunks under %s read cleanly\n", len(pool), seen, src)
	if libevtx != "" {
		before := len(pool)
		if pool, err = exportable(ctx, libevtx, pool); err != nil {
			return Result{}, err
		}
		fmt.Fprintf(notes, "mkbig: %d of them exported by %s\n", len(pool), libevtx)
		if len(pool) < before/2 {
			// Not worth failing for, but a sign evtxexport is not libevtx's.
			fmt.Fprintf(notes, "mkbig: %s refused most chunks\n", libevtx)
		}
	}
	if len(pool) == 0 {
		return Result{}, fmt.Errorf("no cleanly readable chunk in the EVTX files under %s", src)
	}
	f, err := os.Create(out)
	if err != nil {
		return Result{}, fmt.Errorf("create %s: %w", out, err)
	}
	res, err := write(ctx, f, pool, int(n))
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", out, cerr)
	}
	return res, err
}

// write writes the header block and n chunks cycling through pool.
func write(ctx context.Context, f *os.File, pool []chunk, n int) (Result, error) {
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.Write(make([]byte, headerBlock)); err != nil {
		return Result{}, fmt.Errorf("write header block: %w", err)
	}
	buf := make([]byte, evtx.ChunkSize)
	next := uint64(1)
	for i := range n {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
		}
		next = renumber(buf, pool[i%len(pool)], next)
		if _, err := w.Write(buf); err != nil {
			return Result{}, fmt.Errorf("write chunk %d: %w", i, err)
		}
	}
	if err := w.Flush(); err != nil {
		return Result{}, fmt.Errorf("write chunks: %w", err)
	}
	if _, err := f.WriteAt(fileHeader(n, next), 0); err != nil {
		return Result{}, fmt.Errorf("write file header: %w", err)
	}
	return Result{Records: int64(next - 1), Chunks: n}, nil
}

// renumber copies c into buf with its records numbered from first, fixes
// the chunk's checksums, and returns the next record number.
func renumber(buf []byte, c chunk, first uint64) uint64 {
	le := binary.LittleEndian
	copy(buf, c.buf)
	id := first
	for k, off := range c.ids {
		le.PutUint64(buf[off:], id)
		if s := c.subs[k]; s >= 0 {
			le.PutUint64(buf[s:], id)
		}
		id++
	}
	last := id - 1
	le.PutUint64(buf[8:], first)  // first event record number
	le.PutUint64(buf[16:], last)  // last event record number
	le.PutUint64(buf[24:], first) // first event record identifier
	le.PutUint64(buf[32:], last)  // last event record identifier
	le.PutUint32(buf[52:], crc32.ChecksumIEEE(buf[chunkHeaderBytes:c.free]))
	// The header checksum covers bytes 0-119 and the tables at 128-511.
	h := crc32.NewIEEE()
	h.Write(buf[:120])
	h.Write(buf[128:chunkHeaderBytes])
	le.PutUint32(buf[124:], h.Sum32())
	return id
}

// fileHeader returns the header of a cleanly closed log of n chunks whose
// next record would be next.
func fileHeader(n int, next uint64) []byte {
	le := binary.LittleEndian
	b := make([]byte, 128)
	copy(b, "ElfFile\x00")
	le.PutUint64(b[8:], 0)            // first chunk number
	le.PutUint64(b[16:], uint64(n-1)) // last chunk number
	le.PutUint64(b[24:], next)        // next record identifier
	le.PutUint32(b[32:], 128)         // header size
	le.PutUint16(b[36:], 1)           // minor version
	le.PutUint16(b[38:], 3)           // major version
	le.PutUint16(b[40:], headerBlock) // header block size
	le.PutUint16(b[42:], uint16(n))   // number of chunks
	le.PutUint32(b[120:], 0)          // flags: neither dirty nor full
	le.PutUint32(b[124:], crc32.ChecksumIEEE(b[:120]))
	return b
}

// loadChunks reads every declared chunk of the EVTX files under src, in
// path order, and keeps those that parse and read cleanly; seen counts the
// chunks read.
func loadChunks(ctx context.Context, src string) (pool []chunk, seen int, err error) {
	var paths []string
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".evtx") {
			return err
		}
		// Symlinked files count (a benchmark folder may link its sources).
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", src, err)
	}
	sort.Strings(paths)
	for _, p := range paths {
		cs, n, err := fileChunks(ctx, p)
		if err != nil {
			return nil, 0, err
		}
		pool, seen = append(pool, cs...), seen+n
	}
	return pool, seen, nil
}

// fileChunks returns the usable chunks of one file and the number of
// chunks read. A file that is not EVTX gives none.
func fileChunks(ctx context.Context, path string) (out []chunk, seen int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	h, err := evtx.ReadHeader(f)
	if errors.Is(err, evtx.ErrNotEVTX) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	for i := range int64(h.ChunkCount) {
		buf := make([]byte, evtx.ChunkSize)
		_, err := f.ReadAt(buf, int64(h.HeaderBlockSize)+i*evtx.ChunkSize)
		if errors.Is(err, io.EOF) {
			break // truncated file: its partial chunk is not taken
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read %s chunk %d: %w", path, i, err)
		}
		seen++
		if c, ok := parseChunk(buf); ok && findIDSlots(ctx, &c) && readsCleanly(ctx, c) {
			out = append(out, c)
		}
	}
	return out, seen, nil
}

// parseChunk walks the records of a chunk and finds where their numbers
// are stored. It refuses a chunk whose record walk does not end exactly at
// the free space offset, or disagrees with the header's record range or
// last-record offset.
func parseChunk(buf []byte) (chunk, bool) {
	le := binary.LittleEndian
	if string(buf[:8]) != "ElfChnk\x00" {
		return chunk{}, false
	}
	free := int(le.Uint32(buf[48:]))
	if free <= chunkHeaderBytes || free > len(buf) {
		return chunk{}, false
	}
	c := chunk{buf: buf, free: free}
	pos, lastPos := chunkHeaderBytes, -1
	for pos < free {
		if pos+recordHeaderSize+4 > free || string(buf[pos:pos+4]) != "**\x00\x00" {
			return chunk{}, false
		}
		size := int(le.Uint32(buf[pos+4:]))
		if size < recordHeaderSize+4 || size > free-pos || int(le.Uint32(buf[pos+size-4:])) != size {
			return chunk{}, false
		}
		c.ids = append(c.ids, pos+8)
		lastPos, pos = pos, pos+size
	}
	first, last := le.Uint64(buf[8:]), le.Uint64(buf[16:])
	if last < first || last-first+1 != uint64(len(c.ids)) || int(le.Uint32(buf[44:])) != lastPos {
		return chunk{}, false
	}
	clear(buf[free:])
	return c, true
}

// findIDSlots fills c.subs: for each record, where its EventRecordID
// substitution value is. That value is usually the record header's ID but
// not always (a saved selection keeps the original EventRecordIDs), so it
// is taken from what casescope's reader shows for the record.
func findIDSlots(ctx context.Context, c *chunk) bool {
	file := make([]byte, headerBlock+evtx.ChunkSize)
	copy(file, fileHeader(1, 1))
	copy(file[headerBlock:], c.buf)
	var shown []uint64
	st, err := evtx.Stream(ctx, bytes.NewReader(file), int64(len(file)), func(ev *evtx.Event) error {
		shown = append(shown, ev.RecordID)
		return nil
	})
	if err != nil || len(st.Problems) > 0 || len(shown) != len(c.ids) {
		return false
	}
	c.subs = make([]int, len(c.ids))
	for k, off := range c.ids {
		pos := off - 8
		size := int(binary.LittleEndian.Uint32(c.buf[pos+4:]))
		c.subs[k] = recordIDSlot(c.buf, pos, size, shown[k])
	}
	return true
}

// recordIDSlot returns the buffer offset of the first UInt64 substitution
// value of the record at pos that equals id (Windows writes
// System/EventRecordID as one, and the System values come first), or -1. The record's BinXML is an optional
// fragment header, then a template instance: token, 1 unknown byte,
// template ID (4), definition offset (4), the definition itself when it
// is inline (24 bytes + its size), the value count (4), a descriptor per
// value (size 2, type 1, pad 1) and the values.
func recordIDSlot(buf []byte, pos, size int, id uint64) int {
	le := binary.LittleEndian
	p, end := pos+recordHeaderSize, pos+size-4
	if p+4 <= end && buf[p] == 0x0f {
		p += 4
	}
	if p+10 > end || buf[p] != tokenTemplateInstance {
		return -1
	}
	def := int(le.Uint32(buf[p+6:]))
	p += 10
	if def == p {
		if p+24 > end {
			return -1
		}
		p += 24 + int(le.Uint32(buf[p+20:]))
	}
	if p+4 > end {
		return -1
	}
	count := int(le.Uint32(buf[p:]))
	p += 4
	if count < 0 || count > (end-p)/4 {
		return -1
	}
	desc := p
	p += 4 * count
	for i := range count {
		n, typ := int(le.Uint16(buf[desc+4*i:])), buf[desc+4*i+2]
		if p+n > end {
			return -1
		}
		if typ == typeUInt64 && n == 8 && le.Uint64(buf[p:]) == id {
			return p
		}
		p += n
	}
	return -1
}

// readsCleanly renumbers c from a number no source uses, wraps it in a
// one-chunk file, and streams it through casescope's reader: every record
// must be delivered with its new number, with no problem reported.
// Checking a number unlike the original proves both places that hold it
// were found.
func readsCleanly(ctx context.Context, c chunk) bool {
	const base = 1 << 40
	file := make([]byte, headerBlock+evtx.ChunkSize)
	next := renumber(file[headerBlock:], c, base)
	copy(file, fileHeader(1, next))
	want := uint64(base)
	bad := errors.New("record number not renumbered")
	st, err := evtx.Stream(ctx, bytes.NewReader(file), int64(len(file)), func(ev *evtx.Event) error {
		if ev.RecordID != want {
			return bad
		}
		want++
		return nil
	})
	return err == nil && want == next && st.Records == len(c.ids) && st.RecordsExpected == len(c.ids) &&
		st.SkippedRecords == 0 && st.SkippedChunks == 0 && len(st.Problems) == 0
}

// exportable returns the chunks of pool that libevtx's evtxexport exports
// in full, in order. It writes them all into one file and, when the export
// fails or comes up short, halves the set until the failing chunks are
// found: a few failing chunks cost a few dozen runs, not one per chunk.
func exportable(ctx context.Context, bin string, pool []chunk) ([]chunk, error) {
	tmp, err := os.CreateTemp("", "mkbig-*.evtx")
	if err != nil {
		return nil, fmt.Errorf("temp file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	var keep []chunk
	var walk func(cs []chunk) error
	walk = func(cs []chunk) error {
		ok, err := exportsAll(ctx, bin, tmp, cs)
		switch {
		case err != nil:
			return err
		case ok:
			keep = append(keep, cs...)
		case len(cs) > 1:
			if err := walk(cs[:len(cs)/2]); err != nil {
				return err
			}
			return walk(cs[len(cs)/2:])
		}
		return nil
	}
	if err := walk(pool); err != nil {
		return nil, err
	}
	return keep, nil
}

// exportsAll writes cs as one file into f and reports whether evtxexport
// exits cleanly with every record exported.
func exportsAll(ctx context.Context, bin string, f *os.File, cs []chunk) (bool, error) {
	if err := f.Truncate(0); err != nil {
		return false, fmt.Errorf("truncate %s: %w", f.Name(), err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, fmt.Errorf("seek %s: %w", f.Name(), err)
	}
	res, err := write(ctx, f, cs, len(cs))
	if err != nil {
		return false, err
	}
	cmd := exec.CommandContext(ctx, bin, f.Name())
	var out bytes.Buffer
	cmd.Stdout = &out
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("run %s: %w", bin, err)
	}
	n := int64(bytes.Count(out.Bytes(), []byte("\nEvent number")))
	return n == res.Records, nil
}
