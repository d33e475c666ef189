package admit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// ErrNoCgroupLimit reports that the process runs in no memory-limited
// cgroup: no /proc/self/cgroup, no memory controller, or every limit on the
// way to the root is "max" (v2) or the near-2⁶³ "unlimited" value (v1).
var ErrNoCgroupLimit = errors.New("no cgroup memory limit")

// cgroupV1Unlimited is the smallest cgroup v1 memory.limit_in_bytes taken as
// "no limit". The kernel reports an unset limit as PAGE_COUNTER_MAX pages,
// 9223372036854771712 with 4 KiB pages and slightly different values with
// other page sizes; no real limit is anywhere near 2⁶².
const cgroupV1Unlimited = 1 << 62

// Cgroup is the memory limit of the process's cgroup that leaves the least
// room, and that cgroup's current use.
type Cgroup struct {
	// Version is 1 or 2.
	Version int `json:"version"`
	// Limit is the limit in bytes (memory.max or memory.limit_in_bytes).
	Limit uint64 `json:"limit"`
	// Usage is the cgroup's working set in bytes: memory.current (v2) or
	// memory.usage_in_bytes (v1) minus the inactive file cache of
	// memory.stat, which the kernel reclaims before it OOM-kills anyone.
	// Without that subtraction every EVTX file read would appear to eat
	// the limit through the page cache. This is what kubelet and
	// "docker stats" report as usage.
	Usage uint64 `json:"usage"`
	// Source names the file the limit came from, e.g.
	// "cgroup v2 /sys/fs/cgroup/x/memory.max".
	Source string `json:"source"`
}

// Headroom returns Limit − Usage, or 0 when the cgroup is at or over its
// limit.
func (c Cgroup) Headroom() uint64 {
	if c.Usage >= c.Limit {
		return 0
	}
	return c.Limit - c.Usage
}

// ReadCgroup finds the memory limit of the calling process's cgroup under
// fsys, a view of the file-system root (os.DirFS("/") in production, a fake
// tree in tests).
//
// It reads /proc/self/cgroup. For cgroup v2 (line "0::/path") it looks at
// sys/fs/cgroup/<path>/memory.max; for v1 (line "N:memory:/path", also in
// hybrid setups where memory is still on v1) at
// sys/fs/cgroup/memory/<path>/memory.limit_in_bytes. Limits are
// hierarchical — a parent's limit binds its children — so it walks from the
// process's cgroup up to the mount root and keeps the level with the least
// headroom. Directories that do not exist are skipped: inside a container
// without a cgroup namespace /proc/self/cgroup shows the host path while
// /sys/fs/cgroup is the container's own cgroup, which the walk reaches as
// the root. v2 is tried before v1.
//
// It returns ErrNoCgroupLimit when there is no limit; other errors mean a
// limit file exists but cannot be read or parsed.
func ReadCgroup(fsys fs.FS) (Cgroup, error) {
	data, err := fs.ReadFile(fsys, "proc/self/cgroup")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Cgroup{}, ErrNoCgroupLimit
		}
		return Cgroup{}, fmt.Errorf("read /proc/self/cgroup: %w", err)
	}
	v1, v2, hasV1, hasV2 := parseProcCgroup(data)
	if hasV2 {
		cg, err := walkCgroup(fsys, 2, "sys/fs/cgroup", v2)
		if !errors.Is(err, ErrNoCgroupLimit) {
			return cg, err
		}
	}
	if hasV1 {
		return walkCgroup(fsys, 1, "sys/fs/cgroup/memory", v1)
	}
	return Cgroup{}, ErrNoCgroupLimit
}

// parseProcCgroup extracts the v1 memory-controller path and the v2 unified
// path from /proc/self/cgroup ("hierarchy-ID:controller-list:path" lines).
func parseProcCgroup(data []byte) (v1, v2 string, hasV1, hasV2 bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		parts := strings.SplitN(strings.TrimSpace(sc.Text()), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2, hasV2 = parts[2], true
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			if ctl == "memory" {
				v1, hasV1 = parts[2], true
			}
		}
	}
	return v1, v2, hasV1, hasV2
}

// walkCgroup visits mount/<p>, then each parent up to mount itself, and
// returns the limited level with the least headroom.
func walkCgroup(fsys fs.FS, version int, mount, cgPath string) (Cgroup, error) {
	// The path comes from the kernel but is data: clean it, and keep it
	// inside the mount even if it carries "..".
	p := path.Clean("/" + cgPath)
	best, found := Cgroup{}, false
	for {
		dir := path.Join(mount, p)
		cg, ok, err := readCgroupLevel(fsys, version, dir)
		if err != nil {
			return Cgroup{}, err
		}
		if ok && (!found || cg.Headroom() < best.Headroom()) {
			best, found = cg, true
		}
		if p == "/" {
			break
		}
		p = path.Dir(p)
	}
	if !found {
		return Cgroup{}, ErrNoCgroupLimit
	}
	return best, nil
}

// readCgroupLevel reads the limit and working set of one cgroup directory.
// ok is false when the directory has no limit file or no limit.
func readCgroupLevel(fsys fs.FS, version int, dir string) (cg Cgroup, ok bool, err error) {
	limitFile, usageFile, inactiveKey := "memory.max", "memory.current", "inactive_file"
	if version == 1 {
		limitFile, usageFile, inactiveKey = "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"
	}
	limitPath := path.Join(dir, limitFile)
	raw, err := fs.ReadFile(fsys, limitPath)
	if errors.Is(err, fs.ErrNotExist) {
		return Cgroup{}, false, nil
	}
	if err != nil {
		return Cgroup{}, false, fmt.Errorf("read /%s: %w", limitPath, err)
	}
	s := strings.TrimSpace(string(raw))
	if s == "max" {
		return Cgroup{}, false, nil
	}
	limit, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return Cgroup{}, false, fmt.Errorf("parse /%s: %w", limitPath, err)
	}
	if version == 1 && limit >= cgroupV1Unlimited {
		return Cgroup{}, false, nil
	}
	cg = Cgroup{
		Version: version,
		Limit:   limit,
		Source:  fmt.Sprintf("cgroup v%d /%s", version, limitPath),
	}
	// A missing or odd usage file leaves Usage 0: the limit alone is still
	// worth honouring.
	if raw, err := fs.ReadFile(fsys, path.Join(dir, usageFile)); err == nil {
		if u, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64); err == nil {
			cg.Usage = u
		}
	}
	if raw, err := fs.ReadFile(fsys, path.Join(dir, "memory.stat")); err == nil {
		inactive := statValue(raw, inactiveKey)
		if inactive < cg.Usage {
			cg.Usage -= inactive
		} else {
			cg.Usage = 0
		}
	}
	return cg, true, nil
}

// statValue returns the value of key in a memory.stat file ("key value"
// lines), or 0.
func statValue(data []byte, key string) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return 0
}
