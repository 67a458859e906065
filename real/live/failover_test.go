package live

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/diegolab/diegolab/internal/pgtest"
	"github.com/diegolab/diegolab/internal/proctest"
	"github.com/diegolab/diegolab/real/api"
)

// TestFailoverEndToEnd: a BBS pair on PostgreSQL (lock TTL 2 s), 3 hosts x 1
// cell, an app with 3 instances and a long task, requests through the router
// every 100 ms throughout.
//
//   - kill -9 of the active BBS (its supervisor stopped first, so that the dead BBS
//     is not simply restarted: the passive must take over): writes are answered
//     within TTL + 5 s (the goal is TTL + 2 s: the figure is logged); the app and
//     the task are all there; scaling up works (the new active auctions and the
//     instances run).
//   - the dead BBS restarted (passive); SIGSTOP of the active past the TTL, then
//     SIGCONT: the other takes over; the resumed one answers 503 naming the new
//     active and writes nothing (its events.jsonl does not grow over two
//     convergence intervals).
//   - no request through the router fails at any time: routing does not depend on
//     the BBS being up.
func TestFailoverEndToEnd(t *testing.T) {
	requireHosts(t)
	srv := pgtest.Start(t)
	db := srv.CreateDB(t, "failover")
	const ttl = 2 * time.Second
	tc := upTest(t, func(o *Options) {
		o.Cells, o.Hosts, o.RouteSync, o.BBSPair, o.DB, o.LockTTL = 3, 3, 2*time.Second, true, db, ttl
	})
	st, cfg, o := tc.State, tc.Cfg, tc.Opts
	urls := BBSURLs(st.URL)
	if len(urls) != 2 || st.BBSB.Pid == 0 {
		t.Fatalf("want a pair: url %s, bbs-b %+v", st.URL, st.BBSB)
	}
	procs := func() [2]Proc {
		now, err := ReadState(tc.Dir)
		if err != nil {
			t.Fatal(err)
		}
		return [2]Proc{now.BBS, now.BBSB}
	}
	single := func(i int) *api.Client {
		c := ClientConfig{URL: urls[i], Token: cfg.Token, TLSDir: cfg.TLSDir}
		cl, err := c.NewClient(3 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	ctx := context.Background()
	// active is the index of the BBS that answers (-1: none).
	active := func() int {
		for i := range urls {
			if single(i).Do(ctx, http.MethodGet, "/v1/health", nil, nil) == nil {
				return i
			}
		}
		return -1
	}
	if a := active(); a != 0 {
		t.Fatalf("active BBS %d, want the first started (0)", a)
	}
	cl := tc.client(t, 5*time.Second) // follows the active
	if _, err := Push(ctx, cl, "goapp", tc.GoApp, PushOptions{Instances: 3, MemoryMB: 64, DiskMB: 64, Buildpack: "binary", Timeout: 120 * time.Second}); err != nil {
		t.Fatal(err)
	}
	runningN := func() int {
		var d api.AppDetail
		if err := cl.Do(ctx, http.MethodGet, "/v1/apps/goapp", nil, &d); err != nil {
			return -1
		}
		n := 0
		for _, in := range d.InstancesDetail {
			if in.State == "RUNNING" && in.Presence == "ORDINARY" {
				n++
			}
		}
		return n
	}
	waitFor(t, "3 instances RUNNING and routed", 60*time.Second, func() bool {
		code, _ := routerGet(cfg.RouterURL, "goapp")
		return runningN() == 3 && code == http.StatusOK
	})
	var task api.TaskInfo
	if err := cl.Do(ctx, http.MethodPost, "/v1/apps/goapp/tasks", api.TaskRequest{Command: "sleep 600", MemoryMB: 32}, &task); err != nil {
		t.Fatal(err)
	}

	// Requests through the router every 100 ms until the end.
	loop := startRequests(t, cfg.RouterURL, "goapp", 100*time.Millisecond)

	// Freeze the supervisor (it would restart the killed BBS at once, which would
	// take its own lock back); continued at cleanup in any case.
	sup := st.Supervisor.Pid
	if err := syscall.Kill(sup, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	supStopped := true
	contSup := func() {
		if supStopped {
			_ = syscall.Kill(sup, syscall.SIGCONT)
			supStopped = false
		}
	}
	t.Cleanup(contSup)
	// kill returns before the process has stopped: a supervisor still running would
	// restart the BBS killed below.
	proctest.WaitStopped(t, sup, 10*time.Second)
	write := func() error { // an idempotent write: scale to what it is
		var app api.App
		if err := cl.Do(ctx, http.MethodGet, "/v1/apps/goapp", nil, &app); err != nil {
			return err
		}
		n := app.Instances
		return cl.Do(ctx, http.MethodPost, "/v1/apps/goapp/scale", api.ScaleRequest{Instances: &n}, nil)
	}
	if err := syscall.Kill(procs()[0].Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	died := time.Now()
	waitFor(t, "the passive answers writes after kill -9 of the active", ttl+15*time.Second, func() bool { return write() == nil })
	failover := time.Since(died)
	t.Logf("failover: writes answered %v after kill -9 of the active (lock TTL %v; goal < TTL + 2 s)", failover.Round(time.Millisecond), ttl)
	if failover > ttl+5*time.Second {
		t.Fatalf("failover took %v; want < TTL + 5 s = %v (goal TTL + 2 s)", failover, ttl+5*time.Second)
	}
	if a := active(); a != 1 {
		t.Fatalf("after the kill, active = %d, want 1", a)
	}
	// Nothing lost: the app with its instance count, the task.
	var apps []api.App
	if err := cl.Do(ctx, http.MethodGet, "/v1/apps", nil, &apps); err != nil || len(apps) != 1 || apps[0].Name != "goapp" || apps[0].Instances != 3 {
		t.Fatalf("apps after failover = %+v, %v", apps, err)
	}
	var tasks []api.TaskInfo
	if err := cl.Do(ctx, http.MethodGet, "/v1/tasks", nil, &tasks); err != nil ||
		!slices.ContainsFunc(tasks, func(x api.TaskInfo) bool { return x.GUID == task.GUID }) {
		t.Fatalf("tasks after failover = %+v, %v; want %s", tasks, err, task.GUID)
	}
	// The new active auctions and the cells run what it places.
	five := 5
	if err := cl.Do(ctx, http.MethodPost, "/v1/apps/goapp/scale", api.ScaleRequest{Instances: &five}, nil); err != nil {
		t.Fatalf("scale after failover: %v", err)
	}
	bound := o.ConvergenceInterval + o.StartTimeout + 10*time.Second
	took := waitFor(t, "5 instances RUNNING after the scale on the new active", bound, func() bool { return runningN() == 5 })
	t.Logf("scale 3 -> 5 on the new active: RUNNING in %v", took.Round(time.Millisecond))

	// The supervisor restarts the dead BBS, which stays passive.
	contSup()
	waitFor(t, "the killed BBS restarted (passive)", 30*time.Second, func() bool {
		p := procs()[0]
		if !same(p) {
			return false
		}
		var e *api.Error
		err := single(0).Do(ctx, http.MethodGet, "/v1/health", nil, nil)
		return errors.As(err, &e) && e.Status == http.StatusServiceUnavailable && e.Passive
	})

	// SIGSTOP the active (1) past the TTL: 0 takes over.
	b := procs()[1]
	if err := syscall.Kill(b.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	bStopped := true
	t.Cleanup(func() {
		if bStopped {
			_ = syscall.Kill(b.Pid, syscall.SIGCONT)
		}
	})
	// Until it has stopped, the active still answers (and writes events).
	proctest.WaitStopped(t, b.Pid, 10*time.Second)
	frozen := time.Now()
	waitFor(t, "the restarted BBS answers writes while the active is stopped", ttl+20*time.Second, func() bool { return write() == nil })
	t.Logf("writes answered by the other BBS %v after SIGSTOP of the active (a stopped process's socket still accepts: clients wait their 5 s timeout)",
		time.Since(frozen).Round(time.Millisecond))
	events := filepath.Join(b.Dir, "events.jsonl")
	size := func() int64 {
		fi, err := os.Stat(events)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	if err := syscall.Kill(b.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	bStopped = false
	resumed := time.Now()
	for i := 0; time.Since(resumed) < 2*o.ConvergenceInterval+time.Second; i++ {
		n := 5
		err := single(1).Do(ctx, http.MethodPost, "/v1/apps/goapp/scale", api.ScaleRequest{Instances: &n}, nil)
		var e *api.Error
		if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || !e.Passive {
			t.Fatalf("write %d to the resumed BBS: %v, want a passive's 503", i, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if after := size(); after != before {
		t.Fatalf("the resumed BBS wrote %d bytes of events after SIGCONT: it acted without the lock", after-before)
	}
	if a := active(); a != 0 {
		t.Fatalf("after SIGSTOP/SIGCONT of 1, active = %d, want 0", a)
	}
	waitFor(t, "5 instances RUNNING at the end", bound, func() bool { return runningN() == 5 })
	requests, failures := loop.Stop()
	t.Logf("%d requests through the router, %d failed", requests, len(failures))
	if len(failures) > 0 {
		t.Fatalf("requests failed through the router while the BBSs failed over:\n%v", failures)
	}
}
