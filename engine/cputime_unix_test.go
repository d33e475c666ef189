//go:build unix

package engine_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) used by this process so
// far, or 0 if it cannot be read: on a shared machine wall time measures
// the neighbours too.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
