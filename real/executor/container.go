package executor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gorunc "github.com/containerd/go-runc"
	"github.com/diegolab/diegolab/model"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ContainerSpec describes one container: Diego's "make me a container, put
// this in it, now go run this".
type ContainerSpec struct {
	// ID names the container (runc id, hostname, cgroup and bundle name).
	ID string
	// MemoryMB is the memory limit (cgroup); it also sets the CPU weight.
	MemoryMB int
	// DiskMB is the quota of the container's writable layer (a loop-mounted
	// file system of that size; 0: no quota, the layer is on the state dir).
	DiskMB int
	// MaxPids limits the number of processes and threads (0: DefaultMaxPids).
	MaxPids int
	// AppDir is a host directory bind-mounted read-only at /home/vcap/app
	// (empty: the stack's empty directory).
	AppDir string
	// OutputDir is a host directory bind-mounted read-write at
	// /home/vcap/output (empty: none); staging writes the droplet there.
	OutputDir string
	// Env holds NAME=value pairs added to the defaults (PATH, HOME, USER,
	// TMPDIR, LANG, PORT = first of Ports); they win on conflict.
	Env []string
	// Command is the start command, run by /bin/sh -c as user vcap.
	Command string
	// Ports are container ports mapped to loopback ports of the host.
	Ports []int
	// User must be "" or "vcap" (uid/gid 2000).
	User string
	// Layers, when set, are a Docker image's unpacked layers (host directories,
	// bottom first, see real/image): they replace the stack as the overlay's
	// lower layers. The image must hold /bin/sh (the container's init runs it).
	Layers []string
	// WorkingDir is the start command's directory (default /home/vcap/app, or /
	// for an image).
	WorkingDir string
	// Log receives every line of output; nil discards it. Calls for one
	// container are serialized.
	Log func(LogLine)
	// Meta is kept with the container (its bundle's container.json) and handed
	// back by Recover to a later process of the executor: what its caller needs to
	// take the container over (the rep: the instance it runs). JSON, at most
	// 64 KiB.
	Meta json.RawMessage
}

// Stream tags a line of output.
type Stream string

// The two output streams, tagged as Diego's log lines are.
const (
	Stdout Stream = "OUT"
	Stderr Stream = "ERR"
)

// LogLine is one line a container wrote, without its newline. A line longer
// than 64 KiB arrives in pieces.
type LogLine struct {
	ContainerID string
	Stream      Stream
	Text        string
	At          time.Time
}

// LogToWriter returns a Log function writing "OUT text" / "ERR text" lines to
// w, serialized across all containers that share it.
func LogToWriter(w io.Writer) func(LogLine) {
	var mu sync.Mutex
	return func(l LogLine) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s %s\n", l.Stream, l.Text)
	}
}

// State is a container's lifecycle state.
type State string

// Container states.
const (
	StateCreating  State = "creating"
	StateCreated   State = "created"
	StateRunning   State = "running"
	StateExited    State = "exited"
	StateDestroyed State = "destroyed"
)

// Exit describes how a container's start command ended.
type Exit struct {
	// Code is the exit status (128+n when it died of signal n).
	Code int `json:"code"`
	// OOMKilled is set when the kernel's OOM killer killed a process of the
	// container at its memory limit.
	OOMKilled bool `json:"oom_killed"`
	// Stopped is set when Stop or Destroy ended the container.
	Stopped bool `json:"stopped"`
	// Reason is a one-line explanation ("exited with status 0", ...).
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Crashed reports whether the exit counts as a crash in Diego's sense: the
// process ended without being asked to.
func (x Exit) Crashed() bool { return !x.Stopped }

// Info describes a container for List.
type Info struct {
	ID        string        `json:"id"`
	State     State         `json:"state"`
	Pid       int           `json:"pid"` // host pid of the container's init
	Ports     []PortMapping `json:"ports"`
	Rootfs    RootfsMode    `json:"rootfs"`
	MemoryMB  int           `json:"memory_mb"`
	CPUShares uint64        `json:"cpu_shares"`
	MaxPids   int           `json:"max_pids"`
}

// Container is one runc container of an Executor.
type Container struct {
	ex         *Executor
	spec       ContainerSpec
	bundle     string
	cgroupPath string
	exitCh     chan struct{} // closed when exit is set

	mu        sync.Mutex
	state     State
	rootfs    RootfsMode
	pid       int
	nsFD      int
	pipes     gorunc.IO
	held      []*os.File // an adopted container's output pipes (read ends)
	proxy     *portProxy // nil: no ports
	ports     []PortMapping
	stopping  bool
	exit      Exit
	destroyed bool
}

// ID returns the container's id.
func (c *Container) ID() string { return c.spec.ID }

// Ports returns the loopback address mapped to each container port.
func (c *Container) Ports() []PortMapping {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]PortMapping(nil), c.ports...)
}

// HostAddr returns the 127.0.0.1:port address mapped to a container port.
func (c *Container) HostAddr(containerPort int) (string, error) {
	for _, p := range c.Ports() {
		if p.ContainerPort == containerPort {
			return p.HostAddr, nil
		}
	}
	return "", &model.NotFoundError{Kind: "port mapping", Key: c.spec.ID + ":" + strconv.Itoa(containerPort)}
}

// Info describes the container.
func (c *Container) Info() Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	pids := c.spec.MaxPids
	if pids == 0 {
		pids = DefaultMaxPids
	}
	return Info{
		ID: c.spec.ID, State: c.state, Pid: c.pid, Ports: append([]PortMapping(nil), c.ports...),
		Rootfs: c.rootfs, MemoryMB: c.spec.MemoryMB, CPUShares: CPUShares(CPUWeight(c.spec.MemoryMB)),
		MaxPids: pids,
	}
}

// RootfsMode says whether this container's root is an overlay or a copy.
func (c *Container) RootfsMode() RootfsMode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rootfs
}

func (c *Container) create(ctx context.Context) error {
	e := c.ex
	if err := os.MkdirAll(c.bundle, 0o711); err != nil { // searchable: see userNS
		return err
	}
	layer := c.bundle
	if c.spec.DiskMB > 0 {
		var err error
		if layer, err = e.makeDisk(c.bundle, c.spec.DiskMB); err != nil {
			return err
		}
	}
	lower, rmode, err := e.lowerFor(&c.spec)
	if err != nil {
		return err
	}
	mode, err := prepareRootfs(rmode, lower, c.bundle, layer)
	if err != nil {
		return err
	}
	if e.userNS {
		// The container's root owns its writable layer, vcap the output dir.
		root := e.hostID(0)
		for _, d := range []string{layer, filepath.Join(layer, "upper"), filepath.Join(layer, "work"), filepath.Join(c.bundle, "rootfs")} {
			if err := os.Lchown(d, root, root); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("user namespace: %w", err)
			}
		}
		if c.spec.OutputDir != "" {
			if err := os.Chown(c.spec.OutputDir, e.hostID(vcapUID), e.hostID(vcapGID)); err != nil {
				return fmt.Errorf("user namespace: output dir: %w", err)
			}
		}
	}
	c.mu.Lock()
	c.rootfs = mode
	c.mu.Unlock()
	e.log.Debug("rootfs ready", "container", c.spec.ID, "mode", string(mode))

	spec := buildSpec(&c.spec, filepath.Join(c.bundle, "rootfs"), c.cgroupPath, e.swapLimit)
	spec.Linux.Seccomp = e.seccomp
	if e.userNS {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: userNSBase, Size: userNSSize}}
		spec.Linux.UIDMappings, spec.Linux.GIDMappings = m, m
	}
	cfg, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return fmt.Errorf("config.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.bundle, "config.json"), cfg, 0o600); err != nil {
		return err
	}
	pipes, err := gorunc.NewPipeIO(e.hostID(vcapUID), e.hostID(vcapGID), func(o *gorunc.IOOption) { o.OpenStdin = false })
	if err != nil {
		return fmt.Errorf("output pipes: %w", err)
	}
	c.mu.Lock()
	c.pipes = pipes
	c.mu.Unlock()
	pidFile := filepath.Join(c.bundle, "init.pid")
	if err := e.runc.Create(ctx, c.spec.ID, c.bundle, &gorunc.CreateOpts{IO: pipes, PidFile: pidFile}); err != nil {
		if tail := e.runcLogTail(); tail != "" {
			err = fmt.Errorf("%w (runc log: %s)", err, tail)
		}
		return fmt.Errorf("runc create: %w", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("runc pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return fmt.Errorf("runc pid file %s: %q is not a pid", pidFile, b)
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		return fmt.Errorf("container init %d: %w", pid, err)
	}
	nsFD, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("container network namespace: %w", err)
	}
	c.mu.Lock()
	c.pid, c.nsFD = pid, nsFD
	c.mu.Unlock()

	logsDone := c.startLogReaders(pipes.Stdout(), pipes.Stderr())
	go c.waitInit(proc, logsDone)

	rec := containerRecord{ID: c.spec.ID, MemoryMB: c.spec.MemoryMB, DiskMB: c.spec.DiskMB, MaxPids: c.spec.MaxPids,
		Rootfs: mode, InitPid: pid, InitStart: procStartTime(pid), Meta: c.spec.Meta}
	if len(c.spec.Ports) > 0 {
		out, _ := pipes.Stdout().(*os.File)
		errf, _ := pipes.Stderr().(*os.File)
		pp, maps, err := c.startPortProxy(nsFD, out, errf)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.proxy, c.ports = pp, maps
		c.mu.Unlock()
		rec.Ports, rec.Proxy = maps, &pp.rec
	}
	if err := writeContainerRecord(c.bundle, rec); err != nil {
		return fmt.Errorf("container record: %w", err)
	}
	c.mu.Lock()
	c.state = StateCreated
	c.mu.Unlock()
	return nil
}

// startLogReaders copies both output pipes line by line to spec.Log; the
// returned channel is closed when both reached EOF (every process of the
// container has exited).
func (c *Container) startLogReaders(stdout, stderr io.Reader) <-chan struct{} {
	done := make(chan struct{})
	var mu sync.Mutex // serializes Log calls across the two streams
	emit := func(s Stream, text string) {
		if c.spec.Log == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		c.spec.Log(LogLine{ContainerID: c.spec.ID, Stream: s, Text: text, At: time.Now()})
	}
	var wg sync.WaitGroup
	read := func(r io.Reader, s Stream) {
		defer wg.Done()
		br := bufio.NewReaderSize(r, 64*1024)
		for {
			line, err := br.ReadSlice('\n')
			if len(line) > 0 {
				emit(s, strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"))
			}
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return
			}
		}
	}
	wg.Add(2)
	go read(stdout, Stdout)
	go read(stderr, Stderr)
	go func() { wg.Wait(); close(done) }()
	return done
}

// waitInit reaps the container's init (this process is its subreaper),
// works out why it ended and publishes the Exit.
func (c *Container) waitInit(proc *os.Process, logsDone <-chan struct{}) {
	ps, werr := proc.Wait()
	at := time.Now()
	// The port proxy closes its listeners itself when the init exits.
	select {
	case <-logsDone:
	case <-time.After(logDrainTimeout):
	}
	x := Exit{At: at, Code: -1}
	if werr != nil {
		x.Reason = "exit status unavailable: " + werr.Error()
	} else if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		x.Code = 128 + int(ws.Signal())
		x.Reason = "killed by signal " + ws.Signal().String()
	} else {
		x.Code = ps.ExitCode()
		x.Reason = "exited with status " + strconv.Itoa(x.Code)
	}
	c.exited(x)
}

// exited completes an Exit (OOM kills, a stop) and publishes it.
func (c *Container) exited(x Exit) {
	// The cgroup outlives the init until runc delete, so its OOM counter
	// is still readable here.
	if n, err := oomKills(c.ex.cgroups, c.cgroupPath); err == nil && n > 0 {
		x.OOMKilled = true
		x.Reason = fmt.Sprintf("out of memory: %d process(es) killed at the %d MB limit; %s", n, c.spec.MemoryMB, x.Reason)
	}
	c.mu.Lock()
	if c.stopping {
		x.Stopped = true
		x.Reason = "stopped; " + x.Reason
	}
	c.exit = x
	if c.state != StateDestroyed {
		c.state = StateExited
	}
	c.mu.Unlock()
	close(c.exitCh)
}

// Start runs the start command in a created container.
func (c *Container) Start(ctx context.Context) error {
	c.mu.Lock()
	st := c.state
	c.mu.Unlock()
	if st != StateCreated {
		return &model.TransitionError{Kind: "container", Key: c.spec.ID, From: string(st), To: string(StateRunning)}
	}
	if err := c.ex.runc.Start(ctx, c.spec.ID); err != nil {
		return fmt.Errorf("executor: start %s: %w", c.spec.ID, err)
	}
	c.mu.Lock()
	if c.state == StateCreated {
		c.state = StateRunning
	}
	c.mu.Unlock()
	return nil
}

// Exited is closed when the container's start command has ended; Exit then
// returns how.
func (c *Container) Exited() <-chan struct{} { return c.exitCh }

// Wait blocks until the container's start command ends or ctx is done.
func (c *Container) Wait(ctx context.Context) (Exit, error) {
	select {
	case <-c.exitCh:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.exit, nil
	case <-ctx.Done():
		return Exit{}, fmt.Errorf("executor: waiting for %s: %w", c.spec.ID, ctx.Err())
	}
}

// Stop's drain: the app is signalled once no byte moved through its ports for
// stopQuiet, or after stopDrain.
const (
	stopQuiet = 100 * time.Millisecond
	stopDrain = time.Second
)

// Stop first drains the container's ports (new connections refused, requests
// under way given up to stopDrain), then asks the start command to end with
// SIGTERM (the init forwards it), and after grace kills every process of the
// container with SIGKILL. It returns the Exit, marked Stopped. A container that
// was never started gets SIGKILL at once.
func (c *Container) Stop(ctx context.Context, grace time.Duration) (Exit, error) {
	c.mu.Lock()
	st := c.state
	c.stopping = true
	c.mu.Unlock()
	select {
	case <-c.exitCh:
		return c.Wait(ctx)
	default:
	}
	if st == StateRunning {
		// Drain first, as a router drains a backend: new connections are
		// refused (a router sends them to another instance), requests under
		// way get up to a second to finish before SIGTERM.
		c.mu.Lock()
		pp := c.proxy
		c.mu.Unlock()
		if pp != nil {
			pp.drain(stopDrain + 500*time.Millisecond)
		}
		if err := c.ex.runc.Kill(ctx, c.spec.ID, int(unix.SIGTERM), nil); err == nil {
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case <-c.exitCh:
				return c.Wait(ctx)
			case <-t.C:
			case <-ctx.Done():
				return Exit{}, fmt.Errorf("executor: stop %s: %w", c.spec.ID, ctx.Err())
			}
		}
	}
	if err := c.ex.runc.Kill(ctx, c.spec.ID, int(unix.SIGKILL), &gorunc.KillOpts{All: true}); err != nil {
		select {
		case <-c.exitCh: // it ended between the check and the kill
		default:
			return Exit{}, fmt.Errorf("executor: stop %s: runc kill: %w", c.spec.ID, err)
		}
	}
	return c.Wait(ctx)
}

// Destroy kills whatever still runs, deletes the runc container (and its
// cgroups), closes the port mappings, unmounts the root file system and
// removes the bundle. It is idempotent.
func (c *Container) Destroy(ctx context.Context) error {
	c.mu.Lock()
	if c.destroyed {
		c.mu.Unlock()
		return nil
	}
	c.stopping = true
	c.mu.Unlock()
	err := c.teardown(ctx)
	c.ex.forget(c.spec.ID)
	if err != nil {
		return fmt.Errorf("executor: destroy %s: %w", c.spec.ID, err)
	}
	return nil
}

// teardown undoes create, whatever stage it reached.
func (c *Container) teardown(ctx context.Context) error {
	var errs []error
	c.mu.Lock()
	pid := c.pid
	c.mu.Unlock()
	if pid > 0 {
		select {
		case <-c.exitCh:
		default:
			_ = c.ex.runc.Kill(ctx, c.spec.ID, int(unix.SIGKILL), &gorunc.KillOpts{All: true})
			select {
			case <-c.exitCh:
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("waiting for the init to exit: %w", ctx.Err()))
			}
		}
	}
	if err := c.ex.runc.Delete(ctx, c.spec.ID, &gorunc.DeleteOpts{Force: true}); err != nil {
		if _, serr := c.ex.runc.State(ctx, c.spec.ID); serr == nil {
			errs = append(errs, fmt.Errorf("runc delete: %w", err))
		}
	}
	c.mu.Lock()
	pp, pipes, held, nsFD := c.proxy, c.pipes, c.held, c.nsFD
	c.proxy, c.pipes, c.held, c.nsFD = nil, nil, nil, -1
	c.ports = nil
	c.state = StateDestroyed
	c.destroyed = true
	c.mu.Unlock()
	if pp != nil {
		if err := pp.kill(5 * time.Second); err != nil {
			errs = append(errs, err)
		}
	} else if err := killRecordedProxy(c.bundle); err != nil {
		errs = append(errs, err) // a failed create may have started one
	}
	if nsFD >= 0 {
		unix.Close(nsFD)
	}
	if pipes != nil {
		pipes.Close()
	}
	for _, f := range held {
		f.Close()
	}
	if err := unmountAll(c.bundle); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(c.bundle); err != nil {
		errs = append(errs, err)
	}
	if left := cgroupExists(c.ex.cgroups, c.cgroupPath); len(left) > 0 {
		if err := removeCgroupTree(c.ex.cgroups, c.cgroupPath); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
