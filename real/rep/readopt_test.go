package rep

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// TestReadoptAfterCrash: a rep dies without cleaning up (kill -9) while an instance
// runs; the rep restarted on the same directory takes the running container over:
// the instance stays RUNNING on the cell with no report to the BBS (no crash, no
// remove, no new claim), the auction sees its resources used, and the restarted rep
// supervises it (its later exit is reported as a crash and the container destroyed).
func TestReadoptAfterCrash(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	e.work("pg", 0, "ig-1")
	e.waitOps("ig-1", "claim", "start")
	id := lrpID("pg", 0, "ig-1")
	ct := e.ex.ct(id)
	var m lrpMeta
	if err := json.Unmarshal(ct.spec.Meta, &m); err != nil || m.Instance.InstanceGUID != "ig-1" || m.Key.Index != 0 ||
		m.App != "web" || m.Resource.MemoryMB != 128 || m.Instance.CellID != "cell-0" {
		t.Fatalf("container meta %s: %+v (%v)", ct.spec.Meta, m, err)
	}

	e.ex.setCrashed()
	e.cancel()
	e.waitServed()
	r2 := e.restart()
	if got := e.ex.eventsOf(id); !slices.Equal(got, []string{"create", "start", "adopt"}) {
		t.Fatalf("executor events = %v, want [create start adopt]", got)
	}
	if r2.phase("ig-1") != "RUNNING" {
		t.Fatalf("restarted rep: phase %q, want RUNNING", r2.phase("ig-1"))
	}
	st := r2.rep.State()
	if len(st.LRPs) != 1 || st.LRPs[0].InstanceGUID != "ig-1" || st.LRPs[0].Address != "127.0.0.1:61000" ||
		st.Available.MemoryMB != st.Total.MemoryMB-128 {
		t.Fatalf("restarted rep's state: %+v", st)
	}
	time.Sleep(50 * time.Millisecond) // several check intervals
	r2.settle("ig-1", "claim", "start")

	ct.exitWith(3, false)
	r2.waitOps("ig-1", "claim", "start", "crash")
	r2.waitDestroyed(id)
	r2.waitGone("ig-1")
}

// TestStopCutsStartAnswer makes the race behind a flaky TestReadoptAfterCrash hit
// every time: the BBS takes the instance's start, but its answer is held until the rep
// has died (kill -9: no cleanup). A report cut short by the rep's own stop is no answer,
// so the rep must not take it for a refusal and destroy the container; the next life
// re-adopts it.
func TestStopCutsStartAnswer(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // the held handler must end before the fake BBS closes
	e.bbs.setLRPAnswer(func(op string, _ api.LRPReport) (bool, bool) {
		if op == "start" {
			<-release
		}
		return true, false
	})
	e.work("pg", 0, "ig-1")
	e.waitOps("ig-1", "claim", "start")
	id := lrpID("pg", 0, "ig-1")

	e.ex.setCrashed()
	e.cancel()
	e.waitServed()
	free()
	if got := e.ex.eventsOf(id); !slices.Equal(got, []string{"create", "start"}) {
		t.Fatalf("executor events after the stop = %v, want [create start]: the cut answer was taken for a refusal", got)
	}
	e.bbs.setLRPAnswer(nil)
	r2 := e.restart()
	if got := e.ex.eventsOf(id); !slices.Equal(got, []string{"create", "start", "adopt"}) {
		t.Fatalf("executor events = %v, want [create start adopt]", got)
	}
	if r2.phase("ig-1") != "RUNNING" {
		t.Fatalf("restarted rep: phase %q, want RUNNING", r2.phase("ig-1"))
	}
	r2.settle("ig-1", "claim", "start")
}
