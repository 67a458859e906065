package live

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// TestChaos kills components, churns the scale and crashes instances under a
// request loop, all on loopback, and checks Diego's promises:
//
//   - no panic or fatal error in any component's log;
//   - no desired state lost: every app keeps its desired LRP and its last
//     instance count through BBS kills (checked whenever the BBS answers);
//   - after the last fault every app is back to its desired instances, RUNNING,
//     within TTL + 2 convergence intervals + the start time;
//   - a request fails only when no instance of its app was RUNNING around it, or
//     the router was down, or it was one of the /crash requests (each crashes the
//     instance that received it).
//
// DIEGOLAB_CHAOS sets its length: 40s is the short version meant for CI, 5m the
// long one. It does not run without it yet: on this branch it finds two known
// faults (docs/real-mode.md, "Chaos"): the rep's panic under scale churn (fixed by
// the rep rewrite) and a request failing on an instance being scaled down (its
// route goes only after it stopped). DIEGOLAB_CHAOS_SEED replays a run.
func TestChaos(t *testing.T) {
	v := os.Getenv("DIEGOLAB_CHAOS")
	if v == "" {
		t.Skip("skipping: set DIEGOLAB_CHAOS=40s (short) or 5m (long) to run the chaos test (see docs/real-mode.md)")
	}
	requireHost(t)
	dur, err := time.ParseDuration(v)
	if err != nil || dur <= 0 || dur > time.Hour {
		t.Fatalf("DIEGOLAB_CHAOS=%q: want a duration such as 5m (at most 1h)", v)
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("DIEGOLAB_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("DIEGOLAB_CHAOS_SEED=%q: want a number", v)
		}
		seed = n
	}
	t.Logf("chaos: %v, seed %d (DIEGOLAB_CHAOS_SEED=%d replays the fault sequence)", dur, seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	bin, goapp := buildBinaries(t)
	dir := t.TempDir()
	o := e2eTimers
	o.Dir, o.Binary, o.Cells = dir, bin, 3
	o.RouteSync = 2 * time.Second
	startCluster(t, o)
	cfg, err := LoadClientConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	cl := api.NewClient(cfg.URL, cfg.Token, 5*time.Second)
	ctx := context.Background()
	desired := map[string]int{"goapp": 3, "web": 2}
	if _, err := Push(ctx, cl, "goapp", goapp, PushOptions{Instances: 3, MemoryMB: 64, DiskMB: 64, Buildpack: "binary", Timeout: 90 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := Push(ctx, cl, "web", "../../examples/static", PushOptions{Instances: 2, MemoryMB: 64, DiskMB: 64, Buildpack: "static", Timeout: 90 * time.Second}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex // guards desired and the records below
	type sample struct {
		at      time.Time
		app     string
		running int
	}
	type failure struct {
		at     time.Time
		app    string
		status int
		text   string
	}
	var samples []sample
	var failures []failure
	var lost []string
	requests := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup

	// The request loop: each app through the router every 100 ms.
	wg.Add(1)
	go func() {
		defer wg.Done()
		hc := &http.Client{Timeout: 3 * time.Second}
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			for _, app := range []string{"goapp", "web"} {
				req, _ := http.NewRequest(http.MethodGet, cfg.RouterURL+"/", nil)
				req.Host = app + ".localhost"
				resp, err := hc.Do(req)
				code, text := 0, ""
				if err != nil {
					text = err.Error()
				} else {
					b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
					resp.Body.Close()
					code, text = resp.StatusCode, string(b)
				}
				mu.Lock()
				requests++
				if code != http.StatusOK {
					failures = append(failures, failure{time.Now(), app, code, strings.TrimSpace(text)})
				}
				mu.Unlock()
			}
		}
	}()
	// The watcher: what the BBS says, every 250 ms, whenever it answers.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
			for _, app := range []string{"goapp", "web"} {
				var d api.AppDetail
				if err := cl.Do(ctx, http.MethodGet, "/v1/apps/"+app, nil, &d); err != nil {
					if api.StatusOf(err) == http.StatusNotFound {
						mu.Lock()
						lost = append(lost, fmt.Sprintf("%s: app gone at %s", app, time.Now().Format(time.TimeOnly)))
						mu.Unlock()
					}
					continue // the BBS is down or busy
				}
				running := 0
				for _, in := range d.InstancesDetail {
					if in.Presence == "ORDINARY" && in.State == "RUNNING" {
						running++
					}
				}
				mu.Lock()
				if d.ProcessGUID == "" || d.Instances != desired[app] && !recentlyScaled(app) {
					lost = append(lost, fmt.Sprintf("%s: desired %d, BBS says %d (process %q) at %s", app, desired[app], d.Instances, d.ProcessGUID, time.Now().Format(time.TimeOnly)))
				}
				samples = append(samples, sample{time.Now(), app, running})
				mu.Unlock()
			}
		}
	}()

	// The faults.
	var faults []string
	var crashes, repKills []time.Time
	end := time.Now().Add(dur)
	var last time.Time
	for time.Now().Before(end) {
		time.Sleep(time.Duration(1500+rng.IntN(2500)) * time.Millisecond)
		st, err := ReadState(dir)
		if err != nil {
			t.Fatal(err)
		}
		var what string
		switch k := rng.IntN(10); {
		case k < 3: // a rep
			p := st.Reps[rng.IntN(len(st.Reps))]
			what = "kill -9 " + p.Name
			_ = syscall.Kill(p.Pid, syscall.SIGKILL)
			repKills = append(repKills, time.Now())
		case k < 4:
			what = "kill -9 bbs"
			_ = syscall.Kill(st.BBS.Pid, syscall.SIGKILL)
		case k < 5:
			what = "kill -9 router"
			_ = syscall.Kill(st.Router.Pid, syscall.SIGKILL)
		case k < 8: // scale churn
			n := 1 + rng.IntN(4)
			what = fmt.Sprintf("scale goapp -i %d", n)
			markScaled("goapp")
			if err := cl.Do(ctx, http.MethodPost, "/v1/apps/goapp/scale", api.ScaleRequest{Instances: &n}, nil); err != nil {
				what += " (refused: " + err.Error() + ")"
			} else {
				mu.Lock()
				desired["goapp"] = n
				markScaled("goapp")
				mu.Unlock()
			}
		default: // an app crash through the router
			what = "GET goapp /crash"
			req, _ := http.NewRequest(http.MethodGet, cfg.RouterURL+"/crash", nil)
			req.Host = "goapp.localhost"
			if resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req); err == nil {
				resp.Body.Close()
			}
			mu.Lock()
			crashes = append(crashes, time.Now())
			mu.Unlock()
		}
		last = time.Now()
		faults = append(faults, fmt.Sprintf("%s %s", last.Format("15:04:05.000"), what))
	}
	t.Logf("%d faults:\n%s", len(faults), strings.Join(faults, "\n"))

	// Recovery: every app at its desired count, RUNNING, within the bound.
	bound := o.PresenceTTL + 2*o.ConvergenceInterval + o.StartTimeout
	recovered := func() bool {
		for app, n := range desired {
			var d api.AppDetail
			if cl.Do(ctx, http.MethodGet, "/v1/apps/"+app, nil, &d) != nil {
				return false
			}
			running := 0
			for _, in := range d.InstancesDetail {
				if in.Presence == "ORDINARY" && in.State == "RUNNING" {
					running++
				}
			}
			if running != n || d.Instances != n {
				return false
			}
		}
		return true
	}
	// Watch until the bound has passed since the last fault (a fault's effect
	// may show only later, e.g. when a cell's presence expires): at the bound
	// every app must be back, and the recovery time is the last moment it was not.
	lastBad := last
	for time.Since(last) < bound {
		if !recovered() {
			lastBad = time.Now()
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !recovered() {
		t.Errorf("not recovered %v after the last fault (bound TTL + 2 intervals + start = %v)", time.Since(last).Round(100*time.Millisecond), bound)
	} else {
		t.Logf("recovered %v after the last fault (bound %v)", lastBad.Sub(last).Round(100*time.Millisecond), bound)
	}
	close(stop)
	wg.Wait()

	// Lost desired state.
	for _, l := range lost {
		t.Errorf("desired state lost: %s", l)
	}
	// Request failures: explained by no running instance around it (the
	// watcher's nearest samples within 2 s), the router being down (connection
	// refused or reset), or a /crash within 2 s before.
	// Failures by cause. Only the first three are allowed by Diego's promise.
	causes := map[string]int{}
	unexplained := 0
	for _, f := range failures {
		cause := ""
		switch {
		case f.status == 0 && (strings.Contains(f.text, "connection refused") || strings.Contains(f.text, "connection reset")):
			cause = "router down"
		case f.status == http.StatusServiceUnavailable && strings.Contains(f.text, "not loaded"):
			cause = "router down" // restarted, table not loaded yet (the BBS is down too)
		case strings.Contains(f.text, "is running"):
			cause = "no running instance (router's table)"
		}
		for _, s := range samples {
			if cause == "" && s.app == f.app && s.running == 0 && s.at.Sub(f.at).Abs() < 2*time.Second {
				cause = "no running instance (BBS)"
			}
		}
		for _, c := range crashes {
			if cause == "" && f.app == "goapp" && f.at.Sub(c) >= 0 && f.at.Sub(c) < 2*time.Second {
				cause = "after GET /crash"
			}
		}
		for _, k := range repKills {
			// The executor's port proxies live in the rep: its instances are
			// unreachable from the kill until the BBS drops them.
			if cause == "" && f.at.Sub(k) >= 0 && f.at.Sub(k) < o.PresenceTTL+2*o.ConvergenceInterval+o.StartTimeout {
				cause = "instance unreachable after its rep was killed (BBS still says RUNNING)"
			}
		}
		if cause == "" {
			cause = "unexplained"
			if unexplained < 10 {
				t.Logf("unexplained failure %s %s: %d %q", f.at.Format("15:04:05.000"), f.app, f.status, f.text)
			}
			unexplained++
		}
		causes[cause]++
	}
	t.Logf("requests %d, failed %d: %v", requests, len(failures), causes)
	if n := causes["instance unreachable after its rep was killed (BBS still says RUNNING)"] + unexplained; n > 0 {
		t.Errorf("%d requests failed while the BBS had a RUNNING instance of their app and the router was up", n)
	}
	// Panics and fatal errors in any log.
	logs, _ := filepath.Glob(filepath.Join(dir, "*", "log"))
	cells, _ := filepath.Glob(filepath.Join(dir, "cells", "*", "log"))
	for _, f := range append(logs, cells...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, bad := range []string{"panic:", "fatal error:"} {
			if i := strings.Index(string(b), bad); i >= 0 {
				j := min(len(b), i+600)
				t.Errorf("%s in %s:\n%s", bad, f, b[i:j])
			}
		}
	}
}

// scaled remembers when an app was last scaled: the watcher may read the BBS in
// between the scale's commit and the test's bookkeeping.
var scaled sync.Map

func markScaled(app string) { scaled.Store(app, time.Now()) }

func recentlyScaled(app string) bool {
	v, ok := scaled.Load(app)
	return ok && time.Since(v.(time.Time)) < time.Second
}
