package cell

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

// ContainerState is a container's lifecycle on the cell (DIEGO.md §3.2).
type ContainerState uint8

const (
	Reserved ContainerState = iota // allocated, not created yet
	Created                        // initializing or created, process not running yet
	Running
	Completed
)

// LRPContainer is one LRP container as the rep sees it.
type LRPContainer struct {
	Key      model.ActualLRPKey
	Instance model.InstanceKey
	State    ContainerState
	Stopping bool          // already being stopped
	Age      time.Duration // time since the container was allocated
}

// TaskContainer is one task container as the rep sees it.
type TaskContainer struct {
	GUID      string
	State     ContainerState
	Cancelled bool // already being cancelled
	Age       time.Duration
}

// Op is a report the rep sends to the BBS to repair a row.
type Op uint8

const (
	// RemoveActual: an ORDINARY row on this cell has no container.
	RemoveActual Op = iota
	// RemoveEvacuating: an EVACUATING row on this cell has no container.
	RemoveEvacuating
	// CrashSuspect: a SUSPECT row on this cell has no container; crashing it deletes it.
	CrashSuspect
	// StartAgain: the container runs but the BBS still has the row CLAIMED (a lost
	// start report).
	StartAgain
)

func (o Op) String() string {
	return [...]string{"remove", "remove-evacuating", "crash", "start"}[o]
}

// Report is one repair for the BBS.
type Report struct {
	Op       Op
	Key      model.ActualLRPKey
	Instance model.InstanceKey
}

// Plan is what one bulk sync decides, each list sorted.
type Plan struct {
	Reports []Report
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
			op := RemoveActual
			switch a.Presence {
			case model.Evacuating:
				op = RemoveEvacuating
			case model.Suspect:
				op = CrashSuspect
			}
			p.Reports = append(p.Reports, Report{Op: op, Key: a.ActualLRPKey, Instance: a.InstanceKey})
			continue
		}
		if c.State == Running && a.State == model.Claimed && !c.Stopping {
			p.Reports = append(p.Reports, Report{Op: StartAgain, Key: c.Key, Instance: c.Instance})
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
	slices.SortFunc(p.Reports, func(a, b Report) int {
		if c := strings.Compare(a.Key.ProcessGUID, b.Key.ProcessGUID); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Key.Index, b.Key.Index); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Op, b.Op); c != 0 {
			return c
		}
		return strings.Compare(a.Instance.InstanceGUID, b.Instance.InstanceGUID)
	})
	slices.Sort(p.DeleteLRPs)
	slices.Sort(p.FailTasks)
	slices.Sort(p.DeleteTasks)
	return p
}
