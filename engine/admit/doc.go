// Package admit decides how many EVTX files casescope processes at once so
// that it uses the cores it can without being killed for memory, on a
// laptop, a VM or in a memory-limited container.
//
// It owns three things:
//
//   - The budget: DefaultBudget derives a byte budget for files in flight
//     from the memory available at start, bounded by the container's cgroup
//     limit when there is one (gopsutil sees the host's RAM inside a
//     container). ParseSize reads a user-given override; ApplyRuntimeLimit
//     sets the Go soft memory limit to match.
//   - The cost model: EstimateCost gives the peak memory one file in flight
//     costs, measured (see BenchmarkFileCost).
//   - The Controller: Acquire admits a file when its cost fits the budget,
//     the system keeps a floor of free memory, and a worker slot is free;
//     otherwise it waits (FIFO) until a release or a periodic re-read of
//     the Probe lets it in. It never fails for lack of memory, only on
//     context cancellation.
//
// Invariants: the sum of admitted costs never exceeds the budget, except
// that one file costing more than the whole budget may run, alone; at
// most MaxWorkers files are admitted; when available memory is below the
// floor, at most one file is admitted, and always one if none is in flight,
// so work progresses however low memory gets. Costs are estimates: the
// Probe re-check and the Go soft limit cover what the estimate misses.
//
// The package holds no global state and starts no goroutines of its own;
// a waiting Acquire owns its timer.
package admit
