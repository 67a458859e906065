package executor

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// CgroupVersion says which cgroup hierarchy runc drives on this host.
type CgroupVersion int

const (
	// CgroupV1 is the legacy (or hybrid) layout: one hierarchy per controller
	// under /sys/fs/cgroup/<controller>.
	CgroupV1 CgroupVersion = 1
	// CgroupV2 is the unified hierarchy mounted at /sys/fs/cgroup.
	CgroupV2 CgroupVersion = 2
)

const cgroupRoot = "/sys/fs/cgroup"

// v1Controllers are the hierarchies runc creates a container's cgroup in
// that the executor inspects and cleans up after. "unified" is the cgroup2
// mount of the hybrid layout, where runc also makes a directory.
var v1Controllers = []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory", "net_cls", "net_prio", "perf_event", "pids", "rdma", "misc", "systemd", "unified"}

// DetectCgroupVersion reports the layout the same way runc does: v2 when
// /sys/fs/cgroup itself is a cgroup2 file system (`stat -fc %T` prints
// cgroup2fs), v1 otherwise (a tmpfs of per-controller mounts, including the
// hybrid layout with a cgroup2 mount at /sys/fs/cgroup/unified).
func DetectCgroupVersion() (CgroupVersion, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil {
		return 0, fmt.Errorf("cgroup: statfs %s: %w", cgroupRoot, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return CgroupV2, nil
	}
	return CgroupV1, nil
}

// cgroupDirs lists the host directories of the cgroup at path (runc's
// cgroupsPath, absolute within the hierarchy) for each hierarchy.
func cgroupDirs(v CgroupVersion, path string) []string {
	if v == CgroupV2 {
		return []string{filepath.Join(cgroupRoot, path)}
	}
	dirs := make([]string, 0, len(v1Controllers))
	for _, c := range v1Controllers {
		dirs = append(dirs, filepath.Join(cgroupRoot, c, path))
	}
	return dirs
}

// oomKills reads how many processes the kernel's OOM killer killed in the
// cgroup at path: the oom_kill counter of memory.oom_control (v1) or
// memory.events (v2).
func oomKills(v CgroupVersion, path string) (int64, error) {
	file := filepath.Join(cgroupRoot, "memory", path, "memory.oom_control")
	if v == CgroupV2 {
		file = filepath.Join(cgroupRoot, path, "memory.events")
	}
	return readKeyed(file, "oom_kill")
}

// pidsMaxEvents reads how many forks the pids limit refused (the "max" line
// of pids.events, both versions).
func pidsMaxEvents(v CgroupVersion, path string) (int64, error) {
	file := filepath.Join(cgroupRoot, "pids", path, "pids.events")
	if v == CgroupV2 {
		file = filepath.Join(cgroupRoot, path, "pids.events")
	}
	return readKeyed(file, "max")
}

func readKeyed(file, key string) (int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: %s: %w", file, key, err)
			}
			return n, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no %q line (kernel too old to count it?)", file, key)
}

// removeCgroupTree removes the (empty) cgroup directories at path and below
// in every hierarchy, deepest first. A cgroup directory is removed with rmdir
// (its control files are not real files); missing ones are fine.
func removeCgroupTree(v CgroupVersion, path string) error {
	var errs []error
	for _, dir := range cgroupDirs(v, path) {
		var subdirs []string
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				subdirs = append(subdirs, p)
			}
			return nil
		})
		for i := len(subdirs) - 1; i >= 0; i-- {
			if err := unix.Rmdir(subdirs[i]); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("cgroup: rmdir %s: %w", subdirs[i], err))
			}
		}
	}
	return errors.Join(errs...)
}

// cgroupExists reports whether any hierarchy still has a directory for path.
func cgroupExists(v CgroupVersion, path string) []string {
	var left []string
	for _, dir := range cgroupDirs(v, path) {
		if _, err := os.Stat(dir); err == nil {
			left = append(left, dir)
		}
	}
	return left
}
