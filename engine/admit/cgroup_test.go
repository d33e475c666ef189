package admit

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// tree builds a fake file-system root from path → content.
func tree(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

func TestReadCgroup(t *testing.T) {
	const (
		gib = 1 << 30
		mib = 1 << 20
	)
	tests := []struct {
		name    string
		files   map[string]string
		want    Cgroup
		wantErr error // nil: success; ErrNoCgroupLimit; errAny: some other error
	}{
		{
			name: "v2 limit",
			files: map[string]string{
				"proc/self/cgroup": "0::/system.slice/casescope.service\n",
				"sys/fs/cgroup/system.slice/casescope.service/memory.max":     "1073741824\n",
				"sys/fs/cgroup/system.slice/casescope.service/memory.current": "314572800\n",
				"sys/fs/cgroup/system.slice/casescope.service/memory.stat":    "anon 100\nfile 200\nactive_file 5\ninactive_file 104857600\n",
			},
			want: Cgroup{Version: 2, Limit: gib, Usage: 200 * mib, Source: "cgroup v2 /sys/fs/cgroup/system.slice/casescope.service/memory.max"},
		},
		{
			name: "v2 max",
			files: map[string]string{
				"proc/self/cgroup":                        "0::/user.slice\n",
				"sys/fs/cgroup/user.slice/memory.max":     "max\n",
				"sys/fs/cgroup/user.slice/memory.current": "314572800\n",
			},
			wantErr: ErrNoCgroupLimit,
		},
		{
			name: "v2 parent limit binds",
			files: map[string]string{
				"proc/self/cgroup":                 "0::/a/b\n",
				"sys/fs/cgroup/a/b/memory.max":     "max\n",
				"sys/fs/cgroup/a/b/memory.current": "1000\n",
				"sys/fs/cgroup/a/memory.max":       "536870912\n",
				"sys/fs/cgroup/a/memory.current":   "268435456\n",
			},
			want: Cgroup{Version: 2, Limit: 512 * mib, Usage: 256 * mib, Source: "cgroup v2 /sys/fs/cgroup/a/memory.max"},
		},
		{
			name: "v2 least headroom wins over lower limit",
			files: map[string]string{
				"proc/self/cgroup":                 "0::/a/b\n",
				"sys/fs/cgroup/a/b/memory.max":     "1073741824\n",
				"sys/fs/cgroup/a/b/memory.current": "1048576\n",
				"sys/fs/cgroup/a/memory.max":       "2147483648\n",
				"sys/fs/cgroup/a/memory.current":   "2046820352\n",
			},
			want: Cgroup{Version: 2, Limit: 2 * gib, Usage: 1952 * mib, Source: "cgroup v2 /sys/fs/cgroup/a/memory.max"},
		},
		{
			name: "v2 container without cgroup namespace",
			files: map[string]string{
				"proc/self/cgroup":             "0::/docker/0123abcd\n",
				"sys/fs/cgroup/memory.max":     "268435456\n",
				"sys/fs/cgroup/memory.current": "16777216\n",
			},
			want: Cgroup{Version: 2, Limit: 256 * mib, Usage: 16 * mib, Source: "cgroup v2 /sys/fs/cgroup/memory.max"},
		},
		{
			name: "v2 limit without usage files",
			files: map[string]string{
				"proc/self/cgroup":         "0::/\n",
				"sys/fs/cgroup/memory.max": "268435456",
			},
			want: Cgroup{Version: 2, Limit: 256 * mib, Source: "cgroup v2 /sys/fs/cgroup/memory.max"},
		},
		{
			name: "v2 over limit",
			files: map[string]string{
				"proc/self/cgroup":             "0::/\n",
				"sys/fs/cgroup/memory.max":     "100\n",
				"sys/fs/cgroup/memory.current": "200\n",
			},
			want: Cgroup{Version: 2, Limit: 100, Usage: 200, Source: "cgroup v2 /sys/fs/cgroup/memory.max"},
		},
		{
			name: "v2 path escapes stay inside mount",
			files: map[string]string{
				"proc/self/cgroup":             "0::/../../etc\n",
				"sys/fs/cgroup/etc/memory.max": "4096\n",
			},
			want: Cgroup{Version: 2, Limit: 4096, Source: "cgroup v2 /sys/fs/cgroup/etc/memory.max"},
		},
		{
			name: "v2 garbage limit",
			files: map[string]string{
				"proc/self/cgroup":         "0::/\n",
				"sys/fs/cgroup/memory.max": "lots\n",
			},
			wantErr: errAny,
		},
		{
			name: "v1 limit",
			files: map[string]string{
				"proc/self/cgroup": "12:pids:/docker/abc\n4:memory:/docker/abc\n1:name=systemd:/docker/abc\n",
				"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "2147483648\n",
				"sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes": "629145600\n",
				"sys/fs/cgroup/memory/docker/abc/memory.stat":           "cache 0\ninactive_file 1\ntotal_inactive_file 104857600\n",
			},
			want: Cgroup{Version: 1, Limit: 2 * gib, Usage: 500 * mib, Source: "cgroup v1 /sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes"},
		},
		{
			name: "v1 unlimited",
			files: map[string]string{
				"proc/self/cgroup": "4:memory:/process_api/fbbd\n0::/\n",
				"sys/fs/cgroup/memory/process_api/fbbd/memory.limit_in_bytes": "9223372036854771712\n",
				"sys/fs/cgroup/memory/process_api/fbbd/memory.usage_in_bytes": "257949696\n",
				"sys/fs/cgroup/memory/memory.limit_in_bytes":                  "9223372036854771712\n",
			},
			wantErr: ErrNoCgroupLimit,
		},
		{
			name: "v1 shared controller list, hybrid unified without memory",
			files: map[string]string{
				"proc/self/cgroup":                               "7:cpu,memory:/job\n0::/job\n",
				"sys/fs/cgroup/job/cgroup.procs":                 "1\n",
				"sys/fs/cgroup/memory/job/memory.limit_in_bytes": "1073741824\n",
			},
			want: Cgroup{Version: 1, Limit: gib, Source: "cgroup v1 /sys/fs/cgroup/memory/job/memory.limit_in_bytes"},
		},
		{
			name:    "no cgroup file",
			files:   map[string]string{"proc/meminfo": "MemAvailable: 1 kB\n"},
			wantErr: ErrNoCgroupLimit,
		},
		{
			name:    "no memory controller",
			files:   map[string]string{"proc/self/cgroup": "3:cpu:/\n"},
			wantErr: ErrNoCgroupLimit,
		},
		{
			name:    "v2 root only, no limit file",
			files:   map[string]string{"proc/self/cgroup": "0::/\n"},
			wantErr: ErrNoCgroupLimit,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadCgroup(tree(tc.files))
			switch {
			case tc.wantErr == errAny:
				if err == nil || errors.Is(err, ErrNoCgroupLimit) {
					t.Fatalf("ReadCgroup() = %+v, %v; want a read/parse error", got, err)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ReadCgroup() = %+v, %v; want %v", got, err, tc.wantErr)
				}
			default:
				if err != nil || got != tc.want {
					t.Fatalf("ReadCgroup() = %+v, %v;\nwant %+v, nil", got, err, tc.want)
				}
			}
		})
	}
}

// errAny marks a test case that wants an error other than the sentinels.
var errAny = errors.New("any error")

// writeTree writes files under a new temporary root and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const fakeMeminfo = `MemTotal:       16384000 kB
MemFree:         1024000 kB
MemAvailable:    8192000 kB
Buffers:           10000 kB
Cached:          4000000 kB
`

func TestSystemProbe(t *testing.T) {
	const hostAvail = 8192000 * 1024
	tests := []struct {
		name       string
		files      map[string]string
		wantAvail  uint64 // before adding the Go free heap
		wantSource string
	}{
		{
			name:       "no cgroup",
			files:      map[string]string{"proc/meminfo": fakeMeminfo},
			wantAvail:  hostAvail,
			wantSource: "available memory",
		},
		{
			name: "cgroup tighter than host",
			files: map[string]string{
				"proc/meminfo":                 fakeMeminfo,
				"proc/self/cgroup":             "0::/\n",
				"sys/fs/cgroup/memory.max":     "1073741824\n",
				"sys/fs/cgroup/memory.current": "73741824\n",
			},
			wantAvail:  1000000000,
			wantSource: "cgroup v2 /sys/fs/cgroup/memory.max",
		},
		{
			name: "cgroup looser than host",
			files: map[string]string{
				"proc/meminfo":     fakeMeminfo,
				"proc/self/cgroup": "4:memory:/big\n",
				"sys/fs/cgroup/memory/big/memory.limit_in_bytes": "68719476736\n",
			},
			wantAvail:  hostAvail,
			wantSource: "available memory",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := SystemProbe{Root: writeTree(t, tc.files)}
			r, err := p.Read()
			if err != nil {
				t.Fatalf("Read() error %v", err)
			}
			if r.Host != hostAvail {
				t.Errorf("Host = %d; want %d", r.Host, uint64(hostAvail))
			}
			if r.Source != tc.wantSource {
				t.Errorf("Source = %q; want %q", r.Source, tc.wantSource)
			}
			if got := r.Available - r.GoHeapFree; got != tc.wantAvail {
				t.Errorf("Available − GoHeapFree = %d; want %d", got, tc.wantAvail)
			}
			got, err := p.Available()
			if err != nil || got < tc.wantAvail {
				t.Errorf("Available() = %d, %v; want ≥ %d", got, err, tc.wantAvail)
			}
		})
	}
}

func TestSystemProbeErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{name: "no meminfo", files: map[string]string{"proc/self/cgroup": "0::/\n"}},
		{name: "bad cgroup limit", files: map[string]string{
			"proc/meminfo":             fakeMeminfo,
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "-1\n",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := SystemProbe{Root: writeTree(t, tc.files)}
			if got, err := p.Available(); err == nil {
				t.Fatalf("Available() = %d, nil; want error", got)
			}
		})
	}
}

// TestSystemProbeLive reads the real system: it must work on Linux and
// report something.
func TestSystemProbeLive(t *testing.T) {
	r, err := SystemProbe{}.Read()
	if err != nil {
		t.Fatalf("Read() error %v", err)
	}
	if r.Available == 0 || r.Host == 0 {
		t.Errorf("Read() = %+v; want non-zero Available and Host", r)
	}
	t.Logf("live reading: %+v", r)
}

// BenchmarkSystemProbe measures one live probe reading, which the
// Controller takes under its mutex.
//
//	go test -run '^$' -bench BenchmarkSystemProbe ./engine/admit/
func BenchmarkSystemProbe(b *testing.B) {
	var p SystemProbe
	for b.Loop() {
		if _, err := p.Available(); err != nil {
			b.Fatal(err)
		}
	}
}
