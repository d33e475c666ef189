//go:build unix

package store

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps file read-only: its pages are the page cache's, not the
// heap's, and the kernel drops them under memory pressure.
func mapFile(file string) ([]byte, func([]byte) error, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 || st.Size() != int64(int(st.Size())) {
		return nil, nil, fmt.Errorf("%s: %d bytes", file, st.Size())
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("map %s: %w", file, err)
	}
	return data, syscall.Munmap, nil
}
