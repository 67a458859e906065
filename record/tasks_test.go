package record

import (
	"testing"

	"github.com/diegolab/diegolab/model"
)

// TaskTally counts each outcome once, however many events a task goes through.
func TestTaskTally(t *testing.T) {
	var tl TaskTally
	if s := tl.Summary(); s.FailedByReason == nil || s.Completed != 0 {
		t.Fatalf("empty tally: %+v, want zeros and an empty reasons map", s)
	}
	ev := func(guid string, st model.TaskState, failed bool, reason string, rejections int, removed bool) {
		tl.Observe(&model.Task{GUID: guid, State: st, Failed: failed, FailureReason: reason, RejectionCount: rejections}, removed)
	}
	ev("a", model.TaskPending, false, "", 0, false)
	ev("b", model.TaskPending, false, "", 0, false)
	ev("c", model.TaskPending, false, "", 0, false)
	if tl.Pending() != 3 || tl.Running() != 0 || tl.Seen() != 3 {
		t.Fatalf("pending %d running %d seen %d, want 3 0 3", tl.Pending(), tl.Running(), tl.Seen())
	}
	ev("a", model.TaskRunning, false, "", 0, false)
	ev("a", model.TaskCompleted, false, "", 0, false)
	ev("a", model.TaskResolving, false, "", 0, false)
	ev("a", model.TaskResolving, false, "", 0, true)
	ev("b", model.TaskRunning, false, "", 0, false)
	ev("b", model.TaskPending, false, "", 1, false) // its cell rejected it
	ev("b", model.TaskCompleted, true, "oom", 1, false)
	ev("b", model.TaskCompleted, true, "oom", 1, false) // the same state again: not a second failure
	ev("c", model.TaskRunning, false, "", 0, false)
	s := tl.Summary()
	if s.Completed != 1 || s.Failed != 1 || s.FailedByReason["oom"] != 1 || s.Rejections != 1 ||
		s.PendingAtEnd != 0 || s.RunningAtEnd != 1 || tl.Seen() != 3 {
		t.Fatalf("summary %+v (seen %d)", s, tl.Seen())
	}
}
