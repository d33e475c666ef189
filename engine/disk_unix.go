//go:build unix

package engine

import (
	"fmt"
	"syscall"
)

// freeBytes returns the bytes an unprivileged writer may still use on the
// filesystem holding path.
func freeBytes(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
