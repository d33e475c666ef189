package engine

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// faultCounter counts how often each fault point was reached.
type faultCounter struct {
	mu sync.Mutex
	n  map[string]int
}

// fault kills the process with SIGKILL when cfg.FaultPoint names this step
// ("after-batch" at its first occurrence, "after-batch:5" at its fifth).
// It exists so the crash-safety test can stop the real binary at exact
// moments; FaultPoint is only ever set by tests.
func (e *Engine) fault(step string) {
	if e.cfg.FaultPoint == "" {
		return
	}
	name, nth := e.cfg.FaultPoint, 1
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		if n, err := strconv.Atoi(name[i+1:]); err == nil {
			name, nth = name[:i], n
		}
	}
	if name != step {
		return
	}
	e.faults.mu.Lock()
	if e.faults.n == nil {
		e.faults.n = map[string]int{}
	}
	e.faults.n[step]++
	hit := e.faults.n[step] == nth
	e.faults.mu.Unlock()
	if hit {
		// os.Process.Kill is SIGKILL on Unix and TerminateProcess on
		// Windows: no handler runs either way.
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			_ = p.Kill()
		}
		select {} // never continue past a fault point
	}
}
