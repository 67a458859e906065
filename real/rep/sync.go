package rep

import (
	"context"
	"net/http"
	"time"

	"github.com/diegolab/diegolab/model"
	mrep "github.com/diegolab/diegolab/model/rep"
)

// bulkSync harmonizes this cell's containers with the BBS (DIEGO.md §3.2, §6.4): it
// fetches the BBS's rows for the cell, lets model/rep.Harmonize decide, and carries the
// decisions out through the same state machine and reports as every other step.
func (r *Rep) bulkSync(ctx context.Context) {
	start := time.Now()
	defer func() { r.metrics.BulkSyncDuration.Observe(time.Since(start).Seconds()) }()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var actual []model.ActualLRP
	if err := r.bbs.Do(cctx, http.MethodGet, "/v1/cells/"+r.cfg.CellID+"/actual", nil, &actual); err != nil {
		if ctx.Err() == nil {
			r.log.Warn("bulk sync", "err", err)
		}
		return
	}
	var tasks []model.Task
	if err := r.bbs.Do(cctx, http.MethodGet, "/v1/cells/"+r.cfg.CellID+"/tasks", nil, &tasks); err != nil {
		if ctx.Err() == nil {
			r.log.Warn("bulk sync", "err", err)
		}
		return
	}
	now := time.Now()
	r.mu.Lock()
	lrps := make([]mrep.LRPContainer, 0, len(r.lrps))
	for _, id := range sortedKeys(r.lrps) {
		c := r.lrps[id]
		lrps = append(lrps, mrep.LRPContainer{Key: c.key, Instance: c.ik, State: c.Phase(), Stopping: c.Stopping(), Age: now.Sub(c.born)})
	}
	tcs := make([]mrep.TaskContainer, 0, len(r.tasks))
	for _, guid := range sortedKeys(r.tasks) {
		t := r.tasks[guid]
		tcs = append(tcs, mrep.TaskContainer{GUID: guid, State: t.Phase(), Cancelled: t.Stopping(), Age: now.Sub(t.born)})
	}
	plan := mrep.Harmonize(lrps, tcs, actual, tasks)
	// A report about a container the rep holds (a start again) goes out in turn with
	// the container's own reports; the others are about rows without a container.
	held := map[string]*lrpC{}
	for _, rp := range plan.Reports {
		if c, ok := r.lrps[rp.Instance.InstanceGUID]; ok {
			held[rp.Instance.InstanceGUID] = c
		}
	}
	type lrpStep struct {
		c  *lrpC
		st mrep.Step
	}
	var forget []lrpStep
	for _, id := range plan.DeleteLRPs {
		if c, ok := r.lrps[id]; ok {
			forget = append(forget, lrpStep{c, c.Forget()})
		}
	}
	type taskStep struct {
		t  *taskC
		st mrep.Step
	}
	var cancelled []taskStep
	for _, guid := range plan.DeleteTasks {
		if t, ok := r.tasks[guid]; ok {
			cancelled = append(cancelled, taskStep{t, t.Cancel()})
		}
	}
	r.mu.Unlock()

	for _, rp := range plan.Reports {
		if c, ok := held[rp.Instance.InstanceGUID]; ok {
			r.reportLRP(c, rp.Step())
			continue
		}
		r.reportRow(rp.Key, rp.Instance, "", rp.Step())
	}
	for _, f := range forget {
		r.log.Info("bulk sync: deleting a container the BBS does not know", "lrp", f.c.key.String(), "instance", f.c.ik.InstanceGUID)
		r.driveLRP(f.c, f.st)
	}
	for _, guid := range plan.FailTasks {
		r.reportTask(guid, mrep.MissingTask)
	}
	for _, c := range cancelled {
		r.driveTask(c.t, c.st)
	}
}
