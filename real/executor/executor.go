package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	gorunc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/hostnet"
	"github.com/diegolab/diegolab/real/stack"
)

const (
	vcapUID = stack.VcapUID
	vcapGID = stack.VcapGID
	// dialTimeout bounds one proxied connection's dial inside a container.
	dialTimeout = 5 * time.Second
	// logDrainTimeout bounds how long an exit waits for the last output
	// lines after the container's init has exited.
	logDrainTimeout = 2 * time.Second
)

// Config configures an Executor.
type Config struct {
	// StateDir holds everything the executor creates: the runc state root
	// (StateDir/runc), one bundle per container (StateDir/containers/<id>),
	// and runc's log. Required; made if missing.
	StateDir string
	// RuncBinary is the runc executable (default "runc" from PATH).
	RuncBinary string
	// StackDir is a stack built by stack.Build or build-stack.sh. Required.
	StackDir string
	// Rootfs chooses overlay, copy, or auto (default: overlay, falling back
	// to a copy when the overlay mount fails).
	Rootfs RootfsMode
	// MaxContainers is the cell's container count; it sizes the parent cgroup's
	// pids ceiling (see ParentMaxPids). 0: unknown.
	MaxContainers int
	// ParentMaxPids is the pids.max of the cgroup all containers live under
	// (0: MaxContainers × DefaultMaxPids, at most a quarter of the host's pid_max).
	ParentMaxPids int
	// NoUserNamespace runs containers in the host's user namespace even where
	// the kernel allows a new one (container uid 2000 is then host uid 2000).
	NoUserNamespace bool
	// ProxyBinary is run as `ProxyBinary portproxy ...` to serve a container's
	// port mappings in a process of its own that outlives this one (default: this
	// process's executable; test binaries call MaybePortProxy from TestMain).
	ProxyBinary string
	// Logger receives the executor's own messages (default: discarded).
	Logger *slog.Logger
	// PortIP is the address the containers' ports are mapped on (default
	// 127.0.0.1; a cell on a host of a multi-host cluster maps them on the host's
	// address, real/hostnet, so that the router in the hub reaches them).
	PortIP string
}

// Executor makes, runs and destroys runc containers under one state
// directory. Its methods are safe for concurrent use.
type Executor struct {
	cfg          Config
	runc         *gorunc.Runc
	cgroups      CgroupVersion
	cgroupParent string // e.g. /diegolab/3fa9c2d1e0b4
	swapLimit    bool
	log          *slog.Logger
	seccomp      *specs.LinuxSeccomp
	parentPids   int
	userNS       bool   // containers get a user namespace (ids shifted by userNSBase)
	lower        string // the stack the containers' root file systems are made from

	diskMu sync.Mutex // making disk templates

	mu            sync.Mutex
	containers    map[string]*Container
	parentPidsSet bool // the parent cgroup's pids.max is written
}

var subreaperOnce struct {
	sync.Once
	err error
}

// New checks the configuration and the host (runc present, stack built,
// cgroup layout) and returns an Executor. It makes the calling process a
// child subreaper (prctl PR_SET_CHILD_SUBREAPER): a container's init is
// created by `runc create`, which exits, and the kernel then hands the init
// to this process so that its exit status can be collected.
func New(cfg Config) (*Executor, error) {
	if cfg.StateDir == "" {
		return nil, &model.ValidationError{Field: "StateDir", Problem: "must be set"}
	}
	if cfg.StackDir == "" {
		return nil, &model.ValidationError{Field: "StackDir", Problem: "must be set (build one with real/stack/build-stack.sh)"}
	}
	switch cfg.Rootfs {
	case "":
		cfg.Rootfs = RootfsAuto
	case RootfsAuto, RootfsOverlay, RootfsCopy:
	default:
		return nil, &model.ValidationError{Field: "Rootfs", Problem: fmt.Sprintf("%q must be auto, overlay or copy", cfg.Rootfs)}
	}
	var err error
	if cfg.StateDir, err = filepath.Abs(cfg.StateDir); err != nil {
		return nil, fmt.Errorf("executor: StateDir: %w", err)
	}
	if cfg.StackDir, err = filepath.Abs(cfg.StackDir); err != nil {
		return nil, fmt.Errorf("executor: StackDir: %w", err)
	}
	if err := stack.Check(cfg.StackDir); err != nil {
		return nil, fmt.Errorf("executor: %w", err)
	}
	if cfg.RuncBinary == "" {
		cfg.RuncBinary = "runc"
	}
	if cfg.PortIP == "" {
		cfg.PortIP = "127.0.0.1"
	}
	if !hostnet.AllowedHostPort(net.JoinHostPort(cfg.PortIP, "0")) {
		return nil, fmt.Errorf("executor: PortIP %q: want 127.0.0.1 or an address of %s", cfg.PortIP, hostnet.Subnet)
	}
	if cfg.ProxyBinary == "" {
		if cfg.ProxyBinary, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("executor: the port proxy binary (this executable): %w", err)
		}
	}
	bin, err := exec.LookPath(cfg.RuncBinary)
	if err != nil {
		return nil, fmt.Errorf("executor: runc binary %q (apt-get install -y runc): %w", cfg.RuncBinary, err)
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("executor: must run as root (runc containers with cgroup limits)")
	}
	for _, d := range []string{cfg.StateDir, filepath.Join(cfg.StateDir, "runc"), filepath.Join(cfg.StateDir, "containers")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("executor: %w", err)
		}
	}
	cgv, err := DetectCgroupVersion()
	if err != nil {
		return nil, fmt.Errorf("executor: %w", err)
	}
	subreaperOnce.Do(func() { subreaperOnce.err = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) })
	if subreaperOnce.err != nil {
		return nil, fmt.Errorf("executor: prctl(PR_SET_CHILD_SUBREAPER): %w", subreaperOnce.err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxContainers < 0 || cfg.ParentMaxPids < 0 {
		return nil, &model.ValidationError{Field: "MaxContainers", Problem: "MaxContainers and ParentMaxPids must be >= 0"}
	}
	sc, err := defaultSeccomp()
	if err != nil {
		return nil, fmt.Errorf("executor: seccomp profile: %w", err)
	}
	pidMax, err := hostPidMax()
	if err != nil {
		return nil, fmt.Errorf("executor: %w", err)
	}
	sum := sha256.Sum256([]byte(cfg.StateDir))
	e := &Executor{
		cfg: cfg,
		runc: &gorunc.Runc{
			Command: bin,
			Root:    filepath.Join(cfg.StateDir, "runc"),
			Log:     filepath.Join(cfg.StateDir, "runc.log"),
		},
		cgroups:      cgv,
		cgroupParent: "/diegolab/" + hex.EncodeToString(sum[:6]),
		swapLimit:    swapAccounting(cgv),
		log:          logger,
		seccomp:      sc,
		parentPids:   parentPidsLimit(&cfg, pidMax),
		lower:        cfg.StackDir,
		containers:   map[string]*Container{},
	}
	if !cfg.NoUserNamespace && userNSSupported() {
		// runc mounts the root file system and the bind mounts as the
		// container's root: the state dir (and the stack, app and output
		// dirs) must be searchable by other users on the whole path.
		for _, d := range []string{cfg.StateDir, filepath.Join(cfg.StateDir, "containers")} {
			if err := os.Chmod(d, 0o711); err != nil {
				return nil, fmt.Errorf("executor: %w", err)
			}
		}
		if blocked := searchableByOthers(cfg.StateDir); blocked != "" {
			logger.Warn("no user namespace: a directory on the state dir's path is not searchable by other users (chmod o+x it)", "dir", blocked)
		} else if blocked := searchableByOthers(cfg.StackDir); blocked != "" {
			logger.Warn("no user namespace: a directory on the stack's path is not searchable by other users (chmod o+x it)", "dir", blocked)
		} else {
			if e.lower, err = shiftedStack(cfg.StackDir, cfg.StateDir); err != nil {
				return nil, fmt.Errorf("executor: %w", err)
			}
			e.userNS = true
		}
	}
	return e, nil
}

// UserNamespace reports whether containers get their own user namespace.
func (e *Executor) UserNamespace() bool { return e.userNS }

// swapAccounting reports whether the memory cgroup accepts a memory+swap
// limit (memory.memsw.* on v1, memory.swap.max on v2); without it runc
// would refuse a spec that sets one.
func swapAccounting(v CgroupVersion) bool {
	if v == CgroupV1 {
		_, err := os.Stat(filepath.Join(cgroupRoot, "memory", "memory.memsw.limit_in_bytes"))
		return err == nil
	}
	m, _ := filepath.Glob(filepath.Join(cgroupRoot, "*", "memory.swap.max"))
	return len(m) > 0
}

// CgroupVersion reports the cgroup layout the executor found.
func (e *Executor) CgroupVersion() CgroupVersion { return e.cgroups }

// RuncRoot is the --root directory of this executor's runc state.
func (e *Executor) RuncRoot() string { return e.runc.Root }

func (e *Executor) bundleDir(id string) string {
	return filepath.Join(e.cfg.StateDir, "containers", id)
}

// Create makes a container and leaves it ready to start: the bundle and its
// root file system exist, `runc create` has set up the namespaces and
// cgroups and the init process waits for Start. Output capture and port
// mappings are in place on return.
func (e *Executor) Create(ctx context.Context, spec ContainerSpec) (*Container, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec.Env = append([]string(nil), spec.Env...)
	spec.Ports = append([]int(nil), spec.Ports...)
	if spec.AppDir != "" {
		if fi, err := os.Stat(spec.AppDir); err != nil || !fi.IsDir() {
			return nil, &model.ValidationError{Field: "AppDir", Problem: fmt.Sprintf("%q is not a directory on the host", spec.AppDir)}
		}
	}
	c := &Container{
		ex:         e,
		spec:       spec,
		bundle:     e.bundleDir(spec.ID),
		cgroupPath: e.cgroupParent + "/" + spec.ID,
		nsFD:       -1,
		state:      StateCreating,
		exitCh:     make(chan struct{}),
	}
	e.mu.Lock()
	if _, ok := e.containers[spec.ID]; ok {
		e.mu.Unlock()
		return nil, &model.ExistsError{Kind: "container", Key: spec.ID}
	}
	if _, err := os.Lstat(c.bundle); err == nil {
		e.mu.Unlock()
		return nil, &model.ExistsError{Kind: "container bundle", Key: c.bundle}
	}
	e.containers[spec.ID] = c
	e.mu.Unlock()

	err := e.ensureParentPids()
	if err == nil {
		err = c.create(ctx)
	}
	if err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := c.teardown(cctx); derr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up after the failed create: %w", derr))
		}
		e.forget(spec.ID)
		return nil, fmt.Errorf("executor: create %s: %w", spec.ID, err)
	}
	return c, nil
}

func (e *Executor) forget(id string) {
	e.mu.Lock()
	delete(e.containers, id)
	e.mu.Unlock()
}

// Get returns the container with that id.
func (e *Executor) Get(id string) (*Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.containers[id]
	if !ok {
		return nil, &model.NotFoundError{Kind: "container", Key: id}
	}
	return c, nil
}

// List describes every container of this executor, sorted by ID.
func (e *Executor) List() []Info {
	e.mu.Lock()
	cs := make([]*Container, 0, len(e.containers))
	for _, c := range e.containers {
		cs = append(cs, c)
	}
	e.mu.Unlock()
	out := make([]Info, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Cleanup destroys every container of this executor, including ones a
// previous process left in StateDir (runc state, bundles, mounts, cgroups).
// Afterwards Leftovers reports nothing. Errors are collected, not fatal:
// Cleanup removes as much as it can.
func (e *Executor) Cleanup(ctx context.Context) error {
	var errs []error
	e.mu.Lock()
	ids := make([]string, 0, len(e.containers))
	for id := range e.containers {
		ids = append(ids, id)
	}
	e.mu.Unlock()
	sort.Strings(ids)
	for _, id := range ids {
		if c, err := e.Get(id); err == nil {
			if err := c.Destroy(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Containers this process does not know (a previous run's).
	errs = append(errs, e.cleanupLeftovers(ctx, nil)...)
	return errors.Join(errs...)
}

// Leftovers lists what this executor still holds on the host: runc
// containers under its root, mounts under StateDir, cgroup directories.
// Empty after a successful Cleanup.
func (e *Executor) Leftovers(ctx context.Context) ([]string, error) {
	var left []string
	listed, err := e.runc.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("runc list: %w", err)
	}
	for _, rc := range listed {
		left = append(left, "runc container "+rc.ID+" ("+rc.Status+")")
	}
	mps, err := mountsUnder(e.cfg.StateDir)
	if err != nil {
		return nil, err
	}
	for _, mp := range mps {
		left = append(left, "mount "+mp)
	}
	for _, d := range cgroupExists(e.cgroups, e.cgroupParent) {
		left = append(left, "cgroup "+d)
	}
	for _, p := range e.proxiesUnder() {
		left = append(left, fmt.Sprintf("port proxy %d (%s)", p.pid, filepath.Base(p.bundle)))
	}
	sort.Strings(left)
	return left, nil
}

// runcLogTail returns the end of runc's log, for error messages.
func (e *Executor) runcLogTail() string {
	b, err := os.ReadFile(e.runc.Log)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 1024 {
		b = b[len(b)-1024:]
	}
	return strings.TrimSpace(string(b))
}
