package scenario_test

import (
	"math"
	"testing"

	"github.com/diegolab/diegolab/record"
)

// TestTasksLive runs testdata/tasks.toml live and in the simulator: every task is
// desired within a second of the simulator's time, completes, and fails exactly when
// the simulated task of the same guid fails (per-task draws); the record names tasks
// by their scenario guids and leaves the pushes' staging tasks out.
func TestTasksLive(t *testing.T) {
	requireHost(t)
	b := simThenLive(t, "testdata/tasks.toml")
	simSum, sum, simDir, out := b.simSum, b.liveSum, b.simDir, b.liveDir
	type task struct {
		created, done   float64
		failed, checked bool
	}
	read := func(dir string) map[string]*task {
		m := map[string]*task{}
		if err := record.ReadEvents(dir, func(e *record.Event) error {
			if e.Type != record.TypeTask {
				return nil
			}
			k := m[e.TaskGUID]
			if k == nil {
				k = &task{created: e.T}
				m[e.TaskGUID] = k
			}
			if e.State == "COMPLETED" {
				k.done, k.failed = e.T, e.Failed
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	live, simulated := read(out), read(simDir)
	if len(simulated) != 7 || len(live) != len(simulated) {
		t.Fatalf("tasks: %d live %v, %d simulated %v; want 7 each", len(live), live, len(simulated), simulated)
	}
	for g, s := range simulated {
		l := live[g]
		switch {
		case l == nil:
			t.Errorf("task %s: not in the live record", g)
		case math.Abs(l.created-s.created) > 1:
			t.Errorf("task %s desired at %.2fs live, %.2fs simulated", g, l.created, s.created)
		case l.done == 0:
			t.Errorf("task %s did not complete live", g)
		case l.failed != s.failed:
			t.Errorf("task %s: failed %v live, %v simulated", g, l.failed, s.failed)
		}
	}
	if sum.Tasks.Desired != 7 || sum.Tasks.Completed != 7 || sum.Tasks.Failed != simSum.Tasks.Failed {
		t.Errorf("summary tasks %+v, simulated %+v", sum.Tasks, simSum.Tasks)
	}
}
