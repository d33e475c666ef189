package evtx

import (
	"math/rand/v2"
	"testing"
)

// TestIDSet checks the interval set against a plain map.
func TestIDSet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s idSet
	ref := map[uint64]bool{}
	for i := 0; i < 20000; i++ {
		id := uint64(r.IntN(3000))
		if i%3 == 0 {
			id = uint64(i / 3) // runs, as in real files
		}
		got := s.add(id)
		want := !ref[id]
		ref[id] = true
		if got != want {
			t.Fatalf("add(%d) = %v, want %v", id, got, want)
		}
	}
	for k := 1; k < len(s.iv); k++ {
		if s.iv[k-1][1]+1 >= s.iv[k][0] {
			t.Fatalf("intervals not disjoint and separated: %v %v", s.iv[k-1], s.iv[k])
		}
	}
}
