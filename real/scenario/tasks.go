package scenario

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// Tasks live: the scenario's [[tasks]] run as one-off tasks of a runner app pushed
// with the workload program and no instances (Diego runs a task in an app's droplet,
// `cf run-task`). Task n of group G runs `./workload -task G-n`, which draws its
// duration and failure from (seed, "G-n") as the simulator does with calibration
// draws = "instance". The tasks are desired at the simulator's times: at the group's
// start_at, or with Poisson gaps drawn from the run's "tasks" stream in the same order.
// The BBS names a task task-<runner>-<n>; the record names it by its scenario guid.

// taskRunner is the app whose droplet runs the scenario's tasks (Check refuses an app
// group whose guids would take the name).
const taskRunner = "scenario-tasks"

// taskStep is one task desired at a scenario time.
type taskStep struct {
	at       time.Duration
	group, n int
}

// taskTimes lists the scenario's tasks at the times the simulator desires them
// (engine/sim's schedule): same stream, same order of draws, tasks after the end left
// out.
func taskTimes(sc *scenarios.Scenario) []taskStep {
	r := engine.NewStream(sc.Seed, "tasks")
	var out []taskStep
	for gi := range sc.Tasks {
		g := &sc.Tasks[gi]
		at := g.StartAt
		for i := 0; i < g.Count; i++ {
			if g.RatePerMinute > 0 {
				at += time.Duration(r.ExpFloat64() / g.RatePerMinute * float64(time.Minute))
			}
			if at > sc.Duration {
				break
			}
			out = append(out, taskStep{at: at, group: gi, n: i})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].at < out[b].at })
	return out
}

// pushTaskRunner pushes the runner app when the scenario has tasks.
func (d *driver) pushTaskRunner(ctx context.Context) error {
	if len(d.sc.Tasks) == 0 {
		return nil
	}
	bin, err := os.ReadFile(d.o.Workload)
	if err != nil {
		return err
	}
	// The runner's own behaviour is never used (it has no instances); the task groups
	// travel in its workload.json.
	t := d.sc.Tasks[0]
	return d.push(ctx, &scenarios.AppGroup{Name: taskRunner, MemoryMB: t.MemoryMB, DiskMB: t.DiskMB}, taskRunner, bin, 0, false)
}

// runTask desires task n of group gi.
func (d *driver) runTask(ctx context.Context, gi, n int) error {
	g := &d.sc.Tasks[gi]
	guid := g.TaskGUIDs()[n]
	req := api.TaskRequest{Command: "./workload -task " + guid, MemoryMB: g.MemoryMB, DiskMB: g.DiskMB}
	var info api.TaskInfo
	if err := d.cl.Do(ctx, http.MethodPost, "/v1/apps/"+taskRunner+"/tasks", req, &info); err != nil {
		return fmt.Errorf("task %s: %w", guid, err)
	}
	d.mu.Lock()
	if d.taskGUID == nil {
		d.taskGUID = map[string]string{}
	}
	d.taskGUID[info.GUID] = guid
	d.mu.Unlock()
	d.logf("task %s desired (%s)", guid, info.GUID)
	return nil
}

// scenarioTask returns the scenario guid of the BBS's task guid (false: not one of
// the scenario's, e.g. a staging task).
func (d *driver) scenarioTask(bbsGUID string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, ok := d.taskGUID[bbsGUID]
	return g, ok
}

// taskSummary derives the run's task figures from its task events, as the simulator
// counts them: desired tasks, completions (failed ones by reason), what is running or
// pending at the end, rejections, and the durations from RUNNING to COMPLETED.
func taskSummary(evs []record.Event) record.TaskSummary {
	var s record.TaskSummary
	state := map[string]string{}
	running := map[string]float64{}
	rejections := map[string]int{}
	var durs []float64
	var order []string
	for _, e := range evs {
		if e.Type != record.TypeTask {
			continue
		}
		if _, seen := state[e.TaskGUID]; !seen {
			s.Desired++
			order = append(order, e.TaskGUID)
		}
		prev := state[e.TaskGUID]
		state[e.TaskGUID] = e.State
		rejections[e.TaskGUID] = max(rejections[e.TaskGUID], e.RejectionCount)
		switch e.State {
		case "RUNNING":
			running[e.TaskGUID] = e.T
		case "COMPLETED":
			if prev == "COMPLETED" {
				break
			}
			s.Completed++
			if e.Failed {
				s.Failed++
				if s.FailedByReason == nil {
					s.FailedByReason = map[string]int{}
				}
				s.FailedByReason[e.FailureReason]++
			}
			if t, ok := running[e.TaskGUID]; ok {
				durs = append(durs, e.T-t)
			}
		}
	}
	for _, g := range order {
		switch state[g] {
		case "RUNNING":
			s.RunningAtEnd++
		case "PENDING":
			s.PendingAtEnd++
		}
		s.Rejections += rejections[g]
	}
	if s.FailedByReason == nil {
		s.FailedByReason = map[string]int{}
	}
	s.DurationSeconds = record.PercentilesOf(durs)
	return s
}

// checkTasks reports what keeps the scenario's tasks from running live (demand counts
// every task as a container at once: an upper bound).
func checkTasks(sc *scenarios.Scenario, bad func(line int, key, format string, args ...any)) {
	for i, g := range sc.Tasks {
		key := fmt.Sprintf("tasks[%d] (%s)", i, g.Name)
		if len(g.PlacementTags)+len(g.VolumeDrivers) > 0 {
			bad(g.Line, key, "placement tags and volume drivers are not supported by real mode")
		}
		if g.RootFS != "" && g.RootFS != model.PreloadedRootFS(scenarios.DefaultStack) {
			bad(g.Line, key, "rootfs %q: real mode runs tasks in the default stack (the runner app's droplet)", g.RootFS)
		}
		if g.MemoryMB > maxMemoryMB || g.DiskMB > maxDiskMB {
			bad(g.Line, key, "memory_mb %d / disk_mb %d: the live BBS allows at most %d MB of memory and %d MB of disk per task", g.MemoryMB, g.DiskMB, maxMemoryMB, maxDiskMB)
		}
		if g.Compute != nil {
			bad(g.Line, key, "cpu and gpu requests are not supported by real mode")
		}
	}
	for i, g := range sc.Apps {
		if g.Name == taskRunner || slices.Contains(g.ProcessGUIDs(), taskRunner) {
			bad(g.Line, fmt.Sprintf("apps[%d] (%s)", i, g.Name), "real mode runs the scenario's tasks in an app named %s; rename the group", taskRunner)
		}
	}
}
