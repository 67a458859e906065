package model

import (
	"fmt"
	"strconv"
	"time"
)

// Task failure reasons used by the BBS and the rep (DIEGO.md §3.3, §4).
const (
	ReasonTaskCancelled          = "task was cancelled"
	ReasonTaskNotStarted         = "not started within time limit"
	ReasonCellDisappeared        = "cell disappeared before completion"
	ReasonTaskContainerMissing   = "task container does not exist"
	ReasonEvacuationTimedOut     = "timed out during cell evacuation"
	DefaultMaxTaskRetries        = 3
	DefaultTaskExpirePending     = 30 * time.Minute
	DefaultTaskExpireCompleted   = 2 * time.Minute
	DefaultTaskKickDuration      = 30 * time.Second
	DefaultStaleUnclaimedTimeout = 30 * time.Second
)

// TaskState is the lifecycle state of a Task (DIEGO.md §3.3).
type TaskState uint8

const (
	TaskInvalid TaskState = iota
	TaskPending
	TaskRunning
	TaskCompleted
	TaskResolving
)

var taskStateNames = [...]string{"INVALID", "PENDING", "RUNNING", "COMPLETED", "RESOLVING"}

func (s TaskState) String() string {
	if int(s) < len(taskStateNames) {
		return taskStateNames[s]
	}
	return "TaskState(" + strconv.Itoa(int(s)) + ")"
}

// Task is a one-off unit of work that runs to completion on some cell.
type Task struct {
	GUID   string    `json:"task_guid"`
	Domain string    `json:"domain"`
	State  TaskState `json:"state"`

	MemoryMB      int      `json:"memory_mb"`
	DiskMB        int      `json:"disk_mb"`
	MaxPids       int      `json:"max_pids,omitempty"`
	RootFS        string   `json:"rootfs"`
	PlacementTags []string `json:"placement_tags,omitempty"`
	VolumeDrivers []string `json:"volume_drivers,omitempty"`
	// Compute is the CPU and GPUs the task asks for beyond Diego's resources (nil:
	// none, as in Diego; docs/fgd.md).
	Compute *Compute `json:"compute,omitempty"`

	CellID          string `json:"cell_id,omitempty"`
	Failed          bool   `json:"failed"`
	FailureReason   string `json:"failure_reason,omitempty"`
	Result          string `json:"result,omitempty"`
	RejectionCount  int    `json:"rejection_count"`
	RejectionReason string `json:"rejection_reason,omitempty"`

	CreatedAt        time.Duration `json:"created_at"`
	UpdatedAt        time.Duration `json:"updated_at"`
	FirstCompletedAt time.Duration `json:"first_completed_at"`
}

// Resource is what the task asks of a cell.
func (t *Task) Resource() Resource {
	return Resource{MemoryMB: t.MemoryMB, DiskMB: t.DiskMB, MaxPids: t.MaxPids}
}

// Constraint is where the task may run.
func (t *Task) Constraint() PlacementConstraint {
	return PlacementConstraint{RootFS: t.RootFS, PlacementTags: t.PlacementTags, VolumeDrivers: t.VolumeDrivers}
}

// validTaskGUID reports whether guid matches ^[a-zA-Z0-9_-]+$ (the BBS's rule),
// without a regular expression: it is checked for every task desired.
func validTaskGUID(guid string) bool {
	if guid == "" {
		return false
	}
	for i := 0; i < len(guid); i++ {
		switch c := guid[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// Validate applies the BBS's rules to a task definition.
func (t *Task) Validate() error {
	if !validTaskGUID(t.GUID) {
		return &ValidationError{Field: "task_guid", Problem: fmt.Sprintf("must match ^[a-zA-Z0-9_-]+$, got %q", t.GUID)}
	}
	if t.Domain == "" {
		return &ValidationError{Field: "domain", Problem: "must not be empty"}
	}
	if err := t.Resource().Validate("resource"); err != nil {
		return err
	}
	if t.RootFS == "" {
		return &ValidationError{Field: "rootfs", Problem: "must not be empty"}
	}
	return t.Compute.Validate("compute")
}

// CheckTransition applies Diego's ValidateTransitionTo (DIEGO.md §3.3):
//
//	PENDING   -> RUNNING, COMPLETED (cancel/fail), PENDING (reject)
//	RUNNING   -> COMPLETED, PENDING (reject), RUNNING (idempotent start on the same cell)
//	COMPLETED -> RESOLVING
//	RESOLVING -> COMPLETED (demoted by convergence); deletion is not a state
func (t *Task) CheckTransition(to TaskState) error {
	ok := false
	switch t.State {
	case TaskPending:
		ok = to == TaskRunning || to == TaskCompleted || to == TaskPending
	case TaskRunning:
		ok = to == TaskCompleted || to == TaskPending || to == TaskRunning
	case TaskCompleted:
		ok = to == TaskResolving
	case TaskResolving:
		ok = to == TaskCompleted
	}
	if ok {
		return nil
	}
	return &TransitionError{Kind: "task", Key: t.GUID, From: t.State.String(), To: to.String()}
}
