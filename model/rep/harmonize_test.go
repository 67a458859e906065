package rep

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
)

func key(g string, i int) model.ActualLRPKey { return model.ActualLRPKey{ProcessGUID: g, Index: i} }
func ik(id string) model.InstanceKey         { return model.InstanceKey{InstanceGUID: id, CellID: "cell-1"} }

func row(g string, i int, id string, st model.ActualLRPState, p model.Presence) model.ActualLRP {
	return model.ActualLRP{ActualLRPKey: key(g, i), InstanceKey: ik(id), State: st, Presence: p}
}

const old = SyncGrace + time.Second // a container past the grace period

func TestHarmonize(t *testing.T) {
	tests := []struct {
		name     string
		lrps     []LRPContainer
		tasks    []TaskContainer
		actual   []model.ActualLRP
		bbsTasks []model.Task
		want     Plan
	}{
		{
			name:   "in step: nothing to do",
			lrps:   []LRPContainer{{Key: key("web", 0), Instance: ik("i-1"), State: Running, Age: old}},
			actual: []model.ActualLRP{row("web", 0, "i-1", model.Running, model.Ordinary)},
		},
		{
			name: "rows without a container: remove, remove evacuating, crash the suspect",
			actual: []model.ActualLRP{
				row("web", 1, "i-9", model.Running, model.Suspect),
				row("web", 1, "i-8", model.Running, model.Evacuating),
				row("web", 0, "i-7", model.Claimed, model.Ordinary),
			},
			want: Plan{Reports: []RowReport{
				{Op: ReportRemove, Key: key("web", 0), Instance: ik("i-7")},
				{Op: ReportRemoveEvacuating, Key: key("web", 1), Instance: ik("i-8")},
				{Op: ReportCrash, Key: key("web", 1), Instance: ik("i-9"), Reason: ReasonContainerMissing},
			}},
		},
		{
			name:   "running container, claimed row: the start report was lost, send it again",
			lrps:   []LRPContainer{{Key: key("api", 2), Instance: ik("i-3"), State: Running, Age: old}},
			actual: []model.ActualLRP{row("api", 2, "i-3", model.Claimed, model.Ordinary)},
			want:   Plan{Reports: []RowReport{{Op: ReportStart, Key: key("api", 2), Instance: ik("i-3")}}},
		},
		{
			name:   "a stopping container is not started again",
			lrps:   []LRPContainer{{Key: key("api", 2), Instance: ik("i-3"), State: Running, Stopping: true, Age: old}},
			actual: []model.ActualLRP{row("api", 2, "i-3", model.Claimed, model.Ordinary)},
		},
		{
			name: "containers the BBS does not know: deleted once past the grace, unless reserved or stopping",
			lrps: []LRPContainer{
				{Key: key("b", 0), Instance: ik("i-b"), State: Running, Age: old},
				{Key: key("a", 0), Instance: ik("i-a"), State: Created, Age: old},
				{Key: key("c", 0), Instance: ik("i-c"), State: Running, Age: SyncGrace}, // young: its claim may be in flight
				{Key: key("d", 0), Instance: ik("i-d"), State: Reserved, Age: old},
				{Key: key("e", 0), Instance: ik("i-e"), State: Running, Stopping: true, Age: old},
			},
			want: Plan{DeleteLRPs: []string{"i-a", "i-b"}},
		},
		{
			name:     "tasks: running here without a container fails; a container the BBS does not run here goes",
			tasks:    []TaskContainer{{GUID: "t-2", State: Running, Age: old}, {GUID: "t-3", State: Running, Age: time.Second}, {GUID: "t-4", State: Running, Cancelled: true, Age: old}, {GUID: "t-5", State: Running, Age: old}},
			bbsTasks: []model.Task{{GUID: "t-1", State: model.TaskRunning}, {GUID: "t-5", State: model.TaskRunning}, {GUID: "t-6", State: model.TaskCompleted}},
			want:     Plan{FailTasks: []string{"t-1"}, DeleteTasks: []string{"t-2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Harmonize(tt.lrps, tt.tasks, tt.actual, tt.bbsTasks)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// The plan does not depend on the order the rep lists its containers in (it ranges a
// map) or the BBS lists its rows.
func TestHarmonizeOrderIndependent(t *testing.T) {
	lrps := []LRPContainer{
		{Key: key("x", 0), Instance: ik("i-x"), State: Running, Age: old},
		{Key: key("y", 0), Instance: ik("i-y"), State: Running, Age: old},
		{Key: key("z", 0), Instance: ik("i-z"), State: Running, Age: old},
	}
	actual := []model.ActualLRP{row("q", 0, "i-q", model.Running, model.Ordinary), row("p", 3, "i-p", model.Claimed, model.Ordinary)}
	a := Harmonize(lrps, nil, actual, nil)
	b := Harmonize([]LRPContainer{lrps[2], lrps[0], lrps[1]}, nil, []model.ActualLRP{actual[1], actual[0]}, nil)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("plans differ with input order (-first +second):\n%s", diff)
	}
	if len(a.DeleteLRPs) != 3 || len(a.Reports) != 2 || a.Reports[0].Key.ProcessGUID != "p" {
		t.Errorf("plan %+v: want 3 deletions and the two removals sorted by key", a)
	}
}
