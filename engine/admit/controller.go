package admit

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Controller defaults and thresholds.
const (
	// DefaultPollInterval is how often a waiting Acquire re-reads the
	// probe when no release wakes it.
	DefaultPollInterval = 250 * time.Millisecond
	// minFloor and maxFloor bound the default Config.Floor (budget/8).
	minFloor = 32 * MiB
	maxFloor = 256 * MiB
	// heapWarnPercent and heapRearmPercent of the budget: a Warn is logged
	// when HeapInuse rises past the first, and re-armed only once it falls
	// below the second, so a heap hovering at the line logs once.
	heapWarnPercent  = 80
	heapRearmPercent = 70
)

// Reasons a waiter is blocked, as reported in Stats.BlockedOn.
const (
	blockedWorkers   = "workers"    // all MaxWorkers slots are taken
	blockedBudget    = "budget"     // in-flight cost + cost would exceed the budget
	blockedLowMemory = "low_memory" // probe reads below Floor + cost
	blockedExclusive = "exclusive"  // an over-budget file runs alone
)

// Config configures a Controller. Zero fields take the documented defaults.
type Config struct {
	// Budget is the total cost (bytes, see EstimateCost) admitted at once.
	// 0 means MinBudget.
	Budget uint64
	// Floor is the available memory (bytes, as the probe reads it) to keep
	// free: a file is admitted only if available − cost ≥ Floor. 0 means
	// budget/8 clamped to [32 MiB, 256 MiB]: it is slack for the kernel,
	// the page cache and cost-model error, which does not grow with the
	// machine past 256 MiB, while in a small container a fixed 256 MiB
	// would exceed the whole budget and pin concurrency at 1.
	Floor uint64
	// MaxWorkers caps files in flight; it is clamped to [1,
	// runtime.NumCPU()]. 0 means runtime.NumCPU().
	MaxWorkers int
	// PollInterval is how often waiters re-read the probe. 0 means
	// DefaultPollInterval.
	PollInterval time.Duration
}

// Stats is a snapshot of the Controller, for /api/system and logs.
type Stats struct {
	Budget       uint64 `json:"budget"`         // bytes
	Floor        uint64 `json:"floor"`          // bytes
	InFlightCost uint64 `json:"in_flight_cost"` // bytes, sum of admitted costs
	Active       int    `json:"active"`         // admitted, not yet released
	Waiting      int    `json:"waiting"`        // blocked in Acquire
	MaxWorkers   int    `json:"max_workers"`
	Admitted     uint64 `json:"admitted"` // total admissions since New
	// Throttled is true when the first waiter is blocked for memory
	// (budget, low available memory, or an over-budget file running
	// alone) rather than for a worker slot.
	Throttled bool `json:"throttled"`
	// BlockedOn says why the first waiter waits: "workers", "budget",
	// "low_memory", "exclusive", or "" when nobody waits.
	BlockedOn string `json:"blocked_on,omitempty"`
	// SystemAvailable is the probe's last reading, bytes.
	SystemAvailable uint64 `json:"system_available"`
	HeapInuse       uint64 `json:"heap_inuse"` // bytes, Go heap in use
	RSS             uint64 `json:"rss"`        // bytes, resident set of the process; 0 if unknown
	// RSSFile is the part of RSS that maps files (mostly index segments):
	// page cache the kernel can reclaim, released by the engine above an
	// eighth of the budget.
	RSSFile uint64 `json:"rss_file"`
}

// Controller admits files into processing so that their estimated memory
// cost fits the budget, the system keeps Floor bytes free, and at most
// MaxWorkers run at once. It is safe for concurrent use.
//
// Waiters are served in FIFO order: only the first waiter can be admitted,
// so a large file is not starved by a stream of small ones.
//
// Admission rules, checked in one step under the mutex:
//   - active < MaxWorkers;
//   - in-flight cost + cost ≤ Budget, except that a cost above the whole
//     budget is admitted when nothing is in flight; it then runs alone
//     (streaming keeps its real use bounded) and nothing else is admitted
//     until it is released;
//   - probe.Available() − cost ≥ Floor. When memory is this low, effective
//     concurrency drops to 1: a file waits if anything is in flight, and
//     is admitted if nothing is, since otherwise nothing would ever
//     progress (memory that others hold is not ours to wait for).
//
// A probe error skips the memory check (budget and workers still apply)
// and is logged as a Warn once until the probe works again.
type Controller struct {
	probe Probe
	log   *slog.Logger
	// heap reads HeapInuse; a field so tests can drive the heap warning.
	heap func() uint64

	budget, floor uint64
	maxWorkers    int
	poll          time.Duration

	mu        sync.Mutex
	waiters   []*waiter // FIFO; waiters[0] is the only one admissible
	inFlight  uint64
	active    int
	admitted  uint64
	blockedOn string
	lastAvail uint64
	probeErr  bool // a probe error was logged and not yet cleared
	heapHigh  bool // heap passed heapWarnPercent and has not fallen back
}

// waiter is one blocked Acquire. ready is closed when it is admitted.
type waiter struct {
	cost  uint64
	ready chan struct{}
}

// New returns a Controller for cfg (see Config for defaults). A nil probe
// disables the memory check; a nil log discards.
func New(cfg Config, probe Probe, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	budget := cfg.Budget
	if budget == 0 {
		budget = MinBudget
	}
	floor := cfg.Floor
	if floor == 0 {
		floor = min(max(budget/8, minFloor), maxFloor)
	}
	workers := cfg.MaxWorkers
	if workers <= 0 || workers > runtime.NumCPU() {
		workers = runtime.NumCPU()
	}
	poll := cfg.PollInterval
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	return &Controller{
		probe:      probe,
		log:        log,
		heap:       heapInuse,
		budget:     budget,
		floor:      floor,
		maxWorkers: workers,
		poll:       poll,
	}
}

// Acquire blocks until a file of the given cost (bytes, see EstimateCost)
// may run, then returns a release func that must be called exactly once
// when the file is done (further calls do nothing). It never fails for
// lack of memory; it returns an error only when ctx ends first, and then
// ctx.Err() with nothing admitted. A waiting call owns one timer (stopped
// on return) and no goroutine. Call it from the bounded worker pool, one
// waiting call per worker, not from a goroutine per file.
func (c *Controller) Acquire(ctx context.Context, cost uint64) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.waiters) == 0 && c.tryAdmit(cost, &memView{}) {
		c.mu.Unlock()
		return c.releaser(cost), nil
	}
	w := &waiter{cost: cost, ready: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()

	// Releases wake waiters through grant; the timer covers memory that
	// frees up outside our accounting (other processes, the GC).
	t := time.NewTimer(c.poll)
	defer t.Stop()
	for {
		select {
		case <-w.ready:
			return c.releaser(cost), nil
		case <-ctx.Done():
			c.mu.Lock()
			select {
			case <-w.ready:
				// Admitted in the race with cancellation: hand it back.
				c.mu.Unlock()
				c.releaser(cost)()
			default:
				c.remove(w)
				// Leaving may unblock the next waiter (e.g. we were a
				// large first waiter).
				c.grant()
				c.mu.Unlock()
			}
			return nil, ctx.Err()
		case <-t.C:
			c.mu.Lock()
			if len(c.waiters) > 0 && c.waiters[0] == w {
				c.grant()
			}
			c.mu.Unlock()
			t.Reset(c.poll)
		}
	}
}

// releaser returns the idempotent release func for an admitted cost.
func (c *Controller) releaser(cost uint64) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			c.inFlight -= cost
			c.active--
			c.grant()
			c.mu.Unlock()
			c.checkHeap(c.heap())
		})
	}
}

// grant admits waiters from the head of the queue while they fit.
// c.mu must be held.
func (c *Controller) grant() {
	var m memView
	for len(c.waiters) > 0 {
		w := c.waiters[0]
		if !c.tryAdmit(w.cost, &m) {
			return
		}
		c.waiters[0] = nil
		c.waiters = c.waiters[1:]
		close(w.ready)
	}
	c.blockedOn = ""
}

// memView is one probe reading shared by the admissions of one grant
// pass. Files admitted in the pass have not allocated yet, so the reading
// cannot show them: their costs are taken off it as they are admitted.
type memView struct {
	read  bool   // the probe was called
	ok    bool   // and answered
	avail uint64 // bytes, minus costs admitted in this pass
}

// tryAdmit admits cost if the rules allow, recording why not otherwise.
// m caches the probe reading across one pass. c.mu must be held.
func (c *Controller) tryAdmit(cost uint64, m *memView) bool {
	switch {
	case c.active >= c.maxWorkers:
		c.blockedOn = blockedWorkers
		return false
	case c.active > 0 && c.inFlight > c.budget:
		c.blockedOn = blockedExclusive
		return false
	case c.active > 0 && c.inFlight+cost > c.budget:
		c.blockedOn = blockedBudget
		return false
	}
	if c.probe != nil && !m.read {
		m.read = true
		avail, err := c.probe.Available()
		switch {
		case err != nil:
			if !c.probeErr {
				c.probeErr = true
				c.log.Warn("memory probe failed; admitting on budget only", "err", err)
			}
		default:
			if c.probeErr {
				c.probeErr = false
				c.log.Info("memory probe works again")
			}
			c.lastAvail = avail
			m.ok, m.avail = true, avail
		}
	}
	if m.ok && c.active > 0 && (m.avail < cost || m.avail-cost < c.floor) {
		c.blockedOn = blockedLowMemory
		return false
	}
	if m.ok {
		m.avail -= min(cost, m.avail)
	}
	c.inFlight += cost
	c.active++
	c.admitted++
	c.blockedOn = ""
	return true
}

// remove drops w from the queue. c.mu must be held.
func (c *Controller) remove(w *waiter) {
	for i, x := range c.waiters {
		if x == w {
			copy(c.waiters[i:], c.waiters[i+1:])
			c.waiters[len(c.waiters)-1] = nil
			c.waiters = c.waiters[:len(c.waiters)-1]
			return
		}
	}
}

// checkHeap logs a Warn when h, the Go heap in use, crosses
// heapWarnPercent of the budget: once per crossing, re-armed when it falls
// below heapRearmPercent.
func (c *Controller) checkHeap(h uint64) {
	c.mu.Lock()
	var warn bool
	switch {
	case !c.heapHigh && h > c.budget/100*heapWarnPercent:
		c.heapHigh, warn = true, true
	case c.heapHigh && h < c.budget/100*heapRearmPercent:
		c.heapHigh = false
	}
	active, inFlight := c.active, c.inFlight
	c.mu.Unlock()
	if warn {
		c.log.Warn("go heap above 80% of memory budget",
			"heap_inuse", h, "budget", c.budget, "in_flight_cost", inFlight, "active", active)
	}
}

// Stats returns a snapshot. It reads the Go heap (and checks it against
// the budget, see checkHeap) and the process RSS. SystemAvailable is the
// last admission-time reading; before any admission it reads the probe
// once (outside the mutex), so status never reports 0 available memory.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	need := c.lastAvail == 0 && c.probe != nil
	c.mu.Unlock()
	if need {
		if avail, err := c.probe.Available(); err == nil {
			c.mu.Lock()
			if c.lastAvail == 0 {
				c.lastAvail = avail
			}
			c.mu.Unlock()
		}
	}
	c.mu.Lock()
	s := Stats{
		Budget:          c.budget,
		Floor:           c.floor,
		InFlightCost:    c.inFlight,
		Active:          c.active,
		Waiting:         len(c.waiters),
		MaxWorkers:      c.maxWorkers,
		Admitted:        c.admitted,
		SystemAvailable: c.lastAvail,
	}
	if len(c.waiters) > 0 {
		s.BlockedOn = c.blockedOn
		s.Throttled = c.blockedOn != "" && c.blockedOn != blockedWorkers
	}
	c.mu.Unlock()
	s.HeapInuse = c.heap()
	c.checkHeap(s.HeapInuse)
	s.RSS = processRSS()
	s.RSSFile = FileRSS()
	return s
}

// heapInuse returns the Go heap in use, like MemStats.HeapInuse, without
// stopping the world.
func heapInuse() uint64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	metrics.Read(s)
	var n uint64
	for _, x := range s {
		if x.Value.Kind() == metrics.KindUint64 {
			n += x.Value.Uint64()
		}
	}
	return n
}

// processRSS returns the resident set size of this process from
// /proc/self/statm (resident pages × page size), or 0 where there is no
// such file (non-Linux).
func processRSS() uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// FileRSS returns the resident file-backed pages of this process (RssFile:
// memory-mapped files), or 0 where unknown.
func FileRSS() uint64 { return StatusBytes("RssFile:") }

// StatusBytes reads a kB field of /proc/self/status ("VmHWM:", "RssAnon:",
// …) in bytes, or 0 where there is no such file or field (non-Linux).
func StatusBytes(field string) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseUint(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
			return 0
		}
	}
	return 0
}
