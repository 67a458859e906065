package bbs

import (
	"fmt"
	"time"

	"github.com/diegolab/diegolab/model"
)

// Tasks (DIEGO.md §3.3; Diego controllers/task_controller.go, db/sqldb/task_db.go).

// MaxCellIDLength bounds the cell id a task is started on (Diego's tasks.cell_id column is
// VARCHAR(255); StartTask answers a bad request for a longer one).
const MaxCellIDLength = 255

func taskStart(t *model.Task) TaskStart {
	return TaskStart{GUID: t.GUID, Domain: t.Domain, Resource: t.Resource(), Constraint: t.Constraint(), Compute: t.Compute}
}

func refuseTask(t *model.Task, to model.TaskState, reason string) error {
	return &model.TransitionError{Kind: "task", Key: t.GUID, From: t.State.String(), To: to.String(), Reason: reason}
}

// DesireTask validates and stores t as PENDING (created_at = updated_at = now) and queues
// its auction.
func (b *BBS) DesireTask(now time.Duration, t model.Task) error {
	return b.done("DesireTask", b.desireTask(now, t))
}

func (b *BBS) desireTask(now time.Duration, t model.Task) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if _, ok, err := b.store.GetTask(t.GUID); err != nil {
		return storeErr("get task", err)
	} else if ok {
		return &model.ExistsError{Kind: "task", Key: t.GUID}
	}
	t.State, t.CreatedAt, t.UpdatedAt, t.FirstCompletedAt = model.TaskPending, now, now, 0
	t.CellID, t.Failed, t.FailureReason, t.Result, t.RejectionCount, t.RejectionReason = "", false, "", "", 0, ""
	if err := b.putTask(nil, t); err != nil {
		return err
	}
	b.out.TaskStarts = append(b.out.TaskStarts, taskStart(&t))
	return nil
}

// StartTask: PENDING -> RUNNING on cellID; shouldStart is false when it already runs
// there (idempotent), and a task RUNNING elsewhere is refused.
func (b *BBS) StartTask(now time.Duration, guid, cellID string) (bool, error) {
	ok, err := b.startTask(now, guid, cellID)
	return ok, b.done("StartTask", err)
}

func (b *BBS) startTask(now time.Duration, guid, cellID string) (bool, error) {
	if cellID == "" {
		return false, &model.ValidationError{Field: "cell_id", Problem: "must not be empty"}
	}
	if len(cellID) > MaxCellIDLength {
		return false, &model.ValidationError{Field: "cell_id", Problem: fmt.Sprintf("must be at most %d bytes, got %d", MaxCellIDLength, len(cellID))}
	}
	var buf model.Task
	t, err := b.getTask(&buf, guid)
	if err != nil {
		return false, err
	}
	if t.State == model.TaskRunning {
		if t.CellID == cellID {
			return false, nil
		}
		return false, refuseTask(t, model.TaskRunning, "running on cell "+t.CellID)
	}
	if t.State != model.TaskPending {
		return false, refuseTask(t, model.TaskRunning, "")
	}
	n := *t
	n.State, n.CellID, n.UpdatedAt = model.TaskRunning, cellID, now
	return true, b.putTask(t, n)
}

// RejectTask: PENDING or RUNNING -> PENDING with rejection_count+1 and the reason; the
// cell_id is kept (Diego's task_db.go RejectTask updates only the count, the reason,
// updated_at and the state), so a later CancelTask still reaches the old cell. Then,
// when the count before the rejection was already >= MaxTaskRetries, the task fails with
// the reason as well (Diego's task controller): with the default 3 retries the 4th
// rejection fails it, showing rejection_count 4. Convergence re-auctions a task that
// stays PENDING on its next pass.
func (b *BBS) RejectTask(now time.Duration, guid, reason string) error {
	return b.done("RejectTask", b.rejectTask(now, guid, reason))
}

func (b *BBS) rejectTask(now time.Duration, guid, reason string) error {
	var buf model.Task
	t, err := b.getTask(&buf, guid)
	if err != nil {
		return err
	}
	if t.State != model.TaskPending && t.State != model.TaskRunning {
		return refuseTask(t, model.TaskPending, "only PENDING or RUNNING tasks can be rejected")
	}
	n := *t
	n.State, n.RejectionCount, n.RejectionReason, n.UpdatedAt = model.TaskPending, t.RejectionCount+1, truncate(reason), now
	if err := b.putTask(t, n); err != nil {
		return err
	}
	if t.RejectionCount >= b.cfg.MaxTaskRetries {
		return b.completeTaskAs(now, &n, true, reason, "")
	}
	return nil
}

// completeTaskAs moves t to COMPLETED and queues its completion callback. The reason is
// stored even when failed is false, as Diego's completeTask does.
func (b *BBS) completeTaskAs(now time.Duration, t *model.Task, failed bool, reason, result string) error {
	n := *t
	n.State, n.Failed, n.FailureReason, n.Result = model.TaskCompleted, failed, truncate(reason), result
	n.CellID, n.UpdatedAt, n.FirstCompletedAt = "", now, now
	if err := b.putTask(t, n); err != nil {
		return err
	}
	b.out.Callbacks = append(b.out.Callbacks, n)
	return nil
}

// CompleteTask: RUNNING on cellID -> COMPLETED (failed, reason, result); callback queued.
func (b *BBS) CompleteTask(now time.Duration, guid, cellID string, failed bool, reason, result string) error {
	return b.done("CompleteTask", b.completeTask(now, guid, cellID, failed, reason, result))
}

func (b *BBS) completeTask(now time.Duration, guid, cellID string, failed bool, reason, result string) error {
	var buf model.Task
	t, err := b.getTask(&buf, guid)
	if err != nil {
		return err
	}
	if t.State != model.TaskRunning {
		return refuseTask(t, model.TaskCompleted, "only a RUNNING task completes")
	}
	if t.CellID != cellID {
		return refuseTask(t, model.TaskCompleted, "running on cell "+t.CellID+", not "+cellID)
	}
	return b.completeTaskAs(now, t, failed, reason, result)
}

// CancelTask: PENDING or RUNNING -> COMPLETED, failed "task was cancelled"; the rep is
// asked to cancel when the task had a cell.
func (b *BBS) CancelTask(now time.Duration, guid string) error {
	return b.done("CancelTask", b.cancelTask(now, guid))
}

func (b *BBS) cancelTask(now time.Duration, guid string) error {
	var buf model.Task
	t, err := b.getTask(&buf, guid)
	if err != nil {
		return err
	}
	if t.State != model.TaskPending && t.State != model.TaskRunning {
		return refuseTask(t, model.TaskCompleted, "only PENDING or RUNNING tasks can be cancelled")
	}
	cell := t.CellID
	if err := b.completeTaskAs(now, t, true, model.ReasonTaskCancelled, ""); err != nil {
		return err
	}
	if cell != "" {
		b.out.CancelTasks = append(b.out.CancelTasks, CancelTask{GUID: guid, CellID: cell})
	}
	return nil
}

// FailTask: PENDING or RUNNING -> COMPLETED, failed with reason.
func (b *BBS) FailTask(now time.Duration, guid, reason string) error {
	return b.done("FailTask", b.failTask(now, guid, reason))
}

func (b *BBS) failTask(now time.Duration, guid, reason string) error {
	var buf model.Task
	t, err := b.getTask(&buf, guid)
	if err != nil {
		return err
	}
	if t.State != model.TaskPending && t.State != model.TaskRunning {
		return refuseTask(t, model.TaskCompleted, "only PENDING or RUNNING tasks can fail")
	}
	return b.completeTaskAs(now, t, true, reason, "")
}

// convergeFailTask is convergence's fail of an expired PENDING task or a RUNNING task of a
// vanished cell: Diego's bulk UPDATE sets failed, the reason, result, state and the two
// times, and leaves cell_id as it is (FailTask would clear it). No callback is queued:
// Diego's pass submits only the COMPLETED tasks already untouched for kick_task_duration,
// so this one's callback goes out from a later pass (KickCompletedTasks).
func (b *BBS) convergeFailTask(now time.Duration, guid, reason string) error {
	var buf model.Task
	t, err := b.getTask(&buf, guid)
	if err != nil {
		return err
	}
	if t.State != model.TaskPending && t.State != model.TaskRunning {
		return refuseTask(t, model.TaskCompleted, "only PENDING or RUNNING tasks can fail")
	}
	n := *t
	n.State, n.Failed, n.FailureReason, n.Result = model.TaskCompleted, true, reason, ""
	n.UpdatedAt, n.FirstCompletedAt = now, now
	return b.putTask(t, n)
}

// ResolvingTask: COMPLETED -> RESOLVING (the BBS does this before the callback).
func (b *BBS) ResolvingTask(now time.Duration, guid string) error {
	return b.done("ResolvingTask", b.resolvingTask(now, guid))
}

func (b *BBS) resolvingTask(now time.Duration, guid string) error {
	var buf model.Task
	t, err := b.getTask(&buf, guid)
	if err != nil {
		return err
	}
	if t.State != model.TaskCompleted {
		return refuseTask(t, model.TaskResolving, "")
	}
	n := *t
	n.State, n.UpdatedAt = model.TaskResolving, now
	return b.putTask(t, n)
}

// DeleteTask deletes a RESOLVING task (after its callback was delivered).
func (b *BBS) DeleteTask(now time.Duration, guid string) error {
	return b.done("DeleteTask", b.deleteTask(guid, model.TaskResolving))
}

func (b *BBS) deleteTask(guid string, from model.TaskState) error {
	var buf model.Task
	t, err := b.getTask(&buf, guid)
	if err != nil {
		return err
	}
	if t.State != from {
		return &model.TransitionError{Kind: "task", Key: guid, From: t.State.String(), To: "DELETED", Reason: "only a " + from.String() + " task can be deleted here"}
	}
	if err := b.store.DeleteTask(guid); err != nil {
		return storeErr("delete task", err)
	}
	b.tracker.TaskChanged(t, nil)
	b.out.Events = append(b.out.Events, Event{Type: TaskRemoved, Task: t})
	return nil
}

// Task returns the task (a copy).
func (b *BBS) Task(guid string) (model.Task, bool) {
	t, ok, err := b.store.GetTask(guid)
	return t, ok && err == nil
}

// TasksOnCell returns the tasks the BBS has on cellID (a rep's bulk sync asks for them),
// sorted by guid. It lists every task: a rep asks once per sync, not per event.
func (b *BBS) TasksOnCell(cellID string) []model.Task {
	all, err := b.store.ListTasks()
	if err != nil {
		return nil
	}
	var out []model.Task
	for _, t := range all {
		if t.CellID == cellID {
			out = append(out, t)
		}
	}
	return out
}
