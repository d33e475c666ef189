package store

import (
	"fmt"
	"syscall"

	"github.com/blevesearch/bleve/v2/index/scorch"
	zapx "github.com/blevesearch/zapx/v17"
)

// ReleasePages hands the pages of the index's memory-mapped segment files
// back to the kernel's page cache (madvise MADV_DONTNEED): they stop
// counting in this process's resident set, and the next read of one
// faults it back in from the cache. Segments are read through maps, so
// without this the resident set grows with every segment a merge or a
// search has read. It returns the bytes of mapping released. Only segments
// on disk are touched (the in-memory ones are heap), and they stay mapped:
// the snapshot read here holds a reference on each.
func (x *Index) ReleasePages() (int64, error) {
	adv, err := x.idx.Advanced()
	if err != nil {
		return 0, fmt.Errorf("release pages: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return 0, fmt.Errorf("release pages: %w", err)
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return 0, nil
	}
	var n int64
	for _, ss := range snap.Segments() {
		seg, ok := ss.Segment().(*zapx.Segment)
		if !ok {
			continue
		}
		data := seg.Data()
		if len(data) == 0 {
			continue
		}
		if err := syscall.Madvise(data, syscall.MADV_DONTNEED); err != nil {
			return n, fmt.Errorf("release pages of %s: %w", seg.Path(), err)
		}
		n += int64(len(data))
	}
	// The segments' time and facet columns are mapped files too; held
	// under the lock, none is unmapped meanwhile.
	x.cols.mu.Lock()
	defer x.cols.mu.Unlock()
	for _, c := range x.cols.byID {
		if err := syscall.Madvise(c.data, syscall.MADV_DONTNEED); err != nil {
			return n, fmt.Errorf("release pages of segment %x's columns: %w", c.id, err)
		}
		n += int64(len(c.data))
	}
	return n, nil
}
