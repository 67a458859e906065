package rep

import (
	"time"

	"github.com/diegolab/diegolab/model"
)

// Kind says what a container runs.
type Kind uint8

const (
	LRP Kind = iota
	Task
)

func (k Kind) String() string { return [...]string{"lrp", "task"}[k] }

// Phase is a container's lifecycle on the cell (DIEGO.md §3.2 container states).
type Phase uint8

const (
	// Reserved: resources are set aside; the claim (LRP) or the task start is in flight.
	Reserved Phase = iota
	// Initializing: the LRP is claimed and its container is being created.
	Initializing
	// Created: the container exists and its process is starting.
	Created
	// Running: the process runs (an LRP has passed its health check and been started).
	Running
	// Completed: the container is finished with (stopped, crashed, cancelled, given up)
	// and is being, or has been, destroyed.
	Completed
)

func (p Phase) String() string {
	return [...]string{"RESERVED", "INITIALIZING", "CREATED", "RUNNING", "COMPLETED"}[p]
}

// Exec is a command to the executor for one container.
type Exec uint8

const (
	ExecNone Exec = iota
	// ExecCreate creates the container and starts its process (the simulator samples
	// the start; real mode creates a runc container). An LRP answers with Created and
	// then Healthy or Exited; a task with TaskExited.
	ExecCreate
	// ExecRun starts the created container's process and its health check (real mode;
	// the simulator's creation already includes it).
	ExecRun
	// ExecStop stops the process gracefully, then destroys the container (a container
	// still being created is destroyed when its creation returns).
	ExecStop
	// ExecDestroy destroys the container at once and frees its resources.
	ExecDestroy
)

func (e Exec) String() string {
	return [...]string{"none", "create", "run", "stop", "destroy"}[e]
}

// Report is a call from the rep to the BBS.
type Report uint8

const (
	ReportNone Report = iota
	ReportClaim
	ReportStart
	ReportCrash
	ReportRemove
	ReportEvacuateClaimed
	ReportEvacuateRunning
	ReportRemoveEvacuating
	ReportStartTask
	ReportCompleteTask
)

func (r Report) String() string {
	return [...]string{"none", "claim", "start", "crash", "remove", "evacuate-claimed", "evacuate-running",
		"remove-evacuating", "start-task", "complete-task"}[r]
}

// Answered reports whether the BBS's answer to the report decides the next step.
func (r Report) Answered() bool {
	switch r {
	case ReportClaim, ReportStart, ReportEvacuateClaimed, ReportEvacuateRunning, ReportStartTask:
		return true
	}
	return false
}

// Step is what one input asks the driver to do, in order: Exec, then Report.
type Step struct {
	Exec   Exec
	Report Report
	// Reason is a crash's reason (ReportCrash) or a task's failure reason
	// (ReportCompleteTask).
	Reason string
	// Failed says whether a completed task failed, Result is what it produced
	// (ReportCompleteTask).
	Failed bool
	Result string
}

// Any reports whether the step asks for anything.
func (s Step) Any() bool { return s.Exec != ExecNone || s.Report != ReportNone }

func (s Step) String() string {
	out := ""
	if s.Exec != ExecNone {
		out = "exec " + s.Exec.String()
	}
	if s.Report != ReportNone {
		if out != "" {
			out += ", "
		}
		out += "report " + s.Report.String()
		if s.Report == ReportCompleteTask {
			if s.Failed {
				out += " failed"
			} else {
				out += " succeeded"
			}
		}
		if s.Reason != "" {
			out += " (" + s.Reason + ")"
		}
	}
	if out == "" {
		return "nothing"
	}
	return out
}

// Reply is the BBS's answer to a report.
type Reply struct {
	// OK: the BBS accepted the report (a claim, a start, a task start).
	OK bool
	// Keep: for an evacuation report, whether the cell keeps the container (Diego's
	// keep_container, which can be true even when the call failed).
	Keep bool
}

// Reasons the rep gives the BBS.
const (
	// ReasonStartFailed: the simulated process failed to start.
	ReasonStartFailed = "failed to start"
	// ReasonContainerMissing: the bulk sync found a SUSPECT row without its container.
	ReasonContainerMissing = "container missing on its cell"
)

// flags of a Container.
const (
	// evacuating: the BBS keeps an EVACUATING row for the container; its end is
	// reported as RemoveEvacuating.
	evacuating uint8 = 1 << iota
	// stopping: a stop (LRP) or cancel (task) arrived while an answer was in flight.
	stopping
	// started: the container reached RUNNING once (it no longer counts as starting).
	started
)

// Container is the rep's record of one container: three bytes a driver embeds in its
// own container record. The zero value is not a container: use NewLRP or NewTask.
type Container struct {
	kind  Kind
	phase Phase
	flags uint8
}

// NewLRP is an LRP instance the auction placed on this cell: the rep reserves it and
// claims it at the BBS.
func NewLRP() (Container, Step) {
	return Container{kind: LRP, phase: Reserved}, Step{Report: ReportClaim}
}

// AdoptLRP is an LRP container a previous life of the rep started and left running
// (a rep restarted after a crash finds it, as Diego's rep finds Garden's containers):
// it is RUNNING and was started; the rep supervises it again and the bulk sync
// reconciles it with the BBS.
func AdoptLRP() Container {
	return Container{kind: LRP, phase: Running, flags: started}
}

// NewTask is a task the auction placed on this cell: the rep reserves it and asks the
// BBS to start it.
func NewTask() (Container, Step) {
	return Container{kind: Task, phase: Reserved}, Step{Report: ReportStartTask}
}

// Kind says what the container runs.
func (c *Container) Kind() Kind { return c.kind }

// Phase is the container's lifecycle phase.
func (c *Container) Phase() Phase { return c.phase }

// Evacuating reports whether the BBS keeps an EVACUATING row for the container.
func (c *Container) Evacuating() bool { return c.flags&evacuating != 0 }

// Stopping reports whether a stop or cancel has been asked for, or the container is
// finished with: the bulk sync leaves it alone.
func (c *Container) Stopping() bool { return c.flags&stopping != 0 || c.phase == Completed }

// Starting reports whether the container counts as starting for the auction
// (StartingContainerCount): it never reached RUNNING. It stays true of a container
// that ended before it ran, so a driver freeing its resources knows how it was counted.
func (c *Container) Starting() bool { return c.flags&started == 0 }

// Started reports whether the container reached RUNNING (it may have ended since).
func (c *Container) Started() bool { return c.flags&started != 0 }

// Done reports whether the container is finished with.
func (c *Container) Done() bool { return c.phase == Completed }

// end finishes the container: it is destroyed (or stopped) and its end reported.
func (c *Container) end(exec Exec, report Report, reason string) Step {
	c.phase = Completed
	return Step{Exec: exec, Report: report, Reason: reason}
}

// removal is the report that ends an LRP row of this container: Remove, or
// RemoveEvacuating when the BBS holds an EVACUATING row for it.
func (c *Container) removal() Report {
	if c.Evacuating() {
		return ReportRemoveEvacuating
	}
	return ReportRemove
}

// Reply feeds the BBS's answer to report (the previous step's) and returns the next
// step.
func (c *Container) Reply(report Report, r Reply) Step {
	switch report {
	case ReportClaim:
		return c.claimed(r.OK)
	case ReportStart:
		if !r.OK {
			return c.startRefused()
		}
	case ReportEvacuateClaimed, ReportEvacuateRunning:
		return c.evacuateReply(r.Keep)
	case ReportStartTask:
		return c.taskStartReply(r.OK)
	}
	return Step{}
}

// claimed: the BBS answered the claim. Refused: the instance was removed or claimed
// elsewhere, so the reservation is dropped. Accepted: the container is created, unless
// a stop arrived meanwhile, in which case the claimed row is removed.
func (c *Container) claimed(ok bool) Step {
	if c.kind != LRP || c.phase != Reserved {
		return Step{}
	}
	switch {
	case !ok:
		return c.end(ExecDestroy, ReportNone, "")
	case c.flags&stopping != 0:
		return c.end(ExecDestroy, ReportRemove, "")
	}
	c.phase = Initializing
	return Step{Exec: ExecCreate}
}

// Created: the executor created the container (ok) or failed to. A failed creation of a
// claimed instance removes its row (the harmonizing table: RESERVED, run failed ->
// Remove). A container stopped while it was being created is destroyed now.
func (c *Container) Created(ok bool) Step {
	if c.kind != LRP {
		return Step{}
	}
	switch c.phase {
	case Initializing:
		if !ok {
			return c.end(ExecDestroy, c.removal(), "")
		}
		c.phase = Created
		return Step{Exec: ExecRun}
	case Completed:
		if ok {
			return Step{Exec: ExecDestroy}
		}
	}
	return Step{}
}

// Healthy: the process passed its health check; the rep starts the ActualLRP.
func (c *Container) Healthy() Step {
	if c.kind != LRP || c.phase != Created {
		return Step{}
	}
	c.phase, c.flags = Running, c.flags|started
	return Step{Report: ReportStart}
}

// startRefused: the BBS no longer wants the instance it was told runs: stop it.
func (c *Container) startRefused() Step {
	if c.phase != Running {
		return Step{}
	}
	return c.end(ExecDestroy, c.removal(), "")
}

// Exited: the LRP's container failed (its image could not be pulled, its process
// exited, never became healthy, or was killed for failing its health check: reason says
// which). It is destroyed and the crash reported (COMPLETED, crashed -> Crash); an
// evacuating instance's row is removed instead. An exit the rep caused (a stop) needs
// nothing more.
func (c *Container) Exited(reason string) Step {
	if c.kind != LRP || (c.phase != Initializing && c.phase != Created && c.phase != Running) {
		return Step{}
	}
	if c.Evacuating() {
		return c.end(ExecDestroy, ReportRemoveEvacuating, "")
	}
	return c.end(ExecDestroy, ReportCrash, reason)
}

// Stop: the BBS asked for the instance to stop (COMPLETED, stopped -> Remove). A stop
// that arrives while the claim is in flight is remembered and carried out when the
// claim is answered; one that arrives while the container is being created removes
// the row now and destroys the container when its creation returns.
func (c *Container) Stop() Step {
	if c.kind != LRP {
		return Step{}
	}
	switch c.phase {
	case Reserved:
		c.flags |= stopping
		return Step{}
	case Initializing, Created, Running:
		return c.end(ExecStop, c.removal(), "")
	}
	return Step{}
}

// Forget: the bulk sync found the container unknown to the BBS: it is destroyed
// without a report.
func (c *Container) Forget() Step {
	if c.phase == Completed {
		return Step{}
	}
	if c.phase == Reserved {
		// An answer is in flight; when it comes, the container is dropped.
		c.flags |= stopping
		return Step{}
	}
	return c.end(ExecDestroy, ReportNone, "")
}

// Evacuate: the cell is draining; the rep reports the instance to the BBS (DIEGO.md
// §6.5): a claimed one is unclaimed and re-auctioned, a running one gets an EVACUATING
// row and keeps running until its replacement runs. The BBS's answer (Reply) says
// whether the cell keeps the container.
func (c *Container) Evacuate() Step {
	if c.kind != LRP {
		return Step{}
	}
	switch c.phase {
	case Initializing, Created:
		return Step{Report: ReportEvacuateClaimed}
	case Running:
		return Step{Report: ReportEvacuateRunning}
	}
	return Step{}
}

// evacuateReply: keep, and the instance runs on under its EVACUATING row; otherwise the
// container is destroyed (its row is the BBS's business now).
func (c *Container) evacuateReply(keep bool) Step {
	if c.phase == Completed || c.phase == Reserved {
		return Step{}
	}
	if keep {
		c.flags |= evacuating
		return Step{}
	}
	return c.end(ExecDestroy, ReportNone, "")
}

// EvacuationEnded: the evacuation finished or timed out with the container still on the
// cell: it is destroyed and its end reported (a task fails with
// model.ReasonEvacuationTimedOut).
func (c *Container) EvacuationEnded() Step {
	switch {
	case c.phase == Completed:
		return Step{}
	case c.kind == Task:
		if c.phase == Reserved {
			c.flags |= stopping
			return Step{}
		}
		st := c.end(ExecDestroy, ReportCompleteTask, model.ReasonEvacuationTimedOut)
		st.Failed = true
		return st
	case c.phase == Reserved:
		c.flags |= stopping
		return Step{}
	}
	return c.end(ExecDestroy, c.removal(), "")
}

// taskStartReply: the BBS answered the task start; refused, or cancelled meanwhile, the
// reservation is dropped; accepted, the container is created and run.
func (c *Container) taskStartReply(ok bool) Step {
	if c.kind != Task || c.phase != Reserved {
		return Step{}
	}
	if !ok || c.flags&stopping != 0 {
		return c.end(ExecDestroy, ReportNone, "")
	}
	c.phase, c.flags = Running, c.flags|started
	return Step{Exec: ExecCreate}
}

// TaskExited: the task's process exited; the rep completes the task, failed with reason
// when it did not succeed, with its result when it did. A cancelled task reports
// nothing: the BBS finished it.
func (c *Container) TaskExited(failed bool, reason, result string) Step {
	if c.kind != Task || c.phase != Running {
		return Step{}
	}
	st := c.end(ExecDestroy, ReportCompleteTask, reason)
	st.Failed, st.Result = failed, result
	return st
}

// Cancel: the BBS cancelled the task; the container is destroyed without a report. A
// cancel that arrives while the start is in flight is carried out when it is answered.
func (c *Container) Cancel() Step {
	if c.kind != Task {
		return Step{}
	}
	switch c.phase {
	case Reserved:
		c.flags |= stopping
		return Step{}
	case Running:
		return c.end(ExecDestroy, ReportNone, "")
	}
	return Step{}
}

// EvacuationPollInterval is how often an evacuating rep reports its containers and
// checks whether it is empty (DIEGO.md §0: evacuation poll 10 s).
const EvacuationPollInterval = 10 * time.Second

// DefaultEvacuationTimeout is how long a rep evacuates before it gives up (600 s).
const DefaultEvacuationTimeout = 600 * time.Second

// Cell is the rep's cell-wide state: whether it is evacuating, since when.
type Cell struct {
	evacuating bool
	evacStart  time.Duration
}

// Accepts reports whether the rep takes new work: an evacuating rep returns all of a
// Perform's work as failed.
func (c *Cell) Accepts() bool { return !c.evacuating }

// Evacuating reports whether the cell is draining.
func (c *Cell) Evacuating() bool { return c.evacuating }

// Drain starts the evacuation at now; it reports false when it had already started.
// The driver then reports every container (Container.Evacuate) and polls after
// EvacuationPollInterval.
func (c *Cell) Drain(now time.Duration) bool {
	if c.evacuating {
		return false
	}
	c.evacuating, c.evacStart = true, now
	return true
}

// Outcome is how an evacuation poll ends.
type Outcome uint8

const (
	// Continue: containers remain and there is time left: poll again after
	// EvacuationPollInterval.
	Continue Outcome = iota
	// Evacuated: the cell is empty.
	Evacuated
	// TimedOut: the timeout passed with containers left; each is ended
	// (Container.EvacuationEnded).
	TimedOut
)

func (o Outcome) String() string { return [...]string{"continue", "evacuated", "timed out"}[o] }

// Poll is the evacuator's check at now, after a pass of Container.Evacuate, with
// remaining containers on the cell.
func (c *Cell) Poll(now time.Duration, remaining int, timeout time.Duration) Outcome {
	switch {
	case remaining == 0:
		return Evacuated
	case now-c.evacStart >= timeout:
		return TimedOut
	}
	return Continue
}

// Restore ends the evacuation state (a drained cell that is started again).
func (c *Cell) Restore() { *c = Cell{} }
