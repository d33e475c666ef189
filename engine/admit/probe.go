package admit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"

	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/mem"
)

// Probe reports how much memory the process can still take. The Controller
// calls it while holding its mutex, so it must be cheap (a few file reads)
// and must not call back into the Controller.
type Probe interface {
	// Available returns the bytes the process can allocate before the
	// system (or its container) runs short.
	Available() (uint64, error)
}

// SystemProbe is the real Probe. The zero value reads the live system.
// It is safe for concurrent use.
type SystemProbe struct {
	// Root is the directory under which proc/ and sys/ are found; "" means
	// "/". Tests point it at a fake tree.
	Root string
}

// Reading is one measurement of SystemProbe, with its parts.
type Reading struct {
	// Available is min(Host, Cgroup.Headroom()) + GoHeapFree, in bytes.
	Available uint64 `json:"available"`
	// Host is the system's available memory (gopsutil, MemAvailable on
	// Linux). Inside a container it describes the host, not the container.
	Host uint64 `json:"host"`
	// Cgroup is the binding cgroup limit, if InCgroup.
	Cgroup   Cgroup `json:"cgroup"`
	InCgroup bool   `json:"in_cgroup"`
	// GoHeapFree is heap memory the Go runtime holds but does not use
	// (free spans not yet returned to the OS). The kernel counts it as
	// used, but the next allocations reuse it first, so it is available to
	// us. Without it, admission would stay throttled after a burst until
	// the scavenger gives the pages back.
	GoHeapFree uint64 `json:"go_heap_free"`
	// Source says which bound won: "available memory" or the cgroup file.
	Source string `json:"source"`
}

// Available implements Probe: see Reading.Available.
func (p SystemProbe) Available() (uint64, error) {
	r, err := p.Read()
	if err != nil {
		return 0, err
	}
	return r.Available, nil
}

// Read measures available memory and says where the bound came from.
func (p SystemProbe) Read() (Reading, error) {
	root := p.Root
	if root == "" {
		root = "/"
	}
	ctx := context.Background()
	if p.Root != "" {
		// gopsutil reads <HOST_PROC>/meminfo; point it at our root.
		ctx = context.WithValue(ctx, common.EnvKey, common.EnvMap{
			common.HostProcEnvKey: filepath.Join(root, "proc"),
		})
	}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return Reading{}, fmt.Errorf("read available memory: %w", err)
	}
	r := Reading{Host: vm.Available, Source: "available memory"}
	avail := vm.Available
	cg, err := ReadCgroup(os.DirFS(root))
	switch {
	case err == nil:
		r.Cgroup, r.InCgroup = cg, true
		if h := cg.Headroom(); h < avail {
			avail = h
			r.Source = cg.Source
		}
	case !errors.Is(err, ErrNoCgroupLimit):
		return Reading{}, fmt.Errorf("read cgroup limit: %w", err)
	}
	r.GoHeapFree = goHeapFree()
	r.Available = avail + r.GoHeapFree
	return r, nil
}

// goHeapFree returns the bytes of free, not yet released Go heap.
func goHeapFree() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
