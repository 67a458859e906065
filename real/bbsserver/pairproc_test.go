package bbsserver

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diegolab/diegolab/internal/proctest"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
)

// bbsProc is one `diegolab bbs` process of a test.
type bbsProc struct {
	cmd *exec.Cmd
	dir string
	url string
}

func buildDiegolab(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "diegolab")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/diegolab")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startBBSProc starts `diegolab bbs` on db with a short lock TTL; the process is
// killed (and continued first, if stopped) in t.Cleanup.
func startBBSProc(t *testing.T, bin, db, blobs, name string, ttl time.Duration) *bbsProc {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for f, tok := range map[string]string{"client.token": "client-token", "rep.token": "rep-token"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	addr := filepath.Join(dir, "addr")
	cmd := exec.Command(bin, "bbs", "--dir", dir, "--db", db, "--listen", "127.0.0.1:0", "--addr-file", addr,
		"--token-file", filepath.Join(dir, "client.token"), "--rep-token-file", filepath.Join(dir, "rep.token"),
		"--lock-ttl", ttl.String(), "--lock-retry", (ttl / 10).String(), "--blobs-dir", blobs)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &bbsProc{cmd: cmd, dir: dir}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Logf("%s log:\n%s", name, b)
		}
	})
	waitFor(t, 30*time.Second, name+" writes its address", func() bool {
		b, err := os.ReadFile(addr)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			p.url = "http://" + strings.TrimSpace(string(b))
			return true
		}
		return false
	})
	return p
}

// TestPairProcesses: two `diegolab bbs` processes on PostgreSQL (lock TTL 2 s).
//   - SIGSTOP the active past the TTL: the passive takes over; SIGCONT: the old
//     active answers its very next write with 503 and stays passive.
//   - kill -9 the active: writes through a client that knows both are answered
//     within TTL + 2 s of the death, with the app and its task intact; scale works.
func TestPairProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds diegolab and runs processes")
	}
	db := pgDB(t)
	bin := buildDiegolab(t)
	const ttl = 2 * time.Second
	blobs := t.TempDir() // shared by the pair, as on one machine
	a := startBBSProc(t, bin, db, blobs, "a", ttl)
	b := startBBSProc(t, bin, db, blobs, "b", ttl)
	ctx := context.Background()
	pair := a.url + "," + b.url
	cl := api.NewClient(pair, "client-token", 5*time.Second)
	reps := api.NewClient(pair, "rep-token", 5*time.Second)
	heartbeat := func(c *api.Client) error {
		return c.Do(ctx, "POST", "/v1/presence", api.Presence{CellID: "cell-0", Zone: "z0", RepURL: "http://127.0.0.1:1",
			Capacity: model.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: 10}, RootFSProviders: []string{"preloaded"}}, nil)
	}
	if err := heartbeat(reps); err != nil {
		t.Fatal(err)
	}
	if reps.Base() != a.url {
		t.Fatalf("first started BBS %s is not the one answering (%s)", a.url, reps.Base())
	}
	content, sha, task := pushStatic(t, cl)
	tasks := []api.TaskInfo{task}

	// SIGSTOP the active past its TTL.
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// kill returns before the process has stopped: until every thread has, a still
	// answers (a write 1 ms after the signal was answered by a, under load).
	proctest.WaitStopped(t, a.cmd.Process.Pid, 10*time.Second)
	stopped := time.Now()
	// A stopped process's socket still accepts connections: a client waits its
	// request timeout, 5 s here, before it tries the next BBS, so the first write
	// lands after about 5 s (the figure logged below); the bound leaves a second
	// attempt room on a loaded machine (CI runs the other real-mode packages beside).
	waitFor(t, ttl+2*5*time.Second, "b answers writes while a is stopped", func() bool { return heartbeat(reps) == nil })
	t.Logf("writes answered by b %v after a was stopped (TTL %v)", time.Since(stopped).Round(time.Millisecond), ttl)
	if reps.Base() != b.url {
		t.Fatalf("client follows %s, want b %s", reps.Base(), b.url)
	}
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	onlyA := api.NewClient(a.url, "rep-token", 5*time.Second)
	for i := range 10 { // its first writes after resuming, and later ones
		err := heartbeat(onlyA)
		var e *api.Error
		if !errors.As(err, &e) || e.Status != 503 || !e.Passive || e.Active != b.url {
			t.Fatalf("write %d to a after SIGCONT: %v, want 503 naming %s", i, err, b.url)
		}
		time.Sleep(time.Duration(i) * 50 * time.Millisecond)
	}

	// kill -9 the active (now b).
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	died := time.Now()
	waitFor(t, ttl+5*time.Second, "a answers writes after b died", func() bool { return heartbeat(reps) == nil })
	failover := time.Since(died)
	t.Logf("failover: writes answered %v after kill -9 of the active (TTL %v, goal < TTL + 2 s)", failover.Round(time.Millisecond), ttl)
	if failover > ttl+2*time.Second {
		t.Fatalf("failover took %v, goal < %v", failover, ttl+2*time.Second)
	}
	var after []api.TaskInfo
	if err := cl.Do(ctx, "GET", "/v1/tasks", nil, &after); err != nil || len(after) != 1 || after[0].GUID != tasks[0].GUID {
		t.Fatalf("tasks after failover = %+v, %v; want %+v", after, err, tasks)
	}
	n := 4
	if err := cl.Do(ctx, "POST", "/v1/apps/web/scale", api.ScaleRequest{Instances: &n}, nil); err != nil {
		t.Fatalf("scale after failover: %v", err)
	}
	var app api.App
	if err := cl.Do(ctx, "GET", "/v1/apps/web", nil, &app); err != nil || app.Instances != 4 {
		t.Fatalf("app after scale = %+v, %v", app, err)
	}
	// The package pushed to the first active is there for the second (--blobs-dir).
	var page strings.Builder
	if err := cl.DoRaw(ctx, "GET", "/v1/blobs/"+sha, nil, "", &page); err != nil || page.String() != content {
		t.Fatalf("blob after failover: %q, %v", page.String(), err)
	}
}
