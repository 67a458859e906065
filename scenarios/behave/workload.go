package behave

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/scenarios"
)

// ConfigFile is the workload's configuration file, pushed next to its binary.
const ConfigFile = "workload.json"

// Workload is what real mode's workload program (cmd/workload) needs to behave as one
// app of a scenario's app group: the run seed, the app's process guid in the scenario
// (the identity its draws use, whatever name the live cluster gives the app), the
// group's behaviour, and the task groups, for tasks run with the app's droplet.
type Workload struct {
	Seed        uint64 `json:"seed"`
	ProcessGUID string `json:"process_guid"`
	// StartTime, StartFailureProbability, CrashProbabilityAtStart and CrashAfter are
	// the app group's (nil CrashAfter: it never crashes).
	StartTime               scenarios.Dist  `json:"start_time"`
	StartFailureProbability float64         `json:"start_failure_probability,omitempty"`
	CrashProbabilityAtStart float64         `json:"crash_probability_at_start,omitempty"`
	CrashAfter              *scenarios.Dist `json:"crash_after,omitempty"`
	// StartOverhead is taken off every drawn start time before the workload waits it:
	// what a real container costs to create and start before its process runs
	// (measured; docs/fidelity.md), so that the instance is RUNNING about the drawn
	// start time after its container was created, as in the simulator.
	StartOverhead time.Duration `json:"start_overhead,omitempty"`
	// Tasks are the scenario's task groups by name.
	Tasks map[string]TaskSpec `json:"tasks,omitempty"`
}

// TaskSpec is one task group's behaviour.
type TaskSpec struct {
	Duration           scenarios.Dist `json:"duration"`
	FailureProbability float64        `json:"failure_probability,omitempty"`
}

// NewWorkload describes app processGUID of group g in scenario sc.
func NewWorkload(sc *scenarios.Scenario, g *scenarios.AppGroup, processGUID string) Workload {
	w := Workload{Seed: sc.Seed, ProcessGUID: processGUID, StartTime: g.StartTime,
		StartFailureProbability: g.StartFailureProbability, CrashProbabilityAtStart: g.CrashProbabilityAtStart}
	if g.Crash != nil {
		after := g.Crash.After
		w.CrashAfter = &after
	}
	for _, t := range sc.Tasks {
		if w.Tasks == nil {
			w.Tasks = map[string]TaskSpec{}
		}
		w.Tasks[t.Name] = TaskSpec{Duration: t.Duration, FailureProbability: t.FailureProbability}
	}
	return w
}

// Group is the app group the workload behaves as (only the behaviour fields set).
func (w Workload) Group() *scenarios.AppGroup {
	g := &scenarios.AppGroup{StartTime: w.StartTime, StartFailureProbability: w.StartFailureProbability,
		CrashProbabilityAtStart: w.CrashProbabilityAtStart}
	if w.CrashAfter != nil {
		g.Crash = &scenarios.CrashSpec{After: *w.CrashAfter}
	}
	return g
}

// Plan draws the plan of the instance (index, instanceGUID) from its own generator.
func (w Workload) Plan(index int, instanceGUID string) Plan {
	return PlanInstance(w.Group(), Instance(w.Seed, w.ProcessGUID, index, instanceGUID))
}

// TaskPlan draws a task's run from the task guid "<group>-<n>" (false: no such group).
func (w Workload) TaskPlan(taskGUID string) (time.Duration, bool, error) {
	i := strings.LastIndexByte(taskGUID, '-')
	if i <= 0 {
		return 0, false, fmt.Errorf("task guid %q: want <group>-<n>", taskGUID)
	}
	spec, ok := w.Tasks[taskGUID[:i]]
	if !ok {
		return 0, false, fmt.Errorf("task guid %q: no task group %q in %s", taskGUID, taskGUID[:i], ConfigFile)
	}
	g := &scenarios.TaskGroup{Duration: spec.Duration, FailureProbability: spec.FailureProbability}
	d, failed := TaskRun(g, Task(w.Seed, taskGUID))
	return d, failed, nil
}

// Task returns the generator of one task's draws (stream "task/<guid>").
func Task(seed uint64, taskGUID string) *rand.Rand {
	return engine.NewStream(seed, "task/"+taskGUID)
}

// maxConfig bounds the configuration file the workload reads.
const maxConfig = 1 << 20

// ReadWorkload reads and checks a workload configuration file.
func ReadWorkload(path string) (Workload, error) {
	var w Workload
	f, err := os.Open(path)
	if err != nil {
		return w, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return w, err
	}
	if st.Size() > maxConfig {
		return w, fmt.Errorf("%s: %d bytes, beyond the limit of %d", path, st.Size(), maxConfig)
	}
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return w, fmt.Errorf("%s: %w", path, err)
	}
	if w.ProcessGUID == "" {
		return w, fmt.Errorf("%s: process_guid: missing", path)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"start_failure_probability", w.StartFailureProbability}, {"crash_probability_at_start", w.CrashProbabilityAtStart}} {
		if !(p.v >= 0 && p.v <= 1) {
			return w, fmt.Errorf("%s: %s: want a probability between 0 and 1, got %v", path, p.name, p.v)
		}
	}
	if w.StartOverhead < 0 {
		return w, fmt.Errorf("%s: start_overhead: want >= 0, got %v", path, w.StartOverhead)
	}
	return w, nil
}
