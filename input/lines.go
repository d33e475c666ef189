package input

import (
	"context"
	"fmt"
	"io"

	"casescope/evtx"
	"casescope/input/tally"
)

// sniffLines tells the line formats (CSV, W3C, access logs) from the
// first lines.
func sniffLines(head []byte) (Format, bool) {
	return "", false
}

// streamLines streams a line format.
func streamLines(ctx context.Context, f Format, r io.Reader, t *tally.Tally, fn func(*evtx.Event) error) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, f)
}

// readLine reads the one-line record at r's position.
func readLine(f Format, r io.Reader) (*evtx.Event, error) {
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, f)
}

// readLineRecord reads the record at off of a format that needs its
// header (CSV, W3C).
func readLineRecord(path string, k kind, off int64) (*evtx.Event, error) {
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, k.family)
}
