package executor

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/diegolab/diegolab/model"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Diego's recipe constants (DIEGO.md §7.3, nsync recipebuilder).
const (
	minCPUProxyMB = 128  // memory at or below which an app gets the smallest weight
	maxCPUProxyMB = 8192 // memory at or above which an app gets weight 100
	// maxCPUShares is the executor's cpu.shares for weight 100 (Diego's
	// executor: LimitInShares = maxCPUShares * cpu_weight / 100).
	maxCPUShares = 1024
	// fileDescriptorLimit is Diego's RLIMIT_NOFILE for app processes.
	fileDescriptorLimit = 1024
	// DefaultMaxPids applies when a ContainerSpec leaves MaxPids at 0.
	DefaultMaxPids = 1024
	// AppDir is where the droplet appears inside the container.
	AppDir = "/home/vcap/app"
	// OutputDir is where ContainerSpec.OutputDir appears inside the container.
	OutputDir = "/home/vcap/output"
)

// CPUWeight is Diego's cpu_weight for an app with memoryMB of memory:
// 100 × clamp(memoryMB, 128, 8192) / 8192 in integer arithmetic, and 100
// above 8192 MB. A 128 MB app gets 100×128/8192 = 1.5625 → 1; a 1024 MB app
// 100×1024/8192 = 12.5 → 12; 4096 MB → 50.
func CPUWeight(memoryMB int) int {
	if memoryMB > maxCPUProxyMB {
		return 100
	}
	m := max(memoryMB, minCPUProxyMB)
	return 100 * m / maxCPUProxyMB
}

// CPUShares maps a cpu_weight (0-100) to cgroup cpu.shares the way Diego's
// executor does (1024 × weight / 100), never below the kernel's minimum of 2.
// runc converts shares to cgroup v2 cpu.weight itself.
func CPUShares(weight int) uint64 {
	return uint64(max(maxCPUShares*weight/100, 2))
}

var (
	idPattern  = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)
	envPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate checks a ContainerSpec; the error names the field and what is
// expected.
// maxMeta bounds ContainerSpec.Meta.
const maxMeta = 64 << 10

func (s *ContainerSpec) Validate() error {
	bad := func(field, problem string) error {
		return &model.ValidationError{Field: field, Problem: problem}
	}
	switch {
	case !idPattern.MatchString(s.ID):
		return bad("ID", fmt.Sprintf("%q must match %s", s.ID, idPattern))
	case s.MemoryMB <= 0:
		return bad("MemoryMB", fmt.Sprintf("%d must be > 0 (the container's memory limit)", s.MemoryMB))
	case s.DiskMB < 0:
		return bad("DiskMB", fmt.Sprintf("%d must be >= 0", s.DiskMB))
	case s.MaxPids < 0:
		return bad("MaxPids", fmt.Sprintf("%d must be >= 0 (0 means %d)", s.MaxPids, DefaultMaxPids))
	case strings.TrimSpace(s.Command) == "":
		return bad("Command", "must not be empty (it runs through /bin/sh -c)")
	case s.User != "" && s.User != "vcap":
		return bad("User", fmt.Sprintf("%q: only vcap (uid 2000) is supported", s.User))
	case len(s.Meta) > maxMeta:
		return bad("Meta", fmt.Sprintf("%d bytes, at most %d", len(s.Meta), maxMeta))
	case len(s.Meta) > 0 && !json.Valid(s.Meta):
		return bad("Meta", "must be JSON (it is kept in the bundle's container.json)")
	}
	if s.AppDir != "" && !strings.HasPrefix(s.AppDir, "/") {
		return bad("AppDir", fmt.Sprintf("%q must be an absolute host path", s.AppDir))
	}
	if s.OutputDir != "" && !strings.HasPrefix(s.OutputDir, "/") {
		return bad("OutputDir", fmt.Sprintf("%q must be an absolute host path", s.OutputDir))
	}
	if err := s.validateImage(); err != nil {
		return err
	}
	seen := map[int]bool{}
	for i, p := range s.Ports {
		if p < 1 || p > 65535 {
			return bad(fmt.Sprintf("Ports[%d]", i), fmt.Sprintf("%d must be in 1..65535", p))
		}
		if seen[p] {
			return bad(fmt.Sprintf("Ports[%d]", i), fmt.Sprintf("%d listed twice", p))
		}
		seen[p] = true
	}
	for i, kv := range s.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !envPattern.MatchString(k) {
			return bad(fmt.Sprintf("Env[%d]", i), fmt.Sprintf("%q must be NAME=value with NAME matching %s", kv, envPattern))
		}
	}
	return nil
}

// environment is the process environment: the executor's defaults, PORT (the
// first port, as Diego sets it), then the spec's Env, which wins on conflict.
// Sorted by name so config.json is deterministic.
func (s *ContainerSpec) environment() []string {
	env := map[string]string{
		"PATH":   "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
		"HOME":   "/home/vcap",
		"USER":   "vcap",
		"TMPDIR": "/tmp",
		"LANG":   "C",
	}
	if len(s.Ports) > 0 {
		env["PORT"] = strconv.Itoa(s.Ports[0])
	}
	for _, kv := range s.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// initScript is the container's PID 1. A process that is PID 1 of a PID
// namespace ignores every signal it has no handler for, so the start command
// does not run as PID 1: this busybox-ash wrapper does, forwards SIGTERM and
// SIGINT to it, reaps orphans (ash's wait reaps any child), and exits with
// the command's status (128+n when the command died of signal n).
const initScript = `trap 'kill -TERM $c 2>/dev/null' TERM INT
/bin/sh -c "$1" &
c=$!
while :; do
	wait $c
	s=$?
	kill -0 $c 2>/dev/null || exit $s
done`

// buildSpec returns the OCI runtime spec for a container.
func buildSpec(s *ContainerSpec, rootfs, cgroupsPath string, swapFile bool) *specs.Spec {
	memBytes := int64(s.MemoryMB) << 20
	pids := int64(s.MaxPids)
	if pids == 0 {
		pids = DefaultMaxPids
	}
	shares := CPUShares(CPUWeight(s.MemoryMB))
	mem := &specs.LinuxMemory{Limit: &memBytes}
	if swapFile {
		// memory+swap = memory: no swap beyond the limit.
		swap := memBytes
		mem.Swap = &swap
	}
	noCaps := &specs.LinuxCapabilities{
		Bounding: []string{}, Effective: []string{}, Inheritable: []string{},
		Permitted: []string{}, Ambient: []string{},
	}
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}
	if s.AppDir != "" {
		mounts = append(mounts, specs.Mount{
			Destination: AppDir, Type: "bind", Source: s.AppDir,
			Options: []string{"rbind", "ro", "nosuid", "nodev"},
		})
	}
	if s.OutputDir != "" {
		mounts = append(mounts, specs.Mount{
			Destination: OutputDir, Type: "bind", Source: s.OutputDir,
			Options: []string{"rbind", "rw", "nosuid", "nodev"},
		})
	}
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			User:            specs.User{UID: vcapUID, GID: vcapGID, AdditionalGids: []uint32{vcapGID}},
			Args:            []string{"/bin/sh", "-c", initScript, "diegolab-init", s.Command},
			Env:             s.environment(),
			Cwd:             s.cwd(),
			Capabilities:    noCaps,
			NoNewPrivileges: true,
			Rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Hard: fileDescriptorLimit, Soft: fileDescriptorLimit},
			},
		},
		Root:     &specs.Root{Path: rootfs, Readonly: false},
		Hostname: s.ID,
		Mounts:   mounts,
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
			},
			CgroupsPath: cgroupsPath,
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
				Memory:  mem,
				CPU:     &specs.LinuxCPU{Shares: &shares},
				Pids:    &specs.LinuxPids{Limit: &pids},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
		},
	}
}
