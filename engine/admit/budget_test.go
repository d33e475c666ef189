package admit

import (
	"errors"
	"math"
	"runtime/debug"
	"testing"
)

func TestDefaultBudget(t *testing.T) {
	tests := []struct {
		name       string
		probe      Probe
		want       uint64
		wantUsable uint64
		wantSource string
	}{
		{name: "60 percent", probe: fixedProbe(10 * GiB), want: 6 * GiB, wantUsable: 10 * GiB, wantSource: "available memory"},
		{name: "floor", probe: fixedProbe(50 * MiB), want: 64 * MiB, wantUsable: 50 * MiB, wantSource: "available memory"},
		{name: "zero available", probe: fixedProbe(0), want: 64 * MiB, wantUsable: 0, wantSource: "available memory"},
		{name: "ceiling", probe: fixedProbe(100 * GiB), want: 32 * GiB, wantUsable: 100 * GiB, wantSource: "available memory"},
		{name: "max uint64", probe: fixedProbe(math.MaxUint64), want: 32 * GiB, wantUsable: math.MaxUint64, wantSource: "available memory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DefaultBudget(tc.probe)
			if err != nil {
				t.Fatalf("DefaultBudget() error %v", err)
			}
			want := Budget{Bytes: tc.want, Usable: tc.wantUsable, Source: tc.wantSource}
			if got != want {
				t.Errorf("DefaultBudget() = %+v; want %+v", got, want)
			}
		})
	}
}

func TestDefaultBudgetSystemProbe(t *testing.T) {
	root := writeTree(t, map[string]string{
		"proc/meminfo":                     fakeMeminfo,
		"proc/self/cgroup":                 "0::/box\n",
		"sys/fs/cgroup/box/memory.max":     "1073741824\n",
		"sys/fs/cgroup/box/memory.current": "0\n",
	})
	got, err := DefaultBudget(SystemProbe{Root: root})
	if err != nil {
		t.Fatalf("DefaultBudget() error %v", err)
	}
	if want := "cgroup v2 /sys/fs/cgroup/box/memory.max"; got.Source != want {
		t.Errorf("Source = %q; want %q", got.Source, want)
	}
	// Usable is 1 GiB plus the Go free heap of this test process.
	if got.Usable < GiB || got.Bytes != got.Usable/100*60+got.Usable%100*60/100 {
		t.Errorf("DefaultBudget() = %+v; want Usable ≥ 1 GiB and Bytes = 60%% of it", got)
	}
}

func TestDefaultBudgetError(t *testing.T) {
	p := &fakeProbe{err: errors.New("boom")}
	if got, err := DefaultBudget(p); err == nil {
		t.Fatalf("DefaultBudget() = %+v, nil; want error", got)
	}
	root := writeTree(t, map[string]string{"proc/self/cgroup": "0::/\n"}) // no meminfo
	if got, err := DefaultBudget(SystemProbe{Root: root}); err == nil {
		t.Fatalf("DefaultBudget(SystemProbe) = %+v, nil; want error", got)
	}
}

func TestBudgetString(t *testing.T) {
	tests := []struct {
		b    Budget
		want string
	}{
		{Budget{Bytes: 600 * MiB, Usable: 1000 * MiB, Source: "available memory"}, "600.0 MiB of 1000.0 MiB usable (available memory)"},
		{Budget{Bytes: 512 * MiB, Usable: 512 * MiB, Source: "--memory-budget"}, "512.0 MiB (--memory-budget)"},
		{Budget{Bytes: 2 * GiB, Source: "--memory-budget"}, "2.0 GiB (--memory-budget)"},
	}
	for _, tc := range tests {
		if got := tc.b.String(); got != tc.want {
			t.Errorf("String() = %q; want %q", got, tc.want)
		}
	}
}

func TestApplyRuntimeLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	tests := []struct {
		name   string
		env    string
		budget uint64
		want   int64
	}{
		{name: "1.5 times budget", budget: GiB, want: int64(3 * GiB / 2)},
		{name: "saturates", budget: math.MaxUint64, want: math.MaxInt64},
		{name: "zero budget keeps limit", budget: 0, want: 12345678},
		{name: "GOMEMLIMIT wins", env: "1GiB", budget: GiB, want: 12345678},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.env)
			debug.SetMemoryLimit(12345678)
			got := ApplyRuntimeLimit(tc.budget)
			if got != tc.want {
				t.Errorf("ApplyRuntimeLimit(%d) = %d; want %d", tc.budget, got, tc.want)
			}
			if now := debug.SetMemoryLimit(-1); now != tc.want {
				t.Errorf("runtime limit now %d; want %d", now, tc.want)
			}
		})
	}
}
