package live

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The supervisor keeps a cluster's components alive as monit keeps Diego's jobs:
// `live up` starts one `diegolab live supervise` process per directory, which
// starts the BBS, the reps and the router as its children, restarts a child that
// exits (with a backoff: 1 s, doubling up to 30 s, back to 1 s after 60 s of
// running), logs each restart with the exit reason, and records in live.json every
// process it ever started (pid and start time), so that `live down` can stop them
// all, and only them, even after restarts.

// Backoff of restarts.
const (
	restartBackoffMin = time.Second
	restartBackoffMax = 30 * time.Second
	// restartResetAfter: a child that ran this long restarts with the minimum
	// backoff again.
	restartResetAfter = time.Minute
	optionsFile       = "options.json"
)

// startTime returns the start time of pid (clock ticks since boot, field 22 of
// /proc/pid/stat), 0 if it is gone. Together with the pid it names one process:
// a recycled pid has another start time.
func startTime(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// After ")": state is field 3, starttime field 22 -> index 22-3 = 19.
	if len(f) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

// same reports whether p is still the process that was recorded (alive, same start
// time; records without a start time fall back to the pid).
func same(p Proc) bool {
	if !alive(p.Pid) {
		return false
	}
	return p.StartTime == 0 || startTime(p.Pid) == p.StartTime
}

// leftoverGroup reports whether p's process group outlives its (dead) leader with
// members that started after it: processes p left behind (a group id is not
// reused while the group has members, and its members cannot predate its leader).
func leftoverGroup(p Proc) bool {
	if p.Pid <= 0 || p.StartTime == 0 || same(p) {
		return false
	}
	members := groupAlive(p.Pid)
	for _, pid := range members {
		if startTime(pid) < p.StartTime {
			return false
		}
	}
	return len(members) > 0
}

// child is one supervised component.
type child struct {
	proc     *Proc // points into the State (BBS, Router or Reps[i])
	backoff  time.Duration
	started  time.Time
	restarts int
	lastExit string
	// rep: the child is a cell's rep. A rep that exits cleanly has been drained
	// (`live drain`, SIGTERM: it evacuated, as a BOSH drain does) and stays down.
	rep bool
	// rootListen, when set, is a 127.0.0.1 address of the root namespace that
	// each incarnation inherits a listening socket on, as descriptor 3 (a
	// multi-host cluster's BBS and router run in the hub: hosts.go). The first
	// spawn resolves port 0 into the address, which later incarnations reuse.
	rootListen string
}

type exitEvent struct {
	c   *child
	pid int
	err error
}

// supervisor is the state of `live supervise` (one goroutine owns it).
type supervisor struct {
	dir   string
	o     Options
	st    *State
	log   *slog.Logger
	exits chan exitEvent
	kids  []*child
}

// spawn starts p (its recorded args) as a child of this process and records it.
func (s *supervisor) spawn(c *child) error {
	p := c.proc
	logf, err := os.OpenFile(filepath.Join(p.Dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(p.Args[0], p.Args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.rootListen != "" {
		// Opened anew for each incarnation and closed here once inherited: when the
		// child dies its socket goes with it, so clients are refused at once (and
		// move on to the other BBS of a pair) instead of waiting in a backlog.
		f, addr, err := rootListener(c.rootListen)
		if err != nil {
			return fmt.Errorf("start %s: its socket %s: %w", p.Name, c.rootListen, err)
		}
		defer f.Close()
		c.rootListen = addr
		cmd.ExtraFiles = []*os.File{f}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.Pid, p.StartTime = cmd.Process.Pid, startTime(cmd.Process.Pid)
	c.started = time.Now()
	s.st.History = append(s.st.History, *p)
	pid := p.Pid
	go func() { s.exits <- exitEvent{c: c, pid: pid, err: cmd.Wait()} }()
	return nil
}

func (s *supervisor) save() error {
	for _, c := range s.kids {
		c.proc.Restarts, c.proc.LastExit = c.restarts, c.lastExit
	}
	return writeState(s.dir, s.st)
}

// Supervise is `diegolab live supervise`: it starts the cluster described by
// DIR/supervisor/options.json (written by Up), marks live.json ready, and keeps
// every component running until ctx ends; then it stops them all.
func Supervise(ctx context.Context, dir string, log *slog.Logger) error {
	dir, _ = filepath.Abs(dir)
	var o Options
	b, err := os.ReadFile(filepath.Join(dir, "supervisor", optionsFile))
	if err != nil {
		return fmt.Errorf("supervise: %w (live up writes it)", err)
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("supervise: %s: %w", optionsFile, err)
	}
	st := &State{Stack: filepath.Join(dir, "stack"), Supervisor: Proc{Name: "supervisor", Pid: os.Getpid(),
		StartTime: startTime(os.Getpid()), Dir: filepath.Join(dir, "supervisor")}}
	s := &supervisor{dir: dir, o: o, st: st, log: log, exits: make(chan exitEvent, 16)}
	defer s.destroyHosts() // after stopAll: deferred calls run last first
	defer s.stopAll()
	if err := s.startCluster(ctx); err != nil {
		st.Error = err.Error()
		_ = s.save()
		return err
	}
	st.Ready = true
	if err := s.save(); err != nil {
		return err
	}
	log.Info("cluster up", "bbs", st.URL, "router", st.RouterURL, "cells", len(st.Reps))
	timers := map[*child]*time.Timer{}
	due := make(chan *child, 16)
	for {
		select {
		case <-ctx.Done():
			for _, t := range timers {
				t.Stop()
			}
			return nil
		case ev := <-s.exits:
			c := ev.c
			if ev.pid != c.proc.Pid {
				continue // an older incarnation
			}
			reason := "exited"
			if ev.err != nil {
				reason = ev.err.Error()
			}
			if c.rep && s.o.HoldDeadReps && held(dir, c.proc.Name) {
				c.lastExit = fmt.Sprintf("%s at %s: held (a scenario fault), restarted when released", reason, time.Now().UTC().Format(time.RFC3339))
				log.Info("rep held; restarting it when released", "component", c.proc.Name, "pid", ev.pid)
				_ = s.save()
				go waitRelease(ctx, dir, c, due)
				continue
			}
			if c.rep && ev.err == nil {
				c.lastExit = fmt.Sprintf("drained at %s: not restarted", time.Now().UTC().Format(time.RFC3339))
				log.Info("rep drained; not restarting it", "component", c.proc.Name, "pid", ev.pid)
				_ = s.save()
				continue
			}
			if time.Since(c.started) > restartResetAfter || c.backoff == 0 {
				c.backoff = restartBackoffMin
			} else {
				c.backoff = min(2*c.backoff, restartBackoffMax)
			}
			c.restarts++
			c.lastExit = fmt.Sprintf("%s at %s after %s", reason, time.Now().UTC().Format(time.RFC3339),
				time.Since(c.started).Round(time.Second))
			log.Warn("component died; restarting", "component", c.proc.Name, "pid", ev.pid, "reason", reason,
				"restart", c.restarts, "backoff", c.backoff)
			_ = s.save()
			timers[c] = time.AfterFunc(c.backoff, func() { due <- c })
		case c := <-due:
			delete(timers, c)
			if err := s.spawn(c); err != nil {
				log.Error("restart failed", "component", c.proc.Name, "err", err)
				c.lastExit = "restart failed: " + err.Error()
				timers[c] = time.AfterFunc(restartBackoffMax, func() { due <- c })
			} else {
				log.Info("component restarted", "component", c.proc.Name, "pid", c.proc.Pid)
			}
			_ = s.save()
		}
	}
}

// startCluster starts the BBS, the reps and the router, fixing the ephemeral ports
// they got into their arguments so that restarts keep the addresses.
func (s *supervisor) startCluster(ctx context.Context) error {
	o, dir, st := s.o, s.dir, s.st
	regArgs, err := s.startRegistries(ctx)
	if err != nil {
		return err
	}
	clientTok, repTok, routerTok := filepath.Join(dir, "client.token"), filepath.Join(dir, "rep.token"), filepath.Join(dir, "router.token")
	if err := s.createHosts(); err != nil {
		return err
	}
	args := []string{"--token-file", clientTok, "--rep-token-file", repTok, "--router-token-file", routerTok}
	if o.LogBound > 0 {
		args = append(args, "--log-bound", strconv.Itoa(o.LogBound))
	}
	if o.DB != "" {
		args = append(args, "--db", o.DB)
	}
	if o.TLS {
		args = append(args, "--tls-dir", tlsDir(dir))
	}
	args = appendDur(args, "--presence-ttl", o.PresenceTTL)
	args = appendDur(args, "--convergence-interval", o.ConvergenceInterval)
	args = appendDur(args, "--stale-unclaimed", o.StaleUnclaimed)
	args = append(args, regArgs...)
	args = append(args, o.auctionArgs()...)
	args = append(args, o.pairArgs(dir)...)
	if st.URL, st.InnerURL, err = s.startBBS(ctx, &st.BBS, "bbs", filepath.Join(dir, "bbs"), args); err != nil {
		return err
	}
	tok, err := readToken(clientTok)
	if err != nil {
		return err
	}
	cc := ClientConfig{URL: st.URL, Token: tok}
	if o.TLS {
		cc.TLSDir = tlsDir(dir)
	}
	cl, err := cc.NewClient(5 * time.Second)
	if err != nil {
		return err
	}
	if err := waitHealthy(ctx, cl, 0, o.Wait); err != nil {
		return err
	}
	if err := s.startPassive(ctx, args); err != nil {
		return err
	}
	st.Reps = make([]Proc, o.Cells) // sized once: the children point into it
	for i := range o.Cells {
		id, zone := fmt.Sprintf("cell-%d", i), s.defaultZone(i)
		if i < len(o.CellIDs) {
			id = o.CellIDs[i]
		}
		if i < len(o.CellZones) {
			zone = o.CellZones[i]
		}
		cdir := filepath.Join(dir, "cells", id)
		for _, d := range []string{filepath.Join(dir, "cells"), cdir} { // searchable: see Up
			if err := os.MkdirAll(d, 0o711); err != nil {
				return err
			}
			if err := os.Chmod(d, 0o711); err != nil {
				return err
			}
		}
		args := []string{o.Binary, "rep", "--cell-id", id, "--zone", zone, "--index", strconv.Itoa(i),
			"--memory-mb", strconv.Itoa(o.MemoryMB), "--disk-mb", strconv.Itoa(o.DiskMB), "--containers", strconv.Itoa(o.Containers),
			"--bbs", s.innerURL(), "--dir", cdir, "--stack", st.Stack, "--listen", s.repListen(i), "--token-file", repTok}
		if o.TLS {
			args = append(args, "--tls-dir", tlsDir(dir))
		}
		args = appendDur(args, "--heartbeat", o.Heartbeat)
		args = appendDur(args, "--bulk-sync", o.BulkSync)
		args = appendDur(args, "--start-timeout", o.StartTimeout)
		args = appendDur(args, "--check-interval", o.CheckInterval)
		args = appendDur(args, "--evacuation-timeout", o.EvacuationTimeout)
		st.Reps[i] = Proc{Name: id, Args: s.onHost(i, args), Dir: cdir}
		c := &child{proc: &st.Reps[i], rep: true}
		s.kids = append(s.kids, c)
		if err := s.spawn(c); err != nil {
			return err
		}
	}
	if err := s.startRouter(ctx, routerTok); err != nil {
		return err
	}
	if err := s.save(); err != nil {
		return err
	}
	return waitHealthy(ctx, cl, o.Cells, o.Wait)
}

func (s *supervisor) startRouter(ctx context.Context, tokenFile string) error {
	o, st := s.o, s.st
	rdir := filepath.Join(s.dir, "router")
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return err
	}
	listen := o.RouterListen
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	addrFile := filepath.Join(rdir, "addr")
	_ = os.Remove(addrFile)
	args := []string{o.Binary, "router", "--listen", listen, "--bbs", s.innerURL(), "--token-file", tokenFile, "--addr-file", addrFile}
	if o.TLS {
		args = append(args, "--tls-dir", tlsDir(s.dir))
	}
	args = appendDur(args, "--sync-interval", o.RouteSync)
	c := &child{}
	args = s.hubRouter(c, args, listen)
	st.Router = Proc{Name: "router", Args: args, Dir: rdir}
	c.proc = &st.Router
	s.kids = append(s.kids, c)
	if err := s.spawn(c); err != nil {
		return err
	}
	addr, err := waitFile(ctx, addrFile, o.Wait)
	if err != nil {
		return fmt.Errorf("router did not start (is %s free?): %w", listen, err)
	}
	st.RouterURL = "http://" + addr
	for i, a := range st.Router.Args {
		if a == listen {
			st.Router.Args[i] = addr
		}
	}
	return nil
}

// stopAll stops the children: the router first, then the reps, then the BBS.
func (s *supervisor) stopAll() {
	for i := len(s.kids) - 1; i >= 0; i-- {
		p := s.kids[i].proc
		if same(*p) {
			stop(p.Pid, 10*time.Second)
		}
	}
}

// halfDead lists the recorded processes of dir that still run, for a refusal.
func halfDead(st *State) []string {
	var out []string
	for _, p := range recorded(st) {
		if same(p) {
			out = append(out, fmt.Sprintf("%s pid %d", p.Name, p.Pid))
		}
	}
	return out
}

// recorded is every process the directory's live.json knows: the supervisor, the
// current components and every earlier incarnation.
func recorded(st *State) []Proc {
	out := []Proc{st.Supervisor, st.BBS, st.BBSB, st.Router, st.Registry}
	out = append(out, st.Reps...)
	out = append(out, st.History...)
	seen := map[[2]uint64]bool{}
	var uniq []Proc
	for _, p := range out {
		k := [2]uint64{uint64(p.Pid), p.StartTime}
		if p.Pid > 0 && !seen[k] {
			seen[k] = true
			uniq = append(uniq, p)
		}
	}
	return uniq
}
