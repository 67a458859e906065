package executor

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A container's port mappings are served by a process of their own, as Garden's
// port forwarding outlives a rep restart in Diego: `diegolab portproxy`, started
// detached (its own session) by Create, holding everything it needs by file
// descriptor (the container's network namespace, its loopback listeners, and the
// read ends of the container's output pipes, which it holds but never reads so that
// the app does not die of SIGPIPE while no executor reads them). Its pid and start
// time are recorded in the container's bundle (container.json), so that:
//
//   - a rep killed with SIGKILL leaves its instances reachable: the proxy serves on;
//   - a restarted rep's executor re-adopts the container and its proxy (Recover),
//     or ends both cleanly;
//   - Stop drains through it (SIGTERM: new connections refused, requests under way
//     given up to stopDrain), Destroy ends it (SIGKILL), and Cleanup ends the
//     proxies of containers a previous process left.
//
// The proxy also watches the container's init (a pidfd): when the app's process
// exits, the listeners close at once, so that a router sees a refused connection and
// may try another instance, even when no executor is there to tell it.

// PortProxyCommand is the argument that makes the diegolab binary (and a test
// binary that calls MaybePortProxy from TestMain) a port proxy.
const PortProxyCommand = "portproxy"

// MaybePortProxy runs the port proxy and exits when args (os.Args) ask for one:
// test binaries of packages that create containers call it first in TestMain, as
// the proxy is started as `<this executable> portproxy ...`.
func MaybePortProxy(args []string) {
	if len(args) > 1 && args[1] == PortProxyCommand {
		os.Exit(PortProxyMain(args[2:]))
	}
}

// The proxy's file descriptors: the network namespace, then one listener per
// container port, then the held output pipes.
const proxyNetnsFD = 3

// drainedMarker is the file the proxy makes in the bundle once Stop's drain is done.
const drainedMarker = "portproxy.drained"

// proxyRecord is what container.json says of the proxy.
type proxyRecord struct {
	Pid       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
	// HeldFDs are the proxy's descriptors of the container's stdout and stderr
	// pipes (read ends): a re-adopting executor opens them through /proc.
	HeldFDs []int `json:"held_fds"`
}

// PortProxyMain is `diegolab portproxy`: it serves the listeners it was given until
// the container's init exits (then it closes them, lets open connections finish for
// up to logDrainTimeout and exits), or it is told to drain (SIGTERM: see below), or
// it is killed.
func PortProxyMain(args []string) int {
	fs := flag.NewFlagSet(PortProxyCommand, flag.ContinueOnError)
	bundle := fs.String("container", "", "the container's bundle directory (names the proxy in ps and to Leftovers; the drain's marker goes there)")
	ports := fs.String("ports", "", "container ports, comma-separated, one listener descriptor each from fd 4 on")
	initPid := fs.Int("init-pid", 0, "host pid of the container's init")
	initStart := fs.Uint64("init-start", 0, "start time of the container's init (/proc/PID/stat field 22)")
	held := fs.Int("held", 0, "descriptors after the listeners that are only held (the output pipes)")
	quiet := fs.Duration("quiet", stopQuiet, "drain: done once no byte moved for this long")
	maxDrain := fs.Duration("drain", stopDrain, "drain: done after this long at most")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "portproxy: "+format+"\n", a...)
		return 1
	}
	if *initPid <= 0 || *held < 0 || *held > 8 {
		return fail("--init-pid must be > 0 and --held within 0..8")
	}
	var cports []int
	for _, s := range strings.Split(*ports, ",") {
		p, err := strconv.Atoi(s)
		if err != nil || p <= 0 || p > 65535 {
			return fail("--ports: %q is not a port", s)
		}
		cports = append(cports, p)
	}
	if len(cports) > 64 {
		return fail("--ports: %d ports, at most 64", len(cports))
	}
	// Every descriptor is ours from the start: the netns, the listeners, the held pipes.
	var proxies []*proxy
	for i, cp := range cports {
		f := os.NewFile(uintptr(proxyNetnsFD+1+i), "listener")
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return fail("listener for port %d: %v", cp, err)
		}
		proxies = append(proxies, serveProxy(ln, cp, proxyNetnsFD))
	}
	exited, err := watchPid(*initPid, *initStart)
	if err != nil {
		return fail("watching the container's init: %v", err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	select {
	case <-exited:
		// The app is gone: refuse new connections now; open ones end as the
		// container's sockets close.
		for _, p := range proxies {
			p.stopAccepting()
		}
		waitAll(proxies, logDrainTimeout)
	case <-sig:
		// Stop's drain: refuse new connections, let the requests under way run
		// until no byte moved for quiet (at most maxDrain), then tell the
		// executor (the marker file) that the app may be signalled. The open
		// connections stay until the app has exited: one that handles SIGTERM
		// gracefully finishes what it still serves.
		for _, p := range proxies {
			p.stopAccepting()
		}
		for _, p := range proxies {
			p.drain(*quiet, *maxDrain)
		}
		if *bundle != "" {
			if f, err := os.Create(filepath.Join(*bundle, drainedMarker)); err == nil {
				f.Close()
			}
		}
		<-exited
		waitAll(proxies, logDrainTimeout)
	}
	for _, p := range proxies {
		_ = p.close()
	}
	return 0
}

// waitAll waits until every proxy's connections have ended, at most max.
func waitAll(ps []*proxy, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		open := 0
		for _, p := range ps {
			p.mu.Lock()
			open += len(p.conns)
			p.mu.Unlock()
		}
		if open == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// watchPid returns a channel closed when the process (pid, start time) exits, or
// at once when it is already gone. It need not be a child of this process.
func watchPid(pid int, start uint64) (<-chan struct{}, error) {
	done := make(chan struct{})
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			close(done)
			return done, nil
		}
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	if start != 0 && procStartTime(pid) != start {
		unix.Close(fd)
		close(done) // the pid was recycled: the process we were told of is gone
		return done, nil
	}
	go func() {
		defer unix.Close(fd)
		defer close(done)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			_, err := unix.Poll(fds, -1)
			if err == nil || !errors.Is(err, unix.EINTR) {
				return
			}
		}
	}()
	return done, nil
}

// procStartTime returns the start time of pid (clock ticks since boot, field 22 of
// /proc/pid/stat), 0 if it is gone. With the pid it names one process.
func procStartTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || f[0] == "Z" {
		return 0 // a zombie has exited
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

// alive reports whether the recorded process still runs (and is not a zombie).
func (r proxyRecord) alive() bool {
	return r.Pid > 0 && procStartTime(r.Pid) == r.StartTime && r.StartTime != 0
}

// portProxy is the executor's handle on a container's proxy process.
type portProxy struct {
	rec    proxyRecord
	bundle string
	// done is closed when the process has exited (and, if it is this process's
	// child, been reaped).
	done chan struct{}
}

// startPortProxy listens on a port of the cell's address (Config.PortIP:
// loopback, or the host's address on a multi-host cluster) for each container port and starts
// the proxy process that serves them. It returns the mappings.
func (c *Container) startPortProxy(nsFD int, stdout, stderr *os.File) (*portProxy, []PortMapping, error) {
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close() // the proxy has its copies
		}
	}()
	ns, err := unix.FcntlInt(uintptr(nsFD), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("port proxy: %w", err)
	}
	files = append(files, os.NewFile(uintptr(ns), "netns"))
	var maps []PortMapping
	var ports []string
	for _, port := range c.spec.Ports {
		ln, err := net.Listen("tcp4", net.JoinHostPort(c.ex.cfg.PortIP, "0"))
		if err != nil {
			return nil, nil, fmt.Errorf("port mapping for container port %d: %w", port, err)
		}
		f, err := ln.(*net.TCPListener).File()
		ln.Close() // the duplicate in f keeps the socket listening
		if err != nil {
			return nil, nil, fmt.Errorf("port mapping for container port %d: %w", port, err)
		}
		files = append(files, f)
		maps = append(maps, PortMapping{ContainerPort: port, HostAddr: ln.Addr().String()})
		ports = append(ports, strconv.Itoa(port))
	}
	var held []int
	for _, f := range []*os.File{stdout, stderr} {
		if f == nil {
			continue
		}
		d, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("port proxy: %w", err)
		}
		held = append(held, proxyNetnsFD+len(files))
		files = append(files, os.NewFile(uintptr(d), "output"))
	}
	bin := c.ex.cfg.ProxyBinary
	logf, err := os.OpenFile(filepath.Join(c.bundle, "portproxy.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("port proxy: %w", err)
	}
	defer logf.Close()
	c.mu.Lock()
	pid := c.pid
	c.mu.Unlock()
	cmd := exec.Command(bin, PortProxyCommand, "--container", c.bundle, "--ports", strings.Join(ports, ","), "--init-pid", strconv.Itoa(pid),
		"--init-start", strconv.FormatUint(procStartTime(pid), 10), "--held", strconv.Itoa(len(held)))
	cmd.ExtraFiles = files
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("port proxy %s: %w", bin, err)
	}
	pp := &portProxy{rec: proxyRecord{Pid: cmd.Process.Pid, StartTime: procStartTime(cmd.Process.Pid), HeldFDs: held},
		bundle: c.bundle, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(pp.done) }()
	if pp.rec.StartTime == 0 {
		<-pp.done
		return nil, nil, fmt.Errorf("port proxy exited at once (%s)", tailFile(filepath.Join(c.bundle, "portproxy.log")))
	}
	return pp, maps, nil
}

// adoptPortProxy is the handle on a proxy a previous executor process started.
func adoptPortProxy(rec proxyRecord, bundle string) (*portProxy, error) {
	exited, err := watchPid(rec.Pid, rec.StartTime)
	if err != nil {
		return nil, err
	}
	pp := &portProxy{rec: rec, bundle: bundle, done: make(chan struct{})}
	go func() { <-exited; close(pp.done) }()
	return pp, nil
}

// drain asks the proxy to refuse new connections and to let the ones under way
// go quiet (SIGTERM), and waits until it says it has (its marker file), at most max.
func (p *portProxy) drain(max time.Duration) {
	marker := filepath.Join(p.bundle, drainedMarker)
	_ = os.Remove(marker)
	if p.signal(unix.SIGTERM) != nil {
		return
	}
	deadline := time.After(max)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-deadline:
			return
		case <-tick.C:
			if _, err := os.Stat(marker); err == nil {
				return
			}
		}
	}
}

// kill ends the proxy at once and waits for it, at most max.
func (p *portProxy) kill(max time.Duration) error {
	if err := p.signal(unix.SIGKILL); err != nil {
		return nil // gone already
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(max):
		return fmt.Errorf("port proxy %d did not exit within %v of SIGKILL", p.rec.Pid, max)
	}
}

// signal signals the proxy if it is still the recorded process.
func (p *portProxy) signal(sig unix.Signal) error {
	select {
	case <-p.done:
		return os.ErrProcessDone
	default:
	}
	if !p.rec.alive() {
		return os.ErrProcessDone
	}
	return unix.Kill(p.rec.Pid, sig)
}

// killRecordedProxy ends the proxy a bundle's container.json names, if it still
// runs (a previous process's container being cleaned up), and waits for it.
func killRecordedProxy(bundle string) error {
	rec, err := readContainerRecord(bundle)
	if err != nil || rec.Proxy == nil || !rec.Proxy.alive() {
		return nil
	}
	pp, err := adoptPortProxy(*rec.Proxy, bundle)
	if err != nil {
		return err
	}
	return pp.kill(5 * time.Second)
}

// tailFile returns the end of a small log file, for error messages.
func tailFile(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 64*1024))
	if len(b) > 512 {
		b = b[len(b)-512:]
	}
	return strings.TrimSpace(string(b))
}

// containerRecord is a container's bundle/container.json: what a later executor
// process needs to re-adopt it.
type containerRecord struct {
	ID        string        `json:"id"`
	MemoryMB  int           `json:"memory_mb"`
	DiskMB    int           `json:"disk_mb"`
	MaxPids   int           `json:"max_pids"`
	Rootfs    RootfsMode    `json:"rootfs"`
	InitPid   int           `json:"init_pid"`
	InitStart uint64        `json:"init_start"`
	Ports     []PortMapping `json:"ports"`
	Proxy     *proxyRecord  `json:"proxy,omitempty"`
	// Meta is the caller's (ContainerSpec.Meta), returned to it on Recover.
	Meta json.RawMessage `json:"meta,omitempty"`
}

const containerRecordFile = "container.json"

func writeContainerRecord(bundle string, r containerRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tmp := filepath.Join(bundle, containerRecordFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(bundle, containerRecordFile))
}

func readContainerRecord(bundle string) (containerRecord, error) {
	var r containerRecord
	b, err := os.ReadFile(filepath.Join(bundle, containerRecordFile))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", filepath.Join(bundle, containerRecordFile), err)
	}
	return r, nil
}
