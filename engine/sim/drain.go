package sim

import (
	"time"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/control"
	"github.com/diegolab/diegolab/record"
)

// drain carries out the plane's outputs until it has none: as reps, the auctioneer's
// transport and the recorder would. Carrying out one output can produce more (a claim
// refused, a stop that frees room), hence the loop.
func (s *Sim) drain(now time.Duration) {
	for {
		r := s.plane.Ready()
		if len(r.Events) == 0 && !r.StartAuction && len(r.Work) == 0 && len(r.StopLRPs) == 0 &&
			len(r.CancelTasks) == 0 && len(r.Callbacks) == 0 && len(r.PresenceLost) == 0 &&
			len(r.PresenceGained) == 0 && len(r.Auctions) == 0 && len(r.Converged) == 0 {
			break
		}
		for i := range r.Events {
			s.observe(now, &r.Events[i])
		}
		// observe keeps nothing of an event: the BBS may reuse their storage.
		s.plane.BBS().ReleaseReady()
		s.m.cellsUp += len(r.PresenceGained) - len(r.PresenceLost)
		for _, id := range r.PresenceLost {
			ci, ok := s.cellByID[id]
			if !ok || s.cells[ci].state == cellDown {
				continue // a drained cell released its presence: not a lost cell
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
			a := &r.Auctions[i]
			s.events.WriteAuction(now, record.Auction{
				LRPs: a.LRPs, Tasks: a.Tasks, LRPsPlaced: a.LRPsPlaced, LRPsFailed: a.LRPsFailed,
				TasksPlaced: a.TasksPlaced, TasksFailed: a.TasksFailed, MeanWait: mean(a.Waits),
			})
		}
		s.m.convergencePasses += len(r.Converged)
		if r.StartAuction {
			s.k.After(s.sc.Auction.StateFetch.Sample(s.rLatency), s, engine.Payload{Kind: kAuction})
		}
		s.prefetchWork(r.Work)
		for i := range r.Work {
			s.perform(now, r.Work[i])
			r.Work[i] = control.Work{} // done: let the collector have it
			// Observe the claims at once: a first auction of millions of instances would
			// otherwise hold one event per claim until the next Ready.
			s.observeTaken(now)
		}
		for _, st := range r.StopLRPs {
			s.stopLRP(now, st.Key, st.InstanceKey.InstanceGUID)
		}
		for _, c := range r.CancelTasks {
			s.cancelTask(now, c.GUID)
		}
		for _, t := range r.Callbacks {
			s.stagingCallback(now, t)
			// The completion callback is delivered at once and answered 200: the BBS
			// marks the task resolving, then deletes it.
			if err := s.plane.BBS().ResolvingTask(now, t.GUID); err == nil {
				_ = s.plane.BBS().DeleteTask(now, t.GUID)
			}
		}
	}
	s.m.integrate(now, s.apps.missing())
}

// observeTaken observes the BBS events produced so far (Plane.TakeEvents), so that a
// handler doing millions of operations does not hold an event per operation.
func (s *Sim) observeTaken(now time.Duration) {
	for _, ev := range s.plane.TakeEvents() {
		s.observe(now, &ev)
	}
	s.plane.BBS().ReleaseReady()
}

// observe records one state change and keeps the counters the metrics need.
func (s *Sim) observe(now time.Duration, ev *bbs.Event) {
	switch {
	case ev.Actual != nil:
		a := ev.Actual
		removed := ev.Type == bbs.ActualLRPRemoved
		change := record.ChangeChanged
		switch ev.Type {
		case bbs.ActualLRPCreated:
			change = record.ChangeCreated
		case bbs.ActualLRPRemoved:
			change = record.ChangeRemoved
		}
		old := s.apps.setActual(a.ProcessGUID, a.Index, a.Presence, a.State, removed)
		if !removed && a.Presence == model.Ordinary {
			if a.State == model.Unclaimed && a.CrashCount > 0 && old != stateOf(model.Unclaimed) && old != 0 {
				s.m.restart(a.CrashCount)
			}
			if a.State == model.Crashed && a.CrashCount >= 200 && old != stateOf(model.Crashed) {
				s.m.givenUp++
			}
		}
		s.events.WriteActualLRP(now, change, record.ActualLRP{
			ProcessGUID: a.ProcessGUID, Index: a.Index, InstanceGUID: a.InstanceGUID, CellID: a.CellID,
			State: a.State.String(), Presence: a.Presence.String(), CrashCount: a.CrashCount,
			CrashReason: a.CrashReason, PlacementError: a.PlacementError,
		})
	case ev.Desired != nil:
		d := ev.Desired
		n := d.Instances
		change := record.ChangeChanged
		switch ev.Type {
		case bbs.DesiredLRPCreated:
			change = record.ChangeCreated
		case bbs.DesiredLRPRemoved:
			change, n = record.ChangeRemoved, 0
		}
		s.apps.setDesired(d.ProcessGUID, n)
		s.events.WriteDesiredLRP(now, change, d.ProcessGUID, n)
	case ev.Task != nil:
		t := ev.Task
		change := record.ChangeChanged
		switch ev.Type {
		case bbs.TaskCreated:
			change = record.ChangeCreated
		case bbs.TaskRemoved:
			change = record.ChangeRemoved
		}
		s.m.task(t, ev.Type == bbs.TaskRemoved)
		s.events.WriteTask(now, change, record.Task{
			TaskGUID: t.GUID, State: t.State.String(), CellID: t.CellID, Failed: t.Failed,
			FailureReason: t.FailureReason, RejectionCount: t.RejectionCount,
		})
	}
}
