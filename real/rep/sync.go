package rep

import (
	"context"
	"net/http"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/rep"
	"github.com/diegolab/diegolab/real/api"
)

// containerState maps the rep's container states to the model's.
func containerState(s string) rep.Phase {
	switch s {
	case stCreated:
		return rep.Created
	case stRunning:
		return rep.Running
	case stCompleted:
		return rep.Completed
	}
	return rep.Reserved
}

// bulkSync harmonizes this cell's containers with the BBS (DIEGO.md §3.2, §6.4): it
// fetches the BBS's rows for the cell, lets model/rep.Harmonize decide, and carries the
// decisions out (reports to the BBS, containers deleted, tasks failed).
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
		r.log.Warn("bulk sync", "err", err)
		return
	}
	now := time.Now()
	r.mu.Lock()
	lrps := make([]rep.LRPContainer, 0, len(r.lrps))
	for _, c := range r.lrps {
		lrps = append(lrps, rep.LRPContainer{Key: c.key, Instance: c.ik, State: containerState(c.state), Stopping: c.stopping, Age: now.Sub(c.born)})
	}
	tcs := make([]rep.TaskContainer, 0, len(r.tasks))
	for guid, t := range r.tasks {
		tcs = append(tcs, rep.TaskContainer{GUID: guid, State: containerState(t.state), Cancelled: t.cancelled, Age: now.Sub(t.born)})
	}
	plan := rep.Harmonize(lrps, tcs, actual, tasks)
	type todo struct {
		op string
		c  *lrpC
	}
	var reports []todo
	for _, rp := range plan.Reports {
		c := &lrpC{key: rp.Key, ik: rp.Instance} // a ghost for rows without a container
		if have, ok := r.lrps[rp.Instance.InstanceGUID]; ok && rp.Op == rep.ReportStart {
			cp := *have
			c = &cp
		}
		reports = append(reports, todo{rp.Op.String(), c})
	}
	var orphans []*lrpC
	for _, id := range plan.DeleteLRPs {
		if c, ok := r.lrps[id]; ok {
			c.stopping = true
			orphans = append(orphans, c)
		}
	}
	var orphanTasks []*taskC
	for _, guid := range plan.DeleteTasks {
		if t, ok := r.tasks[guid]; ok {
			t.cancelled = true
			orphanTasks = append(orphanTasks, t)
		}
	}
	r.mu.Unlock()

	for _, td := range reports {
		reason := ""
		if td.op == rep.ReportCrash.String() {
			reason = "container missing on its cell"
		}
		if err := r.report(td.op, td.c, reason); err != nil {
			r.log.Info("bulk sync report", "op", td.op, "lrp", td.c.key.String(), "err", err)
		}
	}
	for _, c := range orphans {
		r.log.Info("bulk sync: deleting a container the BBS does not know", "lrp", c.key.String(), "instance", c.ik.InstanceGUID)
		r.destroy(c.ct)
		r.forgetLRP(c)
	}
	for _, guid := range plan.FailTasks {
		err := r.bbs.Do(cctx, http.MethodPost, "/v1/tasks/"+guid+"/complete",
			api.TaskReport{TaskGUID: guid, CellID: r.cfg.CellID, Failed: true, Reason: model.ReasonTaskContainerMissing}, nil)
		if err != nil {
			r.log.Info("bulk sync task", "task", guid, "err", err)
		}
	}
	for _, t := range orphanTasks {
		r.destroy(t.ct)
	}
}
