package sim

import (
	"fmt"
	"time"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/auction"
	"github.com/diegolab/diegolab/model/control"
	"github.com/diegolab/diegolab/scenarios"
)

// cellState is the simulated machine's condition, not the BBS's view of it.
type cellState uint8

const (
	cellUp          cellState = iota
	cellCrashed               // dead: no containers, no heartbeat
	cellPartitioned           // cut off: containers run, no heartbeat, unreachable
	cellEvacuating            // draining: heartbeats, takes no work
	cellDown                  // drained and stopped
)

type cell struct {
	model.Cell
	ref   auction.CellRef // the auction State's handle of the cell (stale while it is out of the State)
	state cellState
	// containers lists the container ids on this cell in no particular order, with
	// holes (-1) where containers left; each container keeps its position (cellPos).
	// Removal leaves a hole, listed in holes, which the next placement fills: unlike a
	// swap with the last entry, it touches no other container (a cache miss per crash
	// at scale). Iterations that can affect results go through sortedIDs.
	containers []int32
	holes      []int32
	evacStart  time.Duration
	partEnd    engine.Handle
	// restoreAfterDrain: a restore-cell arrived while the cell was evacuating.
	restoreAfterDrain bool
}

// heartbeats reports whether the cell's rep refreshes its presence.
func (c *cell) heartbeats() bool { return c.state == cellUp || c.state == cellEvacuating }

// reachable reports whether the cell's rep can talk to the BBS and auctioneer.
func (c *cell) reachable() bool { return c.heartbeats() }

func (s *Sim) addCell(c model.Cell) error {
	if _, dup := s.cellByID[c.ID]; dup {
		return fmt.Errorf("duplicate cell id %q", c.ID)
	}
	if err := s.state.AddCell(c); err != nil {
		return fmt.Errorf("cell %s: %w", c.ID, err)
	}
	ref, _ := s.state.Ref(c.ID)
	s.cellByID[c.ID] = len(s.cells)
	s.cells = append(s.cells, &cell{Cell: c, ref: ref})
	s.m.zones[c.Zone] = struct{}{}
	return nil
}

// containerKind says what a container runs.
type containerKind uint8

const (
	kindLRP containerKind = iota
	kindTask
)

// container phases, from the rep's point of view (DIEGO.md §3.2 container states).
type phase uint8

const (
	phaseReserved phase = iota // created, process not yet running
	phaseRunning
	phaseGone
)

type container struct {
	kind       containerKind
	phase      phase
	evacuating bool
	failed     bool // task: completes failed
	cell       int32
	gen        uint32
	app        int32         // app id (LRPs); the process guid is s.apps.guid(app)
	index      int32         // LRP index
	cellPos    int32         // position in its cell's containers
	next       int32         // LRPs: the next container of the same (app, index), or -1
	beh        uint32        // LRPs: the app's behaviour (appBeh), kept here for the start
	guid       string        // the LRP's instance guid or the task's guid
	mem, disk  int32         // the work's resource request (MB)
	timer      engine.Handle // pending start / crash / completion
	born       time.Duration // when the container was allocated (bulk sync's grace)
	startedAt  time.Duration
}

// res is the container's resource request.
func (ct *container) res() model.Resource {
	return model.Resource{MemoryMB: int(ct.mem), DiskMB: int(ct.disk)}
}

// key is an LRP container's ActualLRPKey.
func (s *Sim) key(ct *container) model.ActualLRPKey {
	return model.ActualLRPKey{ProcessGUID: s.apps.guid(ct.app), Index: int(ct.index)}
}

// place puts container id on cell c's list, in a hole if there is one.
func (s *Sim) place(c *cell, id int32) {
	if n := len(c.holes); n > 0 {
		i := c.holes[n-1]
		c.holes = c.holes[:n-1]
		c.containers[i] = id
		s.containers.items[id].cellPos = i
		return
	}
	s.containers.items[id].cellPos = int32(len(c.containers))
	c.containers = append(c.containers, id)
}

// unplace takes container id off its cell's list, leaving a hole.
func (s *Sim) unplace(c *cell, id int32) {
	i := s.containers.items[id].cellPos
	c.containers[i] = -1
	c.holes = append(c.holes, i)
}

// count is the number of containers on the cell.
func (c *cell) count() int { return len(c.containers) - len(c.holes) }

// ids returns a new slice of the cell's container ids, in list order.
func (c *cell) ids() []int32 {
	out := make([]int32, 0, c.count())
	for _, id := range c.containers {
		if id >= 0 {
			out = append(out, id)
		}
	}
	return out
}

// containerPool stores containers in a slice with a free list; ids are stable while a
// container lives, and gen distinguishes a reused slot in stale events.
type containerPool struct {
	items []container
	free  []int32
}

func (p *containerPool) alloc() int32 {
	if n := len(p.free); n > 0 {
		id := p.free[n-1]
		p.free = p.free[:n-1]
		gen := p.items[id].gen + 1
		p.items[id] = container{gen: gen}
		return id
	}
	p.items = append(p.items, container{gen: 1})
	return int32(len(p.items) - 1)
}

func (p *containerPool) release(id int32) {
	p.items[id].phase = phaseGone
	p.items[id].gen++
	p.free = append(p.free, id)
}

// perform runs the rep's side of an auction win: one container per instance or task,
// then claim (LRPs) or start (tasks), as the rep does on RESERVED containers.
func (s *Sim) perform(now time.Duration, w control.Work) {
	ci, ok := s.cellIndex(w.CellID)
	if !ok {
		s.fail(fmt.Errorf("perform on unknown cell %q", w.CellID))
		return
	}
	c := s.cells[ci]
	for _, l := range w.LRPs {
		id := s.containers.alloc()
		ct := &s.containers.items[id]
		ct.kind, ct.cell, ct.index, ct.guid = kindLRP, int32(ci), int32(l.Index), l.InstanceGUID
		ct.mem, ct.disk = int32(l.MemoryMB), int32(l.DiskMB)
		ct.born = now
		ct.app = s.apps.id(l.ProcessGUID)
		s.place(c, id)
		s.apps.link(&s.containers, id)
		s.m.memUsed += l.MemoryMB
		s.k.MixString(l.InstanceGUID)
		s.k.MixString(w.CellID)
		if err := s.plane.ClaimLRP(now, model.ActualLRPKey{ProcessGUID: l.ProcessGUID, Index: l.Index}, model.InstanceKey{InstanceGUID: l.InstanceGUID, CellID: c.ID}); err != nil {
			// The BBS refused the claim (the instance was removed or claimed elsewhere):
			// the rep deletes the container.
			s.deleteContainer(id)
			continue
		}
		ct.beh = s.behOf(ct.app)
		g := s.behaviour(ct.beh)
		d := 5 * time.Second
		if g != nil {
			d = g.StartTime.Sample(s.rStart)
		}
		if s.pullStart(now, id, d) {
			continue // a pushed app: the image is resolved and pulled first
		}
		ct.timer = s.k.After(d, s, engine.Payload{Kind: kStart, A: int64(id), B: int64(ct.gen)})
	}
	for _, t := range w.Tasks {
		id := s.containers.alloc()
		ct := &s.containers.items[id]
		ct.kind, ct.cell, ct.guid = kindTask, int32(ci), t.GUID
		ct.mem, ct.disk = int32(t.MemoryMB), int32(t.DiskMB)
		ct.born = now
		s.place(c, id)
		s.m.memUsed += t.MemoryMB
		s.byTask[t.GUID] = id
		s.k.MixString(t.GUID)
		s.k.MixString(w.CellID)
		ok, err := s.plane.StartTask(now, t.GUID, c.ID)
		if err != nil || !ok {
			s.deleteContainer(id)
			continue
		}
		ct.phase = phaseRunning
		ct.startedAt = now
		if err := s.state.StartedRef(c.ref); err != nil {
			s.fail(err)
			return
		}
		if s.stagingRun(now, id) {
			continue // a staging task runs its lifecycle's steps
		}
		d := time.Minute
		if gi, ok := s.taskBeh[t.GUID]; ok {
			g := &s.sc.Tasks[gi]
			d = g.Duration.Sample(s.rTasks)
			ct.failed = g.FailureProbability > 0 && s.rTasks.Float64() < g.FailureProbability
		}
		ct.timer = s.k.After(d, s, engine.Payload{Kind: kTaskDone, A: int64(id), B: int64(ct.gen)})
	}
}

// behOf returns app's behaviour index (appBeh).
func (s *Sim) behOf(app int32) uint32 {
	if int(app) < len(s.appBeh) {
		return s.appBeh[app]
	}
	return 0
}

// behaviour returns the group of behaviour index b, or nil.
func (s *Sim) behaviour(b uint32) *scenarios.AppGroup {
	if b == 0 {
		return nil
	}
	return s.behs[b-1]
}

// live returns the container if the event (id, gen) still refers to it.
func (s *Sim) live(id int32, gen uint32) *container {
	if int(id) >= len(s.containers.items) {
		return nil
	}
	ct := &s.containers.items[id]
	if ct.gen != gen || ct.phase == phaseGone {
		return nil
	}
	return ct
}

func (s *Sim) containerStart(now time.Duration, id int32, gen uint32) {
	ct := s.live(id, gen)
	if ct == nil {
		return
	}
	c := s.cells[ct.cell]
	g := s.behaviour(ct.beh)
	if g != nil && (g.StartFailureProbability > 0 && s.rStart.Float64() < g.StartFailureProbability ||
		g.CrashProbabilityAtStart > 0 && s.rStart.Float64() < g.CrashProbabilityAtStart) {
		s.crashContainer(now, id, "failed to start")
		return
	}
	ct.phase = phaseRunning
	ct.startedAt = now
	if err := s.state.StartedRef(c.ref); err != nil {
		s.fail(err)
		return
	}
	s.apps.containerUp(ct.app, int(ct.index))
	s.stgUp(now, id)
	if c.reachable() {
		if err := s.plane.StartLRP(now, s.key(ct), model.InstanceKey{InstanceGUID: ct.guid, CellID: c.ID}, ""); err != nil {
			// The BBS cannot start it (it no longer wants this instance): stop it.
			s.stopContainer(now, id)
			return
		}
	}
	if g != nil && g.Crash != nil {
		ct.timer = s.k.After(g.Crash.After.Sample(s.rCrash), s, engine.Payload{Kind: kCrash, A: int64(id), B: int64(ct.gen)})
	}
}

func (s *Sim) containerCrash(now time.Duration, id int32, gen uint32, reason string) {
	if s.live(id, gen) == nil {
		return
	}
	s.crashContainer(now, id, reason)
}

// crashContainer: the instance's process exited; the rep reports the crash and deletes
// the container (COMPLETED, crashed -> Crash the ActualLRP, then delete the container).
func (s *Sim) crashContainer(now time.Duration, id int32, reason string) {
	ct := &s.containers.items[id]
	c := s.cells[ct.cell]
	key, ik, evac := s.key(ct), model.InstanceKey{InstanceGUID: ct.guid, CellID: c.ID}, ct.evacuating
	s.m.crashes++
	s.deleteContainer(id)
	if !c.reachable() {
		return // a partitioned rep reports nothing; bulk sync repairs the BBS later
	}
	if evac {
		_ = s.plane.RemoveEvacuating(now, key, ik)
		return
	}
	_ = s.plane.CrashLRP(now, key, ik, reason)
}

// stopContainer: the BBS asked for the instance to stop; the rep deletes the container
// and removes the ActualLRP (COMPLETED, stopped -> Remove).
func (s *Sim) stopContainer(now time.Duration, id int32) {
	ct := &s.containers.items[id]
	c := s.cells[ct.cell]
	key, ik, evac := s.key(ct), model.InstanceKey{InstanceGUID: ct.guid, CellID: c.ID}, ct.evacuating
	s.deleteContainer(id)
	if !c.reachable() {
		return
	}
	if evac {
		_ = s.plane.RemoveEvacuating(now, key, ik)
		return
	}
	_ = s.plane.RemoveActualLRP(now, key, ik)
}

// deleteContainer frees a container's resources on its cell and forgets it.
func (s *Sim) deleteContainer(id int32) {
	ct := &s.containers.items[id]
	c := s.cells[ct.cell]
	s.k.Cancel(ct.timer)
	starting := ct.phase == phaseReserved
	if c.state != cellCrashed && c.state != cellPartitioned && c.state != cellDown {
		var err error
		if ct.kind == kindLRP {
			err = s.state.RemoveLRPRef(c.ref, s.apps.guid(ct.app), ct.res(), starting)
		} else {
			err = s.state.RemoveTask(c.ID, ct.guid, ct.res(), starting)
		}
		if err != nil {
			s.fail(fmt.Errorf("free container on %s: %w", c.ID, err))
		}
	}
	if ct.kind == kindLRP {
		s.stgDown(s.k.Now(), id)
		if ct.phase == phaseRunning {
			s.apps.containerDown(ct.app, int(ct.index))
		}
		s.apps.unlink(&s.containers, id)
	} else if s.byTask[ct.guid] == id {
		delete(s.byTask, ct.guid)
	}
	s.unplace(c, id)
	s.m.memUsed -= int(ct.mem)
	s.containers.release(id)
}

func (s *Sim) taskDone(now time.Duration, id int32, gen uint32) {
	ct := s.live(id, gen)
	if ct == nil {
		return
	}
	c := s.cells[ct.cell]
	guid, failed := ct.guid, ct.failed
	dur := now - ct.startedAt
	s.deleteContainer(id)
	if !c.reachable() {
		return
	}
	reason := ""
	if failed {
		reason = "APP/TASK: Exited with status 1"
	}
	if err := s.plane.CompleteTask(now, guid, c.ID, failed, reason, ""); err == nil {
		s.m.taskDurations.add(dur.Seconds())
	}
}

// stopLRP carries out a StopLRPInstance from the BBS.
func (s *Sim) stopLRP(now time.Duration, key model.ActualLRPKey, instance string) {
	if id := s.apps.find(&s.containers, key, instance); id >= 0 {
		s.stopContainer(now, id)
	}
}

// cancelTask carries out a cancel from the BBS: the rep deletes the task's container.
func (s *Sim) cancelTask(guid string) {
	if id, ok := s.byTask[guid]; ok {
		s.deleteContainer(id)
	}
}

// writeCellEvent records a change of a cell's condition.
func (s *Sim) writeCellEvent(now time.Duration, c *cell, state string) {
	s.events.WriteCell(now, c.ID, c.Zone, state)
}
