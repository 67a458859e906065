package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/rep"
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
		if ct.Phase() == rep.Running && ct.Kind() == rep.LRP && apps[ct.app] {
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

// bulkSync is the rep's harmonizing pass over one cell (model/rep.Harmonize).
func (s *Sim) bulkSync(now time.Duration, c *cell) {
	var lrps []rep.LRPContainer
	var tasks []rep.TaskContainer
	for _, id := range c.sortedIDs() {
		ct := &s.containers.items[id]
		if ct.Kind() == rep.LRP {
			lrps = append(lrps, rep.LRPContainer{Key: s.key(ct), Instance: model.InstanceKey{InstanceGUID: ct.guid, CellID: c.ID},
				State: ct.Phase(), Stopping: ct.Stopping(), Age: now - ct.born})
		} else {
			tasks = append(tasks, rep.TaskContainer{GUID: ct.guid, State: ct.Phase(), Cancelled: ct.Stopping(), Age: now - ct.born})
		}
	}
	b := s.plane.BBS()
	plan := rep.Harmonize(lrps, tasks, b.ActualLRPsOnCell(c.ID), b.TasksOnCell(c.ID))
	for _, r := range plan.Reports {
		s.report(now, c, r.Key, r.Instance.InstanceGUID, r.Step())
	}
	if len(plan.DeleteLRPs) > 0 {
		onCell := map[string]int32{}
		for _, id := range c.containers {
			if id < 0 {
				continue // a hole
			}
			if ct := &s.containers.items[id]; ct.Kind() == rep.LRP {
				onCell[ct.guid] = id
			}
		}
		for _, guid := range plan.DeleteLRPs {
			if id, ok := onCell[guid]; ok {
				s.carry(now, id, s.containers.items[id].Forget())
			}
		}
	}
	for _, guid := range plan.FailTasks {
		s.report(now, c, model.ActualLRPKey{}, guid, rep.MissingTask)
	}
	for _, guid := range plan.DeleteTasks {
		if id, ok := s.byTask[guid]; ok {
			s.carry(now, id, s.containers.items[id].Cancel())
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
		starting := ct.Starting()
		var err error
		if ct.Kind() == rep.LRP {
			err = s.view.AddLRPCompute(c.ID, s.apps.guid(ct.app), ct.res(), s.computeOf(ct), starting)
		} else {
			err = s.view.AddTaskCompute(c.ID, ct.guid, ct.res(), s.computeOf(ct), starting)
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
	if c.state != cellUp || !c.rep.Drain(now) {
		return
	}
	c.state = cellEvacuating
	s.view.SetEvacuating(c.ID, true)
	s.writeCellEvent(now, c, record.CellEvacuating)
	s.evacuate(now, c)
	s.k.After(rep.EvacuationPollInterval, s, engine.Payload{Kind: kEvacPoll, A: int64(ci)})
}

// evacuate is one pass of the evacuating rep over its containers: each LRP instance is
// reported to the BBS, which says whether the cell keeps it (an EVACUATING copy that
// runs until its replacement does) or deletes it.
func (s *Sim) evacuate(now time.Duration, c *cell) {
	for _, id := range c.sortedIDs() {
		s.carry(now, id, s.containers.items[id].Evacuate())
	}
}

// evacPoll: the evacuator reports its containers every 10 s, and ends when the cell is
// empty or at the evacuation timeout, ending what is left.
func (s *Sim) evacPoll(now time.Duration, ci int) {
	c := s.cells[ci]
	if c.state != cellEvacuating {
		return
	}
	s.evacuate(now, c)
	switch c.rep.Poll(now, c.count(), s.sc.Timers.EvacuationTimeout) {
	case rep.Continue:
		s.k.After(rep.EvacuationPollInterval, s, engine.Payload{Kind: kEvacPoll, A: int64(ci)})
		return
	case rep.Evacuated:
		s.m.evacuationsCompleted++
	case rep.TimedOut:
		s.m.evacuationsTimedOut++
	}
	for _, id := range c.sortedIDs() {
		s.carry(now, id, s.containers.items[id].EvacuationEnded())
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
		c.rep.Restore()
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
