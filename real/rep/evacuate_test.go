package rep

import (
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/executor"
)

// running posts an instance and waits until the BBS was told it runs.
func (e *env) running(pg string, i int, ig string) *fakeCt {
	e.t.Helper()
	e.work(pg, i, ig)
	e.waitFor(ig+" running", func() bool {
		ops := e.bbs.lrpOps(ig)
		return len(ops) >= 2 && ops[1] == "start"
	})
	return e.ex.ct(lrpID(pg, i, ig))
}

// evacuated checks that an instance's reports are claim, start, then only evacuation
// reports (at least one), then the ends given.
func evacuatedOps(t *testing.T, ig string, got []string, ends ...string) {
	t.Helper()
	if len(got) < 3+len(ends) || got[0] != "claim" || got[1] != "start" {
		t.Fatalf("%s reports = %v, want claim, start, evacuate-running..., %v", ig, got, ends)
	}
	mid := got[2 : len(got)-len(ends)]
	for _, op := range mid {
		if op != "evacuate-running" {
			t.Fatalf("%s reports = %v, want only evacuate-running between start and %v", ig, got, ends)
		}
	}
	if !slices.Equal(got[len(got)-len(ends):], ends) {
		t.Fatalf("%s reports = %v, want them to end with %v", ig, got, ends)
	}
}

// A drained rep takes no work; it reports its running instances as evacuating and
// keeps each until the BBS says to drop it, drops the ones still being created, lets
// its tasks run to completion, and when it is empty releases its presence and Serve
// returns.
func TestDrainEvacuates(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	e.bbs.setRunInfo("tk", e.taskRunInfo())
	var keepA atomic.Bool
	keepA.Store(true)
	e.bbs.setLRPAnswer(func(op string, r api.LRPReport) (bool, bool) {
		switch op {
		case "evacuate-running":
			if r.Address == "" {
				t.Errorf("evacuate-running of %s without its address", r.Instance.InstanceGUID)
			}
			return true, r.Instance.InstanceGUID == "ig-a" && keepA.Load()
		case "evacuate-claimed":
			return true, false
		}
		return true, false
	})
	a := e.running("pg", 0, "ig-a")
	e.running("pg", 1, "ig-b")
	// ig-c is still being created when the drain starts.
	g := newGate(t)
	var entered atomic.Bool
	e.ex.setCreate(func(spec executor.ContainerSpec) error {
		if spec.ID == lrpID("pg", 2, "ig-c") {
			entered.Store(true)
			<-g.ch
		}
		return nil
	})
	e.work("pg", 2, "ig-c")
	e.waitFor("ig-c's creation", entered.Load)
	e.workTask("tk")
	e.waitFor("the task's process", func() bool { return slices.Contains(e.ex.eventsOf("t-tk"), "start") })

	e.rep.Drain()
	e.rep.Drain() // a second drain is harmless
	e.waitOps("ig-c", "claim", "evacuate-claimed")
	e.waitFor("ig-b dropped", func() bool { c := e.ex.ct(lrpID("pg", 1, "ig-b")); return c.isDestroyed() })
	e.waitGone("ig-b")
	evacuatedOps(t, "ig-b", e.bbs.lrpOps("ig-b"))

	// The cell takes no work and says it is evacuating.
	w := api.Work{LRPs: []api.WorkLRP{{ProcessGUID: "pg", Index: 3, InstanceGUID: "ig-d", Resource: model.Resource{MemoryMB: 1}}}}
	if st := e.do(http.MethodPost, "/work", w, nil); st != http.StatusServiceUnavailable {
		t.Errorf("POST /work while evacuating: %d, want 503", st)
	}
	var st api.CellState
	e.do(http.MethodGet, "/state", nil, &st)
	if !st.Evacuating {
		t.Errorf("state.evacuating = false while draining")
	}

	// ig-c's creation returns: its container is destroyed, never started.
	g.open()
	e.waitDestroyed(lrpID("pg", 2, "ig-c"))
	e.waitGone("ig-c")
	if got := e.ex.eventsOf(lrpID("pg", 2, "ig-c")); !slices.Equal(got, []string{"create", "destroy"}) {
		t.Errorf("ig-c events = %v, want [create destroy]", got)
	}

	// ig-a is kept, and reported again at each poll, while the BBS keeps it.
	e.waitFor("ig-a reported twice", func() bool { return len(e.bbs.lrpOps("ig-a")) >= 4 })
	if a.isDestroyed() {
		t.Fatalf("ig-a destroyed while the BBS keeps it")
	}
	// The task runs to completion.
	e.ex.ct("t-tk").exitWith(0, false)
	e.waitTaskOps("tk", "start-task", "complete-task")
	if c := e.bbs.taskOps("tk")[1].R; c.Failed {
		t.Errorf("the task failed during the drain: %q", c.Reason)
	}
	select {
	case <-e.served:
		t.Fatalf("Serve returned with ig-a still kept")
	default:
	}

	// The replacement runs: the BBS drops ig-a, the cell is empty, the rep leaves.
	keepA.Store(false)
	e.waitServed()
	if !a.isDestroyed() {
		t.Errorf("ig-a not destroyed")
	}
	evacuatedOps(t, "ig-a", e.bbs.lrpOps("ig-a"))
	e.bbs.mu.Lock()
	left := slices.Clone(e.bbs.left)
	e.bbs.mu.Unlock()
	if !slices.Equal(left, []string{"cell-0"}) {
		t.Errorf("presence deletions = %v, want [cell-0]", left)
	}
	e.ex.mu.Lock()
	cleanups := e.ex.cleanups
	e.ex.mu.Unlock()
	if cleanups != 2 {
		t.Errorf("executor cleanups = %d, want 2 (at New and at the end of Serve)", cleanups)
	}
}

// At the evacuation timeout the rep ends what is left: a kept instance's EVACUATING
// row is removed, a task fails with the evacuation reason; then Serve returns.
func TestDrainTimeout(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.EvacuationTimeout = 200 * time.Millisecond })
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	e.bbs.setRunInfo("tk", e.taskRunInfo())
	e.bbs.setLRPAnswer(func(op string, _ api.LRPReport) (bool, bool) { return true, op == "evacuate-running" })
	a := e.running("pg", 0, "ig-a")
	e.workTask("tk")
	e.waitFor("the task's process", func() bool { return slices.Contains(e.ex.eventsOf("t-tk"), "start") })
	begun := time.Now()
	e.rep.Drain()
	e.waitServed()
	if took := time.Since(begun); took < 200*time.Millisecond {
		t.Errorf("the evacuation ended after %v, before its timeout", took)
	}
	evacuatedOps(t, "ig-a", e.bbs.lrpOps("ig-a"), "remove-evacuating")
	if !a.isDestroyed() || !e.ex.ct("t-tk").isDestroyed() {
		t.Errorf("containers left after the timeout: %v", e.ex.alive())
	}
	calls := e.bbs.taskOps("tk")
	if len(calls) != 2 || calls[1].Op != "complete-task" || !calls[1].R.Failed || calls[1].R.Reason != model.ReasonEvacuationTimedOut {
		t.Errorf("task reports = %+v, want start, then complete failed %q", calls, model.ReasonEvacuationTimedOut)
	}
}

// An instance whose claim is still unanswered when the evacuation times out is dropped
// when the answer comes; the evacuation waits for nothing else.
func TestDrainTimeoutWithClaimInFlight(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.EvacuationTimeout = 100 * time.Millisecond })
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
	e.rep.Drain()
	e.waitServed()
	g.open()
	// The claim's answer can no longer reach a stopped rep; whatever happened, no
	// container was made.
	time.Sleep(20 * time.Millisecond)
	if c := e.ex.ct(lrpID("pg", 0, "ig")); c != nil && !c.isDestroyed() {
		t.Errorf("a container outlived the evacuation")
	}
}
