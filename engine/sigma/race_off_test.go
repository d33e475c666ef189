//go:build !race

package sigma

// raceEnabled is true under -race, where sync.Pool drops items on purpose.
const raceEnabled = false
