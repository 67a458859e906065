package rep

import (
	"context"
	"net/http"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
)

// syncGrace protects young containers from the bulk sync: their claim or start may
// be in flight, so the BBS's snapshot can lag behind them.
const syncGrace = 5 * time.Second

// bulkSync harmonizes this cell's containers with the BBS (DIEGO.md §3.2, §6.4):
//   - an ActualLRP on this cell with no container: Remove it (RemoveEvacuating for an
//     EVACUATING row; a SUSPECT row is crashed, which deletes it);
//   - a RUNNING container whose ActualLRP is CLAIMED: Start it again;
//   - a container the BBS has no ActualLRP for (or another instance): delete it;
//   - a RUNNING task on this cell with no container: fail it ("task container does
//     not exist"); a task container the BBS does not run here: delete it.
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
	type todo struct {
		op string
		c  *lrpC
	}
	var reports []todo
	var orphans []*lrpC
	var failTasks []string
	var orphanTasks []*taskC
	r.mu.Lock()
	known := map[string]bool{}
	for _, a := range actual {
		known[a.InstanceGUID] = true
		c, ok := r.lrps[a.InstanceGUID]
		if !ok {
			ghost := &lrpC{key: a.ActualLRPKey, ik: a.InstanceKey}
			switch a.Presence {
			case model.Evacuating:
				reports = append(reports, todo{"remove-evacuating", ghost})
			case model.Suspect:
				reports = append(reports, todo{"crash", ghost})
			default:
				reports = append(reports, todo{"remove", ghost})
			}
			continue
		}
		if c.state == stRunning && a.State == model.Claimed && !c.stopping {
			cp := *c
			reports = append(reports, todo{"start", &cp})
		}
	}
	for id, c := range r.lrps {
		if !known[id] && !c.stopping && c.state != stReserved && now.Sub(c.born) > syncGrace {
			c.stopping = true
			orphans = append(orphans, c)
		}
	}
	runningHere := map[string]bool{}
	for _, t := range tasks {
		if t.State != model.TaskRunning {
			continue
		}
		runningHere[t.GUID] = true
		if _, ok := r.tasks[t.GUID]; !ok {
			failTasks = append(failTasks, t.GUID)
		}
	}
	for guid, t := range r.tasks {
		if !runningHere[guid] && t.state == stRunning && !t.cancelled && now.Sub(t.born) > syncGrace {
			t.cancelled = true
			orphanTasks = append(orphanTasks, t)
		}
	}
	r.mu.Unlock()

	for _, td := range reports {
		reason := ""
		if td.op == "crash" {
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
	for _, guid := range failTasks {
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
