package executor

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultSeccomp is the default seccomp profile of Docker and containerd (the
// kept profile of github.com/moby/profiles/seccomp), converted to the OCI spec for
// a process without capabilities: the syscalls it allows only with CAP_SYS_ADMIN
// (unshare, setns, mount, sethostname, clone with namespace flags, clone3 which
// answers ENOSYS so that libc falls back to clone) are refused, and the ones it
// never lists (keyctl, add_key, request_key, the io_uring calls, bpf, ...) get
// EPERM. So an app cannot make a user namespace and from there reach the kernel's
// namespaced-root surface (nf_tables, mounts).
//
// The profile lists the native architecture and its compatible ones (on amd64:
// x86 and x32); only the native one is kept, which makes the filter runc compiles
// at every create about a third as large (measured: create+start p50 ...), and a
// syscall made through another architecture's entry (int 0x80) is refused by the
// filter's architecture check.
func defaultSeccomp() (*specs.LinuxSeccomp, error) {
	sc, err := seccomp.GetDefaultProfile(&specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}})
	if err != nil || sc == nil {
		return sc, err
	}
	if len(sc.Architectures) > 1 {
		sc.Architectures = sc.Architectures[:1]
	}
	return sc, nil
}

// Disk quota: a container with DiskMB > 0 gets its writable layer (overlay upper
// and work directories, or the copied stack) on a file system of exactly that size,
// made in a sparse file of the bundle and loop-mounted. A write past the quota fails
// with ENOSPC inside the container and the host's file system holds at most DiskMB
// for it. The loop device is released when the mount goes (autoclear).

// diskDir is where a container's quota file system is mounted in its bundle.
const diskDir = "disk"

// makeDisk makes bundle/disk.img (diskMB MiB, ext4) and mounts it on
// bundle/disk; it returns the mount point. The file system is made once per size
// (templateDisk) and copied sparsely (only its metadata blocks are data): a copy
// and a mount cost a fraction of a mkfs.
func (e *Executor) makeDisk(bundle string, diskMB int) (string, error) {
	tmpl, err := e.templateDisk(diskMB)
	if err != nil {
		return "", err
	}
	img := filepath.Join(bundle, "disk.img")
	if out, err := exec.Command("cp", "--sparse=always", tmpl, img).CombinedOutput(); err != nil {
		return "", fmt.Errorf("disk quota: copying %s: %w: %s", tmpl, err, bytes.TrimSpace(out))
	}
	mnt := filepath.Join(bundle, diskDir)
	if err := os.MkdirAll(mnt, 0o711); err != nil {
		return "", err
	}
	if out, err := exec.Command("mount", "-o", "loop,nosuid,nodev", img, mnt).CombinedOutput(); err != nil {
		return "", fmt.Errorf("disk quota: mount -o loop %s: %w: %s", img, err, bytes.TrimSpace(out))
	}
	return mnt, nil
}

// templateDisk returns StateDir/disks/MB.img, an empty ext4 of that size, making
// it the first time.
func (e *Executor) templateDisk(diskMB int) (string, error) {
	e.diskMu.Lock()
	defer e.diskMu.Unlock()
	dir := filepath.Join(e.cfg.StateDir, "disks")
	tmpl := filepath.Join(dir, strconv.Itoa(diskMB)+".img")
	if _, err := os.Stat(tmpl); err == nil {
		return tmpl, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("disk quota: %w", err)
	}
	tmp := tmpl + ".tmp"
	_ = os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("disk quota: %w", err)
	}
	err = f.Truncate(int64(diskMB) << 20)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("disk quota: sizing %s: %w", tmp, err)
	}
	// No journal, no reserved blocks, one inode per 16 KiB, inode tables
	// initialized lazily: the image holds a few hundred KiB of metadata, which
	// is all a sparse copy has to write.
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-O", "^has_journal,^resize_inode", "-m", "0", "-i", "16384",
		"-E", "lazy_itable_init=1,nodiscard", tmp).CombinedOutput(); err != nil {
		return "", fmt.Errorf("disk quota: mkfs.ext4 %s (apt-get install -y e2fsprogs): %w: %s", tmp, err, bytes.TrimSpace(out))
	}
	if err := os.Rename(tmp, tmpl); err != nil {
		return "", fmt.Errorf("disk quota: %w", err)
	}
	return tmpl, nil
}

// Parent PID ceiling: every container of an executor lives under one parent
// cgroup (cgroupParent) whose pids.max bounds them together, so that a fork bomb
// in each of many containers cannot exhaust the host's PIDs even though each is
// held at its own MaxPids.

// hostPidMax reads the kernel's pid_max.
func hostPidMax() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// parentPidsLimit is the parent's pids.max: Config.ParentMaxPids when set, else
// MaxContainers × DefaultMaxPids (a full cell of containers each at its own
// default limit), and never more than a quarter of the host's pid_max, so that
// the processes of several cells on one host leave the host PIDs of its own.
func parentPidsLimit(cfg *Config, pidMax int) int {
	if cfg.ParentMaxPids > 0 {
		return cfg.ParentMaxPids
	}
	n := pidMax / 4
	if cfg.MaxContainers > 0 {
		n = min(n, cfg.MaxContainers*DefaultMaxPids)
	}
	return max(n, 1)
}

// ensureParentPids creates the parent cgroup and writes its pids.max (cgroup v1:
// the pids hierarchy; v2: the unified one, with the pids controller enabled for
// the children of the root and of /diegolab).
func (e *Executor) ensureParentPids() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.parentPidsSet {
		return nil
	}
	dir := filepath.Join(cgroupRoot, "pids", e.cgroupParent)
	if e.cgroups == CgroupV2 {
		dir = filepath.Join(cgroupRoot, e.cgroupParent)
		for _, d := range []string{cgroupRoot, filepath.Join(cgroupRoot, "diegolab")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("cgroup: %w", err)
			}
			if err := os.WriteFile(filepath.Join(d, "cgroup.subtree_control"), []byte("+pids"), 0o644); err != nil {
				return fmt.Errorf("cgroup: enabling pids under %s: %w", d, err)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.Itoa(e.parentPids)), 0o644); err != nil {
		return fmt.Errorf("cgroup: parent pids ceiling %s: %w", dir, err)
	}
	e.parentPidsSet = true
	return nil
}

// ParentPidsMax is the ceiling on the processes of all this executor's containers.
func (e *Executor) ParentPidsMax() int { return e.parentPids }

// User namespace: where the kernel allows it, container ids 0-65535 are host ids
// userNSBase-userNSBase+65535, so the app's uid 2000 is host uid 102000 (no host
// user), and container root is no host root. The stack is copied once per
// executor with its ids shifted (StateDir/stack-userns), each writable layer and
// output directory is handed to the shifted ids.
const (
	userNSBase = 100000
	userNSSize = 65536
)

// userNSSupported reports whether the kernel lets this host make user namespaces.
func userNSSupported() bool {
	b, err := os.ReadFile("/proc/sys/user/max_user_namespaces")
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && n > 0
}

// hostID maps a container uid or gid to the host's (itself without a namespace).
func (e *Executor) hostID(id int) int {
	if e.userNS {
		return id + userNSBase
	}
	return id
}

// shiftedStack copies the stack to StateDir/stack-userns with every owner moved by
// userNSBase (once: the stack's stamp file is copied last and marks it complete).
func shiftedStack(stackDir, stateDir string) (string, error) {
	dst := filepath.Join(stateDir, "stack-userns")
	stamp := ".diegolab-stack"
	want, err := os.ReadFile(filepath.Join(stackDir, stamp))
	if err != nil {
		return "", fmt.Errorf("user namespace: %w", err)
	}
	if got, err := os.ReadFile(filepath.Join(dst, stamp)); err == nil && bytes.Equal(got, want) {
		return dst, nil
	}
	if err := os.RemoveAll(dst); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", err
	}
	if err := copyTreeShifted(stackDir, dst, userNSBase); err != nil {
		return "", fmt.Errorf("user namespace: shifting the stack: %w", err)
	}
	return dst, nil
}

// searchableByOthers returns the first directory from dir up to / that a process
// of another uid (the container's root in its user namespace, which runc's mounts
// run as) cannot traverse, or "" when there is none.
func searchableByOthers(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return d
		}
		if d == "/" {
			return ""
		}
	}
}
