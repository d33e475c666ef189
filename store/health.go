package store

import (
	"sync/atomic"

	"github.com/blevesearch/bleve/v2/index/scorch"
)

// AsyncErrors returns how many background writes of the index (persisting
// batches, merging segments) have failed since it was opened. Bleve
// retries a failed persist forever and reports it nowhere else, so the
// engine polls this to notice a full or failing disk.
func (x *Index) AsyncErrors() uint64 {
	adv, err := x.idx.Advanced()
	if err != nil {
		return 0
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return 0
	}
	st, ok := s.Stats().(*scorch.Stats)
	if !ok {
		return 0
	}
	return atomic.LoadUint64(&st.TotOnErrors)
}

// Path returns the index directory.
func (x *Index) Path() string { return x.path }
