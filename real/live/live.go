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
	"github.com/diegolab/diegolab/real/hostnet"
	"github.com/diegolab/diegolab/real/sqlstore"
	"github.com/diegolab/diegolab/real/stack"
	"github.com/diegolab/diegolab/real/tlsconf"
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
	// TLSDir, when set, holds the certificates (diegolab certs) the CLI presents to
	// a BBS that requires mutual TLS.
	TLSDir string `json:"tls_dir,omitempty"`
}

// NewClient is an API client for this config (with its TLS, if any).
func (c ClientConfig) NewClient(timeout time.Duration) (*api.Client, error) {
	cl := api.NewClient(c.URL, c.Token, timeout)
	if c.TLSDir != "" {
		cfg, err := tlsconf.Client(c.TLSDir, "client")
		if err != nil {
			return nil, err
		}
		cl.WithTLS(cfg)
	}
	return cl, nil
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
	// Registries starts the upstream and cache registries (registry.go);
	// RegistryCache also turns the private registry cache on for Docker apps that
	// do not choose (and implies Registries).
	Registries, RegistryCache bool
	// DB is the BBS's PostgreSQL URL (empty: SQLite in the cluster directory).
	DB string `json:",omitempty"`
	// TLS: mutual TLS between every component and the CLI, with certificates made
	// in DIR/tls (tlsconf; kept across ups).
	TLS bool `json:",omitempty"`
	// Scenario runs (real/scenario) name and place the cells as a scenario does and
	// inject faults; these stay empty for `live up`.
	//   CellIDs, CellZones: cell i's id and zone (default cell-i, zone z(i mod 2)).
	//   Algorithm, Auction*: the BBS's auction (`diegolab bbs` flags; defaults when empty).
	//   TickInterval: the BBS's tick (a scenario run ticks finer, as the simulator
	//   notices a lapsed presence at its exact time).
	//   HoldDeadReps: the supervisor restarts a dead rep only once its hold file
	//   (supervisor/hold/CELL) is gone, so a crash-cell fault stays crashed until
	//   restore-cell (see Hold).
	CellIDs, CellZones      []string `json:",omitempty"`
	Algorithm               string   `json:",omitempty"`
	StartingContainerWeight *float64 `json:",omitempty"`
	BinPackFirstFitWeight   float64  `json:",omitempty"`
	MaxStartingContainers   int      `json:",omitempty"`
	HoldDeadReps            bool     `json:",omitempty"`
	// TickInterval is how often the BBS checks presences and convergence (1 s).
	TickInterval time.Duration `json:",omitempty"`
	// Hosts > 0 spreads the cells over that many hosts: network namespaces the
	// cluster makes (hosts.go, real/hostnet).
	Hosts int `json:",omitempty"`
	// BBSPair starts a second BBS on the same PostgreSQL database (DB): an
	// active/passive pair (pair.go). LockTTL is the BBSs' lock TTL (Locket's 15 s
	// when zero).
	BBSPair bool          `json:",omitempty"`
	LockTTL time.Duration `json:",omitempty"`
}

// tlsDir is where `live up --tls` keeps the cluster's certificates.
func tlsDir(dir string) string { return filepath.Join(dir, "tls") }

// Proc is one child process.
type Proc struct {
	Name string   `json:"name"`
	Pid  int      `json:"pid"`
	Args []string `json:"args"`
	Dir  string   `json:"dir"`
	// StartTime is the process's start time (clock ticks since boot): with the
	// pid it names the process, so that a recycled pid is never signalled.
	StartTime uint64 `json:"start_time,omitempty"`
	// Restarts and LastExit: how often the supervisor restarted the component,
	// and why it last exited.
	Restarts int    `json:"restarts,omitempty"`
	LastExit string `json:"last_exit,omitempty"`
}

// State is live.json (written by the supervisor).
type State struct {
	URL        string `json:"url"`
	RouterURL  string `json:"router_url"`
	Supervisor Proc   `json:"supervisor"`
	BBS        Proc   `json:"bbs"`
	// BBSB is the second BBS of an active/passive pair (live up --bbs-pair).
	BBSB   Proc   `json:"bbs_b,omitzero"`
	Router Proc   `json:"router"`
	Reps   []Proc `json:"reps"`
	Stack  string `json:"stack"`
	// Registry is the registries' process (live up --registries) and Registries
	// their addresses.
	Registry   Proc           `json:"registry,omitzero"`
	Registries *RegistryAddrs `json:"registries,omitempty"`
	// History is every process the supervisor ever started in this directory.
	History []Proc `json:"history,omitempty"`
	// Net is the hosts of a multi-host cluster (hosts.go), and InnerURL the BBS's
	// URL on the hub, which the reps and the router use (URL is the CLI's).
	Net      *hostnet.Net `json:"net,omitempty"`
	InnerURL string       `json:"inner_url,omitempty"`
	// Ready: every component started; Error: why starting failed.
	Ready bool   `json:"ready"`
	Error string `json:"error,omitempty"`
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
	if err := o.checkHosts(); err != nil {
		return nil, err
	}
	if err := o.checkPair(); err != nil {
		return nil, err
	}
	if o.DB != "" && !sqlstore.IsPostgresURL(o.DB) {
		return nil, fmt.Errorf("db: %q must be a postgres:// or postgresql:// URL (leave it empty for SQLite)", o.DB)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if st, err := ReadState(dir); err == nil {
		if same(st.Supervisor) {
			return nil, fmt.Errorf("a cluster is already up in %s (supervisor pid %d): `diegolab live status` shows it, `diegolab live down` stops it", dir, st.Supervisor.Pid)
		}
		if left := halfDead(st); len(left) > 0 {
			return nil, fmt.Errorf("%s holds a half-dead cluster (no supervisor; still running: %s): run `diegolab live down --dir %s` first, which stops every process this directory started", dir, strings.Join(left, ", "), dir)
		}
	}
	if o.Binary == "" {
		if o.Binary, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	// Searchable by others (not readable): the reps' containers run in user
	// namespaces, whose root must traverse to the stack and the container dirs.
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, err
	}
	sdir := filepath.Join(dir, "supervisor")
	for _, d := range []string{filepath.Join(dir, "bbs"), sdir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if err := stack.Build(ctx, filepath.Join(dir, "stack"), ""); err != nil {
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
	if o.TLS {
		var to tlsconf.Options
		if o.Hosts > 0 {
			to.Hosts = HostsNet(dir, o.Hosts).Addrs() // SANs: the hub's and the hosts' addresses
		}
		if err := tlsconf.Generate(tlsDir(dir), to); err != nil {
			return nil, err
		}
	}
	ob, _ := json.MarshalIndent(o, "", "  ")
	if err := os.WriteFile(filepath.Join(sdir, optionsFile), append(ob, '\n'), 0o600); err != nil {
		return nil, err
	}
	_ = os.Remove(filepath.Join(dir, StateFile))
	_ = os.Remove(filepath.Join(dir, ConfigFile))
	sup, err := start(o.Binary, "supervisor", sdir, []string{"live", "supervise", "--dir", dir})
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*State, error) {
		return nil, fmt.Errorf("%w (logs in %s; run `diegolab live down --dir %s` to clean up)", err, dir, dir)
	}
	// The supervisor starts the components (its children) and marks live.json ready.
	deadline := time.Now().Add(3*o.Wait + 10*time.Second)
	var st *State
	for {
		st, err = ReadState(dir)
		if err == nil && (st.Ready || st.Error != "") {
			break
		}
		if !alive(sup.Pid) {
			return fail(fmt.Errorf("the supervisor exited while starting the cluster: %s", tail(filepath.Join(sdir, "log"))))
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("cluster not up within %v", time.Until(deadline)+3*o.Wait+10*time.Second))
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if st.Error != "" {
		return fail(errors.New(st.Error))
	}
	tok, err := readToken(clientTok)
	if err != nil {
		return fail(err)
	}
	cc := ClientConfig{URL: st.URL, Token: tok, RouterURL: st.RouterURL}
	if o.TLS {
		cc.TLSDir = tlsDir(dir)
	}
	cfg, _ := json.MarshalIndent(cc, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), append(cfg, '\n'), 0o600); err != nil {
		return fail(err)
	}
	return st, nil
}

// tail returns the last lines of a log file, for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return strings.TrimSpace(string(b))
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
	return Proc{Name: name, Pid: cmd.Process.Pid, Args: append([]string{bin}, args...), Dir: dir, StartTime: startTime(cmd.Process.Pid)}, nil
}

// RestartBBS waits until the BBS answers again after it died: the supervisor
// restarts it (same port, same state); without a running supervisor (it was
// killed too) the BBS is started here with its recorded arguments.
func RestartBBS(ctx context.Context, dir string, wait time.Duration) (*State, error) {
	dir, _ = filepath.Abs(dir)
	st, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	cfg, err := LoadClientConfig(dir)
	if err != nil {
		return nil, err
	}
	if !same(st.Supervisor) && !same(st.BBS) {
		if st.Net != nil {
			return nil, fmt.Errorf("the BBS of a multi-host cluster serves the CLI on a socket its supervisor holds, and the supervisor of %s is gone: `diegolab live down --dir %s`, then `live up`", dir, dir)
		}
		p, err := start(st.BBS.Args[0], "bbs", st.BBS.Dir, st.BBS.Args[1:])
		if err != nil {
			return nil, err
		}
		st.BBS = p
		st.History = append(st.History, p)
		if err := writeState(dir, st); err != nil {
			return nil, err
		}
	}
	cl, err := cfg.NewClient(5 * time.Second)
	if err != nil {
		return nil, err
	}
	if err := waitHealthy(ctx, cl, 0, wait); err != nil {
		return nil, err
	}
	return ReadState(dir)
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

// writeState replaces live.json atomically (a reader never sees half of it: the
// supervisor rewrites it while live status, live down and tests read it).
func writeState(dir string, st *State) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp, err := os.CreateTemp(dir, ".live-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, StateFile))
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
	if r := st.Registries; r != nil {
		fmt.Fprintf(w, "registries: upstream %s, cache %s\n", r.Upstream, r.Cache)
	}
	if n := st.Net; n != nil {
		fmt.Fprintf(w, "hosts: %d (namespaces %s, %s..%s), hub %s, components' bbs %s\n",
			n.Hosts, n.HubNS(), n.HostNS(0), n.HostNS(n.Hosts-1), hostnet.HubAddr, st.InnerURL)
	}
	if !same(st.Supervisor) {
		fmt.Fprintf(w, "supervisor pid %d is not running: nothing restarts dead components; `diegolab live down` then `live up` (log %s)\n",
			st.Supervisor.Pid, filepath.Join(st.Supervisor.Dir, "log"))
	}
	for _, p := range append([]Proc{st.Supervisor, st.BBS, st.BBSB, st.Router, st.Registry}, st.Reps...) {
		if p.Pid == 0 {
			continue
		}
		state := "running"
		if !same(p) {
			state = "dead"
			if p.Name != "supervisor" && same(st.Supervisor) {
				state = "dead (the supervisor restarts it)"
			}
		}
		fmt.Fprintf(w, "%-10s pid %-7d %s  restarts %d  (log %s)\n", p.Name, p.Pid, state, p.Restarts, filepath.Join(p.Dir, "log"))
		if p.LastExit != "" {
			fmt.Fprintf(w, "           last exit: %s\n", p.LastExit)
		}
	}
	cfg, err := LoadClientConfig(dir)
	if err != nil {
		return err
	}
	var cells []api.CellInfo
	cl, err := cfg.NewClient(5 * time.Second)
	if err != nil {
		return err
	}
	if err := cl.Do(ctx, http.MethodGet, "/v1/cells", nil, &cells); err != nil {
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
	// The supervisor first (it would restart what is stopped; it stops its
	// children when told), then every process the directory ever started that is
	// still the recorded process (pid and start time).
	if same(st.Supervisor) {
		stop(st.Supervisor.Pid, timeout)
	}
	procs := recorded(st)
	for _, p := range procs {
		if same(p) || leftoverGroup(p) {
			sig := syscall.SIGTERM
			if slices.ContainsFunc(st.Reps, func(r Proc) bool { return r.Pid == p.Pid }) {
				sig = syscall.SIGINT // a rep stops at once on SIGINT; SIGTERM would evacuate it
			}
			stopWith(p.Pid, sig, timeout)
		}
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
		if !same(p) && !leftoverGroup(p) {
			continue // gone, or its pid now belongs to another process
		}
		for _, pid := range groupAlive(p.Pid) {
			left = append(left, fmt.Sprintf("%s: process %d still running", p.Name, pid))
		}
	}
	if st.Net != nil {
		// Every process in the namespaces is gone: remove them (the supervisor does
		// when it stops; a killed one leaves them).
		if err := st.Net.Destroy(); err != nil {
			left = append(left, err.Error())
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
