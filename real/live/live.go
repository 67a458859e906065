package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/executor"
	"github.com/diegolab/diegolab/real/stack"
)

// Files in the cluster directory.
const (
	ConfigFile = "config.json"
	StateFile  = "live.json"
)

// DefaultDir is $DIEGOLAB_HOME, else ./.diegolab.
func DefaultDir() string {
	if d := os.Getenv("DIEGOLAB_HOME"); d != "" {
		return d
	}
	return ".diegolab"
}

// ClientConfig is what the CLI needs to reach the BBS.
type ClientConfig struct {
	URL   string `json:"url"`
	Token string `json:"token"`
	// RouterURL is where apps are reached (http://127.0.0.1:8080 by default).
	RouterURL string `json:"router_url,omitempty"`
}

// LoadClientConfig reads DIR/config.json.
func LoadClientConfig(dir string) (ClientConfig, error) {
	var c ClientConfig
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return c, fmt.Errorf("no cluster config in %s (run `diegolab live up` or set DIEGOLAB_HOME): %w", dir, err)
	}
	if err := json.Unmarshal(b, &c); err != nil || c.URL == "" || c.Token == "" {
		return c, fmt.Errorf("%s: want {\"url\": ..., \"token\": ...}: %v", filepath.Join(dir, ConfigFile), err)
	}
	return c, nil
}

// Options configure Up.
type Options struct {
	Dir                                 string
	Cells                               int
	MemoryMB, DiskMB, Containers        int
	Binary                              string // the diegolab binary (default: this executable)
	PresenceTTL, ConvergenceInterval    time.Duration
	Heartbeat, BulkSync, StaleUnclaimed time.Duration
	StartTimeout                        time.Duration
	Wait                                time.Duration // for health (default 60 s)
	// RouterListen is the router's address (default 127.0.0.1:8080; tests use :0).
	RouterListen string
	// RouteSync is the route emitter's full sync period (default 60 s).
	RouteSync time.Duration
	// CheckInterval is the reps' default liveness check period (default 30 s).
	CheckInterval time.Duration
	// LogBound is the log service's per-app buffer (default 1000 lines).
	LogBound int
	// EvacuationTimeout bounds a rep's drain (`live drain`, SIGTERM; Diego's 600 s
	// when zero).
	EvacuationTimeout time.Duration
}

// Proc is one child process.
type Proc struct {
	Name string   `json:"name"`
	Pid  int      `json:"pid"`
	Args []string `json:"args"`
	Dir  string   `json:"dir"`
}

// State is live.json.
type State struct {
	URL       string `json:"url"`
	RouterURL string `json:"router_url"`
	BBS       Proc   `json:"bbs"`
	Router    Proc   `json:"router"`
	Reps      []Proc `json:"reps"`
	Stack     string `json:"stack"`
}

func token() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Up starts the cluster and returns its state once every process is healthy.
func Up(ctx context.Context, o Options) (*State, error) {
	if o.Cells <= 0 {
		return nil, fmt.Errorf("cells: must be > 0, got %d", o.Cells)
	}
	if o.MemoryMB <= 0 || o.DiskMB <= 0 || o.Containers <= 0 {
		return nil, errors.New("memory-mb, disk-mb and containers must be > 0")
	}
	if o.Wait <= 0 {
		o.Wait = 60 * time.Second
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if st, err := ReadState(dir); err == nil && alive(st.BBS.Pid) {
		return nil, fmt.Errorf("a cluster is already up in %s (bbs pid %d): run `diegolab live down` first", dir, st.BBS.Pid)
	}
	if o.Binary == "" {
		if o.Binary, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "bbs"), 0o700); err != nil {
		return nil, err
	}
	st := &State{Stack: filepath.Join(dir, "stack")}
	if err := stack.Build(ctx, st.Stack, ""); err != nil {
		return nil, err
	}
	clientTok, repTok, routerTok := filepath.Join(dir, "client.token"), filepath.Join(dir, "rep.token"), filepath.Join(dir, "router.token")
	for _, f := range []string{clientTok, repTok, routerTok} {
		if _, err := os.Stat(f); err == nil {
			continue // keep the tokens of a previous up: clients keep working
		}
		t, err := token()
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(f, []byte(t+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	bbsDir := filepath.Join(dir, "bbs")
	addrFile := filepath.Join(bbsDir, "addr")
	_ = os.Remove(addrFile)
	args := []string{"bbs", "--dir", bbsDir, "--listen", "127.0.0.1:0", "--token-file", clientTok, "--rep-token-file", repTok,
		"--addr-file", addrFile, "--router-token-file", routerTok}
	if o.LogBound > 0 {
		args = append(args, "--log-bound", strconv.Itoa(o.LogBound))
	}
	args = appendDur(args, "--presence-ttl", o.PresenceTTL)
	args = appendDur(args, "--convergence-interval", o.ConvergenceInterval)
	args = appendDur(args, "--stale-unclaimed", o.StaleUnclaimed)
	st.BBS, err = start(o.Binary, "bbs", bbsDir, args)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*State, error) {
		_ = writeState(dir, st)
		return nil, fmt.Errorf("%w (logs in %s; run `diegolab live down` to clean up)", err, dir)
	}
	addr, err := waitFile(ctx, addrFile, o.Wait)
	if err != nil {
		return fail(fmt.Errorf("bbs did not start: %w", err))
	}
	st.URL = "http://" + addr
	// Later restarts reuse the port, so the reps' --bbs stays valid.
	for i, a := range st.BBS.Args {
		if a == "127.0.0.1:0" {
			st.BBS.Args[i] = addr
		}
	}
	tok, err := readToken(clientTok)
	if err != nil {
		return fail(err)
	}
	cl := api.NewClient(st.URL, tok, 5*time.Second)
	if err := waitHealthy(ctx, cl, 0, o.Wait); err != nil {
		return fail(err)
	}
	for i := range o.Cells {
		id := fmt.Sprintf("cell-%d", i)
		cdir := filepath.Join(dir, "cells", id)
		if err := os.MkdirAll(cdir, 0o700); err != nil {
			return fail(err)
		}
		args := []string{"rep", "--cell-id", id, "--zone", fmt.Sprintf("z%d", i%2), "--index", strconv.Itoa(i),
			"--memory-mb", strconv.Itoa(o.MemoryMB), "--disk-mb", strconv.Itoa(o.DiskMB), "--containers", strconv.Itoa(o.Containers),
			"--bbs", st.URL, "--dir", cdir, "--stack", st.Stack, "--listen", "127.0.0.1:0", "--token-file", repTok}
		args = appendDur(args, "--heartbeat", o.Heartbeat)
		args = appendDur(args, "--bulk-sync", o.BulkSync)
		args = appendDur(args, "--start-timeout", o.StartTimeout)
		args = appendDur(args, "--check-interval", o.CheckInterval)
		args = appendDur(args, "--evacuation-timeout", o.EvacuationTimeout)
		p, err := start(o.Binary, id, cdir, args)
		if err != nil {
			return fail(err)
		}
		st.Reps = append(st.Reps, p)
	}
	if err := startRouter(ctx, o, dir, st, routerTok); err != nil {
		return fail(err)
	}
	if err := writeState(dir, st); err != nil {
		return fail(err)
	}
	if err := waitHealthy(ctx, cl, o.Cells, o.Wait); err != nil {
		return fail(err)
	}
	cfg, _ := json.MarshalIndent(ClientConfig{URL: st.URL, Token: tok, RouterURL: st.RouterURL}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), append(cfg, '\n'), 0o600); err != nil {
		return fail(err)
	}
	return st, nil
}

func appendDur(args []string, flag string, d time.Duration) []string {
	if d > 0 {
		return append(args, flag, d.String())
	}
	return args
}

// start runs bin args in its own process group, output appended to dir/log.
func start(bin, name, dir string, args []string) (Proc, error) {
	logf, err := os.OpenFile(filepath.Join(dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return Proc{}, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return Proc{}, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = cmd.Wait() }() // reap it when this process is its parent
	return Proc{Name: name, Pid: cmd.Process.Pid, Args: append([]string{bin}, args...), Dir: dir}, nil
}

// RestartBBS starts the BBS again with its recorded arguments (same port, same
// state), after it died; it waits until it answers.
func RestartBBS(ctx context.Context, dir string, wait time.Duration) (*State, error) {
	dir, _ = filepath.Abs(dir)
	st, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	if alive(st.BBS.Pid) {
		return nil, fmt.Errorf("bbs pid %d is still running", st.BBS.Pid)
	}
	p, err := start(st.BBS.Args[0], "bbs", st.BBS.Dir, st.BBS.Args[1:])
	if err != nil {
		return nil, err
	}
	st.BBS = p
	if err := writeState(dir, st); err != nil {
		return nil, err
	}
	cfg, err := LoadClientConfig(dir)
	if err != nil {
		return nil, err
	}
	return st, waitHealthy(ctx, api.NewClient(cfg.URL, cfg.Token, 5*time.Second), 0, wait)
}

func waitFile(ctx context.Context, path string, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for {
		if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) != "" {
			return strings.TrimSpace(string(b)), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s not written within %v", path, wait)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitHealthy waits until the BBS answers and at least cells cells are present.
func waitHealthy(ctx context.Context, cl *api.Client, cells int, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	var last error
	for {
		var h api.Health
		err := cl.Do(ctx, http.MethodGet, "/v1/health", nil, &h)
		if err == nil && h.Cells >= cells {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("%d of %d cells present", h.Cells, cells)
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster not healthy within %v: %w", wait, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return t, nil
}

func writeState(dir string, st *State) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	return os.WriteFile(filepath.Join(dir, StateFile), append(b, '\n'), 0o600)
}

// ReadState reads DIR/live.json.
func ReadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, fmt.Errorf("no cluster in %s: %w", dir, err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	return &st, nil
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] != 'Z'
	}
	return true
}

// groupAlive lists the live processes of process group pgid.
func groupAlive(pgid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// Status describes each process and the cells the BBS sees.
func Status(ctx context.Context, dir string, w io.Writer) error {
	st, err := ReadState(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "api: %s\nrouter: %s\n", st.URL, st.RouterURL)
	for _, p := range append([]Proc{st.BBS, st.Router}, st.Reps...) {
		if p.Pid == 0 {
			continue
		}
		state := "running"
		if !alive(p.Pid) {
			state = "dead"
		}
		fmt.Fprintf(w, "%-10s pid %-7d %s  (log %s)\n", p.Name, p.Pid, state, filepath.Join(p.Dir, "log"))
	}
	cfg, err := LoadClientConfig(dir)
	if err != nil {
		return err
	}
	var cells []api.CellInfo
	if err := api.NewClient(cfg.URL, cfg.Token, 5*time.Second).Do(ctx, http.MethodGet, "/v1/cells", nil, &cells); err != nil {
		return err
	}
	for _, c := range cells {
		fmt.Fprintf(w, "cell %-10s zone %-4s present %-5v rep %s\n", c.CellID, c.Zone, c.Present, c.RepURL)
	}
	return nil
}

// Down stops every process, cleans up the reps' containers and checks that nothing
// is left. It returns what remains, if anything, as an error.
func Down(ctx context.Context, dir string, timeout time.Duration) error {
	dir, _ = filepath.Abs(dir)
	st, err := ReadState(dir)
	if err != nil {
		return err
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	procs := append(append([]Proc(nil), st.Reps...), st.BBS)
	if st.Router.Pid > 0 {
		procs = append([]Proc{st.Router}, procs...)
	}
	for _, p := range procs {
		sig := syscall.SIGTERM
		if slices.ContainsFunc(st.Reps, func(r Proc) bool { return r.Pid == p.Pid }) {
			sig = syscall.SIGINT // a rep stops at once on SIGINT; SIGTERM would evacuate it
		}
		stopWith(p.Pid, sig, timeout)
	}
	var left []string
	for _, p := range st.Reps {
		ex, err := executor.New(executor.Config{StateDir: filepath.Join(p.Dir, "executor"), StackDir: st.Stack})
		if err != nil {
			left = append(left, fmt.Sprintf("%s: %v", p.Name, err))
			continue
		}
		if err := ex.Cleanup(ctx); err != nil {
			left = append(left, fmt.Sprintf("%s cleanup: %v", p.Name, err))
		}
		l, err := ex.Leftovers(ctx)
		if err != nil {
			left = append(left, fmt.Sprintf("%s leftovers: %v", p.Name, err))
		}
		for _, x := range l {
			left = append(left, p.Name+": "+x)
		}
	}
	for _, p := range procs {
		for _, pid := range groupAlive(p.Pid) {
			left = append(left, fmt.Sprintf("%s: process %d still running", p.Name, pid))
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("live down left: %s", strings.Join(left, "; "))
	}
	return os.Remove(filepath.Join(dir, StateFile))
}

// stop sends SIGTERM to the process group pgid, then SIGKILL after timeout.
func stop(pgid int, timeout time.Duration) { stopWith(pgid, syscall.SIGTERM, timeout) }

// stopWith sends sig to the process group pgid, then SIGKILL after timeout.
func stopWith(pgid int, sig syscall.Signal, timeout time.Duration) {
	if pgid <= 0 {
		return
	}
	_ = syscall.Kill(-pgid, sig)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if len(groupAlive(pgid)) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for i := 0; i < 100 && len(groupAlive(pgid)) > 0; i++ {
		time.Sleep(20 * time.Millisecond)
	}
}

// startRouter starts `diegolab router` (router + route emitter) and waits for its
// address.
func startRouter(ctx context.Context, o Options, dir string, st *State, tokenFile string) error {
	rdir := filepath.Join(dir, "router")
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return err
	}
	listen := o.RouterListen
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	addrFile := filepath.Join(rdir, "addr")
	_ = os.Remove(addrFile)
	args := []string{"router", "--listen", listen, "--bbs", st.URL, "--token-file", tokenFile, "--addr-file", addrFile}
	args = appendDur(args, "--sync-interval", o.RouteSync)
	p, err := start(o.Binary, "router", rdir, args)
	if err != nil {
		return err
	}
	st.Router = p
	addr, err := waitFile(ctx, addrFile, o.Wait)
	if err != nil {
		return fmt.Errorf("router did not start: %w", err)
	}
	st.RouterURL = "http://" + addr
	return nil
}
