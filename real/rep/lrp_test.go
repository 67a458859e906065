package rep

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/executor"
)

var processCheck = api.HealthCheck{Type: api.HealthProcess}

// The ordinary life of an instance: claimed, its container created from the droplet
// and started, reported RUNNING with its 127.0.0.1 address, then its process exits by
// itself: a crash with the exit status, and the container destroyed.
func TestLRPLifeAndCrash(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   int
		oom    bool
		reason string
	}{
		{"exit status", 3, false, "APP/PROC/WEB: Exited with status 3"},
		{"out of memory", 137, true, "APP/PROC/WEB: Exited with status 137 (out of memory)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
			e.work("pg", 2, "ig-1")
			e.waitOps("ig-1", "claim", "start")
			id := lrpID("pg", 2, "ig-1")
			ct := e.ex.ct(id)
			if ct == nil {
				t.Fatalf("no container %s", id)
			}
			if got := e.ex.eventsOf(id); !slices.Equal(got, []string{"create", "start"}) {
				t.Fatalf("executor events = %v, want [create start]", got)
			}
			start, _ := e.bbs.lrpCall("ig-1", "start")
			if want := "127.0.0.1:61000"; start.R.Address != want {
				t.Errorf("start address = %q, want %q", start.R.Address, want)
			}
			if start.R.Key.ProcessGUID != "pg" || start.R.Key.Index != 2 || start.R.Instance.CellID != "cell-0" {
				t.Errorf("start report = %+v, want pg/2 on cell-0", start.R)
			}
			// The spec: the droplet extracted under Dir, the command, memory and env.
			spec := ct.spec
			if spec.Command != "./app/run.sh" || spec.MemoryMB != 128 || spec.DiskMB != 256 {
				t.Errorf("spec = %+v", spec)
			}
			if !strings.HasSuffix(spec.AppDir, "droplets/"+e.sha) {
				t.Errorf("AppDir = %q, want the droplet's directory", spec.AppDir)
			}
			if !slices.Contains(spec.Env, "INSTANCE_GUID=ig-1") || !slices.Contains(spec.Env, "CF_INSTANCE_INDEX=2") {
				t.Errorf("env = %v", spec.Env)
			}
			if e.phase("ig-1") != "RUNNING" {
				t.Errorf("phase = %q, want RUNNING", e.phase("ig-1"))
			}

			ct.exitWith(tc.code, tc.oom)
			e.waitOps("ig-1", "claim", "start", "crash")
			crash, _ := e.bbs.lrpCall("ig-1", "crash")
			if crash.R.Reason != tc.reason {
				t.Errorf("crash reason = %q, want %q", crash.R.Reason, tc.reason)
			}
			e.waitDestroyed(id)
			e.waitGone("ig-1")
			if got := e.ex.eventsOf(id); !slices.Equal(got, []string{"create", "start", "destroy"}) {
				t.Errorf("executor events = %v, want [create start destroy]", got)
			}
			e.settle("ig-1", "claim", "start", "crash")
		})
	}
}

// Each failure on the way to RUNNING ends the instance with the report the harmonizing
// table asks for, and destroys whatever container was made.
func TestLRPFailuresBeforeRunning(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup arranges the failure.
		setup func(e *env)
		// ops are the reports expected, in order; events the executor's.
		ops, events []string
		// reason is the crash reason's prefix, when the instance crashes.
		reason string
	}{
		{
			name:   "claim refused: nothing created",
			setup:  func(e *env) { e.refuse("claim") },
			ops:    []string{"claim"},
			events: nil,
		},
		{
			name: "create failed: the claimed row removed",
			setup: func(e *env) {
				e.ex.setCreate(func(executor.ContainerSpec) error { return errors.New("runc: no space left") })
			},
			ops:    []string{"claim", "remove"},
			events: []string{"create-failed"},
		},
		{
			name:   "run info missing: the claimed row removed",
			setup:  func(e *env) { e.bbs.mu.Lock(); delete(e.bbs.runInfo, "pg"); e.bbs.mu.Unlock() },
			ops:    []string{"claim", "remove"},
			events: nil,
		},
		{
			name: "droplet not a sha256: the claimed row removed",
			setup: func(e *env) {
				ri := e.lrpRunInfo(processCheck)
				ri.DropletSHA = "abc"
				e.bbs.setRunInfo("pg", ri)
			},
			ops:    []string{"claim", "remove"},
			events: nil,
		},
		{
			name: "droplet missing from the blobstore: the claimed row removed",
			setup: func(e *env) {
				ri := e.lrpRunInfo(processCheck)
				ri.DropletSHA = strings.Repeat("ab", 32)
				e.bbs.setRunInfo("pg", ri)
			},
			ops:    []string{"claim", "remove"},
			events: nil,
		},
		{
			name:   "process failed to start: a crash",
			setup:  func(e *env) { e.ex.setStart(func(*fakeCt) error { return errors.New("exec format error") }) },
			ops:    []string{"claim", "crash"},
			events: []string{"create", "destroy"},
			reason: "failed to start: exec format error",
		},
		{
			name: "never healthy (port check, no listener): a crash at the start timeout",
			setup: func(e *env) {
				ri := e.lrpRunInfo(api.HealthCheck{})
				ri.StartTimeout = 150 * time.Millisecond
				e.bbs.setRunInfo("pg", ri)
			},
			ops:    []string{"claim", "crash"},
			events: []string{"create", "start", "destroy"},
			reason: "Instance never healthy after 150ms: Failed to make TCP connection to port 8080",
		},
		{
			name: "exited before healthy: a crash with its status",
			setup: func(e *env) {
				e.bbs.setRunInfo("pg", e.lrpRunInfo(api.HealthCheck{}))
				e.ex.setStart(func(c *fakeCt) error { go c.exitWith(1, false); return nil })
			},
			ops:    []string{"claim", "crash"},
			events: []string{"create", "start", "destroy"},
			reason: "APP/PROC/WEB: Exited with status 1",
		},
		{
			name:   "start refused: the container destroyed and the row removed",
			setup:  func(e *env) { e.refuse("start") },
			ops:    []string{"claim", "start", "remove"},
			events: []string{"create", "start", "destroy"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
			tc.setup(e)
			e.work("pg", 0, "ig")
			e.waitOps("ig", tc.ops...)
			e.waitGone("ig")
			e.settle("ig", tc.ops...)
			id := lrpID("pg", 0, "ig")
			if got := e.ex.eventsOf(id); !slices.Equal(got, tc.events) {
				t.Errorf("executor events = %v, want %v", got, tc.events)
			}
			if left := e.ex.alive(); len(left) > 0 {
				t.Errorf("containers alive: %v", left)
			}
			if tc.reason != "" {
				crash, _ := e.bbs.lrpCall("ig", "crash")
				if !strings.HasPrefix(crash.R.Reason, tc.reason) {
					t.Errorf("crash reason = %q, want it to start with %q", crash.R.Reason, tc.reason)
				}
			}
		})
	}
}

// refuse makes the fake BBS refuse every LRP report op.
func (e *env) refuse(op string) {
	e.bbs.setLRPAnswer(func(o string, _ api.LRPReport) (bool, bool) { return o != op, false })
}

// A stop that arrives while the claim is in flight is carried out when the claim is
// answered: the claimed row is removed and no container is made.
func TestStopBeforeClaimAnswer(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	g := newGate(t)
	e.bbs.setLRPAnswer(func(op string, _ api.LRPReport) (bool, bool) {
		if op == "claim" {
			<-g.ch
		}
		return true, false
	})
	e.work("pg", 0, "ig")
	e.waitOps("ig", "claim")
	if st := e.stop("pg", 0, "ig"); st != http.StatusOK {
		t.Fatalf("POST /stop: %d", st)
	}
	if p := e.phase("ig"); p != "RESERVED" {
		t.Fatalf("phase after the stop = %q, want RESERVED until the claim is answered", p)
	}
	g.open()
	e.waitOps("ig", "claim", "remove")
	e.waitGone("ig")
	e.settle("ig", "claim", "remove")
	if c := e.ex.ct(lrpID("pg", 0, "ig")); c != nil {
		t.Errorf("a container was created for an instance stopped before its claim was answered")
	}
}

// The scale-churn bug (issue 17): a stop that arrives while the container is being
// created removes the row at once, and the container is destroyed when its creation
// returns; the rep never starts it (it used to call Start on a nil container).
func TestStopDuringCreation(t *testing.T) {
	for _, createFails := range []bool{false, true} {
		name := "creation succeeds"
		if createFails {
			name = "creation fails"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
			g := newGate(t)
			var entered atomic.Bool
			e.ex.setCreate(func(executor.ContainerSpec) error {
				entered.Store(true)
				<-g.ch
				if createFails {
					return errors.New("runc create failed")
				}
				return nil
			})
			e.work("pg", 0, "ig")
			e.waitFor("Create to be called", entered.Load)
			if st := e.stop("pg", 0, "ig"); st != http.StatusOK {
				t.Fatalf("POST /stop: %d", st)
			}
			e.waitOps("ig", "claim", "remove")
			g.open()
			id := lrpID("pg", 0, "ig")
			want := []string{"create", "destroy"}
			if createFails {
				want = []string{"create-failed"}
			} else {
				e.waitDestroyed(id)
			}
			e.waitGone("ig")
			e.settle("ig", "claim", "remove")
			if got := e.ex.eventsOf(id); !slices.Equal(got, want) {
				t.Errorf("executor events = %v, want %v (never started)", got, want)
			}
		})
	}
}

// A stop of a running instance stops its process with the configured grace, destroys
// the container and removes the row; the exit the stop caused is no crash.
func TestStopWhileRunning(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	e.work("pg", 1, "ig")
	e.waitOps("ig", "claim", "start")
	if st := e.stop("pg", 1, "ig"); st != http.StatusOK {
		t.Fatalf("POST /stop: %d", st)
	}
	e.waitOps("ig", "claim", "start", "remove")
	id := lrpID("pg", 1, "ig")
	e.waitDestroyed(id)
	e.waitGone("ig")
	e.settle("ig", "claim", "start", "remove")
	if got := e.ex.eventsOf(id); !slices.Equal(got, []string{"create", "start", "stop", "destroy"}) {
		t.Errorf("executor events = %v, want [create start stop destroy]", got)
	}
	ct := e.ex.ct(id)
	ct.mu.Lock()
	grace := ct.grace
	ct.mu.Unlock()
	if grace != e.rep.cfg.StopGrace {
		t.Errorf("stop grace = %v, want %v", grace, e.rep.cfg.StopGrace)
	}
	// A second stop of an instance the rep no longer holds is a 404.
	if st := e.stop("pg", 1, "ig"); st != http.StatusNotFound {
		t.Errorf("second stop: %d, want 404", st)
	}
}

// A stop while the process starts (created, not yet healthy): the container is stopped
// and the row removed; the start check's failure that follows reports nothing.
func TestStopWhileStarting(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(api.HealthCheck{})) // port check: never healthy with pid 0
	e.work("pg", 0, "ig")
	id := lrpID("pg", 0, "ig")
	e.waitFor("the process to start", func() bool { return slices.Contains(e.ex.eventsOf(id), "start") })
	if p := e.phase("ig"); p != "CREATED" {
		t.Fatalf("phase = %q, want CREATED", p)
	}
	e.stop("pg", 0, "ig")
	e.waitOps("ig", "claim", "remove")
	e.waitDestroyed(id)
	e.waitGone("ig")
	e.settle("ig", "claim", "remove")
}

// After RUNNING the liveness check runs every interval; its first failure is a crash
// ("Instance became unhealthy").
func TestHTTPHealthCheck(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(app.Close)
	e := newEnv(t)
	e.ex.mu.Lock()
	e.ex.addr = func(*fakeCt) string { return strings.TrimPrefix(app.URL, "http://") }
	e.ex.mu.Unlock()
	e.bbs.setRunInfo("pg", e.lrpRunInfo(api.HealthCheck{Type: api.HealthHTTP, Path: "/healthz", Interval: 20 * time.Millisecond}))
	e.work("pg", 0, "ig")
	e.waitOps("ig", "claim", "start")
	start, _ := e.bbs.lrpCall("ig", "start")
	if start.R.Address != strings.TrimPrefix(app.URL, "http://") {
		t.Errorf("start address = %q, want the app's %q", start.R.Address, app.URL)
	}
	healthy.Store(false)
	e.waitOps("ig", "claim", "start", "crash")
	crash, _ := e.bbs.lrpCall("ig", "crash")
	if want := "Instance became unhealthy: Failed to make HTTP request to '/healthz' on port 8080: received status code 503"; crash.R.Reason != want {
		t.Errorf("crash reason = %q, want %q", crash.R.Reason, want)
	}
	e.waitDestroyed(lrpID("pg", 0, "ig"))
	e.waitGone("ig")
}

// The rep ships CELL and HEALTH lines about an instance to the log service under the
// app's name and the instance's index.
func TestLifecycleLogLines(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	e.work("pg", 3, "ig")
	e.waitOps("ig", "claim", "start")
	e.stop("pg", 3, "ig")
	e.waitGone("ig")
	want := []string{
		"CELL Cell cell-0 creating container for instance ig",
		"CELL Cell cell-0 successfully created container for instance ig",
		"HEALTH Starting health monitoring of container",
		"HEALTH Container became healthy",
		"CELL Cell cell-0 stopping instance ig",
		"CELL Cell cell-0 destroying container for instance ig",
		"CELL Cell cell-0 successfully destroyed container for instance ig",
	}
	e.waitFor("the lifecycle's log lines", func() bool {
		e.rep.ship.Flush()
		e.bbs.mu.Lock()
		defer e.bbs.mu.Unlock()
		return len(e.bbs.logLines) >= len(want)
	})
	e.bbs.mu.Lock()
	var got []string
	for _, l := range e.bbs.logLines {
		if l.App != "web" || l.Index != 3 {
			t.Errorf("log line %+v: want app web, index 3", l)
		}
		got = append(got, l.Source+" "+l.Text)
	}
	e.bbs.mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("log lines:\n got %q\nwant %q", got, want)
	}
}

// A stop decided while the start report is still on its way to the BBS: the removal
// waits for the start's answer, so the BBS never sees a start after the removal (it
// would bring back a row for a container that is gone). Found by TestChurn.
func TestStopWhileStartInFlight(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	g := newGate(t)
	e.bbs.setLRPAnswer(func(op string, _ api.LRPReport) (bool, bool) {
		if op == "start" {
			<-g.ch
		}
		return true, false
	})
	e.work("pg", 0, "ig")
	e.waitOps("ig", "claim", "start")
	e.stop("pg", 0, "ig")
	e.waitDestroyed(lrpID("pg", 0, "ig"))
	e.settle("ig", "claim", "start") // the removal waits for the start's answer
	g.open()
	e.waitOps("ig", "claim", "start", "remove")
	e.waitGone("ig")
	e.settle("ig", "claim", "start", "remove")
}

// A start decided but not yet sent when a stop ends the container is dropped: the
// BBS hears only the removal.
func TestStaleStartNotSent(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	g := newGate(t)
	var entered atomic.Bool
	e.ex.setCreate(func(executor.ContainerSpec) error { entered.Store(true); <-g.ch; return nil })
	e.work("pg", 0, "ig")
	e.waitFor("Create (the claim answered)", entered.Load)
	e.rep.mu.Lock()
	c := e.rep.lrps["ig"]
	e.rep.mu.Unlock()
	// Hold the container's report turn: the start, once decided, waits for it.
	c.reporting.Lock()
	g.open()
	e.waitFor("the start to be decided", func() bool { return e.phase("ig") == "RUNNING" })
	e.stop("pg", 0, "ig")
	e.waitDestroyed(lrpID("pg", 0, "ig"))
	c.reporting.Unlock()
	e.waitOps("ig", "claim", "remove")
	e.waitGone("ig")
	e.settle("ig", "claim", "remove")
}
