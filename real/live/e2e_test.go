package live

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
	"syscall"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// e2eTimers are the short timers of the end-to-end test: presence TTL 3 s,
// heartbeat 1 s, convergence 2 s; every listener on an ephemeral port (another
// cluster on this machine may hold 127.0.0.1:8080).
var e2eTimers = Options{Cells: 2, MemoryMB: 1024, DiskMB: 4096, Containers: 20, PresenceTTL: 3 * time.Second,
	Heartbeat: time.Second, ConvergenceInterval: 2 * time.Second, BulkSync: 2 * time.Second,
	StaleUnclaimed: 5 * time.Second, StartTimeout: 20 * time.Second, Wait: 30 * time.Second, RouterListen: "127.0.0.1:0"}

// startCluster runs Up on o.Dir with the clean-up registered first, so that a
// cluster whose Up failed half-way (a component that did not start) is still taken
// down when the test ends, and what Down finds left fails the test.
func startCluster(tb testing.TB, o Options) *State {
	tb.Helper()
	// The test directory's path must be searchable by others for the reps'
	// containers to get user namespaces (executor: searchableByOthers).
	for _, d := range []string{o.Dir, filepath.Dir(o.Dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(o.Dir, StateFile)); err != nil {
			return // never started, or already down
		}
		if err := Down(context.Background(), o.Dir, 10*time.Second); err != nil {
			tb.Error(err)
		}
	})
	st, err := Up(context.Background(), o)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// requireHost skips with the name of what is missing.
func requireHost(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: real mode needs root (runc containers with cgroup limits)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("skipping: no runc on PATH (apt-get install -y runc)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("skipping: no /bin/busybox (apt-get install -y busybox-static)")
	}
}

// built holds the binaries buildBinaries makes once per test binary (linking
// diegolab takes 10-20 s on a loaded machine, and the package's tests must fit
// CI's timeout); TestMain removes them.
var built struct {
	sync.Once
	dir, bin, goapp string
	err             error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	if dockerBin.path != "" { // docker_e2e_test.go's build
		_ = os.RemoveAll(filepath.Dir(dockerBin.path))
	}
	os.Exit(code)
}

// buildBinaries builds diegolab and the Go example app (with its Procfile) into a
// temporary directory, once per test binary; tests only read them.
func buildBinaries(t testing.TB) (bin, goapp string) {
	t.Helper()
	built.Do(func() { built.bin, built.goapp, built.err = build() })
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin, built.goapp
}

func build() (bin, goapp string, err error) {
	root, err := filepath.Abs("../..")
	if err != nil {
		return "", "", err
	}
	if built.dir, err = os.MkdirTemp("", "diegolab-live-test-"); err != nil {
		return "", "", err
	}
	// Searchable by others: the reps' containers run in user namespaces.
	if err := os.Chmod(built.dir, 0o755); err != nil {
		return "", "", err
	}
	bin = filepath.Join(built.dir, "diegolab")
	goapp = filepath.Join(built.dir, "goapp")
	for _, b := range [][2]string{{bin, "./cmd/diegolab"}, {filepath.Join(goapp, "app"), "./examples/goapp"}} {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(goapp, "Procfile"), []byte("web: ./app\n"), 0o644); err != nil {
		return "", "", err
	}
	return bin, goapp, nil
}

func get(t testing.TB, addr, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func appDetail(t testing.TB, cl *api.Client, name string) api.AppDetail {
	t.Helper()
	var d api.AppDetail
	if err := cl.Do(context.Background(), http.MethodGet, "/v1/apps/"+name, nil, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

func TestEndToEnd(t *testing.T) {
	tc := upTest(t, nil)
	dir, st, cfg, goapp, o := tc.Dir, tc.State, tc.Cfg, tc.GoApp, tc.Opts
	ctx := context.Background()
	if fi, err := os.Stat(filepath.Join(dir, ConfigFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("client config mode: %v %v, want 0600", fi.Mode(), err)
	}
	cl := api.NewClient(cfg.URL, cfg.Token, 10*time.Second)

	// Static site, 3 instances: all RUNNING, each address serves the page.
	d, err := Push(ctx, cl, "web", "../../examples/static", PushOptions{Instances: 3, MemoryMB: 64, DiskMB: 64, Buildpack: "static", Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range d.InstancesDetail {
		if code, body := get(t, in.Address, "/"); code != 200 || !strings.Contains(body, "Hello from diegolab") {
			t.Fatalf("instance %d at %s: %d %q", in.Index, in.Address, code, body)
		}
	}

	// Go app: /crash makes one instance crash; it comes back with crash count 1.
	g, err := Push(ctx, cl, "goapp", goapp, PushOptions{Instances: 2, MemoryMB: 64, DiskMB: 64, Buildpack: "binary", Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	victim := g.InstancesDetail[0]
	get(t, victim.Address, "/crash")
	waitFor(t, "crashed instance back RUNNING with crash count 1", 20*time.Second, func() bool {
		for _, in := range appDetail(t, cl, "goapp").InstancesDetail {
			if in.Index == victim.Index && in.Presence == "ORDINARY" && in.State == "RUNNING" && in.CrashCount == 1 {
				code, _ := get(t, in.Address, "/health")
				return code == 200
			}
		}
		return false
	})

	// kill -9 one rep: the supervisor restarts it (as monit would), and the
	// restarted rep re-adopts the instances that ran on its cell (their ports
	// were served all along by their port proxies): every instance RUNNING, and
	// those of the killed cell are the same instances, not replacements.
	killed := st.Reps[0]
	onKilled := map[string]bool{} // instance guids on the killed cell: they must be re-adopted
	for _, name := range []string{"web", "goapp"} {
		for _, in := range appDetail(t, cl, name).InstancesDetail {
			if in.CellID == killed.Name {
				onKilled[in.InstanceGUID] = true
			}
		}
	}
	if err := syscall.Kill(killed.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the supervisor restarted the rep", 10*time.Second, func() bool {
		now, err := ReadState(dir)
		return err == nil && now.Reps[0].Restarts == 1 && strings.Contains(now.Reps[0].LastExit, "killed") && now.Reps[0].Pid != killed.Pid
	})
	time.Sleep(o.PresenceTTL + o.ConvergenceInterval) // what the BBS would do about a dead cell
	for _, name := range []string{"web", "goapp"} {
		a := appDetail(t, cl, name)
		n := 0
		for _, in := range a.InstancesDetail {
			if in.Presence == "ORDINARY" && in.State == "RUNNING" {
				n++
				delete(onKilled, in.InstanceGUID)
			}
		}
		if n != a.Instances {
			t.Errorf("%s after the rep kill: %d RUNNING of %d", name, n, a.Instances)
		}
	}
	if len(onKilled) > 0 {
		t.Errorf("instances of the killed cell not re-adopted: %v", onKilled)
	}

	// kill -9 the BBS and restart it: the same apps and instances.
	before := map[string]int{}
	for _, name := range []string{"web", "goapp"} {
		before[name] = appDetail(t, cl, name).Instances
	}
	if st, err = ReadState(dir); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(st.BBS.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bbs gone", 5*time.Second, func() bool { return !alive(st.BBS.Pid) })
	if _, err := RestartBBS(ctx, dir, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	var apps []api.App
	if err := cl.Do(ctx, http.MethodGet, "/v1/apps", nil, &apps); err != nil {
		t.Fatal(err)
	}
	if len(apps) != 2 || apps[0].Name != "goapp" || apps[1].Name != "web" {
		t.Fatalf("apps after the BBS restart = %+v", apps)
	}
	for name, n := range before {
		if _, err := WaitRunning(ctx, cl, name, 0, 20*time.Second); err != nil {
			t.Fatalf("after the BBS restart: %v", err)
		}
		if got := appDetail(t, cl, name).Instances; got != n {
			t.Fatalf("%s instances after restart = %d, want %d", name, got, n)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "bbs", "events.jsonl")); err != nil || !strings.Contains(string(b), `"type":"actual_lrp"`) {
		t.Fatalf("events.jsonl: %v", err)
	}

	// live down leaves nothing (Down checks executor.Leftovers and the process groups).
	if err := Down(ctx, dir, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("runc", "--root", filepath.Join(dir, "cells", "cell-1", "executor", "runc"), "list", "-q").CombinedOutput()
	if strings.TrimSpace(string(out)) != "" {
		t.Fatalf("runc containers left: %s", out)
	}
}
