package input

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"casescope/evtx"
	"casescope/input/jsonin"
	"casescope/input/tally"
	"casescope/input/xmlin"
)

// Format names a file's format as recorded per file ("" in old records
// means EVTX).
type Format string

// The formats. A gzip-compressed file's format carries GzipSuffix.
const (
	EVTX         Format = "evtx"
	WinEventJSON Format = "winevent-json" // Windows events as JSON, any shape jsonin maps
	WinEventXML  Format = "winevent-xml"
	JSON         Format = "json" // other JSON records, flattened
	CSV          Format = "csv"
	W3C          Format = "w3c"        // IIS / W3C extended log
	ZeekTSV      Format = "zeek-tsv"   // Zeek's native TSV logs
	AccessLog    Format = "access-log" // Apache/Nginx common or combined
)

// GzipSuffix marks a gzip-compressed file's format ("json+gzip").
const GzipSuffix = "+gzip"

// ErrUnsupported is returned for content of no supported format.
var ErrUnsupported = errors.New("not a supported evidence format")

// ErrNoRecords is returned when a file holds records of which none could
// be read; the error text gives the first reason.
var ErrNoRecords = errors.New("no record readable")

// headBytes is how much of a file detection looks at.
const headBytes = 64 << 10

// kind is what detection found: the family of the content and how to
// decode the bytes into it.
type kind struct {
	family Format // EVTX, JSON (Windows or not: told by its records), WinEventXML, CSV, W3C, AccessLog
	gzip   bool
	utf16  binaryOrder
	delim  rune // CSV's delimiter
}

type binaryOrder int

const (
	noUTF16 binaryOrder = iota
	utf16LE
	utf16BE
)

// Detect names the format of the file at path from its content. For JSON
// it answers JSON; Stream tells Windows events apart by their records.
func Detect(path string) (Format, error) {
	k, err := detect(path)
	if err != nil {
		return "", err
	}
	return k.format(k.family), nil
}

func (k kind) format(f Format) Format {
	if k.gzip {
		return f + GzipSuffix
	}
	return f
}

func detect(path string) (kind, error) {
	f, err := os.Open(path)
	if err != nil {
		return kind{}, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	var magic [8]byte
	n, _ := io.ReadFull(f, magic[:])
	if n == 8 && string(magic[:]) == "ElfFile\x00" {
		return kind{family: EVTX}, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return kind{}, fmt.Errorf("seek: %w", err)
	}
	var k kind
	r, closeFn, err := k.open(f, n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
	if err != nil {
		return kind{}, err
	}
	defer closeFn()
	head := make([]byte, headBytes)
	m, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return kind{}, fmt.Errorf("read: %w", err)
	}
	head = head[:m]
	if k.gzip && bytes.HasPrefix(head, []byte("ElfFile\x00")) {
		return kind{}, fmt.Errorf("%w: gzip-compressed EVTX (decompress it first)", ErrUnsupported)
	}
	fam, delim, err := sniffText(head)
	if err != nil {
		return kind{}, err
	}
	k.family, k.delim = fam, delim
	return k, nil
}

// open wraps f in what its bytes need: gzip (when gz), then UTF-16 to
// UTF-8 by byte-order mark. It records both in k. A plain file is
// returned as itself, so ReadAt can seek in it.
func (k *kind) open(f *os.File, gz bool) (io.Reader, func(), error) {
	closeFn := func() {}
	if !gz {
		var bom [2]byte
		if n, _ := f.ReadAt(bom[:], 0); n < 2 || !k.bom(bom[:]) {
			return f, closeFn, nil
		}
		return k.decode(bufio.NewReader(f)), closeFn, nil
	}
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: damaged gzip header: %w", ErrUnsupported, err)
	}
	k.gzip = true
	br := bufio.NewReaderSize(zr, 4096)
	if b, _ := br.Peek(2); len(b) == 2 {
		k.bom(b)
	}
	return k.decode(br), func() { zr.Close() }, nil
}

// bom records a UTF-16 byte-order mark at b, reporting whether there was
// one.
func (k *kind) bom(b []byte) bool {
	switch {
	case b[0] == 0xFF && b[1] == 0xFE:
		k.utf16 = utf16LE
	case b[0] == 0xFE && b[1] == 0xFF:
		k.utf16 = utf16BE
	default:
		return false
	}
	return true
}

// decode applies the UTF-16 transform k found (the BOM is dropped).
func (k kind) decode(r io.Reader) io.Reader {
	switch k.utf16 {
	case utf16LE:
		return transform.NewReader(r, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
	case utf16BE:
		return transform.NewReader(r, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder())
	}
	return r
}

// sniffText tells a text format from the first bytes.
func sniffText(head []byte) (Format, rune, error) {
	s := bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF"))
	s = bytes.TrimLeft(s, " \t\r\n")
	if len(s) == 0 {
		return "", 0, fmt.Errorf("%w: empty or blank", ErrUnsupported)
	}
	switch s[0] {
	case '{', '[':
		return JSON, 0, nil
	case '<':
		if bytes.Contains(s, []byte("<Event")) {
			return WinEventXML, 0, nil
		}
		return "", 0, fmt.Errorf("%w: XML without <Event> elements", ErrUnsupported)
	}
	if f, d, ok := sniffLines(s); ok {
		return f, d, nil
	}
	return "", 0, fmt.Errorf("%w: neither EVTX, JSON, Windows XML, CSV, W3C nor an access log", ErrUnsupported)
}

// open opens path for streaming as k says.
func (k kind) openFile(path string) (io.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open: %w", err)
	}
	kk := kind{}
	r, closeFn, err := kk.open(f, k.gzip)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, func() { closeFn(); f.Close() }, nil
}

// Stream reads every record of the file at path, calling fn for each,
// and returns the accounting and the format found. opts are the EVTX
// reader's options.
func Stream(ctx context.Context, path string, opts evtx.Options, fn func(*evtx.Event) error) (evtx.Stats, Format, error) {
	k, err := detect(path)
	if err != nil {
		return evtx.Stats{}, "", err
	}
	if k.family == EVTX {
		st, err := evtx.StreamFileOptions(ctx, path, opts, fn)
		return st, EVTX, err
	}
	r, closeFn, err := k.openFile(path)
	if err != nil {
		return evtx.Stats{}, "", err
	}
	defer closeFn()
	var t tally.Tally
	format := k.family
	switch k.family {
	case JSON:
		var sh jsonin.Shape
		sh, err = jsonin.Stream(ctx, r, &t, fn)
		if sh.IsWindows() {
			format = WinEventJSON
		}
	case WinEventXML:
		err = xmlin.Stream(ctx, r, &t, fn)
	default:
		err = streamLines(ctx, k, r, &t, fn)
	}
	t.Finish()
	if err == nil && t.Stats.Records == 0 && t.Stats.SkippedRecords > 0 {
		err = fmt.Errorf("%w: %s", ErrNoRecords, t.Stats.Warnings[0])
	}
	return t.Stats, k.format(format), err
}

// ReadAt reads back the record of a file of format f at a locator Stream
// gave (ev.ChunkOffset, ev.RecordOffset). EVTX files are read by chunk
// (evtx.ReadChunkOptions), not here.
func ReadAt(ctx context.Context, path string, f Format, chunkOffset int64, recordOffset uint32) (*evtx.Event, error) {
	k, err := detect(path)
	if err != nil {
		return nil, err
	}
	if k.family == EVTX {
		return nil, fmt.Errorf("read %s: EVTX records are read by chunk", path)
	}
	off := tally.Offset(chunkOffset, recordOffset)
	fam := k.family
	if fam == CSV || fam == W3C || fam == ZeekTSV {
		ev, err := readLineRecord(ctx, path, k, off)
		if err != nil {
			return nil, err
		}
		tally.Place(ev, off)
		return ev, nil
	}
	r, closeFn, err := k.openFile(path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	if err := skipTo(r, off); err != nil {
		return nil, err
	}
	var ev *evtx.Event
	switch fam {
	case JSON:
		ev, err = jsonin.ReadOne(r)
	case WinEventXML:
		ev, err = xmlin.ReadOne(r)
	default:
		ev, err = readLine(fam, r)
	}
	if err != nil {
		return nil, err
	}
	tally.Place(ev, off)
	return ev, nil
}

// skipTo moves r to stream offset off: a seek when r is the file itself,
// else reading forward.
func skipTo(r io.Reader, off int64) error {
	if s, ok := r.(io.Seeker); ok {
		if _, err := s.Seek(off, io.SeekStart); err != nil {
			return fmt.Errorf("seek: %w", err)
		}
		return nil
	}
	if n, err := io.CopyN(io.Discard, r, off); err != nil {
		return fmt.Errorf("skip to offset %d (read %d): %w", off, n, err)
	}
	return nil
}
