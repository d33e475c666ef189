package input

import (
	"context"
	"fmt"
	"io"
	"strings"

	"casescope/evtx"
	"casescope/input/csvin"
	"casescope/input/tally"
	"casescope/input/weblog"
)

// sniffLines tells the line formats from the first bytes: a W3C log by
// its directives, an access log by its first line, CSV by a header whose
// field count the following rows repeat.
func sniffLines(head []byte) (Format, rune, bool) {
	s := string(head)
	if weblog.IsW3CHead(s) && strings.Contains(s, "\n#fields\t") {
		return ZeekTSV, 0, true
	}
	if weblog.IsW3CHead(s) {
		return W3C, 0, true
	}
	first, _, _ := strings.Cut(s, "\n")
	if weblog.IsAccessLine(strings.TrimRight(first, "\r")) {
		return AccessLog, 0, true
	}
	if d, ok := csvin.Sniff(s); ok {
		return CSV, d, true
	}
	return "", 0, false
}

// streamLines streams a line format from r (its start).
func streamLines(ctx context.Context, k kind, r io.Reader, t *tally.Tally, fn func(*evtx.Event) error) error {
	switch k.family {
	case W3C, ZeekTSV:
		return weblog.StreamW3C(ctx, r, t, fn)
	case AccessLog:
		return weblog.StreamAccess(ctx, r, t, fn)
	case CSV:
		return csvin.Stream(ctx, r, k.delim, t, fn)
	}
	return fmt.Errorf("%w: %s", ErrUnsupported, k.family)
}

// readLine reads the one-line record at r's position.
func readLine(f Format, r io.Reader) (*evtx.Event, error) {
	if f == AccessLog {
		return weblog.ReadAccess(r)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, f)
}

// readLineRecord reads the record at off of a format whose header says
// what its fields are (CSV, W3C). A plain CSV file's header is read, then
// the row at its offset (a seek). A W3C log (its #Fields may change
// anywhere) and a compressed CSV are read from the start to the record,
// so such a look-up costs up to a read of the file so far.
func readLineRecord(ctx context.Context, path string, k kind, off int64) (*evtx.Event, error) {
	r, closeFn, err := k.openFile(path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	if k.family == W3C || k.family == ZeekTSV {
		return weblog.ReadW3C(ctx, r, off)
	}
	if s, ok := r.(io.ReadSeeker); ok {
		hdr, err := csvin.Header(s, k.delim)
		if err != nil {
			return nil, err
		}
		if _, err := s.Seek(off, io.SeekStart); err != nil {
			return nil, fmt.Errorf("seek: %w", err)
		}
		return csvin.ReadRow(s, hdr, k.delim)
	}
	return csvin.ReadAt(ctx, r, k.delim, off)
}
