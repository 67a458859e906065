package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/model"
	mcell "github.com/diegolab/diegolab/model/cell"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// timeline carries out one event of the scenario's [[events]].
func (s *Sim) timeline(now time.Duration, i int) {
	ev := &s.sc.Events[i]
	target := ""
	before := s.apps.missing()
	switch ev.Action {
	case "scale":
		guids := s.sc.MatchApps(ev.App)
		target = ev.App + " -> " + strconv.Itoa(ev.Instances)
		for _, g := range guids {
			if err := s.plane.ScaleLRP(now, g, ev.Instances); err != nil {
				s.fail(fmt.Errorf("%s:%d: scale %s: %w", s.sc.Path, ev.Line, g, err))
				return
			}
			s.stgScaled(now, g, ev.Instances)
		}
	case "stop-app":
		target = ev.App
		for _, g := range s.sc.MatchApps(ev.App) {
			if err := s.plane.RemoveLRP(now, g); err != nil {
				s.fail(fmt.Errorf("%s:%d: stop-app %s: %w", s.sc.Path, ev.Line, g, err))
				return
			}
		}
	case "crash-instances":
		target = s.crashInstances(now, ev)
	case "crash-cell", "partition-cell", "drain-cell", "restore-cell":
		cells := s.selectCells(ev)
		ids := make([]string, len(cells))
		for j, ci := range cells {
			ids[j] = s.cells[ci].ID
			switch ev.Action {
			case "crash-cell":
				s.crashCell(now, ci)
			case "partition-cell":
				s.partitionCell(now, ci, ev.Duration)
			case "drain-cell":
				s.drainCell(now, ci)
			case "restore-cell":
				s.restoreCell(now, ci)
			}
		}
		target = strings.Join(ids, ",")
		if ev.Zone != "" {
			target = "zone " + ev.Zone
		}
	case "add-cells":
		n := len(s.cells)
		for _, c := range ev.Cells.Cells(ev.Cells.First) {
			if err := s.addCell(c); err != nil {
				s.fail(fmt.Errorf("%s:%d: add-cells: %w", s.sc.Path, ev.Line, err))
				return
			}
			s.plane.Hold(now, c.ID)
			s.writeCellEvent(now, s.cells[len(s.cells)-1], record.CellUp)
		}
		target = strconv.Itoa(len(s.cells)-n) + " cells"
	default:
		tgt, ok := s.stagingTimeline(now, ev)
		if !ok {
			s.fail(fmt.Errorf("%s:%d: unknown action %q", s.sc.Path, ev.Line, ev.Action))
			return
		}
		target = tgt
	}
	s.events.WriteTimeline(now, ev.Action, target)
	s.m.fault(now, ev.Action, target, before)
}

// selectCells resolves a cell selector: one id, a zone, or count cells drawn at random
// among those the action applies to (in cell order, from the "faults" stream).
func (s *Sim) selectCells(ev *scenarios.Event) []int {
	eligible := func(c *cell) bool {
		switch ev.Action {
		case "restore-cell":
			return c.state != cellUp && !c.restoreAfterDrain
		default:
			return c.state == cellUp
		}
	}
	var out []int
	switch {
	case ev.Cell != "":
		if ci, ok := s.cellByID[ev.Cell]; ok {
			out = append(out, ci)
		}
	case ev.Zone != "":
		for ci, c := range s.cells {
			if c.Zone == ev.Zone && eligible(c) {
				out = append(out, ci)
			}
		}
	case ev.Count > 0:
		var pool []int
		for ci, c := range s.cells {
			if eligible(c) {
				pool = append(pool, ci)
			}
		}
		s.rFaults.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
		out = pool[:min(ev.Count, len(pool))]
		slices.Sort(out)
	}
	return out
}

// crashInstances crashes running instances of the selected apps.
func (s *Sim) crashInstances(now time.Duration, ev *scenarios.Event) string {
	apps := map[int32]bool{}
	for _, g := range s.sc.MatchApps(ev.App) {
		apps[s.apps.id(g)] = true
	}
	var running []int32
	for id := range s.containers.items {
		ct := &s.containers.items[id]
		if ct.phase == phaseRunning && ct.kind == kindLRP && apps[ct.app] {
			running = append(running, int32(id))
		}
	}
	n := ev.Count
	if ev.Fraction > 0 {
		n = int(ev.Fraction*float64(len(running)) + 0.5)
	}
	s.rFaults.Shuffle(len(running), func(i, j int) { running[i], running[j] = running[j], running[i] })
	running = running[:min(n, len(running))]
	slices.Sort(running)
	for _, id := range running {
		s.crashContainer(now, id, "crashed by the scenario")
	}
	return ev.App + " x" + strconv.Itoa(len(running))
}

// crashCell: the machine dies with its containers; heartbeats stop, so its presence
// lapses after the TTL and convergence reschedules its instances.
func (s *Sim) crashCell(now time.Duration, ci int) {
	c := s.cells[ci]
	if c.state == cellCrashed || c.state == cellDown {
		return
	}
	wasInAuction := c.state != cellPartitioned
	if c.heartbeats() {
		s.stopHeartbeats(now, c)
	}
	c.state = cellCrashed
	for _, id := range c.sortedIDs() {
		s.deleteContainer(id)
	}
	if wasInAuction {
		s.view.RemoveCell(c.ID)
	}
	s.k.Cancel(c.partEnd)
	s.writeCellEvent(now, c, record.CellCrashed)
}

// partitionCell cuts the cell off for d: no heartbeats, no reports, not reachable by
// the auctioneer; its containers keep running.
func (s *Sim) partitionCell(now time.Duration, ci int, d time.Duration) {
	c := s.cells[ci]
	if c.state != cellUp {
		return
	}
	s.stopHeartbeats(now, c)
	c.state = cellPartitioned
	s.view.RemoveCell(c.ID)
	c.partEnd = s.k.After(d, s, engine.Payload{Kind: kPartitionEnd, A: int64(ci)})
	s.writeCellEvent(now, c, record.CellPartitioned)
}

// partitionEnd: the cell is reachable again. Its rep heartbeats again and bulk-syncs
// at once (model/cell.Harmonize, as real mode's rep does): rows whose container is gone
// are removed, containers the BBS no longer knows (their replacement runs) are deleted,
// tasks the BBS still runs here but whose container is gone are failed.
func (s *Sim) partitionEnd(now time.Duration, ci int) {
	c := s.cells[ci]
	if c.state != cellPartitioned {
		return
	}
	c.state = cellUp
	s.rejoinAuction(c)
	s.plane.Hold(now, c.ID)
	s.writeCellEvent(now, c, record.CellUp)
	s.bulkSync(now, c)
}

// bulkSync is the rep's harmonizing pass over one cell.
func (s *Sim) bulkSync(now time.Duration, c *cell) {
	var lrps []mcell.LRPContainer
	var tasks []mcell.TaskContainer
	for _, id := range c.sortedIDs() {
		ct := &s.containers.items[id]
		st := mcell.Created
		if ct.phase == phaseRunning {
			st = mcell.Running
		}
		if ct.kind == kindLRP {
			lrps = append(lrps, mcell.LRPContainer{Key: s.key(ct), Instance: model.InstanceKey{InstanceGUID: ct.guid, CellID: c.ID}, State: st, Age: now - ct.born})
		} else {
			tasks = append(tasks, mcell.TaskContainer{GUID: ct.guid, State: st, Age: now - ct.born})
		}
	}
	b := s.plane.BBS()
	plan := mcell.Harmonize(lrps, tasks, b.ActualLRPsOnCell(c.ID), b.TasksOnCell(c.ID))
	for _, r := range plan.Reports {
		switch r.Op {
		case mcell.RemoveActual:
			_ = s.plane.RemoveActualLRP(now, r.Key, r.Instance)
		case mcell.RemoveEvacuating:
			_ = s.plane.RemoveEvacuating(now, r.Key, r.Instance)
		case mcell.CrashSuspect:
			_ = s.plane.CrashLRP(now, r.Key, r.Instance, "container missing on its cell")
		case mcell.StartAgain:
			_ = s.plane.StartLRP(now, r.Key, r.Instance, "")
		}
	}
	if len(plan.DeleteLRPs) > 0 {
		onCell := map[string]int32{}
		for _, id := range c.containers {
			if id < 0 {
				continue // a hole
			}
			if ct := &s.containers.items[id]; ct.kind == kindLRP {
				onCell[ct.guid] = id
			}
		}
		for _, guid := range plan.DeleteLRPs {
			if id, ok := onCell[guid]; ok {
				s.deleteContainer(id)
			}
		}
	}
	for _, guid := range plan.FailTasks {
		_ = s.plane.CompleteTask(now, guid, c.ID, true, model.ReasonTaskContainerMissing, "")
	}
	for _, guid := range plan.DeleteTasks {
		if ct, ok := s.byTask[guid]; ok {
			s.deleteContainer(ct)
		}
	}
}

// rejoinAuction re-adds a cell to the auctioneer's view with the containers it holds.
func (s *Sim) rejoinAuction(c *cell) {
	fresh := c.Cell
	fresh.Available = fresh.Total
	fresh.StartingContainers = 0
	fresh.Evacuating = false
	ref, err := s.view.AddCell(fresh)
	if err != nil {
		s.fail(err)
		return
	}
	c.ref = ref
	for _, id := range c.sortedIDs() {
		ct := &s.containers.items[id]
		starting := ct.phase == phaseReserved
		var err error
		if ct.kind == kindLRP {
			err = s.view.AddLRP(c.ID, s.apps.guid(ct.app), ct.res(), starting)
		} else {
			err = s.view.AddTask(c.ID, ct.guid, ct.res(), starting)
		}
		if err != nil {
			s.fail(err)
			return
		}
	}
}

// drainCell evacuates the cell (DIEGO.md §6.5): it takes no new work; running instances
// get an EVACUATING copy that keeps running until the replacement runs; claimed ones
// are unclaimed and their containers deleted; tasks run to completion.
func (s *Sim) drainCell(now time.Duration, ci int) {
	c := s.cells[ci]
	if c.state != cellUp {
		return
	}
	c.state = cellEvacuating
	c.evacStart = now
	s.view.SetEvacuating(c.ID, true)
	s.writeCellEvent(now, c, record.CellEvacuating)
	s.evacuate(now, c)
	s.k.After(10*time.Second, s, engine.Payload{Kind: kEvacPoll, A: int64(ci)})
}

// evacuate is one pass of the evacuating rep over its LRP containers: each is reported
// to the BBS, which says whether the cell keeps it (an EVACUATING copy that runs until
// its replacement does) or deletes it (claimed instances at once; running ones once the
// replacement runs).
func (s *Sim) evacuate(now time.Duration, c *cell) {
	for _, id := range c.sortedIDs() {
		ct := &s.containers.items[id]
		if ct.kind != kindLRP {
			continue
		}
		st := model.Claimed
		if ct.phase == phaseRunning {
			st = model.Running
		}
		keep, err := s.plane.Evacuate(now, s.key(ct), model.InstanceKey{InstanceGUID: ct.guid, CellID: c.ID}, st, "")
		if err != nil || !keep {
			s.deleteContainer(id)
			continue
		}
		ct.evacuating = true
	}
}

// evacPoll: the evacuator checks every 10 s whether the cell is empty, and gives up at
// the evacuation timeout, deleting what is left.
func (s *Sim) evacPoll(now time.Duration, ci int) {
	c := s.cells[ci]
	if c.state != cellEvacuating {
		return
	}
	s.evacuate(now, c)
	timedOut := now-c.evacStart >= s.sc.Timers.EvacuationTimeout
	if c.count() > 0 && !timedOut {
		s.k.After(10*time.Second, s, engine.Payload{Kind: kEvacPoll, A: int64(ci)})
		return
	}
	if c.count() == 0 {
		s.m.evacuationsCompleted++
	} else {
		s.m.evacuationsTimedOut++
	}
	for _, id := range c.sortedIDs() {
		ct := &s.containers.items[id]
		key, ik, kind, task, evac := s.key(ct), model.InstanceKey{InstanceGUID: ct.guid, CellID: c.ID}, ct.kind, ct.guid, ct.evacuating
		s.deleteContainer(id)
		switch {
		case kind == kindTask:
			_ = s.plane.CompleteTask(now, task, c.ID, true, model.ReasonEvacuationTimedOut, "")
		case evac:
			_ = s.plane.RemoveEvacuating(now, key, ik)
		default:
			_ = s.plane.RemoveActualLRP(now, key, ik)
		}
	}
	c.state = cellDown
	s.view.RemoveCell(c.ID)
	s.plane.Leave(now, c.ID)
	s.writeCellEvent(now, c, record.CellDown)
	if c.restoreAfterDrain {
		c.restoreAfterDrain = false
		s.restoreCell(now, ci)
	}
}

// restoreCell brings a crashed, drained or partitioned cell back, empty unless it was
// only partitioned.
func (s *Sim) restoreCell(now time.Duration, ci int) {
	c := s.cells[ci]
	switch c.state {
	case cellPartitioned:
		s.k.Cancel(c.partEnd)
		s.partitionEnd(now, ci)
	case cellEvacuating:
		// A BOSH drain blocks until the rep exits: the cell comes back once its
		// evacuation has finished (or timed out).
		c.restoreAfterDrain = true
	case cellCrashed, cellDown:
		c.state = cellUp
		s.rejoinAuction(c)
		s.plane.Hold(now, c.ID)
		s.writeCellEvent(now, c, record.CellUp)
	}
}

func (c *cell) sortedIDs() []int32 {
	ids := c.ids()
	slices.Sort(ids)
	return ids
}
