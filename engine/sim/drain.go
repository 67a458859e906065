package sim

import (
	"time"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/control"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// drain carries out the plane's outputs until it has none (control.Drain), as the
// simulated reps, the auctioneer's transport and the recorder would.
func (s *Sim) drain(now time.Duration) {
	if err := control.Drain(now, s.plane, simSink{s}); err != nil {
		s.fail(err)
	}
	s.m.integrate(now, s.apps.missing())
}

// observeTaken observes the BBS events produced so far, so that a handler doing
// millions of operations does not hold an event per operation.
func (s *Sim) observeTaken(now time.Duration) {
	if err := s.plane.FlushEvents(now, simSink{s}); err != nil {
		s.fail(err)
	}
}

// simSink is the simulator's control.Sink: it records through the run's metrics and
// event writer and carries work out on the simulated cells.
type simSink struct{ s *Sim }

var (
	_ control.Sink           = simSink{}
	_ control.WorkPrefetcher = simSink{}
)

// Events observes state changes: the metrics' counters and events.jsonl. Nothing of an
// event is kept.
func (k simSink) Events(now time.Duration, evs []bbs.Event) error {
	for i := range evs {
		k.s.observe(now, &evs[i])
	}
	return nil
}

// Observe counts cells up, records lost cells (a drained cell released its presence:
// not a lost one) and the cells present at the start, and the auction rounds and
// convergence passes.
func (k simSink) Observe(now time.Duration, r control.Ready) error {
	s := k.s
	s.m.cellsUp += len(r.PresenceGained) - len(r.PresenceLost)
	for _, id := range r.PresenceLost {
		ci, ok := s.cellByID[id]
		if !ok || s.cells[ci].state == cellDown {
			continue
		}
		s.m.suspectCells[id] = struct{}{}
		s.writeCellEvent(now, s.cells[ci], record.CellLost)
	}
	for _, id := range r.PresenceGained {
		if ci, ok := s.cellByID[id]; ok && now == 0 {
			s.writeCellEvent(now, s.cells[ci], record.CellUp)
		}
	}
	for i := range r.Auctions {
		s.m.auction(&r.Auctions[i])
		s.events.WriteRound(now, &r.Auctions[i])
	}
	s.m.convergencePasses += len(r.Converged)
	return nil
}

// StartAuction: the auction runs once the cell states are fetched (a sampled latency).
func (k simSink) StartAuction(time.Duration) {
	s := k.s
	d := s.sc.Auction.StateFetch.Sample(s.rLatency)
	if l := s.sc.Calibration.AuctionLatency; l != (scenarios.Dist{}) {
		d += l.Sample(s.rLatency)
	}
	s.k.After(d, s, engine.Payload{Kind: kAuction})
}

func (k simSink) PrefetchWork(work []control.Work) { k.s.prefetchWork(work) }

func (k simSink) Perform(now time.Duration, w control.Work) error {
	k.s.perform(now, w)
	return nil
}

func (k simSink) StopLRP(now time.Duration, st bbs.StopLRP) {
	k.s.stopLRP(now, st.Key, st.InstanceKey.InstanceGUID)
}

func (k simSink) CancelTask(now time.Duration, c bbs.CancelTask) { k.s.cancelTask(now, c.GUID) }

// Callback: a staging task's result goes to the stager; every completion callback is
// delivered at once and answered 200.
func (k simSink) Callback(now time.Duration, t model.Task) (bool, error) {
	k.s.stagingCallback(now, t)
	return true, nil
}

// observe records one state change and keeps the counters the metrics need.
func (s *Sim) observe(now time.Duration, ev *bbs.Event) {
	switch {
	case ev.Actual != nil:
		a := ev.Actual
		removed := ev.Type == bbs.ActualLRPRemoved
		old := s.apps.setActual(a.ProcessGUID, a.Index, a.Presence, a.State, removed)
		if !removed && a.Presence == model.Ordinary {
			if a.State == model.Unclaimed && a.CrashCount > 0 && old != stateOf(model.Unclaimed) && old != 0 {
				s.m.restart(a.CrashCount)
			}
			if a.State == model.Crashed && a.CrashCount >= 200 && old != stateOf(model.Crashed) {
				s.m.givenUp++
			}
		}
	case ev.Desired != nil:
		n := ev.Desired.Instances
		if ev.Type == bbs.DesiredLRPRemoved {
			n = 0
		}
		s.apps.setDesired(ev.Desired.ProcessGUID, n)
	case ev.Task != nil:
		s.m.tasks.Observe(ev.Task, ev.Type == bbs.TaskRemoved)
	}
	s.events.WriteStateChange(now, ev)
}
