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

// DesireLRPs records the DesiredLRPs of a group of apps that differ only in their
// process guid and requests their instances: DesireLRP for each guid in turn, up to
// the first refused (bbs.BBS.DesireLRPs). It returns how many it desired.
func (p *Plane) DesireLRPs(now time.Duration, template model.DesiredLRP, guids []string) (int, error) {
	return p.bbs.DesireLRPs(p.advance(now), template, guids)
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

// RunAuction schedules the queued batch against the cells' states, reports failures to
// the BBS, and emits one Work per winning cell in Ready().Work, in the order of the
// cells' first win. fetched is the states as fetched from the cells for this batch (real
// mode); nil auctions against the plane's own view (Cells), which the driver keeps
// current. Either way the winners are reserved against the state auctioned.
func (p *Plane) RunAuction(now time.Duration, fetched *auction.State) {
	cells := fetched
	if cells == nil {
		cells = p.view
	}
	now = p.advance(now)
	p.collect()
	batch := auction.Batch{LRPs: p.lrpQueue, Tasks: p.taskQueue}
	p.lastBatch = min(len(batch.LRPs), 1024)
	lrpQueued, taskQueued := p.lrpQueued, p.taskQueued
	p.lrpQueued = nil // back (emptied) after the round
	// The next batch continues in the rest of a small chunk (this batch's items stay as
	// they are: the results point at them); a large one is let go with its batch.
	p.lrpQueue = nil
	if n := len(batch.LRPs); cap(batch.LRPs) <= maxKeptChunk && cap(batch.LRPs) > n {
		p.lrpQueue = batch.LRPs[n:n]
	}
	p.taskQueue, p.taskQueued = nil, nil
	p.auctioning = false

	res := cells.Schedule(batch, p.alg, p.rng)
	round := AuctionRound{At: now, LRPs: len(res.LRPs), Tasks: len(res.Tasks)}
	lrpTime := newResultTimes(batch.LRPs, res.LRPs, lrpQueued)
	taskTime := queueTimes(len(batch.Tasks), len(res.Tasks), func(i int) string { return batch.Tasks[i].GUID }, taskQueued)

	// First pass: failures go to the BBS (in result order, LRPs then tasks, as before),
	// winners to their cell's Work, counted so that the Works are built with one array
	// of LRPWork and one of tasks for the whole round.
	p.round++
	p.wins = p.wins[:0]
	p.lrpWin = slices.Grow(p.lrpWin[:0], len(res.LRPs))[:len(res.LRPs)]
	for i := range res.LRPs {
		r := &res.LRPs[i]
		if r.Error != "" {
			p.lrpWin[i] = -1
			round.LRPsFailed++
			round.count(r.Error)
			// An error: the instance changed since it was requested (removed, claimed
			// by an earlier batch): nothing to record, as in Diego.
			_ = p.bbs.FailActualLRP(now, model.ActualLRPKey{ProcessGUID: r.ProcessGUID, Index: r.Index}, r.Error)
			continue
		}
		w := p.win(r.CellID)
		p.wins[w].lrps++
		p.lrpWin[i] = w
		round.LRPsPlaced++
	}
	p.taskWin = slices.Grow(p.taskWin[:0], len(res.Tasks))[:len(res.Tasks)]
	for i := range res.Tasks {
		r := &res.Tasks[i]
		if r.Error != "" {
			p.taskWin[i] = -1
			round.TasksFailed++
			round.count(r.Error)
			_ = p.bbs.RejectTask(now, r.GUID, r.Error)
			continue
		}
		w := p.win(r.CellID)
		p.wins[w].tasks++
		p.taskWin[i] = w
		round.TasksPlaced++
	}

	// Second pass: the Works, carved from one array each.
	placed := round.LRPsPlaced + round.TasksPlaced
	if placed > 0 {
		round.Waits = make([]float64, 0, placed)
	}
	first := len(p.out.Work)
	p.out.Work = slices.Grow(p.out.Work, len(p.wins))
	var lrps []LRPWork
	var tasks []auction.Task
	if placed <= maxScratch {
		if round.LRPsPlaced > 0 {
			lrps = make([]LRPWork, round.LRPsPlaced)
		}
		if round.TasksPlaced > 0 {
			tasks = make([]auction.Task, round.TasksPlaced)
		}
	}
	// A large round (a first auction of millions) gives each cell its own arrays
	// instead: a driver lets each go as it carries the Work out.
	own := placed > maxScratch
	for i := range p.wins {
		c := &p.wins[i]
		w := Work{CellID: c.cellID}
		switch {
		case c.lrps > 0 && own:
			w.LRPs = make([]LRPWork, 0, c.lrps)
		case c.lrps > 0:
			w.LRPs, lrps = lrps[:0:c.lrps], lrps[c.lrps:]
		}
		switch {
		case c.tasks > 0 && own:
			w.Tasks = make([]auction.Task, 0, c.tasks)
		case c.tasks > 0:
			w.Tasks, tasks = tasks[:0:c.tasks], tasks[c.tasks:]
		}
		p.out.Work = append(p.out.Work, w)
		c.cellID = ""
	}
	var guids string // instance guids, guidsPerString at a time
	var ends []int32
	k, start, left := 0, int32(0), round.LRPsPlaced
	for i := range res.LRPs {
		wi := p.lrpWin[i]
		if wi < 0 {
			continue
		}
		if k == len(ends) {
			guids, ends = p.instanceGUIDs(min(left, guidsPerString))
			k, start, left = 0, 0, left-len(ends)
		}
		round.Waits = append(round.Waits, (now - lrpTime.at(i)).Seconds())
		w := &p.out.Work[first+int(wi)]
		w.LRPs = append(w.LRPs, LRPWork{LRP: res.LRPs[i].LRP, InstanceGUID: guids[start:ends[k]]})
		start = ends[k]
		k++
	}
	for i := range res.Tasks {
		wi := p.taskWin[i]
		if wi < 0 {
			continue
		}
		round.Waits = append(round.Waits, (now - taskTime[i]).Seconds())
		w := &p.out.Work[first+int(wi)]
		w.Tasks = append(w.Tasks, res.Tasks[i].Task)
	}
	p.out.Auctions = append(p.out.Auctions, round)
	p.lrpQueued = scratch(lrpQueued)
	p.shrinkScratch()
	p.collect()
}

// maxKeptChunk: a queue chunk of up to this many LRPs (~280 KB) keeps serving batches
// after one; a larger one (a first auction of millions) goes with its batch.
const maxKeptChunk = 2048

// maxScratch bounds the scratch kept between rounds (elements of each buffer): a first
// auction of millions would otherwise leave megabytes behind.
const maxScratch = 1 << 14

// cellEntry is a cell's Work in the round that wrote it.
type cellEntry struct {
	round uint64
	work  int32
}

// cellWins counts what one cell won in a round.
type cellWins struct {
	cellID      string
	lrps, tasks int
}

// count adds a placement error to the round's Failures (made at the first).
func (r *AuctionRound) count(err string) {
	if r.Failures == nil {
		r.Failures = map[string]int{}
	}
	r.Failures[err]++
}

// win returns the index of the cell's Work in the round (from its first), adding one on
// the cell's first win. A round of a few wins (the steady state: a batch of ~20) scans
// them, which compares string headers only when the ids share their bytes (the auction
// hands out its cells' own strings); from scanWins wins on, the round's wins go to the
// cellWork map as well, so a round of millions stays linear.
func (p *Plane) win(cellID string) int32 {
	if n := len(p.wins); n <= scanWins {
		for i := range p.wins {
			if p.wins[i].cellID == cellID {
				return int32(i)
			}
		}
		if n < scanWins {
			p.wins = append(p.wins, cellWins{cellID: cellID})
			return int32(n)
		}
		// The round outgrows the scan: index its wins so far.
		if p.cellWork == nil {
			p.cellWork = map[string]cellEntry{}
		}
		for i := range p.wins {
			p.cellWork[p.wins[i].cellID] = cellEntry{round: p.round, work: int32(i)}
		}
	}
	e, ok := p.cellWork[cellID]
	if ok && e.round == p.round {
		return e.work
	}
	w := int32(len(p.wins))
	p.wins = append(p.wins, cellWins{cellID: cellID})
	p.cellWork[cellID] = cellEntry{round: p.round, work: w}
	return w
}

// scanWins is the number of wins up to which a round finds a cell's Work by scanning.
const scanWins = 32

// shrinkScratch lets go of scratch that a large round grew: what stays is bounded.
func (p *Plane) shrinkScratch() {
	p.lrpWin, p.taskWin = scratch(p.lrpWin), scratch(p.taskWin)
	p.wins, p.guidBuf, p.guidEnd = scratch(p.wins), scratch(p.guidBuf), scratch(p.guidEnd)
	if len(p.cellWork) > maxScratch {
		p.cellWork = nil // more cells than a run keeps (churned ids): start again
	}
}

// scratch empties a buffer for the next round, or drops it if it grew past maxScratch.
func scratch[T any](s []T) []T {
	if cap(s) > maxScratch {
		return nil
	}
	return s[:0]
}

// guidsPerString is the most instance guids that share one string (~7 KB).
const guidsPerString = 1024

// instanceGUIDs names the next n instances the auctioneer places (p.instances+1 ..
// p.instances+n): one string holds them all, guid k ending at ends[k], so that a round
// costs one allocation for its guids rather than two per instance.
func (p *Plane) instanceGUIDs(n int) (all string, ends []int32) {
	buf, ends := p.guidBuf[:0], p.guidEnd[:0]
	for range n {
		p.instances++
		buf = appendInstanceGUID(buf, p.instances)
		ends = append(ends, int32(len(buf)))
	}
	p.guidBuf, p.guidEnd = buf, ends
	return string(buf), ends
}

// lrpTimes returns the queue time of each LRP result. Results come back deduplicated,
// in input order of first occurrence, each pointing at that occurrence in the batch:
// following the batch with a cursor finds each one's index, without keys.
func lrpTimes(batch []auction.LRP, res []auction.LRPResult, queued []time.Duration) []time.Duration {
	if len(res) == len(batch) {
		return queued // nothing was deduplicated: results follow the input one to one
	}
	out := make([]time.Duration, len(res))
	j := 0
	for i := range res {
		for j < len(batch) && &batch[j] != res[i].LRP {
			j++
		}
		if j == len(batch) { // a result that does not point into the batch: go by keys
			type key struct {
				guid  string
				index int
			}
			return queueTimes(len(batch), len(res), func(i int) key { return key{batch[i].ProcessGUID, batch[i].Index} }, queued)
		}
		out[i] = queued[j]
		j++
	}
	return out
}

// queuedRun is n queued items in a row that were queued at the same time.
type queuedRun struct {
	at time.Duration
	n  int
}

// appendRun appends n items queued at time at to runs.
func appendRun(runs []queuedRun, at time.Duration, n int) []queuedRun {
	if n <= 0 {
		return runs
	}
	if k := len(runs) - 1; k >= 0 && runs[k].at == at {
		runs[k].n += n
		return runs
	}
	return append(runs, queuedRun{at: at, n: n})
}

// resultTimes gives the queue time of each LRP result of a round (at, for results in
// increasing order), from the runs of queue times of the batch.
type resultTimes struct {
	runs     []queuedRun
	run, end int             // the current run and the number of items up to its end
	times    []time.Duration // when results were deduplicated: the time of each
}

func newResultTimes(batch []auction.LRP, res []auction.LRPResult, runs []queuedRun) *resultTimes {
	t := &resultTimes{runs: runs, run: -1}
	if len(res) != len(batch) {
		queued := make([]time.Duration, 0, len(batch))
		for _, r := range runs {
			for range r.n {
				queued = append(queued, r.at)
			}
		}
		t.times = lrpTimes(batch, res, queued)
	}
	return t
}

// at returns the queue time of result i; i never decreases from call to call.
func (t *resultTimes) at(i int) time.Duration {
	if t.times != nil {
		return t.times[i]
	}
	for i >= t.end {
		t.run++
		t.end += t.runs[t.run].n
	}
	return t.runs[t.run].at
}

// queueTimes returns the queue time of each deduplicated item, in order of first
// occurrence, given n items named by key and their queue times.
func queueTimes[K comparable](n, unique int, key func(int) K, queued []time.Duration) []time.Duration {
	if unique == n {
		return queued // nothing was deduplicated: results follow the input one to one
	}
	seen := make(map[K]struct{}, n)
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

// appendInstanceGUID appends the guid of the n-th instance the auctioneer placed: "i-"
// and n in base 36. Short and deterministic.
func appendInstanceGUID(b []byte, n uint64) []byte {
	return strconv.AppendUint(append(b, "i-"...), n, 36)
}

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
