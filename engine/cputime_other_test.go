//go:build !unix

package engine_test

import "time"

// processCPU is not measured off Unix.
func processCPU() time.Duration { return 0 }
