package rep

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/diegolab/diegolab/model"
)

// SyncGrace protects young containers from the bulk sync: their claim or start may
// still be in flight, so the BBS's view can lag behind them.
const SyncGrace = 5 * time.Second

// LRPContainer is one LRP container as the rep sees it.
type LRPContainer struct {
	Key      model.ActualLRPKey
	Instance model.InstanceKey
	State    Phase
	Stopping bool          // already being stopped (Container.Stopping)
	Age      time.Duration // time since the container was allocated
}

// TaskContainer is one task container as the rep sees it.
type TaskContainer struct {
	GUID      string
	State     Phase
	Cancelled bool // already being cancelled (Container.Stopping)
	Age       time.Duration
}

// RowReport is a report the rep sends to the BBS to repair a row: ReportRemove (an
// ORDINARY row on this cell has no container), ReportRemoveEvacuating (an EVACUATING
// row has none), ReportCrash (a SUSPECT row has none: crashing deletes it, with
// ReasonContainerMissing) or ReportStart (the container runs but the BBS still has the
// row CLAIMED: a lost start report).
type RowReport struct {
	Op       Report
	Key      model.ActualLRPKey
	Instance model.InstanceKey
	Reason   string
}

// Step is the report as a step of the rep (nothing for the executor: the row has no
// container, or its container runs on).
func (r RowReport) Step() Step { return Step{Report: r.Op, Reason: r.Reason} }

// MissingTask is the step for each of a Plan's FailTasks: the task is completed failed
// with model.ReasonTaskContainerMissing.
var MissingTask = Step{Report: ReportCompleteTask, Failed: true, Reason: model.ReasonTaskContainerMissing}

// Plan is what one bulk sync decides, each list sorted.
type Plan struct {
	Reports []RowReport
	// DeleteLRPs are containers (by instance guid) the BBS has no row for.
	DeleteLRPs []string
	// FailTasks are tasks the BBS runs on this cell with no container here: they are
	// completed failed with model.ReasonTaskContainerMissing.
	FailTasks []string
	// DeleteTasks are running task containers the BBS does not run on this cell.
	DeleteTasks []string
}

// Harmonize compares a cell's containers with the BBS's actual LRPs and tasks for that
// cell (DIEGO.md §3.2's harmonizing table, as the rep's bulk sync applies it):
//   - an ActualLRP with no container: Remove it (RemoveEvacuating for an EVACUATING row;
//     a SUSPECT row is crashed, which deletes it);
//   - a RUNNING container whose ActualLRP is CLAIMED: start it again;
//   - a created or running container (older than SyncGrace, not already stopping) that
//     the BBS has no row for: delete it;
//   - a RUNNING task on the cell with no container: fail it; a running task container
//     (older than SyncGrace, not already cancelled) the BBS does not run here: delete it.
func Harmonize(lrps []LRPContainer, tasks []TaskContainer, actual []model.ActualLRP, bbsTasks []model.Task) Plan {
	var p Plan
	byInstance := make(map[string]*LRPContainer, len(lrps))
	for i := range lrps {
		byInstance[lrps[i].Instance.InstanceGUID] = &lrps[i]
	}
	known := make(map[string]bool, len(actual))
	for _, a := range actual {
		known[a.InstanceGUID] = true
		c, ok := byInstance[a.InstanceGUID]
		if !ok {
			r := RowReport{Op: ReportRemove, Key: a.ActualLRPKey, Instance: a.InstanceKey}
			switch a.Presence {
			case model.Evacuating:
				r.Op = ReportRemoveEvacuating
			case model.Suspect:
				r.Op, r.Reason = ReportCrash, ReasonContainerMissing
			}
			p.Reports = append(p.Reports, r)
			continue
		}
		if c.State == Running && a.State == model.Claimed && !c.Stopping {
			p.Reports = append(p.Reports, RowReport{Op: ReportStart, Key: c.Key, Instance: c.Instance})
		}
	}
	for _, c := range lrps {
		if !known[c.Instance.InstanceGUID] && !c.Stopping && c.State != Reserved && c.Age > SyncGrace {
			p.DeleteLRPs = append(p.DeleteLRPs, c.Instance.InstanceGUID)
		}
	}
	have := make(map[string]bool, len(tasks))
	for _, t := range tasks {
		have[t.GUID] = true
	}
	runningHere := map[string]bool{}
	for _, t := range bbsTasks {
		if t.State != model.TaskRunning {
			continue
		}
		runningHere[t.GUID] = true
		if !have[t.GUID] {
			p.FailTasks = append(p.FailTasks, t.GUID)
		}
	}
	for _, t := range tasks {
		if !runningHere[t.GUID] && t.State == Running && !t.Cancelled && t.Age > SyncGrace {
			p.DeleteTasks = append(p.DeleteTasks, t.GUID)
		}
	}
	slices.SortFunc(p.Reports, func(a, b RowReport) int {
		if c := strings.Compare(a.Key.ProcessGUID, b.Key.ProcessGUID); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Key.Index, b.Key.Index); c != 0 {
			return c
		}
		if c := cmp.Compare(repairOrder(a.Op), repairOrder(b.Op)); c != 0 {
			return c
		}
		return strings.Compare(a.Instance.InstanceGUID, b.Instance.InstanceGUID)
	})
	slices.Sort(p.DeleteLRPs)
	slices.Sort(p.FailTasks)
	slices.Sort(p.DeleteTasks)
	return p
}

// repairOrder orders one instance's repairs: removals first, then a suspect's crash,
// then a start again.
func repairOrder(r Report) int {
	switch r {
	case ReportRemove:
		return 0
	case ReportRemoveEvacuating:
		return 1
	case ReportCrash:
		return 2
	}
	return 3
}
