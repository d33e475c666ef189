// Package level is the Sigma severity vocabulary shared by the store (the
// index's sigma.max, the query language) and the engine (rule filtering,
// hit ordering). It is a leaf: store must not import engine, so the ranking
// cannot live in engine/sigma.
package level

import "strings"

// Rank orders Sigma levels, informational 1 to critical 5, any case;
// unknown or missing levels rank 0. The index stores it as sigma.max.
func Rank(level string) int {
	switch strings.ToLower(level) {
	case "informational":
		return 1
	case "low":
		return 2
	case "medium":
		return 3
	case "high":
		return 4
	case "critical":
		return 5
	}
	return 0
}
