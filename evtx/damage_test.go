package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"casescope/internal/corpus"
)

// heapLimit is the ceiling the reader must stay under on any input.
const heapLimit = 256 << 20

// heapWatch polls the live heap in its own goroutine and cancels a context
// when it exceeds the limit, so a runaway parse ends instead of exhausting
// the machine. Stop waits for the goroutine and returns the peak.
type heapWatch struct {
	peak   atomic.Uint64
	cancel context.CancelFunc
	stop   chan struct{}
	wg     sync.WaitGroup
}

func watchHeap(cancel context.CancelFunc) *heapWatch {
	w := &heapWatch{cancel: cancel, stop: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			v := s[0].Value.Uint64()
			if v > w.peak.Load() {
				w.peak.Store(v)
			}
			if v > heapLimit {
				w.cancel()
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *heapWatch) Stop() uint64 {
	close(w.stop)
	w.wg.Wait()
	return w.peak.Load()
}

// streamWatched streams path under the heap watchdog and fails the test
// when the heap went over the limit.
func streamWatched(t *testing.T, path string) ([]*Event, Stats) {
	t.Helper()
	return streamWatchedOptions(t, path, Options{Recover: true})
}

func streamWatchedOptions(t *testing.T, path string, opts Options) ([]*Event, Stats) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := watchHeap(cancel)
	var events []*Event
	start := time.Now()
	st, err := StreamFileOptions(ctx, path, opts, func(e *Event) error {
		events = append(events, e)
		return nil
	})
	peak := w.Stop()
	t.Logf("%s: %d events in %s, heap peak %.1f MiB, stats %+v", filepath.Base(path), len(events), time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20), statsLine(st))
	if peak > heapLimit {
		t.Fatalf("heap peaked at %d MiB, limit %d MiB", peak>>20, heapLimit>>20)
	}
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	return events, st
}

func statsLine(st Stats) Stats {
	st.Problems, st.Warnings = nil, nil
	return st
}

// damaged writes a copy of the shared security.evtx (2,261 records, 26
// chunks) changed by fix into a temp dir.
func damaged(t *testing.T, fix func(b []byte) []byte) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpus.Shared(t), "evtx", "omerbenamram", "security.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "security.evtx")
	if err := os.WriteFile(p, fix(b), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func hasProblem(st Stats, kind, substr string) bool {
	for _, p := range st.Problems {
		if p.Kind == kind && strings.Contains(p.Reason, substr) {
			return true
		}
	}
	return false
}

// TestDamagedSecurity replays the corruptions of issue #15 on a copy of
// security.evtx. Expected counts: libevtx reads 2,261 records from the
// intact file.
func TestDamagedSecurity(t *testing.T) {
	t.Run("substitution count flipped", func(t *testing.T) {
		// 0x42303: 0x02 → 0x51 turns record 352's substitution count into
		// a huge number (Velocidex grew a slice to 21 GB). Only that
		// record is lost.
		p := damaged(t, func(b []byte) []byte {
			if b[0x42303] != 0x02 {
				t.Fatalf("byte at 0x42303 = %#x, want 0x02", b[0x42303])
			}
			b[0x42303] = 0x51
			return b
		})
		events, st := streamWatched(t, p)
		if len(events) != 2260 || st.SkippedRecords != 1 || st.RecordsExpected != 2261 {
			t.Errorf("events %d skipped %d expected %d, want 2260, 1, 2261", len(events), st.SkippedRecords, st.RecordsExpected)
		}
		if len(st.Problems) == 0 || st.Problems[0].Kind != "record" || st.Problems[0].Chunk != 4 || !strings.Contains(st.Problems[0].Reason, "record 352") {
			t.Errorf("problems = %+v, want record 352 in chunk 4", st.Problems)
		}
	})
	t.Run("SystemTime zeroed", func(t *testing.T) {
		p := damaged(t, func(b []byte) []byte {
			clear(b[0x172c : 0x172c+8])
			return b
		})
		events, st := streamWatched(t, p)
		if len(events) != 2261 || len(st.Problems) != 0 {
			t.Fatalf("events %d problems %v, want 2261 and none", len(events), st.Problems)
		}
		want := time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
		if e := events[0]; e.RecordID != 1 || !e.TimeCreated.Equal(want) {
			t.Errorf("record %d time %s, want record 1 at %s", e.RecordID, e.TimeCreated, want)
		}
	})
	t.Run("trailing size copy of record 1420", func(t *testing.T) {
		// The walk breaks at record 1420 (libevtx stops the chunk there:
		// 2,179 records); the reader skips that record and recovers the
		// 81 records after it in chunk 16.
		p := damaged(t, func(b []byte) []byte {
			b[0x102abc] ^= 0xff
			return b
		})
		events, st := streamWatched(t, p)
		if len(events) != 2260 || st.RecordsRecovered != 81 || st.SkippedRecords != 1 {
			t.Errorf("events %d recovered %d skipped %d, want 2260, 81, 1", len(events), st.RecordsRecovered, st.SkippedRecords)
		}
		if !hasProblem(st, "record", "trailing size copy") || st.Problems[0].Chunk != 16 {
			t.Errorf("problems = %+v, want a broken record in chunk 16", st.Problems)
		}
		events2, st2 := streamWatchedOptions(t, p, Options{})
		if len(events2) != 2179 || st2.SkippedRecords != 82 || st2.RecordsExpected != 2261 || !hasProblem(st2, "record", "81 valid records after the break left unread") {
			t.Errorf("without recovery: events %d skipped %d expected %d, want 2179 (libevtx), 82, 2261", len(events2), st2.SkippedRecords, st2.RecordsExpected)
		}
		for _, e := range events {
			if e.RecordID == 1420 {
				t.Errorf("record 1420 delivered though its header is broken")
			}
		}
	})
	t.Run("truncated to 1,000,000 bytes", func(t *testing.T) {
		p := damaged(t, func(b []byte) []byte { return b[:1000000] })
		events, st := streamWatched(t, p)
		// 15 whole chunks (1,327 records) and the 11 records wholly
		// inside the 12,864 bytes of chunk 15.
		if len(events) != 1338 || !st.Truncated || !hasProblem(st, "truncated", "708032 bytes missing") {
			t.Errorf("events %d truncated %v problems %+v, want 1338, true, 708032 bytes missing", len(events), st.Truncated, st.Problems)
		}
	})
	t.Run("truncated to 5,000 bytes", func(t *testing.T) {
		p := damaged(t, func(b []byte) []byte { return b[:5000] })
		events, st := streamWatched(t, p)
		if len(events) != 0 || !st.Truncated || !hasProblem(st, "truncated", "declares 26 chunks") || st.RecordsExpected != 91 {
			t.Errorf("events %d truncated %v expected %d problems %+v, want 0, true, 91 and a truncation problem", len(events), st.Truncated, st.RecordsExpected, st.Problems)
		}
	})
}

// TestDuplicateRecordIDs patches record 2 of security.evtx to carry
// EventRecordID 1 (header and System/EventRecordID), as a filtered
// multi-channel save does: both records must come out. libevtx, when
// installed, is the reference.
func TestDuplicateRecordIDs(t *testing.T) {
	p := damaged(t, func(b []byte) []byte {
		const chunk = 0x1000
		buf := b[chunk : chunk+ChunkSize]
		size1 := int(binary.LittleEndian.Uint32(buf[chunkHeaderBytes+4:]))
		rec2 := chunkHeaderBytes + size1
		size2 := int(binary.LittleEndian.Uint32(buf[rec2+4:]))
		d := newChunkDecoder(buf)
		if _, err := d.decodeRecord(chunkHeaderBytes+recordHeaderSize, chunkHeaderBytes+size1-4); err != nil {
			t.Fatal(err) // record 1 defines the templates record 2 uses
		}
		items, err := d.decodeRecord(rec2+recordHeaderSize, rec2+size2-4)
		if err != nil {
			t.Fatal(err)
		}
		id := findEvent(items).child("System").child("EventRecordID")
		if id == nil || len(id.Kids) != 1 || id.Kids[0].Kind != kSubst || id.Kids[0].Val.n != 8 {
			t.Fatalf("record 2 has no 8-byte EventRecordID value")
		}
		binary.LittleEndian.PutUint64(buf[rec2+8:], 1)
		binary.LittleEndian.PutUint64(buf[id.Kids[0].Val.off:], 1)
		return b
	})
	events, st := streamWatched(t, p)
	if len(events) != 2261 || st.SkippedRecords != 0 {
		t.Fatalf("events %d skipped %d, want 2261, 0", len(events), st.SkippedRecords)
	}
	var ones []*Event
	for _, e := range events {
		if e.RecordID == 1 {
			ones = append(ones, e)
		}
	}
	if len(ones) != 2 || ones[0].RecordOffset == ones[1].RecordOffset || ones[0].EventID != 4608 || ones[1].EventID != 4624 {
		t.Fatalf("records with ID 1: %d, want 2 at distinct offsets (4608 and 4624)", len(ones))
	}
	if _, err := exec.LookPath("evtxexport"); err != nil {
		t.Skip("evtxexport not installed")
	}
	out, err := exec.CommandContext(t.Context(), "evtxexport", "-f", "xml", p).Output()
	if err != nil {
		t.Fatalf("evtxexport: %v", err)
	}
	if n := strings.Count(string(out), "<EventRecordID>1</EventRecordID>"); n != 2 {
		t.Errorf("libevtx shows EventRecordID 1 %d times, want 2", n)
	}
}

// FuzzStream runs the whole reader on mutated files under the heap
// ceiling: the header and chunk checks, the record walk with recovery,
// decoding, flattening and the XML rendering of every record. It must
// return (the watchdog cancels a runaway), allocate no more than
// heapLimit in total (which bounds its peak heap, and unlike a sampled
// peak misses no short spike), and fail only with ErrNotEVTX.
//
// The seeds are a few real records each (fuzzSeed), not whole 64 KiB
// chunks: every new input the fuzzer finds is minimised, and Go's
// minimiser never finishes a 68 KB one (its last pass tries every pair of
// offsets), so it spent each -fuzzminimizetime in full and a 10-minute
// run made about 120 executions. .ci/fuzz bounds FuzzStream's minimising
// by count as well.
func FuzzStream(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		allocs := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
		metrics.Read(allocs)
		before := allocs[0].Value.Uint64()
		w := watchHeap(cancel)
		// With XML rendering on, so the renderer is fuzzed too.
		_, err := newStreamer(Options{Recover: true, XML: true}).stream(ctx, bytes.NewReader(data), int64(len(data)), func(*Event) error { return nil })
		peak := w.Stop()
		metrics.Read(allocs)
		if n := allocs[0].Value.Uint64() - before; n > heapLimit {
			t.Fatalf("stream allocated %d MiB, limit %d MiB", n>>20, heapLimit>>20)
		}
		if peak > heapLimit {
			t.Fatalf("heap peaked at %d MiB, limit %d MiB", peak>>20, heapLimit>>20)
		}
		if err != nil && !errors.Is(err, ErrNotEVTX) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

// fuzzSeeds cuts FuzzStream's seeds from the repo's fixtures and, when
// present, the shared corpus (not required: a fresh clone still fuzzes);
// one of them is the issue #15 one-byte corruption of security.evtx.
func fuzzSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	var seeds [][]byte
	for _, name := range []string{"Security_short_selected.evtx", "Application_no_crc32.evtx", "LanguagePackSetup_truncated.evtx", "Empty.evtx"} {
		seeds = append(seeds, fuzzSeed(tb, read(corpus.Fixture(tb, name)), 0, 3))
	}
	dir, ok := corpus.SharedIfPresent(tb)
	if !ok {
		return seeds
	}
	// A chunk's first records each: Sysmon, WEC (RenderingInfo), CAPI2
	// (UserData), size_t and irregular bool values, Task Scheduler.
	for _, name := range []string{
		"omerbenamram/sysmon.evtx",
		"omerbenamram/MSExchange_Management_wec.evtx",
		"omerbenamram/E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx",
		"omerbenamram/Security_with_size_t.evtx",
		"omerbenamram/sample-with-irregular-bool-values.evtx",
		"velociraptor/TaskScheduler.evtx",
	} {
		seeds = append(seeds, fuzzSeed(tb, read(filepath.Join(dir, "evtx", filepath.FromSlash(name))), 0, 3))
	}
	// Issue #15 item 1: records 350-352 of security.evtx (chunk 4, file
	// offset 0x41000) with record 352's substitution count at chunk offset
	// 0x1303 flipped from 0x02 to 0x51.
	b := fuzzSeed(tb, read(filepath.Join(dir, "evtx", "omerbenamram", "security.evtx")), 4, 3)
	const at = fileHeaderBytes + 0x1303
	if len(b) <= at || b[at] != 0x02 {
		tb.Fatalf("security.evtx seed: no 0x02 at chunk offset 0x1303")
	}
	b[at] = 0x51
	return append(seeds, b)
}

// fuzzSeed builds a small EVTX input from a real file: its 128-byte file
// header (header block size set to 128, one chunk) and chunk idx cut after
// its first n records, with the chunk
// header's last record number and ID, last record offset and free-space
// offset set to match (the reader checks no checksums). The input is then
// a few KiB of real records instead of a 64 KiB chunk.
func fuzzSeed(tb testing.TB, file []byte, idx, n int) []byte {
	tb.Helper()
	le := binary.LittleEndian
	hbs := int(le.Uint16(file[40:]))
	off := hbs + idx*ChunkSize
	if len(file) < off+ChunkSize {
		tb.Fatalf("fuzz seed: no chunk %d", idx)
	}
	chunk := file[off : off+ChunkSize]
	pos, last, kept := chunkHeaderBytes, 0, 0
	for ; kept < n && string(chunk[:8]) == chunkMagic; kept++ {
		size, ok := recordAt(chunk, pos, int(le.Uint32(chunk[48:])))
		if !ok {
			break
		}
		last, pos = pos, pos+size
	}
	out := append([]byte(nil), file[:fileHeaderBytes]...)
	le.PutUint16(out[40:], fileHeaderBytes)
	le.PutUint16(out[42:], 1)
	c := append([]byte(nil), chunk[:pos]...)
	if kept > 0 {
		le.PutUint64(c[16:], le.Uint64(c[8:])+uint64(kept)-1)
		le.PutUint64(c[32:], le.Uint64(c[24:])+uint64(kept)-1)
		le.PutUint32(c[44:], uint32(last))
		le.PutUint32(c[48:], uint32(pos))
	}
	return append(out, c...)
}

// bombFile builds a one-chunk EVTX file whose single record expands
// without bound: a template whose element holds fanout substitutions of
// value 0, where value 0 is BinXML instantiating the same template again,
// depth levels deep (fanout^depth nodes).
func bombFile(fanout, depth int) []byte {
	le := binary.LittleEndian
	u16 := func(b []byte, v int) []byte { return le.AppendUint16(b, uint16(v)) }
	u32 := func(b []byte, v int) []byte { return le.AppendUint32(b, uint32(v)) }
	const rec = chunkHeaderBytes
	bx := rec + recordHeaderSize // chunk offset of the record's BinXML
	b := []byte{0x0f, 1, 1, 0, 0x0c, 1}
	b = u32(b, 1)
	defOff := bx + len(b) + 4
	b = u32(b, defOff)
	// Template definition: next offset, GUID, size, body.
	body := []byte{0x0f, 1, 1, 0, 0x01, 0, 0}
	body = u32(body, 0) // element data size (unused)
	nameOff := defOff + 24 + len(body) + 4
	body = u32(body, nameOff)
	body = append(body, 0, 0, 0, 0, 0, 0, 1, 0, 'E', 0, 0, 0) // inline name "E"
	body = append(body, 0x02)
	for range fanout {
		body = append(body, 0x0d, 0, 0, 0x21)
	}
	body = append(body, 0x04, 0x00)
	b = u32(b, 0)
	b = append(b, make([]byte, 16)...)
	b = u32(b, len(body))
	b = append(b, body...)
	// Values: value 0 nests the same template depth times.
	inner := []byte{0x0f, 1, 1, 0, 0x0c, 1, 1, 0, 0, 0}
	inner = u32(inner, defOff)
	inner = u32(inner, 1)
	inner = append(inner, 2, 0, 0x01, 0, 'x', 0)
	for range depth {
		v := []byte{0x0f, 1, 1, 0, 0x0c, 1, 1, 0, 0, 0}
		v = u32(v, defOff)
		v = u32(v, 1)
		v = u16(v, len(inner))
		v = append(v, 0x21, 0)
		inner = append(v, inner...)
	}
	b = u32(b, 1)
	b = u16(b, len(inner))
	b = append(b, 0x21, 0)
	b = append(b, inner...)
	size := recordHeaderSize + len(b) + 4
	r := []byte("**\x00\x00")
	r = u32(r, size)
	r = le.AppendUint64(r, 1)
	r = le.AppendUint64(r, 0)
	r = append(r, b...)
	r = u32(r, size)

	chunk := make([]byte, ChunkSize)
	copy(chunk, chunkMagic)
	le.PutUint64(chunk[8:], 1)
	le.PutUint64(chunk[16:], 1)
	le.PutUint64(chunk[24:], 1)
	le.PutUint64(chunk[32:], 1)
	le.PutUint32(chunk[40:], 128)
	le.PutUint32(chunk[44:], rec)
	le.PutUint32(chunk[48:], uint32(rec+len(r)))
	copy(chunk[rec:], r)
	hdr := make([]byte, 0x1000)
	copy(hdr, fileMagic)
	le.PutUint64(hdr[24:], 2)
	le.PutUint32(hdr[32:], 128)
	le.PutUint16(hdr[36:], 1)
	le.PutUint16(hdr[38:], 3)
	le.PutUint16(hdr[40:], 0x1000)
	le.PutUint16(hdr[42:], 1)
	return append(hdr, chunk...)
}

// TestExpansionBomb: a record expanding to 5000^3 nodes is abandoned
// within the chunk budget, under the heap ceiling, with a Problem; a
// small fan-out of the same shape decodes.
func TestExpansionBomb(t *testing.T) {
	small := filepath.Join(t.TempDir(), "small.evtx")
	if err := os.WriteFile(small, bombFile(2, 2), 0o600); err != nil {
		t.Fatal(err)
	}
	events, st := streamWatched(t, small)
	if len(events) != 1 || len(st.Problems) != 0 {
		t.Fatalf("small: events %d problems %+v, want 1 and none", len(events), st.Problems)
	}
	// E holds 2 copies of E (from BinXML) holding 2 copies of E … with
	// "xx" (two substitutions of "x") at the bottom: 2^3 leaves, as dotted paths.
	if got := events[0].Data; len(got) != 8 || got[0].Name != "E.E.E" || got[0].Value != "xx" {
		t.Errorf("small: fields %+v, want 8 × E.E.E=xx", got)
	}
	bomb := filepath.Join(t.TempDir(), "bomb.evtx")
	if err := os.WriteFile(bomb, bombFile(5000, 2), 0o600); err != nil {
		t.Fatal(err)
	}
	events, st = streamWatched(t, bomb)
	if len(events) != 0 || st.SkippedRecords != 1 || !hasProblem(st, "record", "budget") {
		t.Errorf("bomb: events %d skipped %d problems %+v, want 0, 1 and a budget problem", len(events), st.SkippedRecords, st.Problems)
	}
}

// TestCancel: a cancelled context ends the stream at the next record.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n := 0
	_, err := StreamFile(ctx, filepath.Join(corpus.Shared(t), "evtx", "omerbenamram", "security.evtx"), func(*Event) error {
		n++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Errorf("err %v after %d events, want context.Canceled after 1", err, n)
	}
}

// TestReadChunkXML compares the XML of chunk 0's first records with
// libevtx's evtxexport, after its 9-digit FILETIMEs are cut to Windows' 7
// and its zero-padded hex integers unpadded (Event Viewer's form, doc.go).
func TestReadChunkXML(t *testing.T) {
	if _, err := exec.LookPath("evtxexport"); err != nil {
		t.Skip("evtxexport not installed")
	}
	p := filepath.Join(corpus.Shared(t), "evtx", "omerbenamram", "security.evtx")
	events, err := ReadChunkXML(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 91 {
		t.Fatalf("chunk 0: %d events, want 91 (its header's count)", len(events))
	}
	out, err := exec.CommandContext(t.Context(), "evtxexport", "-f", "xml", p).Output()
	if err != nil {
		t.Fatalf("evtxexport: %v", err)
	}
	blocks := strings.Split(string(out), "\n\n<Event ")
	for i := 0; i < 5; i++ {
		want := "<Event " + strings.TrimSpace(blocks[i+1])
		want = regexp.MustCompile(`(\.\d{7})00Z`).ReplaceAllString(want, "${1}Z")
		want = regexp.MustCompile(`>0x0*([0-9a-f]+)<`).ReplaceAllString(want, ">0x${1}<")
		if got := strings.TrimSpace(events[i].XML); got != want {
			t.Errorf("record %d XML:\n%s\nwant (libevtx):\n%s", events[i].RecordID, got, want)
		}
	}
}
