package admit

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The Controller tests run in synctest bubbles: time is virtual, so the
// waiters' poll timers fire deterministically, and synctest.Wait returns
// once every goroutine is blocked — admitted and holding, or waiting in
// Acquire — which is the stable state the assertions need. time.Sleep
// inside a bubble only advances the fake clock; nothing sleeps for real.

// fakeProbe is a settable Probe that counts its calls.
type fakeProbe struct {
	mu    sync.Mutex
	avail uint64
	err   error
	calls int
}

func fixedProbe(n uint64) *fakeProbe { return &fakeProbe{avail: n} }

func (p *fakeProbe) Available() (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	return p.avail, p.err
}

func (p *fakeProbe) set(n uint64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.avail, p.err = n, err
}

func (p *fakeProbe) callCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// newTestController is New with MaxWorkers forced to workers even above
// runtime.NumCPU(), so the tests mean the same on a 1-CPU runner.
func newTestController(cfg Config, p Probe, log *slog.Logger, workers int) *Controller {
	c := New(cfg, p, log)
	c.maxWorkers = workers
	return c
}

// job is one admitted file, held until finish is closed.
type job struct {
	cost   uint64
	finish chan struct{}
}

// harness runs jobs through a Controller and watches what is admitted at
// once, by its own accounting: a job counts from its admission until just
// before it releases, so the harness never sees more than the Controller.
type harness struct {
	t       *testing.T
	c       *Controller
	budget  uint64
	running chan *job // admitted jobs, in the order they were admitted
	wg      sync.WaitGroup

	mu       sync.Mutex
	cur      int
	curCost  uint64
	maxCur   int
	maxCost  uint64
	finished int
	errs     []error
}

func newHarness(t *testing.T, c *Controller, budget uint64) *harness {
	return &harness{t: t, c: c, budget: budget, running: make(chan *job, 1000)}
}

// start launches a goroutine that acquires cost, holds until finished,
// and releases.
func (h *harness) start(ctx context.Context, cost uint64) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		release, err := h.c.Acquire(ctx, cost)
		if err != nil {
			h.mu.Lock()
			h.errs = append(h.errs, err)
			h.mu.Unlock()
			return
		}
		h.mu.Lock()
		h.cur++
		h.curCost += cost
		if h.curCost > h.budget && h.cur > 1 {
			h.t.Errorf("admitted %d jobs costing %d > budget %d together", h.cur, h.curCost, h.budget)
		}
		h.maxCur = max(h.maxCur, h.cur)
		h.maxCost = max(h.maxCost, h.curCost)
		h.mu.Unlock()
		j := &job{cost: cost, finish: make(chan struct{})}
		h.running <- j
		<-j.finish
		h.mu.Lock()
		h.cur--
		h.curCost -= cost
		h.finished++
		h.mu.Unlock()
		release()
		release() // a second call must do nothing
	}()
}

// finishNext lets the oldest admitted job finish.
func (h *harness) finishNext() {
	h.t.Helper()
	select {
	case j := <-h.running:
		close(j.finish)
	default:
		h.t.Fatalf("no admitted job to finish; stats %+v", h.c.Stats())
	}
}

// peaks returns the highest concurrency and in-flight cost seen since the
// last call, and resets them to the current values.
func (h *harness) peaks() (maxCur int, maxCost uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	maxCur, maxCost = h.maxCur, h.maxCost
	h.maxCur, h.maxCost = h.cur, h.curCost
	return maxCur, maxCost
}

func (h *harness) done() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.finished
}

// checkIdle asserts the Controller is back to rest after n admissions.
func checkIdle(t *testing.T, c *Controller, n uint64) {
	t.Helper()
	st := c.Stats()
	if st.Active != 0 || st.Waiting != 0 || st.InFlightCost != 0 || st.Admitted != n || st.Throttled || st.BlockedOn != "" {
		t.Errorf("final stats %+v; want Active 0, Waiting 0, InFlightCost 0, Admitted %d, not throttled", st, n)
	}
}

func TestLowMemoryDropsToOne(t *testing.T) {
	const (
		cost  = 50 * MiB
		floor = 100 * MiB
		low   = 120 * MiB // < floor + cost
		high  = 64 * GiB
		poll  = 10 * time.Millisecond
	)
	tests := []struct {
		name      string
		workers   int
		jobs      int
		lowRounds int
		wantHigh  int // max concurrency after recovery
	}{
		{name: "2 workers", workers: 2, jobs: 6, lowRounds: 3, wantHigh: 2},
		{name: "4 workers", workers: 4, jobs: 10, lowRounds: 3, wantHigh: 4},
		{name: "8 workers few jobs", workers: 8, jobs: 7, lowRounds: 2, wantHigh: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				probe := fixedProbe(low)
				c := newTestController(Config{Budget: 10 * GiB, Floor: floor, PollInterval: poll}, probe, nil, tc.workers)
				h := newHarness(t, c, 10*GiB)
				for range tc.jobs {
					h.start(t.Context(), cost)
				}
				for round := range tc.lowRounds {
					synctest.Wait()
					before := probe.callCount()
					time.Sleep(5 * poll) // virtual: lets the waiters re-poll
					synctest.Wait()
					if probe.callCount() <= before {
						t.Errorf("round %d: probe not re-read while waiting", round)
					}
					st := c.Stats()
					want := Stats{Active: 1, Waiting: tc.jobs - 1 - round, Throttled: true, BlockedOn: "low_memory", SystemAvailable: low}
					if st.Active != want.Active || st.Waiting != want.Waiting || st.Throttled != want.Throttled ||
						st.BlockedOn != want.BlockedOn || st.SystemAvailable != want.SystemAvailable {
						t.Errorf("round %d: stats %+v; want %+v", round, st, want)
					}
					h.finishNext() // nothing else in flight: the next one is admitted anyway
				}
				synctest.Wait()
				if got, _ := h.peaks(); got != 1 {
					t.Errorf("max concurrency under low memory = %d; want 1", got)
				}

				probe.set(high, nil)
				time.Sleep(poll) // virtual: the first waiter's timer re-reads the probe
				synctest.Wait()
				if st := c.Stats(); st.Active != tc.wantHigh || st.Throttled {
					t.Errorf("after recovery: stats %+v; want Active %d, not throttled", st, tc.wantHigh)
				}
				for h.done() < tc.jobs {
					h.finishNext()
					synctest.Wait()
				}
				h.wg.Wait()
				if got, _ := h.peaks(); got != tc.wantHigh {
					t.Errorf("max concurrency after recovery = %d; want %d", got, tc.wantHigh)
				}
				if len(h.errs) != 0 {
					t.Errorf("Acquire errors %v; want none", h.errs)
				}
				checkIdle(t, c, uint64(tc.jobs))
			})
		})
	}
}

func TestBudget(t *testing.T) {
	tests := []struct {
		name          string
		budget        uint64
		workers       int
		costs         []uint64
		wantMaxCost   uint64
		wantMaxActive int
		wantBlockedOn []string // at each saturated point, while someone waits
	}{
		{
			name: "equal costs fill the budget", budget: 100, workers: 4,
			costs:       []uint64{30, 30, 30, 30, 30, 30},
			wantMaxCost: 90, wantMaxActive: 3,
			wantBlockedOn: []string{"budget", "budget", "budget"},
		},
		{
			name: "worker cap below budget", budget: 100, workers: 4,
			costs:       []uint64{10, 10, 10, 10, 10, 10, 10, 10},
			wantMaxCost: 40, wantMaxActive: 4,
			wantBlockedOn: []string{"workers", "workers", "workers", "workers"},
		},
		{
			name: "over-budget cost runs alone", budget: 100, workers: 4,
			costs:       []uint64{40, 250, 40, 40},
			wantMaxCost: 250, wantMaxActive: 2,
			wantBlockedOn: []string{"budget", "exclusive"},
		},
		{
			name: "only over-budget costs", budget: 100, workers: 4,
			costs:       []uint64{250, 300, 101},
			wantMaxCost: 300, wantMaxActive: 1,
			wantBlockedOn: []string{"exclusive", "exclusive"},
		},
		{
			name: "mixed costs, FIFO", budget: 100, workers: 4,
			costs:       []uint64{60, 50, 40, 30},
			wantMaxCost: 90, wantMaxActive: 2,
			wantBlockedOn: []string{"budget", "budget"},
		},
		{
			name: "exact fit", budget: 100, workers: 4,
			costs:       []uint64{50, 50, 0},
			wantMaxCost: 100, wantMaxActive: 3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestController(Config{Budget: tc.budget, PollInterval: time.Millisecond}, fixedProbe(64*GiB), nil, tc.workers)
				h := newHarness(t, c, tc.budget)
				for _, cost := range tc.costs {
					h.start(t.Context(), cost) // one at a time: fixes the FIFO order
					synctest.Wait()
				}
				var blocked []string
				for {
					synctest.Wait()
					if h.done() == len(tc.costs) {
						break
					}
					st := c.Stats()
					if st.InFlightCost > st.Budget && st.Active != 1 {
						t.Errorf("stats %+v: over budget with %d active", st, st.Active)
					}
					if st.Waiting > 0 {
						blocked = append(blocked, st.BlockedOn)
					}
					h.finishNext()
				}
				h.wg.Wait()
				maxCur, maxCost := h.peaks()
				if maxCost != tc.wantMaxCost || maxCur != tc.wantMaxActive {
					t.Errorf("max in flight = %d B in %d jobs; want %d B in %d", maxCost, maxCur, tc.wantMaxCost, tc.wantMaxActive)
				}
				if !slices.Equal(blocked, tc.wantBlockedOn) {
					t.Errorf("blocked on %q; want %q", blocked, tc.wantBlockedOn)
				}
				checkIdle(t, c, uint64(len(tc.costs)))
			})
		})
	}
}

func TestAcquireCancel(t *testing.T) {
	type step struct {
		cost   uint64
		cancel bool // Acquire under a context the test cancels
	}
	tests := []struct {
		name    string
		budget  uint64
		workers int
		avail   uint64
		timeout time.Duration // for cancel steps: a deadline instead of cancel()
		steps   []step
		wantErr error
		// Stats after the cancelled Acquire returned.
		wantActive   int
		wantInFlight uint64
		wantWaiting  int
	}{
		{
			name: "waiting for a worker", budget: 100, workers: 1, avail: 64 * GiB,
			steps:      []step{{cost: 10}, {cost: 10, cancel: true}},
			wantErr:    context.Canceled,
			wantActive: 1, wantInFlight: 10,
		},
		{
			name: "deadline while memory is low", budget: GiB, workers: 4, avail: 0,
			timeout:    time.Second,
			steps:      []step{{cost: 10}, {cost: 10, cancel: true}},
			wantErr:    context.DeadlineExceeded,
			wantActive: 1, wantInFlight: 10,
		},
		{
			name: "cancelled first waiter lets the next in", budget: 100, workers: 4, avail: 64 * GiB,
			steps:      []step{{cost: 60}, {cost: 90, cancel: true}, {cost: 30}},
			wantErr:    context.Canceled,
			wantActive: 2, wantInFlight: 90,
		},
		{
			name: "cancelled middle waiter", budget: 100, workers: 4, avail: 64 * GiB,
			steps:      []step{{cost: 60}, {cost: 50}, {cost: 30, cancel: true}, {cost: 20}},
			wantErr:    context.Canceled,
			wantActive: 1, wantInFlight: 60, wantWaiting: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestController(Config{Budget: tc.budget, Floor: MiB, PollInterval: 10 * time.Millisecond}, fixedProbe(tc.avail), nil, tc.workers)
				h := newHarness(t, c, tc.budget)
				ctx, cancel := context.WithCancel(t.Context())
				if tc.timeout > 0 {
					ctx, cancel = context.WithTimeout(t.Context(), tc.timeout)
				}
				defer cancel()
				for _, s := range tc.steps {
					if s.cancel {
						h.start(ctx, s.cost)
					} else {
						h.start(t.Context(), s.cost)
					}
					synctest.Wait()
				}
				if tc.timeout > 0 {
					time.Sleep(tc.timeout) // virtual
				} else {
					cancel()
				}
				synctest.Wait()
				if len(h.errs) != 1 || !errors.Is(h.errs[0], tc.wantErr) {
					t.Fatalf("Acquire errors %v; want [%v]", h.errs, tc.wantErr)
				}
				st := c.Stats()
				if st.Active != tc.wantActive || st.InFlightCost != tc.wantInFlight || st.Waiting != tc.wantWaiting {
					t.Errorf("stats %+v; want Active %d, InFlightCost %d, Waiting %d", st, tc.wantActive, tc.wantInFlight, tc.wantWaiting)
				}
				n := len(tc.steps) - 1
				for h.done() < n {
					h.finishNext()
					synctest.Wait()
				}
				h.wg.Wait()
				checkIdle(t, c, uint64(n))
			})
		})
	}
}

func TestAcquireCancelledContext(t *testing.T) {
	c := New(Config{Budget: GiB}, fixedProbe(64*GiB), nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	release, err := c.Acquire(ctx, 1)
	if !errors.Is(err, context.Canceled) || release != nil {
		t.Fatalf("Acquire(cancelled) = (release non-nil: %t), %v; want nil, context.Canceled", release != nil, err)
	}
	checkIdle(t, c, 0)
}

// recorder is a slog.Handler that keeps records.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	return nil
}

// count returns how many records of level were logged.
func (r *recorder) count(level slog.Level) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.records {
		if rec.Level == level {
			n++
		}
	}
	return n
}

func TestProbeError(t *testing.T) {
	rec := &recorder{}
	probe := &fakeProbe{err: errors.New("meminfo unreadable")}
	c := New(Config{Budget: GiB, MaxWorkers: 1}, probe, slog.New(rec))
	for i := range 3 {
		release, err := c.Acquire(t.Context(), 10)
		if err != nil {
			t.Fatalf("Acquire %d: %v; want admitted on budget", i, err)
		}
		release()
	}
	if got := rec.count(slog.LevelWarn); got != 1 {
		t.Errorf("warnings = %d; want 1 for the whole failing episode", got)
	}
	probe.set(64*GiB, nil)
	release, err := c.Acquire(t.Context(), 10)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	release()
	if got := rec.count(slog.LevelInfo); got != 1 {
		t.Errorf("info records = %d; want 1 (probe recovered)", got)
	}
	if got := c.Stats().SystemAvailable; got != 64*GiB {
		t.Errorf("SystemAvailable = %d; want %d", got, 64*GiB)
	}
}

func TestHeapWarning(t *testing.T) {
	const budget = 1000 * MiB
	tests := []struct {
		name  string
		heaps []uint64 // successive HeapInuse readings, one per Stats call
		want  int      // Warn records
	}{
		{name: "below", heaps: []uint64{100 * MiB, 790 * MiB}, want: 0},
		{name: "one crossing", heaps: []uint64{100 * MiB, 810 * MiB, 900 * MiB, 750 * MiB, 850 * MiB}, want: 1},
		{name: "re-armed below 70%", heaps: []uint64{810 * MiB, 600 * MiB, 810 * MiB, 100 * MiB, 2000 * MiB}, want: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			c := New(Config{Budget: budget}, nil, slog.New(rec))
			i := 0
			c.heap = func() uint64 { return tc.heaps[i] }
			for i = range tc.heaps {
				if got := c.Stats().HeapInuse; got != tc.heaps[i] {
					t.Errorf("HeapInuse = %d; want %d", got, tc.heaps[i])
				}
			}
			if got := rec.count(slog.LevelWarn); got != tc.want {
				t.Errorf("warnings = %d; want %d", got, tc.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		wantBudget  uint64
		wantFloor   uint64
		wantWorkers int
	}{
		{name: "zero config", cfg: Config{}, wantBudget: 64 * MiB, wantFloor: 32 * MiB, wantWorkers: maxProcs()},
		{name: "floor is budget/8", cfg: Config{Budget: 1 * GiB, MaxWorkers: 1}, wantBudget: GiB, wantFloor: 128 * MiB, wantWorkers: 1},
		{name: "floor capped", cfg: Config{Budget: 16 * GiB, MaxWorkers: -3}, wantBudget: 16 * GiB, wantFloor: 256 * MiB, wantWorkers: maxProcs()},
		{name: "explicit floor, workers capped", cfg: Config{Budget: GiB, Floor: 5, MaxWorkers: 1 << 20}, wantBudget: GiB, wantFloor: 5, wantWorkers: maxProcs()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := New(tc.cfg, nil, nil).Stats()
			if st.Budget != tc.wantBudget || st.Floor != tc.wantFloor || st.MaxWorkers != tc.wantWorkers {
				t.Errorf("stats %+v; want Budget %d, Floor %d, MaxWorkers %d", st, tc.wantBudget, tc.wantFloor, tc.wantWorkers)
			}
		})
	}
}

func TestStatsJSON(t *testing.T) {
	c := New(Config{Budget: GiB}, fixedProbe(2*GiB), nil)
	release, err := c.Acquire(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	data, err := json.Marshal(c.Stats())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"budget", "floor", "in_flight_cost", "active", "waiting", "max_workers", "admitted", "throttled", "system_available", "heap_inuse", "rss"} {
		if _, ok := got[key]; !ok {
			t.Errorf("JSON %s lacks %q", data, key)
		}
	}
	if got["active"] != 1.0 || got["system_available"] != float64(2*GiB) {
		t.Errorf("JSON %s; want active 1, system_available %d", data, 2*GiB)
	}
}

// maxProcs is the worker cap New applies.
func maxProcs() int { return runtime.NumCPU() }

// TestBurstUsesOneReading: files admitted together by one release have not
// allocated yet, so each is charged against the same probe reading.
func TestBurstUsesOneReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			cost  = 100 * MiB
			floor = 100 * MiB
		)
		probe := fixedProbe(0)
		c := newTestController(Config{Budget: 10 * GiB, Floor: floor, PollInterval: time.Second}, probe, nil, 4)
		h := newHarness(t, c, 10*GiB)
		for range 4 {
			h.start(t.Context(), cost)
		}
		synctest.Wait()
		if st := c.Stats(); st.Active != 1 || st.Waiting != 3 {
			t.Fatalf("stats %+v; want Active 1, Waiting 3", st)
		}
		// Room for the file freed plus one more above the floor.
		probe.set(floor+cost*5/2, nil)
		h.finishNext()
		synctest.Wait()
		if st := c.Stats(); st.Active != 2 || st.Waiting != 1 || st.BlockedOn != "low_memory" {
			t.Errorf("after release: stats %+v; want Active 2, Waiting 1, blocked on low_memory", st)
		}
		for {
			synctest.Wait()
			if h.done() == 4 {
				break
			}
			h.finishNext()
		}
		h.wg.Wait()
		checkIdle(t, c, 4)
	})
}

// TestStatusBytes reads /proc/self/status and checks it against the other
// kernel view of the same number, /proc/self/statm.
func TestStatusBytes(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status on this system")
	}
	rss, statm := StatusBytes("VmRSS:"), processRSS()
	if rss == 0 || statm == 0 || rss > 2*statm || statm > 2*rss {
		t.Errorf("VmRSS %d bytes, statm resident %d bytes", rss, statm)
	}
	if hwm := StatusBytes("VmHWM:"); hwm < rss {
		t.Errorf("VmHWM %d below VmRSS %d", hwm, rss)
	}
	if StatusBytes("NoSuchField:") != 0 {
		t.Error("a missing field read as non-zero")
	}
}
