//go:build !unix

package engine

import "errors"

// freeBytes is unknown off Unix: the space checks admit, and a failed
// write still stops intake.
func freeBytes(string) (uint64, error) { return 0, errors.New("free space unknown on this platform") }
