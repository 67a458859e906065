package rep

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/executor"
)

// taskRunInfo is a task's run info on the env's droplet.
func (e *env) taskRunInfo() api.RunInfo {
	return api.RunInfo{Kind: api.KindTask, DropletSHA: e.sha, Command: "./app/run.sh migrate", App: "web"}
}

// taskOpsOf returns the task's report ops, in order.
func (e *env) taskOpsOf(guid string) []string {
	var out []string
	for _, c := range e.bbs.taskOps(guid) {
		out = append(out, c.Op)
	}
	return out
}

// waitTaskOps waits until the task's reports are exactly want.
func (e *env) waitTaskOps(guid string, want ...string) {
	e.t.Helper()
	e.waitFor("task reports "+strings.Join(want, ","), func() bool { return slices.Equal(e.taskOpsOf(guid), want) })
}

// A task whose process exits is completed, succeeded with status 0 and failed with a
// reason otherwise; one the BBS does not let start never gets a container.
func TestTaskOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup arranges the outcome; run (if set) ends the process.
		setup func(e *env)
		code  int
		// ops are the task reports; failed and reason those of the completion.
		ops    []string
		failed bool
		reason string
		events []string
	}{
		{
			name:   "succeeds",
			code:   0,
			ops:    []string{"start-task", "complete-task"},
			events: []string{"create", "start", "destroy"},
		},
		{
			name:   "fails with its exit status",
			code:   2,
			ops:    []string{"start-task", "complete-task"},
			failed: true, reason: "APP/TASK: Exited with status 2",
			events: []string{"create", "start", "destroy"},
		},
		{
			name:  "start refused: no container, nothing completed",
			setup: func(e *env) { e.bbs.setTaskStart(func(string) bool { return false }) },
			ops:   []string{"start-task"},
		},
		{
			name:   "no run info: failed",
			setup:  func(e *env) { e.bbs.mu.Lock(); delete(e.bbs.runInfo, "tk"); e.bbs.mu.Unlock() },
			ops:    []string{"start-task", "complete-task"},
			failed: true, reason: "run info: no run info for tk",
		},
		{
			name: "not a task's run info: failed",
			setup: func(e *env) {
				ri := e.taskRunInfo()
				ri.Kind = api.KindLRP
				e.bbs.setRunInfo("tk", ri)
			},
			ops:    []string{"start-task", "complete-task"},
			failed: true, reason: `run info kind "lrp" is not a task`,
		},
		{
			name: "droplet missing: failed",
			setup: func(e *env) {
				ri := e.taskRunInfo()
				ri.DropletSHA = strings.Repeat("cd", 32)
				e.bbs.setRunInfo("tk", ri)
			},
			ops:    []string{"start-task", "complete-task"},
			failed: true, reason: "droplet: droplet cdcdcdcdcdcd: ",
		},
		{
			name:   "container create failed: failed",
			setup:  func(e *env) { e.ex.setCreate(func(executor.ContainerSpec) error { return errors.New("cgroup full") }) },
			ops:    []string{"start-task", "complete-task"},
			failed: true, reason: "container: cgroup full",
			events: []string{"create-failed"},
		},
		{
			name:   "process failed to start: failed",
			setup:  func(e *env) { e.ex.setStart(func(*fakeCt) error { return errors.New("no such file") }) },
			ops:    []string{"start-task", "complete-task"},
			failed: true, reason: "container: no such file",
			events: []string{"create", "destroy"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.bbs.setRunInfo("tk", e.taskRunInfo())
			if tc.setup != nil {
				tc.setup(e)
			}
			e.workTask("tk")
			id := "t-tk"
			if slices.Contains(tc.events, "start") {
				e.waitFor("the task's process", func() bool { return slices.Contains(e.ex.eventsOf(id), "start") })
				ct := e.ex.ct(id)
				if ct.spec.Command != "./app/run.sh migrate" || !strings.HasSuffix(ct.spec.AppDir, e.sha) || ct.spec.MemoryMB != 64 {
					t.Errorf("task spec = %+v", ct.spec)
				}
				ct.exitWith(tc.code, false)
			}
			e.waitTaskOps("tk", tc.ops...)
			e.waitTaskGone("tk")
			if got := e.ex.eventsOf(id); !slices.Equal(got, tc.events) {
				t.Errorf("executor events = %v, want %v", got, tc.events)
			}
			calls := e.bbs.taskOps("tk")
			if calls[0].R.CellID != "cell-0" {
				t.Errorf("start-task from cell %q, want cell-0", calls[0].R.CellID)
			}
			if len(calls) == 2 {
				c := calls[1].R
				if c.Failed != tc.failed || !strings.HasPrefix(c.Reason, tc.reason) || (tc.reason == "" && c.Reason != "") {
					t.Errorf("completion = failed %v reason %q, want failed %v reason %q...", c.Failed, c.Reason, tc.failed, tc.reason)
				}
			}
		})
	}
}

// A cancel before the BBS answers the start drops the task when the answer comes; a
// cancel while it runs destroys its container. Neither reports a completion (the BBS
// finished the task).
func TestTaskCancel(t *testing.T) {
	t.Run("before the start answer", func(t *testing.T) {
		e := newEnv(t)
		e.bbs.setRunInfo("tk", e.taskRunInfo())
		g := newGate(t)
		e.bbs.setTaskStart(func(string) bool { <-g.ch; return true })
		e.workTask("tk")
		e.waitTaskOps("tk", "start-task")
		if st := e.do(http.MethodPost, "/cancel", api.CancelRequest{TaskGUID: "tk"}, nil); st != http.StatusOK {
			t.Fatalf("POST /cancel: %d", st)
		}
		g.open()
		e.waitTaskGone("tk")
		if got := e.taskOpsOf("tk"); !slices.Equal(got, []string{"start-task"}) {
			t.Errorf("task reports = %v, want [start-task]", got)
		}
		if e.ex.ct("t-tk") != nil {
			t.Errorf("a container was created for a task cancelled before its start was answered")
		}
	})
	t.Run("while creating", func(t *testing.T) {
		e := newEnv(t)
		e.bbs.setRunInfo("tk", e.taskRunInfo())
		g := newGate(t)
		var entered atomic.Bool
		e.ex.setCreate(func(executor.ContainerSpec) error { entered.Store(true); <-g.ch; return nil })
		e.workTask("tk")
		e.waitFor("Create", entered.Load)
		if st := e.do(http.MethodPost, "/cancel", api.CancelRequest{TaskGUID: "tk"}, nil); st != http.StatusOK {
			t.Fatalf("POST /cancel: %d", st)
		}
		g.open()
		e.waitDestroyed("t-tk")
		e.waitTaskGone("tk")
		if got := e.ex.eventsOf("t-tk"); !slices.Equal(got, []string{"create", "destroy"}) {
			t.Errorf("executor events = %v, want [create destroy] (never started)", got)
		}
		if got := e.taskOpsOf("tk"); !slices.Equal(got, []string{"start-task"}) {
			t.Errorf("task reports = %v, want [start-task]", got)
		}
	})
	t.Run("while running", func(t *testing.T) {
		e := newEnv(t)
		e.bbs.setRunInfo("tk", e.taskRunInfo())
		e.workTask("tk")
		e.waitFor("the task's process", func() bool { return slices.Contains(e.ex.eventsOf("t-tk"), "start") })
		if st := e.do(http.MethodPost, "/cancel", api.CancelRequest{TaskGUID: "tk"}, nil); st != http.StatusOK {
			t.Fatalf("POST /cancel: %d", st)
		}
		e.waitDestroyed("t-tk")
		e.waitTaskGone("tk")
		if got := e.taskOpsOf("tk"); !slices.Equal(got, []string{"start-task"}) {
			t.Errorf("task reports = %v, want [start-task]", got)
		}
		if st := e.do(http.MethodPost, "/cancel", api.CancelRequest{TaskGUID: "tk"}, nil); st != http.StatusNotFound {
			t.Errorf("second cancel: %d, want 404", st)
		}
	})
}

// A task's resources count against the cell while it runs and are free again after.
func TestTaskInState(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("tk", e.taskRunInfo())
	e.workTask("tk")
	e.waitFor("the task's process", func() bool { return slices.Contains(e.ex.eventsOf("t-tk"), "start") })
	var st api.CellState
	e.do(http.MethodGet, "/state", nil, &st)
	if len(st.Tasks) != 1 || st.Tasks[0].TaskGUID != "tk" || st.Tasks[0].State != "RUNNING" {
		t.Fatalf("state tasks = %+v, want tk RUNNING", st.Tasks)
	}
	if want := (model.Resources{MemoryMB: 1024 - 64, DiskMB: 4096 - 128, Containers: 7}); st.Available != want {
		t.Errorf("available = %+v, want %+v", st.Available, want)
	}
	e.ex.ct("t-tk").exitWith(0, false)
	e.waitTaskGone("tk")
	e.do(http.MethodGet, "/state", nil, &st)
	if len(st.Tasks) != 0 || st.Available != e.rep.cfg.Capacity {
		t.Errorf("after the task: tasks %+v, available %+v, want none and the capacity", st.Tasks, st.Available)
	}
}
