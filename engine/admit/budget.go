package admit

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
)

// Budget bounds and fraction; see DefaultBudget.
const (
	// BudgetPercent is the share of usable memory given to files in
	// flight. The other 40% is for what the cost model does not count:
	// the resident base of the process (open Bleve indexes and their
	// segment merges, the bbolt ledger, compiled Sigma rules, the web
	// server), garbage awaiting collection, and estimation error.
	BudgetPercent = 60
	// MinBudget is the smallest default budget: below it not even one
	// typical file fits, and admission control degrades to one file at a
	// time (see Controller), which is what a tiny machine needs anyway.
	MinBudget = 64 * MiB
	// MaxBudget caps the default budget. It holds 64 files at the cost
	// cap (MaxCost) and ~300 at a typical cost (1000-event batches, see
	// EstimateCost), more than the worker cap (NumCPU) allows on any
	// plausible machine, so it never limits throughput; it
	// keeps casescope from claiming most of a shared forensic server just
	// because the memory is free, and keeps the Go soft limit
	// (ApplyRuntimeLimit) meaningful there.
	MaxBudget = 32 * GiB
)

// Budget is the memory budget for files in flight and where it came from.
type Budget struct {
	// Bytes is the budget.
	Bytes uint64 `json:"bytes"`
	// Usable is the available memory it was derived from.
	Usable uint64 `json:"usable"`
	// Source names the binding bound, "available memory" or e.g.
	// "cgroup v2 /sys/fs/cgroup/x/memory.max".
	Source string `json:"source"`
}

// String renders the budget for logs: "1.2 GiB of 2.0 GiB usable (cgroup
// v2 /sys/fs/cgroup/x/memory.max)", or "512.0 MiB (--memory-budget)" when
// Usable is 0 or equal to Bytes (an override).
func (b Budget) String() string {
	if b.Usable == 0 || b.Usable == b.Bytes {
		return fmt.Sprintf("%s (%s)", formatSize(b.Bytes), b.Source)
	}
	return fmt.Sprintf("%s of %s usable (%s)", formatSize(b.Bytes), formatSize(b.Usable), b.Source)
}

// reader is implemented by probes that can say which bound they read
// (SystemProbe).
type reader interface {
	Read() (Reading, error)
}

// DefaultBudget derives the budget from the memory available at start:
//
//	usable = min(host available, cgroup limit − cgroup working set) + Go free heap
//	budget = clamp(usable × BudgetPercent/100, MinBudget, MaxBudget)
//
// (with SystemProbe; any other Probe's Available() is taken as usable).
// The cgroup term uses limit minus current use, not the bare limit,
// because other processes in the same container count against it too;
// working set excludes reclaimable file cache (see Cgroup.Usage). The
// budget is fixed for the run; the Controller re-reads the probe before
// each admission to follow what others do to memory later.
//
// When usable is below MinBudget the budget is MinBudget even though it
// does not fit: the Controller's floor check then runs files one at a time.
func DefaultBudget(p Probe) (Budget, error) {
	r := Reading{Source: "available memory"}
	if rp, ok := p.(reader); ok {
		var err error
		if r, err = rp.Read(); err != nil {
			return Budget{}, fmt.Errorf("measure memory: %w", err)
		}
	} else {
		avail, err := p.Available()
		if err != nil {
			return Budget{}, fmt.Errorf("measure memory: %w", err)
		}
		r.Available = avail
	}
	// Exact floor of Available×BudgetPercent/100 without overflow.
	b := r.Available/100*BudgetPercent + r.Available%100*BudgetPercent/100
	b = min(max(b, MinBudget), MaxBudget)
	return Budget{Bytes: b, Usable: r.Available, Source: r.Source}, nil
}

// ApplyRuntimeLimit sets the Go runtime's soft memory limit
// (debug.SetMemoryLimit) for a run with the given budget and returns the
// limit now in force, in bytes.
//
// The limit is budget × 1.5. With the default budget (60% of usable) that
// is 90% of usable memory: the budget for files in flight, plus 30% for the
// resident base (indexes, ledger, rules, HTTP), minus 10% left for RSS the
// Go runtime does not count (mmapped bbolt and Bleve files, thread stacks,
// the binary). The soft limit makes the GC work harder as the heap nears
// it instead of letting GOGC double the heap past what the container
// holds; it is soft, so a live heap above it is not an error, only slower.
//
// If the GOMEMLIMIT environment variable is set, the operator has chosen a
// limit: it is left alone and returned. A budget of 0 changes nothing.
func ApplyRuntimeLimit(budget uint64) int64 {
	if os.Getenv("GOMEMLIMIT") != "" || budget == 0 {
		return debug.SetMemoryLimit(-1)
	}
	limit := budget + budget/2
	if limit < budget || limit > math.MaxInt64 {
		limit = math.MaxInt64
	}
	debug.SetMemoryLimit(int64(limit))
	return int64(limit)
}

// GCPercent is the GOGC for a budget. Parsing is GC-bound, so 200 (the
// heap may grow to three times the live data between collections) buys
// CPU where the budget affords it; under 1 GiB it is 100, so the heap
// peaks at twice the live data. Measured at a 256 MiB budget, 2,040 files:
// live heap at most 61 MiB either way, peak anonymous RSS 181 MiB at 200
// and 115 MiB at 100 (flat from 200 files), for about 10 % more wall time.
// If the GOGC environment variable is set, it wins (see ApplyGCPercent).
func GCPercent(budget uint64) int {
	if budget != 0 && budget < 1<<30 {
		return 100
	}
	return 200
}

// ApplyGCPercent sets GOGC to GCPercent(budget) unless the GOGC
// environment variable chose one, and returns the value in force.
func ApplyGCPercent(budget uint64) int {
	if v := os.Getenv("GOGC"); v != "" {
		old := debug.SetGCPercent(100)
		debug.SetGCPercent(old)
		return old
	}
	p := GCPercent(budget)
	debug.SetGCPercent(p)
	return p
}
