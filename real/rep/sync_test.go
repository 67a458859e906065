package rep

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
)

// age makes the rep's containers look older than the bulk sync's grace.
func (e *env) age(d time.Duration) {
	e.rep.mu.Lock()
	defer e.rep.mu.Unlock()
	for _, c := range e.rep.lrps {
		c.born = c.born.Add(-d)
	}
	for _, t := range e.rep.tasks {
		t.born = t.born.Add(-d)
	}
}

func row(pg string, i int, ig string, state model.ActualLRPState, presence model.Presence) model.ActualLRP {
	return model.ActualLRP{ActualLRPKey: model.ActualLRPKey{ProcessGUID: pg, Index: i}, Domain: "cf-apps",
		InstanceKey: model.InstanceKey{InstanceGUID: ig, CellID: "cell-0"}, State: state, Presence: presence}
}

// The bulk sync harmonizes the cell with the BBS: rows without containers are removed
// (or crashed, for a SUSPECT row), a running instance the BBS still has CLAIMED is
// started again, containers the BBS does not know are destroyed without a report once
// older than the grace, tasks the BBS runs here without a container are failed, and
// task containers it does not run here are destroyed.
func TestBulkSync(t *testing.T) {
	e := newEnv(t)
	e.bbs.setRunInfo("pg", e.lrpRunInfo(processCheck))
	for _, g := range []string{"tk-known", "tk-unknown"} {
		e.bbs.setRunInfo(g, e.taskRunInfo())
	}
	e.running("pg", 0, "ig-claimed") // the BBS lost its start
	e.running("pg", 1, "ig-known")
	e.running("pg", 2, "ig-unknown") // the BBS has no row for it
	for _, g := range []string{"tk-known", "tk-unknown"} {
		e.workTask(g)
		e.waitFor(g+" running", func() bool { return slices.Contains(e.ex.eventsOf("t-"+g), "start") })
	}
	e.age(time.Minute)
	e.running("pg", 3, "ig-young") // unknown too, but within the grace

	e.bbs.mu.Lock()
	e.bbs.actual = []model.ActualLRP{
		row("pg", 0, "ig-claimed", model.Claimed, model.Ordinary),
		row("pg", 1, "ig-known", model.Running, model.Ordinary),
		row("pg", 3, "ig-young", model.Running, model.Ordinary),
		row("pg", 4, "ig-gone", model.Running, model.Ordinary),
		row("pg", 5, "ig-evac", model.Running, model.Evacuating),
		row("pg", 6, "ig-suspect", model.Running, model.Suspect),
	}
	e.bbs.cellTasks = []model.Task{
		{GUID: "tk-known", State: model.TaskRunning, CellID: "cell-0"},
		{GUID: "tk-missing", State: model.TaskRunning, CellID: "cell-0"},
		{GUID: "tk-done", State: model.TaskCompleted, CellID: "cell-0"},
	}
	e.bbs.mu.Unlock()

	e.rep.bulkSync(context.Background())

	for _, tc := range []struct {
		ig  string
		ops []string
	}{
		{"ig-claimed", []string{"claim", "start", "start"}},
		{"ig-known", []string{"claim", "start"}},
		{"ig-unknown", []string{"claim", "start"}},
		{"ig-young", []string{"claim", "start"}},
		{"ig-gone", []string{"remove"}},
		{"ig-evac", []string{"remove-evacuating"}},
		{"ig-suspect", []string{"crash"}},
	} {
		if got := e.bbs.lrpOps(tc.ig); !slices.Equal(got, tc.ops) {
			t.Errorf("%s reports = %v, want %v", tc.ig, got, tc.ops)
		}
	}
	if c, _ := e.bbs.lrpCall("ig-suspect", "crash"); c.R.Reason != "container missing on its cell" || c.R.Key.Index != 6 {
		t.Errorf("suspect crash = %+v, want pg/6 with the missing-container reason", c.R)
	}
	if c, _ := e.bbs.lrpCall("ig-claimed", "start"); c.R.Address != "127.0.0.1:61000" {
		t.Errorf("start again with address %q, want the container's", c.R.Address)
	}
	e.waitGone("ig-unknown")
	if !e.ex.ct(lrpID("pg", 2, "ig-unknown")).isDestroyed() {
		t.Errorf("the container unknown to the BBS was not destroyed")
	}
	e.waitTaskGone("tk-unknown")
	if !e.ex.ct("t-tk-unknown").isDestroyed() {
		t.Errorf("the task container unknown to the BBS was not destroyed")
	}
	for _, id := range []string{lrpID("pg", 0, "ig-claimed"), lrpID("pg", 1, "ig-known"), lrpID("pg", 3, "ig-young"), "t-tk-known"} {
		if e.ex.ct(id).isDestroyed() {
			t.Errorf("%s destroyed, want it kept", id)
		}
	}
	if got := e.taskOpsOf("tk-unknown"); !slices.Equal(got, []string{"start-task"}) {
		t.Errorf("tk-unknown reports = %v, want [start-task] (the BBS no longer runs it)", got)
	}
	missing := e.bbs.taskOps("tk-missing")
	if len(missing) != 1 || missing[0].Op != "complete-task" || !missing[0].R.Failed || missing[0].R.Reason != model.ReasonTaskContainerMissing {
		t.Errorf("tk-missing reports = %+v, want one complete-task failed %q", missing, model.ReasonTaskContainerMissing)
	}
	if got := e.bbs.taskOps("tk-done"); len(got) != 0 {
		t.Errorf("tk-done (completed at the BBS) reported: %+v", got)
	}
}

// The bulk sync runs every BulkSync on its own.
func TestBulkSyncTicks(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BulkSync = 10 * time.Millisecond })
	countGets := func() int {
		e.bbs.mu.Lock()
		defer e.bbs.mu.Unlock()
		n := 0
		for _, c := range e.bbs.calls {
			if c == "GET /v1/cells/cell-0/actual" {
				n++
			}
		}
		return n
	}
	e.waitFor("three bulk syncs", func() bool { return countGets() >= 3 })
	e.bbs.mu.Lock()
	e.bbs.actual = []model.ActualLRP{row("pg", 0, "ig-gone", model.Running, model.Ordinary)}
	e.bbs.mu.Unlock()
	e.waitFor("the row without a container removed", func() bool {
		ops := e.bbs.lrpOps("ig-gone")
		return len(ops) > 0 && ops[0] == "remove"
	})
}
