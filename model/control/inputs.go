package control

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/auction"
)

// advance records the time of an input. Time never goes backwards: an input stamped
// earlier than the last one is treated as happening now.
func (p *Plane) advance(now time.Duration) time.Duration {
	if now > p.now {
		p.now = now
	}
	return p.now
}

// DesireLRP records a DesiredLRP and requests its instances.
func (p *Plane) DesireLRP(now time.Duration, d model.DesiredLRP) error {
	return p.bbs.DesireLRP(p.advance(now), d)
}

// ScaleLRP changes the number of instances of a DesiredLRP.
func (p *Plane) ScaleLRP(now time.Duration, guid string, instances int) error {
	return p.bbs.UpdateDesiredLRP(p.advance(now), guid, instances)
}

// RemoveLRP removes a DesiredLRP; its instances are stopped.
func (p *Plane) RemoveLRP(now time.Duration, guid string) error {
	return p.bbs.RemoveDesiredLRP(p.advance(now), guid)
}

// DesireTask records a task and requests its placement.
func (p *Plane) DesireTask(now time.Duration, t model.Task) error {
	return p.bbs.DesireTask(p.advance(now), t)
}

// CancelTask cancels a task.
func (p *Plane) CancelTask(now time.Duration, guid string) error {
	return p.bbs.CancelTask(p.advance(now), guid)
}

// Heartbeat refreshes a cell's presence (Locket: the rep re-acquires its presence every
// 5 s with a 15 s TTL): it expires PresenceTTL after the last heartbeat. A cell seen for
// the first time, or again after its presence lapsed, is reported in
// Ready().PresenceGained.
func (p *Plane) Heartbeat(now time.Duration, cellID string) {
	now = p.advance(now)
	p.join(cellID)
	p.expiring[cellID] = now + p.cfg.PresenceTTL
}

// Hold marks a cell as heartbeating steadily from now on: its presence does not expire
// until Release. It equals a Heartbeat every few seconds without the per-heartbeat work,
// which is what lets the simulator run tens of thousands of healthy cells.
func (p *Plane) Hold(now time.Duration, cellID string) {
	p.advance(now)
	p.join(cellID)
	delete(p.expiring, cellID)
}

// Release says a held cell stopped heartbeating, the last time at lastBeat: its presence
// expires PresenceTTL after that, unless it heartbeats or is held again first.
func (p *Plane) Release(now time.Duration, cellID string, lastBeat time.Duration) {
	p.advance(now)
	if _, ok := p.presence[cellID]; ok {
		p.expiring[cellID] = lastBeat + p.cfg.PresenceTTL
	}
}

func (p *Plane) join(cellID string) {
	if _, ok := p.presence[cellID]; !ok {
		p.presence[cellID] = struct{}{}
		p.presentDirty = true
		p.out.PresenceGained = append(p.out.PresenceGained, cellID)
	}
}

func (p *Plane) drop(cellID string) {
	delete(p.presence, cellID)
	delete(p.expiring, cellID)
	p.presentDirty = true
}

// Leave removes a cell's presence at once (a rep that shuts down cleanly releases it).
func (p *Plane) Leave(now time.Duration, cellID string) {
	p.advance(now)
	if _, ok := p.presence[cellID]; ok {
		p.drop(cellID)
		p.out.PresenceLost = append(p.out.PresenceLost, cellID)
	}
}

// Present reports whether a cell's presence is live.
func (p *Plane) Present(cellID string) bool {
	_, ok := p.presence[cellID]
	return ok
}

// PresentCells returns the ids of the cells whose presence is live, sorted. The slice
// is shared: callers must not modify it; the same slice comes back until membership
// changes, so consumers can tell "unchanged" in O(1).
func (p *Plane) PresentCells() []string {
	if p.presentDirty || p.present == nil {
		ids := make([]string, 0, len(p.presence))
		for id := range p.presence {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		p.present, p.presentDirty = ids, false
	}
	return p.present
}

// Tick runs what is due at now: presence expiry, then convergence when its interval has
// passed.
func (p *Plane) Tick(now time.Duration) {
	now = p.advance(now)
	var lost []string
	for id, exp := range p.expiring {
		if exp <= now {
			lost = append(lost, id)
		}
	}
	slices.Sort(lost)
	for _, id := range lost {
		p.drop(id)
	}
	p.out.PresenceLost = append(p.out.PresenceLost, lost...)
	if now >= p.nextConverge {
		rep := p.bbs.Converge(now, p.PresentCells())
		p.out.Converged = append(p.out.Converged, rep)
		for p.nextConverge <= now {
			p.nextConverge += p.cfg.ConvergenceInterval
		}
	}
}

// NextDeadline is the earliest time at which Tick has something to do.
func (p *Plane) NextDeadline() time.Duration {
	next := p.nextConverge
	for _, exp := range p.expiring {
		if exp < next {
			next = exp
		}
	}
	return next
}

// RunAuction schedules the queued batch against cells (the auctioneer's view, which the
// winners are reserved against), reports failures to the BBS, and emits one Work per
// winning cell in Ready().Work, in the order of the cells' first win.
func (p *Plane) RunAuction(now time.Duration, cells *auction.State) {
	now = p.advance(now)
	p.collect()
	batch := auction.Batch{LRPs: p.lrpQueue, Tasks: p.taskQueue}
	p.lastBatch = min(len(batch.LRPs), 1024)
	lrpQueued, taskQueued := p.lrpQueued, p.taskQueued
	p.lrpQueue, p.lrpQueued, p.taskQueue, p.taskQueued = nil, nil, nil, nil
	p.auctioning = false

	res := cells.Schedule(batch, p.alg, p.rng)
	round := AuctionRound{At: now, LRPs: len(res.LRPs), Tasks: len(res.Tasks), Failures: map[string]int{}}
	byCell := map[string]int{}
	work := func(cellID string) *Work {
		i, ok := byCell[cellID]
		if !ok {
			i = len(p.out.Work)
			byCell[cellID] = i
			p.out.Work = append(p.out.Work, Work{CellID: cellID})
		}
		return &p.out.Work[i]
	}
	// Results come back deduplicated in input order; the queue times follow the first
	// occurrence of each item.
	lrpTime := queueTimes(len(batch.LRPs), len(res.LRPs), func(i int) string {
		return batch.LRPs[i].ProcessGUID + "\x00" + strconv.Itoa(batch.LRPs[i].Index)
	}, lrpQueued)
	taskTime := queueTimes(len(batch.Tasks), len(res.Tasks), func(i int) string { return batch.Tasks[i].GUID }, taskQueued)
	for i, r := range res.LRPs {
		key := model.ActualLRPKey{ProcessGUID: r.ProcessGUID, Index: r.Index}
		if r.Error != "" {
			round.LRPsFailed++
			round.Failures[r.Error]++
			if err := p.bbs.FailActualLRP(now, key, r.Error); err != nil {
				// The instance changed since it was requested (removed, claimed by an
				// earlier batch): nothing to record, as in Diego.
				continue
			}
			continue
		}
		round.LRPsPlaced++
		round.Waits = append(round.Waits, (now - lrpTime[i]).Seconds())
		p.instances++
		w := work(r.CellID)
		w.LRPs = append(w.LRPs, LRPWork{LRP: res.LRPs[i].LRP, InstanceGUID: instanceGUID(p.instances)})
	}
	for i, r := range res.Tasks {
		if r.Error != "" {
			round.TasksFailed++
			round.Failures[r.Error]++
			_ = p.bbs.RejectTask(now, r.GUID, r.Error)
			continue
		}
		round.TasksPlaced++
		round.Waits = append(round.Waits, (now - taskTime[i]).Seconds())
		w := work(r.CellID)
		w.Tasks = append(w.Tasks, r.Task)
	}
	p.out.Auctions = append(p.out.Auctions, round)
	p.collect()
}

// queueTimes returns the queue time of each deduplicated item, in order of first
// occurrence, given n items named by key and their queue times.
func queueTimes(n, unique int, key func(int) string, queued []time.Duration) []time.Duration {
	if unique == n {
		return queued // nothing was deduplicated: results follow the input one to one
	}
	seen := make(map[string]struct{}, n)
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		k := key(i)
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		out = append(out, queued[i])
	}
	return out
}

// instanceGUID names the n-th instance the auctioneer placed. Short and deterministic.
func instanceGUID(n uint64) string { return "i-" + strconv.FormatUint(n, 36) }

// Rep-side reports pass straight to the BBS; they exist on the plane so that a driver
// needs no other object.

// ClaimLRP: the rep reserved a container for the instance.
func (p *Plane) ClaimLRP(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey) error {
	return p.bbs.ClaimActualLRP(p.advance(now), key, ik)
}

// StartLRP: the instance's container runs and passed its first health check.
func (p *Plane) StartLRP(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey, address string) error {
	return p.bbs.StartActualLRP(p.advance(now), key, ik, address)
}

// CrashLRP: the instance's process exited.
func (p *Plane) CrashLRP(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey, reason string) error {
	return p.bbs.CrashActualLRP(p.advance(now), key, ik, reason)
}

// RemoveActualLRP: the rep deleted a container that should no longer run (stopped).
func (p *Plane) RemoveActualLRP(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey) error {
	return p.bbs.RemoveActualLRP(p.advance(now), key, ik)
}

// StartTask: the rep is about to run the task; false means it must not.
func (p *Plane) StartTask(now time.Duration, guid, cellID string) (bool, error) {
	return p.bbs.StartTask(p.advance(now), guid, cellID)
}

// CompleteTask: the task's process finished.
func (p *Plane) CompleteTask(now time.Duration, guid, cellID string, failed bool, reason, result string) error {
	return p.bbs.CompleteTask(p.advance(now), guid, cellID, failed, reason, result)
}

// Evacuate reports one container of an evacuating cell (DIEGO.md §6.5) and says whether
// the cell keeps the container.
func (p *Plane) Evacuate(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey, state model.ActualLRPState, address string) (bool, error) {
	now = p.advance(now)
	switch state {
	case model.Running:
		return p.bbs.EvacuateRunningActualLRP(now, key, ik, address)
	case model.Claimed:
		return p.bbs.EvacuateClaimedActualLRP(now, key, ik)
	default:
		return false, fmt.Errorf("evacuate %s: unexpected container state %s", key, state)
	}
}

// RemoveEvacuating: the evacuating copy's container is gone.
func (p *Plane) RemoveEvacuating(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey) error {
	return p.bbs.RemoveEvacuatingActualLRP(p.advance(now), key, ik)
}
