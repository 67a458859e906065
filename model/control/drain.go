package control

import (
	"errors"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
)

// Empty reports whether r asks for nothing: no auction, work, stop, cancel or callback,
// and nothing to record.
func (r *Ready) Empty() bool {
	return !r.StartAuction && len(r.Work) == 0 && len(r.StopLRPs) == 0 && len(r.CancelTasks) == 0 &&
		len(r.Callbacks) == 0 && len(r.Events) == 0 && len(r.PresenceLost) == 0 &&
		len(r.PresenceGained) == 0 && len(r.Auctions) == 0 && len(r.Converged) == 0
}

// Sink is what a driver does with the plane's outputs: it records them and carries them
// out, as the reps, the auctioneer's transport and the recorder would. Drain calls it;
// the simulator's sink schedules simulated events, real mode's sends HTTP requests.
// An error stops the drain (real mode: a store failure); the plane's own refusals never
// reach it.
type Sink interface {
	// Events records state changes, in the BBS's order. The events' storage is reused
	// once the call returns: copy what is kept.
	Events(now time.Duration, evs []bbs.Event) error
	// Observe records the rest of one Ready: presence lost and gained, auction rounds,
	// convergence passes. It comes after the Ready's events and before its actions, and
	// only when the Ready has some of those.
	Observe(now time.Duration, r Ready) error
	// StartAuction: fetch the cells' states, then call Plane.RunAuction.
	StartAuction(now time.Duration)
	// Perform sends a cell the work it won.
	Perform(now time.Duration, w Work) error
	// StopLRP asks an instance's cell to stop it.
	StopLRP(now time.Duration, st bbs.StopLRP)
	// CancelTask asks a task's cell to cancel it.
	CancelTask(now time.Duration, c bbs.CancelTask)
	// Callback delivers a completed task's callback and says whether it was answered;
	// an answered task is then resolved and deleted (Plane.TaskCallbackAnswered).
	Callback(now time.Duration, t model.Task) (answered bool, err error)
}

// WorkPrefetcher is a Sink that wants a Ready's work before performing it: the
// simulator starts loading what the placements will touch, for all of them at once.
type WorkPrefetcher interface {
	PrefetchWork(work []Work)
}

// Drain carries out the plane's outputs through sink until it has none: carrying out
// one output can produce more (a claim refused, a stop that frees room, a callback that
// desires an app), hence the loop. Both drivers run it after every input.
//
// In each round: the events are recorded (and their storage released to the BBS), then
// presence changes, auction rounds and convergence passes; then an auction is started,
// the work performed (the events each Work produces are recorded before the next, so
// that a first auction of millions of claims never holds an event per claim), instances
// stopped, tasks cancelled and callbacks delivered.
func Drain(now time.Duration, p *Plane, sink Sink) error {
	pf, _ := sink.(WorkPrefetcher)
	for {
		if p.quiet() {
			return nil // as an empty Ready would
		}
		r := p.Ready()
		if r.Empty() {
			return nil
		}
		if err := p.record(now, sink, r.Events); err != nil {
			return err
		}
		// r goes by value: a pointer would move it to the heap, an allocation per drain.
		if len(r.PresenceLost) > 0 || len(r.PresenceGained) > 0 || len(r.Auctions) > 0 || len(r.Converged) > 0 {
			if err := sink.Observe(now, r); err != nil {
				return err
			}
		}
		if r.StartAuction {
			sink.StartAuction(now)
		}
		if pf != nil && len(r.Work) > 0 {
			pf.PrefetchWork(r.Work)
		}
		for i := range r.Work {
			if err := sink.Perform(now, r.Work[i]); err != nil {
				return err
			}
			r.Work[i] = Work{} // done: let the collector have it
			if err := p.FlushEvents(now, sink); err != nil {
				return err
			}
		}
		for _, st := range r.StopLRPs {
			sink.StopLRP(now, st)
		}
		for _, c := range r.CancelTasks {
			sink.CancelTask(now, c)
		}
		for _, t := range r.Callbacks {
			answered, err := sink.Callback(now, t)
			if err != nil {
				return err
			}
			if answered {
				if err := p.TaskCallbackAnswered(now, t.GUID); err != nil {
					return err
				}
			}
		}
	}
}

// FlushEvents hands the events produced so far to sink.Events and lets the BBS reuse
// their storage, leaving every other output for the next Drain. A driver making many
// inputs in one go (desiring a million apps) calls it every few hundred, so that the
// events do not pile up until the drain.
func (p *Plane) FlushEvents(now time.Duration, sink Sink) error {
	return p.record(now, sink, p.TakeEvents())
}

// record hands events to the sink, then lets the BBS reuse their storage.
func (p *Plane) record(now time.Duration, sink Sink, evs []bbs.Event) error {
	if len(evs) > 0 {
		if err := sink.Events(now, evs); err != nil {
			return err
		}
	}
	p.bbs.ReleaseReady()
	return nil
}

// TaskCallbackAnswered: the completion callback of a task was delivered and answered,
// so the BBS marks the task RESOLVING and deletes it. A task no longer COMPLETED
// (resolved or deleted meanwhile) is left alone; the error is a store failure.
func (p *Plane) TaskCallbackAnswered(now time.Duration, guid string) error {
	now = p.advance(now)
	if err := p.bbs.ResolvingTask(now, guid); err != nil {
		return storeFailure(err)
	}
	return storeFailure(p.bbs.DeleteTask(now, guid))
}

// storeFailure drops the BBS's refusals (the request does not apply to the row as it
// is), leaving only the store's failures.
func storeFailure(err error) error {
	for _, r := range []error{model.ErrInvalidTransition, model.ErrNotFound, model.ErrExists, model.ErrInvalid} {
		if errors.Is(err, r) {
			return nil
		}
	}
	return err
}
