package executor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gorunc "github.com/containerd/go-runc"
)

// ownerEnv makes this test binary an executor's owner process (runOwner): it
// creates and starts one web container on the state dir it is given, prints the
// container's mapped address and waits to be killed, as a rep does.
const ownerEnv = "DIEGOLAB_EXECUTOR_TEST_OWNER"

func init() {
	if v := os.Getenv(ownerEnv); v != "" {
		os.Unsetenv(ownerEnv) // not for the port proxy it starts
		os.Exit(runOwner(v))
	}
}

// webCommand serves the app dir on $PORT and writes a line every 200 ms.
const webCommand = `(while true; do echo tick; sleep 0.2; done) & exec httpd -f -p $PORT -h /home/vcap/app`

func runOwner(arg string) int {
	var a struct{ StateDir, StackDir, AppDir string }
	if err := json.Unmarshal([]byte(arg), &a); err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	ex, err := New(Config{StateDir: a.StateDir, StackDir: a.StackDir})
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := ex.Create(ctx, ContainerSpec{ID: "web", MemoryMB: 64, AppDir: a.AppDir, Ports: []int{8080},
		Command: webCommand, Meta: json.RawMessage(`{"instance":"i-1"}`)})
	if err == nil {
		err = c.Start(ctx)
	}
	if err != nil {
		fmt.Println("ERR", err)
		return 1
	}
	addr, _ := c.HostAddr(8080)
	fmt.Println("ADDR", addr)
	select {} // until killed
}

// startOwner runs an owner process on stateDir and returns it and the container's
// mapped address once it serves.
func startOwner(t *testing.T, stateDir string) (*exec.Cmd, string) {
	t.Helper()
	appDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(appDir, "index.html"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	arg, _ := json.Marshal(map[string]string{"StateDir": stateDir, "StackDir": sharedStack.dir, "AppDir": appDir})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), ownerEnv+"="+string(arg))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(60 * time.Second):
		t.Fatal("the owner process did not report its container within 60s")
	}
	addr, ok := strings.CutPrefix(line, "ADDR ")
	if !ok {
		t.Fatalf("owner process: %q", line)
	}
	waitServes(t, addr, 20*time.Second)
	return cmd, addr
}

// waitServes polls addr until it serves index.html.
func waitServes(t *testing.T, addr string, max time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), max)
	defer cancel()
	for {
		body, err := httpGet(ctx, "http://"+addr+"/index.html")
		if err == nil && body == "hello\n" {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("GET %s: %v (body %q)", addr, err, body)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// killOwner kills the owner with SIGKILL, as the chaos test kills a rep.
func killOwner(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// TestProxySurvivesItsOwner: the container's port stays served when the process
// whose executor made it dies of SIGKILL; a new executor on the same state dir
// re-adopts the container (same address, its meta, its output), stops it through
// the drain and destroys it, and then nothing is left: no proxy process, no runc
// container, mount or cgroup.
func TestProxySurvivesItsOwner(t *testing.T) {
	ex, stateDir := newTestExecutor(t, RootfsAuto)
	owner, addr := startOwner(t, stateDir)
	killOwner(t, owner)
	for range 5 {
		waitServes(t, addr, time.Second) // served by the proxy alone
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l := newLogs()
	var metas []string
	got, err := ex.Recover(ctx, func(id string, meta json.RawMessage) (func(LogLine), bool) {
		metas = append(metas, id+" "+string(meta))
		return l.fn, true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(metas) != 1 || metas[0] != `web {"instance":"i-1"}` {
		t.Fatalf("recovered %d containers, adopt saw %q", len(got), metas)
	}
	c := got[0]
	if a, err := c.HostAddr(8080); err != nil || a != addr {
		t.Fatalf("re-adopted mapping %q (%v), want %s", a, err, addr)
	}
	if info := c.Info(); info.State != StateRunning || info.Pid <= 0 {
		t.Fatalf("re-adopted container: %+v", info)
	}
	if err := l.waitLine(ctx, "OUT tick"); err != nil {
		t.Fatalf("output after re-adoption: %v", err)
	}
	waitServes(t, addr, 5*time.Second)
	proxyPid := c.proxy.rec.Pid
	x, err := c.Stop(ctx, time.Second)
	if err != nil || !x.Stopped {
		t.Fatalf("Stop = %+v, %v", x, err)
	}
	if err := c.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if procStartTime(proxyPid) != 0 {
		t.Errorf("port proxy %d still runs after Destroy", proxyPid)
	}
	if p := ex.proxiesUnder(); len(p) != 0 {
		t.Errorf("port proxies left: %+v", p)
	}
	if err := ex.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if left, err := ex.Leftovers(ctx); err != nil || len(left) != 0 {
		t.Errorf("Leftovers = %q, %v", left, err)
	}
}

// TestRecoverEndsWhatItDoesNotAdopt: a container the caller refuses is destroyed
// with its proxy; its port refuses connections.
func TestRecoverEndsWhatItDoesNotAdopt(t *testing.T) {
	ex, stateDir := newTestExecutor(t, RootfsAuto)
	owner, addr := startOwner(t, stateDir)
	killOwner(t, owner)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := ex.Recover(ctx, func(string, json.RawMessage) (func(LogLine), bool) { return nil, false })
	if err != nil || len(got) != 0 {
		t.Fatalf("Recover = %d containers, %v; want none", len(got), err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections", addr)
	}
	if left, err := ex.Leftovers(ctx); err != nil || len(left) != 0 {
		t.Errorf("Leftovers = %q, %v", left, err)
	}
}

// TestProxyEndsWithItsContainer: the proxy refuses connections as soon as the
// container's process has died (so that a router tries another instance), and
// Destroy ends the proxy process.
func TestProxyEndsWithItsContainer(t *testing.T) {
	ex, _ := newTestExecutor(t, RootfsAuto)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	appDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(appDir, "index.html"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ex.Create(ctx, ContainerSpec{ID: "web", MemoryMB: 64, AppDir: appDir, Ports: []int{8080}, Command: webCommand})
	if err != nil {
		t.Fatal(err)
	}
	proxyPid := c.proxy.rec.Pid
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr, _ := c.HostAddr(8080)
	waitServes(t, addr, 20*time.Second)
	if err := ex.runc.Kill(ctx, "web", int(syscall.SIGKILL), &gorunc.KillOpts{All: true}); err != nil {
		t.Fatal(err)
	}
	<-c.Exited()
	deadline := time.Now().Add(2 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("dial after the exit: %v, want connection refused", err)
			}
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections 2s after the container's process died", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if procStartTime(proxyPid) != 0 {
		t.Errorf("port proxy %d still runs after Destroy", proxyPid)
	}
	if p := ex.proxiesUnder(); len(p) != 0 {
		t.Errorf("port proxies left: %+v", p)
	}
}

// TestStopDrainsRequestsUnderWay: Stop refuses new connections at once but lets a
// response that is still streaming finish before the app gets SIGTERM.
func TestStopDrainsRequestsUnderWay(t *testing.T) {
	ex, _ := newTestExecutor(t, RootfsAuto)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	appDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(appDir, "index.html"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(appDir, "cgi-bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	stream := "#!/bin/sh\necho 'Content-Type: text/plain'\necho\ni=0\nwhile [ $i -lt 8 ]; do echo line $i; i=$((i+1)); sleep 0.05; done\n"
	if err := os.WriteFile(filepath.Join(appDir, "cgi-bin", "stream"), []byte(stream), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := ex.Create(ctx, ContainerSpec{ID: "web", MemoryMB: 64, AppDir: appDir, Ports: []int{8080},
		Command: `exec httpd -f -p $PORT -h /home/vcap/app`})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr, _ := c.HostAddr(8080)
	waitServes(t, addr, 20*time.Second)

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		body, err := httpGet(ctx, "http://"+addr+"/cgi-bin/stream")
		got <- result{body, err}
	}()
	time.Sleep(100 * time.Millisecond) // the response is streaming
	refused := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond) // Stop's drain has begun
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
		}
		refused <- err
	}()
	x, err := c.Stop(ctx, 2*time.Second)
	if err != nil || !x.Stopped {
		t.Fatalf("Stop = %+v, %v", x, err)
	}
	r := <-got
	want := "line 0\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n"
	if r.err != nil || r.body != want {
		t.Errorf("the response under way: %q, %v; want it whole", r.body, r.err)
	}
	if err := <-refused; !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("a new connection during the drain: %v, want connection refused", err)
	}
}
