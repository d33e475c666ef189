package engine

import (
	"sync"
	"time"
)

// rateMeter tracks events indexed per second over a sliding window of the
// last 10 seconds, in one-second buckets.
type rateMeter struct {
	mu      sync.Mutex
	buckets [10]int64
	stamp   [10]int64 // unix second each bucket holds
}

func (r *rateMeter) add(n int64) {
	now := time.Now().Unix()
	i := now % int64(len(r.buckets))
	r.mu.Lock()
	if r.stamp[i] != now {
		r.stamp[i], r.buckets[i] = now, 0
	}
	r.buckets[i] += n
	r.mu.Unlock()
}

func (r *rateMeter) perSecond() float64 {
	now := time.Now().Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	var sum int64
	for i := range r.buckets {
		if now-r.stamp[i] < int64(len(r.buckets)) && r.stamp[i] != now {
			sum += r.buckets[i]
		}
	}
	return float64(sum) / float64(len(r.buckets)-1)
}
