package libevtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// EVTX layout, as the format documentation (and libevtx) describes it: a
// 4 KiB file header, then 64 KiB chunks, each starting with "ElfChnk\0"
// and the first and last record numbers it holds at offsets 8 and 16.
const (
	fileHeaderSize = 4096
	chunkSize      = 65536
)

// RecordRange is the span of record numbers one chunk header declares.
type RecordRange struct{ First, Last uint64 }

// ChunkRanges reads the record ranges the chunk headers of the EVTX file
// at path declare, for every slot holding a chunk signature (independent
// of casescope's reader: only the published layout).
func ChunkRanges(path string) ([]RecordRange, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var out []RecordRange
	for off := fileHeaderSize; off+24 <= len(b); off += chunkSize {
		if string(b[off:off+8]) != "ElfChnk\x00" {
			continue
		}
		first, last := binary.LittleEndian.Uint64(b[off+8:]), binary.LittleEndian.Uint64(b[off+16:])
		if last >= first && last-first < chunkSize/24 {
			out = append(out, RecordRange{first, last})
		}
	}
	return out, nil
}

// LiveRecoveredRecords runs "evtxexport -m recovered" on the EVTX file at
// path and returns the recovered records that are live records of a chunk
// a plain walk cannot reach: numbered inside the range some chunk header
// declares, and not an allocated record (an EventRecordID evtxexport's
// default export has). libevtx's other recovered records are copies left
// in slack by an earlier use of a chunk, numbered outside its range.
func LiveRecoveredRecords(ctx context.Context, bin, path string) ([]Record, error) {
	ranges, err := ChunkRanges(path)
	if err != nil {
		return nil, err
	}
	alloc, err := Run(ctx, bin, path)
	if err != nil {
		return nil, err
	}
	allocated := map[uint64]bool{}
	for _, r := range alloc.Records {
		if id, ok := recordID(r); ok {
			allocated[id] = true
		}
	}
	cmd := exec.CommandContext(ctx, bin, "-m", "recovered", "-f", "xml", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var exit *exec.ExitError
	if err := cmd.Run(); err != nil && !errors.As(err, &exit) {
		return nil, fmt.Errorf("run evtxexport -m recovered %s: %w", path, err)
	}
	var out []Record
	for _, r := range Parse(stdout.Bytes()) {
		id, ok := recordID(r)
		if !ok || allocated[id] {
			continue
		}
		for _, rg := range ranges {
			if id >= rg.First && id <= rg.Last {
				out = append(out, r)
				break
			}
		}
	}
	return out, nil
}

// recordID is a parsed record's System/EventRecordID.
func recordID(r Record) (uint64, bool) {
	el := r.Root.Child("System").Child("EventRecordID")
	if el == nil {
		return 0, false
	}
	id, err := strconv.ParseUint(strings.TrimSpace(el.Text), 10, 64)
	return id, err == nil
}
