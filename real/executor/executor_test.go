package executor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/stack"
)

// sharedStack is built once per test binary (Build is idempotent).
var sharedStack struct {
	sync.Once
	dir string
	err error
}

// requireHost skips with a message naming what is missing.
func requireHost(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("skipping: needs root (runc containers, cgroups, mounts); run as root, as .ci/run does")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		tb.Skip("skipping: runc missing (apt-get install -y runc)")
	}
	if _, err := os.Stat(stack.DefaultBusybox); err != nil {
		tb.Skipf("skipping: %s missing (apt-get install -y busybox-static)", stack.DefaultBusybox)
	}
}

func newTestExecutor(tb testing.TB, mode RootfsMode) (*Executor, string) {
	tb.Helper()
	requireHost(tb)
	sharedStack.Do(func() {
		sharedStack.dir = filepath.Join(os.TempDir(), "diegolab-test-stack")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sharedStack.err = stack.Build(ctx, sharedStack.dir, "")
	})
	if sharedStack.err != nil {
		tb.Fatal(sharedStack.err)
	}
	stateDir := searchableTempDir(tb)
	ex, err := New(Config{StateDir: stateDir, StackDir: sharedStack.dir, Rootfs: mode})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := ex.Cleanup(ctx); err != nil {
			tb.Errorf("Cleanup: %v", err)
		}
	})
	return ex, stateDir
}

// searchableTempDir is a test directory whose path other users can traverse (the
// container's root in its user namespace must, to mount its root file system).
func searchableTempDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// logs collects a container's output.
type logs struct {
	mu    sync.Mutex
	lines []string
	seen  chan string // every line, for tests waiting on one
}

func newLogs() *logs { return &logs{seen: make(chan string, 1024)} }

func (l *logs) fn(line LogLine) {
	s := string(line.Stream) + " " + line.Text
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
	select {
	case l.seen <- s:
	default:
	}
}

func (l *logs) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *logs) has(s string) bool {
	for _, x := range l.all() {
		if x == s {
			return true
		}
	}
	return false
}

// waitLine blocks until a line equal to want arrives.
func (l *logs) waitLine(ctx context.Context, want string) error {
	for {
		select {
		case s := <-l.seen:
			if s == want {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for %q: %w (got %q)", want, ctx.Err(), l.all())
		}
	}
}

// run creates and starts a container and waits for its exit.
func run(t *testing.T, ex *Executor, spec ContainerSpec) (Exit, *logs, *Container) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l := newLogs()
	spec.Log = l.fn
	c, err := ex.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	x, err := c.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return x, l, c
}

func TestOutputAndExitCode(t *testing.T) {
	ex, _ := newTestExecutor(t, RootfsAuto)
	x, l, c := run(t, ex, ContainerSpec{ID: "echo", MemoryMB: 64, Command: "echo hello; echo oops >&2; exit 3"})
	t.Logf("rootfs mode on this host: %s; cgroup v%d", c.RootfsMode(), ex.CgroupVersion())
	if x.Code != 3 || x.OOMKilled || x.Stopped || !x.Crashed() {
		t.Errorf("exit = %+v, want code 3, not OOM, not stopped", x)
	}
	if !l.has("OUT hello") || !l.has("ERR oops") {
		t.Errorf("output = %q, want OUT hello and ERR oops", l.all())
	}
	if err := c.Destroy(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := ex.List(); len(got) != 0 {
		t.Errorf("List after Destroy = %+v", got)
	}
}

// TestStop: "echo hello; sleep" runs until Stop; SIGTERM reaches the
// command through the init, which exits 128+15 = 143.
func TestStop(t *testing.T) {
	ex, _ := newTestExecutor(t, RootfsAuto)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l := newLogs()
	c, err := ex.Create(ctx, ContainerSpec{ID: "sleeper", MemoryMB: 64, Command: "echo hello; sleep 600", Log: l.fn})
	if err != nil {
		t.Fatal(err)
	}
	if info := ex.List(); len(info) != 1 || info[0].State != StateCreated || info[0].Pid <= 0 {
		t.Errorf("List after Create = %+v", info)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err == nil {
		t.Error("second Start succeeded")
	}
	if err := l.waitLine(ctx, "OUT hello"); err != nil {
		t.Fatal(err)
	}
	x, err := c.Stop(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if x.Code != 143 || !x.Stopped || x.Crashed() {
		t.Errorf("exit = %+v, want code 143 (SIGTERM) and stopped", x)
	}
}

func TestIsolation(t *testing.T) {
	ex, _ := newTestExecutor(t, RootfsAuto)
	hostDir := t.TempDir()
	marker := filepath.Join(hostDir, "host-marker")
	if err := os.WriteFile(marker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	appDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(appDir, "droplet.txt"), []byte("droplet-content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		`echo "uid=$(id -u) gid=$(id -g)"`,
		`echo "procs=$(ls /proc | grep -c '^[0-9]')"`,
		`tr '\0' ' ' </proc/1/cmdline | grep -q diegolab-init && echo pid1=init`,
		`test -e ` + marker + ` && echo marker=visible || echo marker=absent`,
		`echo "links=$(ip -o link | wc -l)"`,
		`ip -o link | grep -q ': lo:' && echo has=lo`,
		`echo "routes=$(ip route | wc -l)"`,
		`grep CapEff /proc/self/status | tr -s '\t ' ' '`,
		`grep NoNewPrivs /proc/self/status | tr -s '\t ' ' '`,
		`cat /home/vcap/app/droplet.txt`,
		`touch /home/vcap/app/new 2>/dev/null && echo app=writable || echo app=readonly`,
		`touch /tmp/new && echo tmp=writable`,
		`echo "host=$(hostname)"`,
	}, "\n")
	x, l, _ := run(t, ex, ContainerSpec{ID: "iso", MemoryMB: 64, AppDir: appDir, Command: script})
	if x.Code != 0 {
		t.Fatalf("exit = %+v, output %q", x, l.all())
	}
	for _, want := range []string{
		"OUT uid=2000 gid=2000",
		"OUT pid1=init",
		"OUT marker=absent",
		"OUT links=1", "OUT has=lo", // only the loopback interface
		"OUT routes=0", // no route anywhere (lo's routes live in the local table)
		"OUT CapEff: 0000000000000000",
		"OUT NoNewPrivs: 1",
		"OUT droplet-content",
		"OUT app=readonly",
		"OUT tmp=writable",
		"OUT host=iso",
	} {
		if !l.has(want) {
			t.Errorf("missing %q in %q", want, l.all())
		}
	}
	// The container sees its own few processes (init, the command's shell,
	// ls, grep and the $(...) subshell), never the host's hundreds.
	for _, line := range l.all() {
		var n int
		if _, err := fmt.Sscanf(line, "OUT procs=%d", &n); err == nil && (n < 2 || n > 8) {
			t.Errorf("container sees %d processes, want 2..8", n)
		}
	}
}

func TestMemoryLimitOOM(t *testing.T) {
	ex, _ := newTestExecutor(t, RootfsAuto)
	// tail keeps the last line; /dev/zero has no newline, so it buffers all
	// 200 MiB and meets the 32 MiB limit.
	x, l, _ := run(t, ex, ContainerSpec{ID: "hog", MemoryMB: 32, Command: "head -c 200m /dev/zero | tail"})
	// The pipeline's status is tail's: 128 + SIGKILL(9) = 137.
	if !x.OOMKilled || !x.Crashed() || x.Code != 137 {
		t.Errorf("exit = %+v, want an OOM-killed crash with code 137 (output %q)", x, l.all())
	}
	t.Logf("exit: %s", x.Reason)
}

func TestPidsLimit(t *testing.T) {
	ex, _ := newTestExecutor(t, RootfsAuto)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l := newLogs()
	// A fork bomb in slow motion: start 200 sleepers; the limit of 16 pids
	// stops it, the shell reports that it cannot fork and gives up.
	c, err := ex.Create(ctx, ContainerSpec{ID: "forks", MemoryMB: 64, MaxPids: 16, Log: l.fn,
		Command: `i=0; while [ $i -lt 200 ]; do sleep 600 & i=$((i+1)); done; echo spawned-all`})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	x, err := c.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	refused, err := pidsMaxEvents(ex.CgroupVersion(), c.cgroupPath)
	if err != nil {
		t.Fatal(err)
	}
	if refused == 0 {
		t.Errorf("pids.events max = 0: the limit never refused a fork (exit %+v, output %q)", x, l.all())
	}
	if l.has("OUT spawned-all") {
		t.Errorf("all 200 sleepers started under a 16-pid limit: %q", l.all())
	}
	t.Logf("exit %+v; forks refused: %d", x, refused)
}

func TestPortMapping(t *testing.T) {
	ex, _ := newTestExecutor(t, RootfsAuto)
	appDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(appDir, "index.html"), []byte("hello from the container\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := ex.Create(ctx, ContainerSpec{ID: "web", MemoryMB: 64, AppDir: appDir, Ports: []int{8080},
		Command: `exec httpd -f -p $PORT -h /home/vcap/app`})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := c.HostAddr(8080)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("mapped address %s is not on loopback", addr)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// httpd signals nothing when it listens: poll the port as Diego's
	// health check does, bounded by ctx.
	var body string
	for {
		resp, err := httpGet(ctx, "http://"+addr+"/index.html")
		if err == nil {
			body = resp
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("GET %s: %v", addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if body != "hello from the container\n" {
		t.Errorf("body = %q", body)
	}
}

func httpGet(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return string(b), nil
}

func TestCopyRootfs(t *testing.T) {
	ex, _ := newTestExecutor(t, RootfsCopy)
	x, l, c := run(t, ex, ContainerSpec{ID: "copy", MemoryMB: 64, Command: "touch /tmp/f && id -u"})
	if c.RootfsMode() != RootfsCopy || x.Code != 0 || !l.has("OUT 2000") {
		t.Errorf("mode %s exit %+v output %q", c.RootfsMode(), x, l.all())
	}
}

// TestCleanupLeavesNothing covers both this executor's containers and ones a
// previous executor on the same StateDir left behind (a restarted rep).
func TestCleanupLeavesNothing(t *testing.T) {
	ex, stateDir := newTestExecutor(t, RootfsAuto)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	running, err := ex.Create(ctx, ContainerSpec{ID: "a", MemoryMB: 64, Ports: []int{8080}, Command: "sleep 600"})
	if err != nil {
		t.Fatal(err)
	}
	if err := running.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ex.Create(ctx, ContainerSpec{ID: "b", MemoryMB: 64, Command: "sleep 600"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ex.Create(ctx, ContainerSpec{ID: "a", MemoryMB: 64, Command: "true"}); err == nil {
		t.Error("second container with id a was created")
	}
	left, err := ex.Leftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) == 0 {
		t.Fatal("Leftovers found nothing while two containers exist")
	}
	// A second executor on the same state dir (as after a rep restart).
	ex2, err := New(Config{StateDir: stateDir, StackDir: sharedStack.dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := ex2.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	left, err = ex2.Leftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("after Cleanup: %q", left)
	}
	out, err := exec.CommandContext(ctx, "runc", "--root", ex.RuncRoot(), "list", "-q").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("runc list: %q (%v)", out, err)
	}
	if _, err := running.Wait(ctx); err != nil {
		t.Errorf("container a's init was not reaped: %v", err)
	}
	// The first executor's view: Cleanup is still safe and leaves nothing.
	if err := ex.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ex.List(); len(got) != 0 {
		t.Errorf("List after Cleanup = %+v", got)
	}
}

// TestPortIPRefused: ports are mapped on 127.0.0.1 or a multi-host cluster's own
// addresses (real/hostnet), never on another address.
func TestPortIPRefused(t *testing.T) {
	newTestExecutor(t, RootfsAuto) // builds the shared stack
	for _, ip := range []string{"0.0.0.0", "8.8.8.8", "10.213.1.1", "::1", "localhost"} {
		_, err := New(Config{StateDir: searchableTempDir(t), StackDir: sharedStack.dir, PortIP: ip})
		if err == nil || !strings.Contains(err.Error(), "PortIP") {
			t.Errorf("PortIP %q: %v, want a refusal naming PortIP", ip, err)
		}
	}
}
