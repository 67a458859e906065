package live

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSameProcess(t *testing.T) {
	me := Proc{Name: "me", Pid: os.Getpid(), StartTime: startTime(os.Getpid())}
	if me.StartTime == 0 || !same(me) {
		t.Fatalf("this process: %+v, same = false", me)
	}
	recycled := me
	recycled.StartTime++ // the pid now names a process started at another time
	if same(recycled) {
		t.Fatal("a pid with another start time counted as the recorded process")
	}
	if same(Proc{Pid: 1 << 30}) {
		t.Fatal("a pid that does not exist counted as alive")
	}
}

// TestSupervisor: kill -9 of the router is repaired by the supervisor (logged,
// counted, reason kept, same address); with the supervisor and the BBS killed, a
// new `live up` on the directory refuses and says what to do; `live down` stops
// every process the directory started and leaves nothing.
func TestSupervisor(t *testing.T) {
	tc := upTest(t, func(o *Options) { o.Cells = 1 })
	dir, st, o := tc.Dir, tc.State, tc.Opts
	if !same(st.Supervisor) || st.Router.Pid == 0 {
		t.Fatalf("state after up: %+v", st)
	}
	if err := syscall.Kill(st.Router.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var now *State
	waitFor(t, "router restarted by the supervisor", 15*time.Second, func() bool {
		var err error
		now, err = ReadState(dir)
		return err == nil && now.Router.Restarts == 1 && now.Router.Pid != st.Router.Pid && same(now.Router)
	})
	if !strings.Contains(now.Router.LastExit, "signal: killed") {
		t.Errorf("last exit %q, want the kill", now.Router.LastExit)
	}
	if now.RouterURL != st.RouterURL {
		t.Errorf("router moved from %s to %s", st.RouterURL, now.RouterURL)
	}
	waitFor(t, "the restarted router answers on the same address", 10*time.Second, func() bool {
		resp, err := http.Get(now.RouterURL + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNotFound // no such route: but the router answers
	})
	var out bytes.Buffer
	if err := Status(context.Background(), dir, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "restarts 1") || !strings.Contains(out.String(), "last exit: signal: killed") {
		t.Errorf("status does not show the restart:\n%s", out.String())
	}
	if b, _ := os.ReadFile(now.Supervisor.Dir + "/log"); !strings.Contains(string(b), "component died; restarting") {
		t.Errorf("supervisor log does not record the restart:\n%s", b)
	}

	// A half-dead cluster: no supervisor, no BBS, but a rep and the router run.
	if err := syscall.Kill(now.Supervisor.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(now.BBS.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "supervisor and bbs gone", 5*time.Second, func() bool { return !same(now.Supervisor) && !same(now.BBS) })
	_, err := Up(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "half-dead") || !strings.Contains(err.Error(), "live down") {
		t.Fatalf("up on a half-dead directory: %v", err)
	}
	if err := Down(context.Background(), dir, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, p := range recorded(now) {
		if same(p) {
			t.Errorf("%s pid %d still runs after down", p.Name, p.Pid)
		}
	}
}
