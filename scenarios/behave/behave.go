// Package behave draws what an app instance or a task of a scenario does: how long its
// container takes to start, whether the start fails, when a running instance crashes,
// how long a task runs and whether it fails. The simulator (engine/sim) and real mode's
// workload program (cmd/workload) both draw through these functions, so the two modes
// sample the same distributions in the same order of draws.
//
// Where the draws come from:
//
//   - By default the simulator passes its run-wide streams ("start", "crash", "tasks"):
//     the n-th start of the run takes the n-th draw, whichever instance it is. Shipped
//     records depend on this order, so it stays the default.
//   - Instance returns a generator seeded from the run seed and the instance's identity
//     (process guid, index, instance guid) alone. Real mode's workload always draws from
//     it (it knows nothing else), and the simulator does too when a scenario sets
//     `[calibration] draws = "instance"`: then an instance with the same identity gets
//     the same start time, start failure and crash time in both modes.
//
// Which draws cannot match between the modes even then: an instance guid names the n-th
// placement the auctioneer made, so when the two modes place in a different order (a
// crash restarted at a different moment, an auction batch cut differently) the same
// (app, index) carries a different guid and so different draws; the distributions still
// match. A task's run is drawn from the task guid, which is the same in both modes.
package behave

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/scenarios"
)

// StartTime is how long an instance of g takes from container creation to its process
// listening (one draw of g's start_time; no draw for a nil group, which takes the
// scenario default).
func StartTime(g *scenarios.AppGroup, r *rand.Rand) time.Duration {
	if g == nil {
		return scenarios.DefaultStartTime
	}
	return g.StartTime.Sample(r)
}

// StartFails reports whether an instance of g fails when its process would start:
// start_failure_probability, then crash_probability_at_start. A probability of 0 takes
// no draw, and the second is not drawn when the first already failed.
func StartFails(g *scenarios.AppGroup, r *rand.Rand) bool {
	if g == nil {
		return false
	}
	return g.StartFailureProbability > 0 && r.Float64() < g.StartFailureProbability ||
		g.CrashProbabilityAtStart > 0 && r.Float64() < g.CrashProbabilityAtStart
}

// CrashAfter is how long a running instance of g runs before its process exits 1, and
// false when g's instances never crash (no draw).
func CrashAfter(g *scenarios.AppGroup, r *rand.Rand) (time.Duration, bool) {
	if g == nil || g.Crash == nil {
		return 0, false
	}
	return g.Crash.After.Sample(r), true
}

// DefaultTaskDuration is how long a task outside every task group runs.
const DefaultTaskDuration = time.Minute

// TaskRun is how long a task of g runs and whether it fails (duration first, then the
// failure draw, only when failure_probability > 0).
func TaskRun(g *scenarios.TaskGroup, r *rand.Rand) (time.Duration, bool) {
	if g == nil {
		return DefaultTaskDuration, false
	}
	d := g.Duration.Sample(r)
	return d, g.FailureProbability > 0 && r.Float64() < g.FailureProbability
}

// Instance returns the generator of one instance's draws: seeded from the run seed and
// the stream name "instance/<process guid>/<index>/<instance guid>" (engine.NewStream),
// so it depends on nothing else in the run.
func Instance(seed uint64, processGUID string, index int, instanceGUID string) *rand.Rand {
	return engine.NewStream(seed, "instance/"+processGUID+"/"+strconv.Itoa(index)+"/"+instanceGUID)
}

// Plan is everything one instance start does, drawn in the simulator's order: start
// time, start failure, then (for a start that succeeded) the crash time.
type Plan struct {
	StartAfter time.Duration
	StartFails bool
	Crashes    bool
	CrashAfter time.Duration
}

// PlanInstance draws an instance's whole plan from r (Instance's generator).
func PlanInstance(g *scenarios.AppGroup, r *rand.Rand) Plan {
	p := Plan{StartAfter: StartTime(g, r)}
	if p.StartFails = StartFails(g, r); p.StartFails {
		return p
	}
	p.CrashAfter, p.Crashes = CrashAfter(g, r)
	return p
}
