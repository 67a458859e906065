package rep

// The health-check timers with Diego's real durations (a 60 s start timeout, a 30 s
// check interval), run on testing/synctest's fake clock: no sockets are involved, so
// the instance's checks and the container's exit run inside the bubble and each test
// takes no real time. (The rest of the package's tests talk HTTP to a fake BBS, which
// synctest cannot put in a bubble; they use short configured timers instead.)

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/diegolab/diegolab/model"
	mrep "github.com/diegolab/diegolab/model/rep"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/executor"
	"github.com/diegolab/diegolab/real/metrics"
)

// bubbleRep is a rep with the default timers and no API, BBS or log service: enough
// for runLRP and supervise. Call it inside the bubble.
func bubbleRep(t *testing.T) *Rep {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	r := &Rep{cfg: Config{CellID: "cell-0", StartTimeout: model.DefaultStartTimeout, CheckInterval: DefaultCheckInterval},
		log: slog.New(slog.DiscardHandler), ctx: ctx, stop: cancel, lrps: map[string]*lrpC{}, tasks: map[string]*taskC{}}
	r.metrics = metrics.NewRep("cell-0", r.containerCounts, func() (uint64, uint64) { return 0, 0 })
	return r
}

// bubbleLRP is an instance in the phase given (Created or Running) with a fresh fake
// container; its app is unnamed, so no log line is shipped.
func bubbleLRP(t *testing.T, phase mrep.Phase, hc api.HealthCheck) (*lrpC, *fakeCt) {
	ct := &fakeCt{ex: newFakeExec(), spec: executor.ContainerSpec{ID: "l-pg-0-ig"}, exited: make(chan struct{})}
	c := &lrpC{key: model.ActualLRPKey{ProcessGUID: "pg"}, ik: model.InstanceKey{InstanceGUID: "ig", CellID: "cell-0"}, ct: ct, hc: hc}
	c.Container, _ = mrep.NewLRP()
	c.Reply(mrep.ReportClaim, mrep.Reply{OK: true})
	c.Created(true)
	if phase == mrep.Running {
		c.Healthy()
	}
	if c.Phase() != phase {
		t.Fatalf("phase %v, want %v", c.Phase(), phase)
	}
	return c, ct
}

// The default start timeout: a port check that never passes crashes the instance at
// exactly 60 s.
func TestStartTimeoutFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := bubbleRep(t)
		c, _ := bubbleLRP(t, mrep.Created, api.HealthCheck{})
		begun := time.Now()
		st := r.runLRP(c)
		if took := time.Since(begun); took != 60*time.Second {
			t.Errorf("gave up after %v, want the 60 s start timeout", took)
		}
		want := "Instance never healthy after 1m0s: Failed to make TCP connection to port 8080: connection refused"
		if st.Exec != mrep.ExecDestroy || st.Report != mrep.ReportCrash || st.Reason != want {
			t.Errorf("step = %v, want exec destroy, report crash (%s)", st, want)
		}
	})
}

// The start check runs every 50 ms until it first passes; the instance is then
// reported started with its address.
func TestStartCheckPollsFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := bubbleRep(t)
		c, ct := bubbleLRP(t, mrep.Created, api.HealthCheck{})
		fails := 0
		check := func(context.Context) error {
			if fails < 3 {
				fails++
				return errors.New("not yet")
			}
			return nil
		}
		begun := time.Now()
		ok, why := r.waitHealthy(ct, check, time.Minute)
		if !ok || why != "" {
			t.Fatalf("waitHealthy = %v, %q", ok, why)
		}
		// Checks at 0, 50, 100 ms fail; the one at 150 ms passes.
		if took := time.Since(begun); took != 150*time.Millisecond {
			t.Errorf("healthy after %v, want 150ms", took)
		}
		// runLRP with the process check: healthy at once, reported with the address.
		c.hc = api.HealthCheck{Type: api.HealthProcess}
		st := r.runLRP(c)
		if st.Report != mrep.ReportStart || c.addr != "127.0.0.1:61000" {
			t.Errorf("step = %v, address %q, want report start at 127.0.0.1:61000", st, c.addr)
		}
	})
}

// A process that exits while its start check has not passed is a crash with its exit
// status, as soon as it exits.
func TestExitWhileStartingFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := bubbleRep(t)
		c, ct := bubbleLRP(t, mrep.Created, api.HealthCheck{})
		go func() { time.Sleep(7 * time.Second); ct.exitWith(7, false) }()
		begun := time.Now()
		st := r.runLRP(c)
		if took := time.Since(begun); took != 7*time.Second {
			t.Errorf("crash noticed after %v, want 7s", took)
		}
		if st.Report != mrep.ReportCrash || st.Reason != "APP/PROC/WEB: Exited with status 7" {
			t.Errorf("step = %v", st)
		}
	})
}

// Once RUNNING, the liveness check runs every interval (the app's, else 30 s); its first
// failure is a crash at that tick. An exit is noticed at once; a rep that stops leaves
// the instance alone.
func TestSuperviseFakeClock(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hc     api.HealthCheck
		act    func(r *Rep, ct *fakeCt) // what happens to the instance
		after  time.Duration
		report mrep.Report
		reason string
	}{
		{"port check fails at the default interval", api.HealthCheck{}, nil, 30 * time.Second, mrep.ReportCrash,
			"Instance became unhealthy: Failed to make TCP connection to port 8080: connection refused"},
		{"port check fails at the app's interval", api.HealthCheck{Interval: 5 * time.Second}, nil, 5 * time.Second, mrep.ReportCrash,
			"Instance became unhealthy: Failed to make TCP connection to port 8080: connection refused"},
		{"process exits", api.HealthCheck{Type: api.HealthProcess},
			func(_ *Rep, ct *fakeCt) { time.Sleep(95 * time.Second); ct.exitWith(2, true) }, 95 * time.Second, mrep.ReportCrash,
			"APP/PROC/WEB: Exited with status 2 (out of memory)"},
		{"the rep stops", api.HealthCheck{Type: api.HealthProcess},
			func(r *Rep, _ *fakeCt) { time.Sleep(time.Hour); r.stop() }, time.Hour, mrep.ReportNone, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := bubbleRep(t)
				c, ct := bubbleLRP(t, mrep.Running, tc.hc)
				if tc.act != nil {
					go tc.act(r, ct)
				}
				begun := time.Now()
				st := r.supervise(c)
				if took := time.Since(begun); took != tc.after {
					t.Errorf("supervise returned after %v, want %v", took, tc.after)
				}
				if st.Report != tc.report || st.Reason != tc.reason {
					t.Errorf("step = %v, want report %v (%s)", st, tc.report, tc.reason)
				}
				synctest.Wait()
			})
		})
	}
}
