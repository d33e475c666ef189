//go:build !unix

package store

import "os"

// mapFile reads file into memory where mapping is not used.
func mapFile(file string) ([]byte, func([]byte) error, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	return data, func([]byte) error { return nil }, nil
}
