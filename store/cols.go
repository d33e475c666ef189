package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/blevesearch/bleve/v2/index/scorch"
	index "github.com/blevesearch/bleve_index_api"
)

// Per-segment columns of time and facet combination.
//
// Ranking a query's matches by time and counting its facets and
// histogram read one or two doc-value columns per match (the sort key,
// the facet term), and Bleve decodes a compressed chunk of them for
// each: about 0.5 µs per match, most of a sorted pass. A persisted
// segment's documents never change, so for each large one the index
// keeps a file in index/cols/ with every document's time in FILETIME
// ticks (8 bytes) and the ordinal of its facet combination (4 bytes),
// mapped into memory (file-backed pages the kernel may drop, not heap):
//
//   - a sorted pass reads a match's time there and reads its sort key
//     only when the time can place it on the page (after the cursor, not
//     behind the page's last entry);
//   - facets and the histogram add up ordinals and times.
//
// Files are built in the background when the index opens and when a
// search meets a large segment without one (Prepare builds them at
// once), and removed when their segment leaves the index. Each is checked
// when loaded against its segment (ID, document count, the zap file's
// size and last bytes) and its own CRC; a file that fails is rebuilt.
// Segments without columns (new, small, not built yet) are read from the
// doc values as before: results are the same either way.

// colsMinDocs is the smallest segment that gets columns: smaller ones
// come and go with every batch and merge.
const colsMinDocs = 20_000

// noTicks marks a document the columns do not describe (no sort key or
// several): it is read from the doc values.
const noTicks = math.MaxUint64

// noFacet marks a document without a facet term.
const noFacet = math.MaxUint32

// colsMagic starts a columns file; the version is its last byte.
const colsMagic = "CSCOLS01"

// zapTailLen is how many of a zap file's last bytes (its footer, with
// the file's checksum) a columns file records to recognise its segment.
const zapTailLen = 32

// segCols are one segment's columns.
type segCols struct {
	id       uint64
	n        uint64 // documents, deleted ones included
	data     []byte // the whole file, mapped
	ticksOff int
	facetOff int
	terms    []string // facet combinations by ordinal
	unmap    func([]byte) error
	refs     int  // searches using it; guarded by colStore.mu
	gone     bool // its segment left the index: unmapped at the last release
}

func (c *segCols) ticks(local uint64) uint64 {
	return binary.LittleEndian.Uint64(c.data[c.ticksOff+8*int(local):])
}

func (c *segCols) facet(local uint64) uint32 {
	return binary.LittleEndian.Uint32(c.data[c.facetOff+4*int(local):])
}

// colStore holds an index's columns and builds them in the background.
type colStore struct {
	dir      string
	minDocs  atomic.Uint64 // colsMinDocs; tests change it
	mu       sync.Mutex
	byID     map[uint64]*segCols
	failed   map[uint64]bool // segments whose build failed: not retried
	buildMu  sync.Mutex      // one pass of buildCols at a time
	stopOnce sync.Once
	wake     chan struct{}
	done     chan struct{}
	stopped  chan struct{}
	built    atomic.Int64 // files built (tests)
	loaded   atomic.Int64 // files loaded from disk (tests)
	used     atomic.Int64 // passes that read columns (tests)
}

func newColStore(dir string) *colStore {
	s := &colStore{dir: dir, byID: map[uint64]*segCols{}, failed: map[uint64]bool{},
		wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	s.minDocs.Store(colsMinDocs)
	return s
}

// kick asks the builder for a pass.
func (s *colStore) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run is the builder: a pass of buildCols each time it is woken, until
// stop.
func (s *colStore) run(x *Index) {
	defer close(s.stopped)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.done
		cancel()
	}()
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
			_ = x.buildCols(ctx) // a failure leaves the doc-value path
		}
	}
}

// stop ends the builder and unmaps every file once no search holds it.
func (s *colStore) stop() {
	s.stopOnce.Do(func() { close(s.done) })
	<-s.stopped
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.byID {
		c.gone = true
		if c.refs == 0 {
			_ = c.unmap(c.data)
		}
		delete(s.byID, id)
	}
}

// colView is the columns of one reader's segments, held for one search.
type colView struct {
	s      *colStore
	starts []uint64   // first document number of each segment, and the end
	cols   []*segCols // nil: read from the doc values
}

// colView returns the columns of r's segments (nil when there are none),
// held until release; a large persisted segment without columns wakes the
// builder.
func (x *Index) colView(r index.IndexReader) *colView {
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok || x.cols == nil {
		return nil
	}
	segs := snap.Segments()
	v := &colView{s: x.cols, starts: make([]uint64, len(segs)+1), cols: make([]*segCols, len(segs))}
	any, missing := false, false
	x.cols.mu.Lock()
	for i, ss := range segs {
		n := ss.Segment().Count()
		v.starts[i+1] = v.starts[i] + n
		if c := x.cols.byID[ss.Id()]; c != nil && c.n == n {
			c.refs++
			v.cols[i], any = c, true
		} else if n >= x.cols.minDocs.Load() && !x.cols.failed[ss.Id()] && persistedPath(ss) != "" {
			missing = true
		}
	}
	x.cols.mu.Unlock()
	if missing {
		x.cols.kick()
	}
	if !any {
		return nil
	}
	x.cols.used.Add(1)
	return v
}

// release lets go of the view's columns.
func (v *colView) release() {
	if v == nil {
		return
	}
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	for _, c := range v.cols {
		if c == nil {
			continue
		}
		if c.refs--; c.refs == 0 && c.gone {
			_ = c.unmap(c.data)
		}
	}
}

// at returns the columns holding document num and its number within its
// segment (nil when the segment has none). *seg is a hint: the segment
// of the previous call; documents are asked for in ascending order.
func (v *colView) at(num uint64, seg *int) (*segCols, uint64) {
	i := *seg
	if i >= len(v.cols) || num < v.starts[i] {
		i = 0
	}
	for i < len(v.cols) && num >= v.starts[i+1] {
		i++
	}
	*seg = i
	if i >= len(v.cols) || v.cols[i] == nil {
		return nil, 0
	}
	return v.cols[i], num - v.starts[i]
}

// persistedPath is the zap file of a persisted segment, "" for one in
// memory.
func persistedPath(ss *scorch.SegmentSnapshot) string {
	if p, ok := ss.Segment().(interface{ Path() string }); ok {
		return p.Path()
	}
	return ""
}

// Prepare builds the columns of every large segment now (see colStore),
// so the first searches after an import need not wait for the builder.
func (x *Index) Prepare(ctx context.Context) error {
	if x.cols == nil {
		return nil
	}
	return x.buildCols(ctx)
}

// buildCols loads or builds the columns of the index's large persisted
// segments and drops those of segments gone from it.
func (x *Index) buildCols(ctx context.Context) error {
	s := x.cols
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	adv, err := x.idx.Advanced()
	if err != nil {
		return fmt.Errorf("columns: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return fmt.Errorf("columns: %w", err)
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return fmt.Errorf("columns: %w", err)
	}
	live := map[uint64]bool{}
	var start uint64
	var firstErr error
	for _, ss := range snap.Segments() {
		n := ss.Segment().Count()
		id := ss.Id()
		live[id] = true
		from := start
		start += n
		if n < s.minDocs.Load() {
			continue
		}
		s.mu.Lock()
		have, failed := s.byID[id] != nil, s.failed[id]
		s.mu.Unlock()
		path := persistedPath(ss)
		if have || failed || path == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		file := filepath.Join(s.dir, fmt.Sprintf("%012x.cols", id))
		c, err := loadCols(file, id, n, path)
		if err == nil {
			s.loaded.Add(1)
		} else {
			c, err = x.writeCols(ctx, r, from, id, n, path, file)
			if err == nil {
				s.built.Add(1)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.mu.Lock()
			s.failed[id] = true
			s.mu.Unlock()
			if firstErr == nil {
				firstErr = fmt.Errorf("columns of segment %x: %w", id, err)
			}
			continue
		}
		s.mu.Lock()
		s.byID[id] = c
		s.mu.Unlock()
	}
	// Segments gone from the index never come back: their columns go.
	s.mu.Lock()
	for id, c := range s.byID {
		if !live[id] {
			c.gone = true
			if c.refs == 0 {
				_ = c.unmap(c.data)
			}
			delete(s.byID, id)
		}
	}
	s.mu.Unlock()
	if entries, err := os.ReadDir(s.dir); err == nil {
		for _, e := range entries {
			name := e.Name()
			id, err := strconv.ParseUint(strings.TrimSuffix(name, ".cols"), 16, 64)
			if err != nil || !strings.HasSuffix(name, ".cols") || !live[id] {
				_ = os.Remove(filepath.Join(s.dir, name))
			}
		}
	}
	return firstErr
}

// writeCols reads the columns of the segment of n documents from
// document from of r and writes them to file (through a temporary file
// renamed into place), then loads it.
func (x *Index) writeCols(ctx context.Context, r index.IndexReader, from, id, n uint64, zapPath, file string) (*segCols, error) {
	size, tail, err := zapFingerprint(zapPath)
	if err != nil {
		return nil, err
	}
	dvr, err := r.DocValueReader([]string{FieldSortKey, FieldFacet})
	if err != nil {
		return nil, err
	}
	ticks := make([]byte, 8*n)
	facets := make([]byte, 4*n)
	ords := map[string]uint32{}
	var terms []string
	var keys, nf int
	var tk uint64
	var ord uint32
	visit := func(field string, term []byte) {
		switch field {
		case FieldSortKey:
			keys++
			t, ok := keyTicks(term)
			if !ok {
				t = noTicks
			}
			tk = t
		case FieldFacet:
			nf++
			o, ok := ords[string(term)]
			if !ok {
				o = uint32(len(terms))
				terms = append(terms, string(term))
				ords[string(term)] = o
			}
			ord = o
		}
	}
	docID := make(index.IndexInternalID, 8)
	for local := uint64(0); local < n; local++ {
		if local%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		keys, nf, tk, ord = 0, 0, noTicks, noFacet
		docID.SetValue(from + local)
		if err := dvr.VisitDocValues(docID, visit); err != nil {
			return nil, err
		}
		if keys != 1 || nf > 1 || len(terms) >= noFacet {
			tk = noTicks // not described: read from the doc values
		}
		binary.LittleEndian.PutUint64(ticks[8*local:], tk)
		binary.LittleEndian.PutUint32(facets[4*local:], ord)
	}
	var buf bytes.Buffer
	buf.WriteString(colsMagic)
	var h [8]byte
	for _, v := range []uint64{id, uint64(size), n, uint64(len(terms))} {
		binary.LittleEndian.PutUint64(h[:], v)
		buf.Write(h[:])
	}
	buf.Write(tail)
	for _, t := range terms {
		binary.LittleEndian.PutUint32(h[:4], uint32(len(t)))
		buf.Write(h[:4])
		buf.WriteString(t)
	}
	for buf.Len()%8 != 0 {
		buf.WriteByte(0)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".cols-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	sum := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	w := io.MultiWriter(tmp, sum)
	_, err = w.Write(buf.Bytes())
	if err == nil {
		_, err = w.Write(ticks)
	}
	if err == nil {
		_, err = w.Write(facets)
	}
	if err == nil {
		binary.LittleEndian.PutUint32(h[:4], sum.Sum32())
		_, err = tmp.Write(h[:4])
	}
	// No fsync: a file torn by a crash fails its CRC and is rebuilt.
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		return nil, err
	}
	return loadCols(file, id, n, zapPath)
}

// zapFingerprint is a zap file's size and last zapTailLen bytes (its
// footer, which holds the file's checksum).
func zapFingerprint(path string) (int64, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, nil, err
	}
	if st.Size() < zapTailLen {
		return 0, nil, fmt.Errorf("zap file %s: %d bytes", path, st.Size())
	}
	tail := make([]byte, zapTailLen)
	if _, err := f.ReadAt(tail, st.Size()-zapTailLen); err != nil {
		return 0, nil, err
	}
	return st.Size(), tail, nil
}

var errColsStale = errors.New("columns file does not match its segment")

// loadCols maps file and checks it describes segment id of n documents
// stored in zapPath, whole.
func loadCols(file string, id, n uint64, zapPath string) (*segCols, error) {
	size, tail, err := zapFingerprint(zapPath)
	if err != nil {
		return nil, err
	}
	data, unmap, err := mapFile(file)
	if err != nil {
		return nil, err
	}
	c, err := parseCols(data, id, n, size, tail)
	if err != nil {
		_ = unmap(data)
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	c.unmap = unmap
	return c, nil
}

// parseCols checks a columns file's header, sizes and CRC against the
// segment it should describe and reads its facet terms.
func parseCols(data []byte, id, n uint64, zapSize int64, zapTail []byte) (*segCols, error) {
	const head = len(colsMagic) + 4*8 + zapTailLen
	if len(data) < head+4 || string(data[:len(colsMagic)]) != colsMagic {
		return nil, errColsStale
	}
	if crc32.Checksum(data[:len(data)-4], crc32.MakeTable(crc32.Castagnoli)) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, fmt.Errorf("%w: CRC", errColsStale)
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(data[len(colsMagic)+8*i:]) }
	if u(0) != id || u(1) != uint64(zapSize) || u(2) != n || !bytes.Equal(data[head-zapTailLen:head], zapTail) {
		return nil, errColsStale
	}
	nTerms := u(3)
	// Every term takes at least its 4-byte length: the count is checked
	// against the bytes before anything is allocated for it.
	if nTerms > uint64(len(data)-head)/4 || n > uint64(len(data))/12 {
		return nil, errColsStale
	}
	c := &segCols{id: id, n: n, data: data, terms: make([]string, 0, nTerms)}
	off := head
	for range nTerms {
		if off+4 > len(data) {
			return nil, errColsStale
		}
		l := int(binary.LittleEndian.Uint32(data[off:]))
		off += 4
		if l > len(data)-off {
			return nil, errColsStale
		}
		c.terms = append(c.terms, string(data[off:off+l]))
		off += l
	}
	for off%8 != 0 {
		off++
	}
	c.ticksOff, c.facetOff = off, off+8*int(n)
	if c.facetOff+4*int(n)+4 != len(data) {
		return nil, errColsStale
	}
	for local := range n {
		if o := c.facet(local); o != noFacet && uint64(o) >= nTerms {
			return nil, errColsStale
		}
	}
	return c, nil
}
