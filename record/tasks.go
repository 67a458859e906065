package record

import "github.com/diegolab/diegolab/model"

// TaskTally follows every task through the BBS's task events and counts each outcome
// once: summary.json's tasks section and the timeseries' pending and running counts,
// for both drivers. The zero value is ready.
type TaskTally struct {
	state             map[string]model.TaskState
	created           int
	pending, running  int
	completed, failed int
	rejections        int
	reasons           map[string]int
}

// Observe takes a task as an event left it (removed: the task was deleted).
func (t *TaskTally) Observe(k *model.Task, removed bool) {
	if t.state == nil {
		t.state, t.reasons = map[string]model.TaskState{}, map[string]int{}
	}
	old, known := t.state[k.GUID]
	if known {
		t.count(old, -1)
	}
	if removed {
		delete(t.state, k.GUID)
		return
	}
	if !known {
		t.created++
	}
	t.state[k.GUID] = k.State
	t.count(k.State, 1)
	if k.State == model.TaskPending && known && (old == model.TaskPending || old == model.TaskRunning) && k.RejectionCount > 0 {
		t.rejections++ // back to PENDING after a cell rejected it
	}
	if k.State == model.TaskCompleted && (!known || old == model.TaskPending || old == model.TaskRunning) {
		if k.Failed {
			t.failed++
			t.reasons[k.FailureReason]++
		} else {
			t.completed++
		}
	}
}

func (t *TaskTally) count(st model.TaskState, d int) {
	switch st {
	case model.TaskPending:
		t.pending += d
	case model.TaskRunning:
		t.running += d
	}
}

// Pending and Running count the tasks in those states now.
func (t *TaskTally) Pending() int { return t.pending }
func (t *TaskTally) Running() int { return t.running }

// Seen counts the tasks observed (created, or first seen in a later state).
func (t *TaskTally) Seen() int { return t.created }

// Summary is the tasks section of summary.json but for Desired and DurationSeconds,
// which the driver knows (the tasks it desired, the containers' run times).
func (t *TaskTally) Summary() TaskSummary {
	reasons := map[string]int{}
	for k, n := range t.reasons {
		reasons[k] = n
	}
	return TaskSummary{Completed: t.completed, Failed: t.failed, FailedByReason: reasons, Rejections: t.rejections,
		PendingAtEnd: t.pending, RunningAtEnd: t.running}
}
