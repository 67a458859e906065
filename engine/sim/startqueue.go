package sim

import (
	"math"
	"time"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/scenarios"
)

// The calibrated start queue (calibration start_concurrency, start_service,
// start_scope): container starts share the machine. Each start needs a drawn amount of
// work (start_service: its cost when it runs alone); while n starts are under way in a
// scope (a cell, or the whole cluster), each progresses at min(1, K/n) of full speed
// (processor sharing over K slots). A lone restart costs one service; a burst of n
// equal starts finishes together after n/K services, as live bursts do on a loaded
// machine (docs/fidelity.md). The app's own drawn start time follows the container's
// start. Starts are kept in the order they joined; the next completion is one kernel
// event per scope, rescheduled whenever a start joins or leaves; no map, no goroutine.

// startQueue is one scope's starts under way.
type startQueue struct {
	active []queuedStart
	last   time.Duration // when the work left was last brought up to date
	timer  engine.Handle // the next completion (kStartQueue)
}

type queuedStart struct {
	id    int32
	gen   uint32
	left  float64       // work left, in nanoseconds of a start running alone
	delay time.Duration // the app's drawn start time, after the container's
}

// rate is the speed of each of n starts under way with k slots.
func rate(n, k int) float64 { return math.Min(1, float64(k)/float64(n)) }

// queueStart puts the start of container id (created now on its cell) in its scope's
// queue; the app's drawn start time delay follows once the queue has done its work.
// It reports false when the calibration has no start queue.
func (s *Sim) queueStart(now time.Duration, id int32, delay time.Duration) bool {
	cal := &s.sc.Calibration
	if cal.StartConcurrency <= 0 {
		return false
	}
	scope := s.startScope(id)
	q := s.startQueue(scope)
	s.advanceStarts(now, q)
	ct := &s.containers.items[id]
	q.active = append(q.active, queuedStart{id: id, gen: ct.gen, left: float64(cal.StartService.Sample(s.rLatency)), delay: delay})
	s.nextStartDone(now, scope, q)
	return true
}

// startScope is the queue a container's start joins: its cell's (1 + cell index), or
// the cluster's (0) with start_scope = "cluster".
func (s *Sim) startScope(id int32) int {
	if s.sc.Calibration.StartScope == scenarios.StartScopeCluster {
		return 0
	}
	return 1 + int(s.containers.items[id].cell)
}

func (s *Sim) startQueue(scope int) *startQueue {
	if s.starts == nil {
		s.starts = make([]startQueue, len(s.cells)+1)
	}
	for scope >= len(s.starts) { // cells added by add-cells
		s.starts = append(s.starts, startQueue{})
	}
	return &s.starts[scope]
}

// advanceStarts brings the work left of q's starts up to now and drops the starts
// whose container is gone (a crashed cell, a stopped instance).
func (s *Sim) advanceStarts(now time.Duration, q *startQueue) {
	keep := q.active[:0]
	for _, a := range q.active {
		if s.live(a.id, a.gen) != nil {
			keep = append(keep, a)
		}
	}
	n := len(q.active)
	q.active = keep
	if n > 0 {
		done := float64(now-q.last) * rate(n, s.sc.Calibration.StartConcurrency)
		for i := range q.active {
			q.active[i].left -= done
		}
	}
	q.last = now
}

// nextStartDone schedules q's next completion.
func (s *Sim) nextStartDone(now time.Duration, scope int, q *startQueue) {
	s.k.Cancel(q.timer)
	q.timer = engine.Handle{}
	if len(q.active) == 0 {
		return
	}
	least := q.active[0].left
	for _, a := range q.active[1:] {
		least = math.Min(least, a.left)
	}
	d := time.Duration(math.Ceil(math.Max(0, least) / rate(len(q.active), s.sc.Calibration.StartConcurrency)))
	q.timer = s.k.After(d, s, engine.Payload{Kind: kStartQueue, A: int64(scope)})
}

// startsDone: the scope's next start has done its work (with any other due at the
// same instant); each done container's app start follows after its drawn time.
func (s *Sim) startsDone(now time.Duration, scope int) {
	q := s.startQueue(scope)
	q.timer = engine.Handle{}
	s.advanceStarts(now, q)
	keep := q.active[:0]
	var done []queuedStart
	for _, a := range q.active {
		if a.left <= 1 { // within a nanosecond: rounding of the shared rate
			done = append(done, a)
		} else {
			keep = append(keep, a)
		}
	}
	q.active = keep
	for _, a := range done {
		ct := &s.containers.items[a.id]
		ct.timer = s.k.After(a.delay, s, engine.Payload{Kind: kStart, A: int64(a.id), B: int64(a.gen)})
	}
	s.nextStartDone(now, scope, q)
}

// startOverheadOf is what a container created now adds to its app's drawn start time
// without a start queue: a draw of the calibrated overhead (startOverhead), or 0.
func (s *Sim) startOverheadOf(ct *container) time.Duration {
	if oh := s.startOverhead(ct); oh != (scenarios.Dist{}) {
		return oh.Sample(s.rLatency)
	}
	return 0
}
