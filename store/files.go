package store

import (
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/blevesearch/bleve/v2/numeric"
)

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a file vanishing mid-walk is not an error for a size
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// prefixCodedToInt decodes a Bleve prefix-coded term (sort values and
// numeric/datetime terms) into its int64.
func prefixCodedToInt(s string) (int64, error) {
	v, err := numeric.PrefixCoded(s).Int64()
	if err != nil {
		return 0, fmt.Errorf("decode term: %w", err)
	}
	return v, nil
}
