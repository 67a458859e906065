package sim

import (
	"fmt"
	"time"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/auction"
	"github.com/diegolab/diegolab/model/control"
	"github.com/diegolab/diegolab/model/rep"
	"github.com/diegolab/diegolab/scenarios"
	"github.com/diegolab/diegolab/scenarios/behave"
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
	rep        rep.Cell // the rep's cell-wide state: evacuation
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
	ref, err := s.view.AddCell(c)
	if err != nil {
		return fmt.Errorf("cell %s: %w", c.ID, err)
	}
	s.cellByID[c.ID] = len(s.cells)
	s.cells = append(s.cells, &cell{Cell: c, ref: ref})
	s.m.zones[c.Zone] = struct{}{}
	return nil
}

// container is one simulated container: the rep's record of it (model/rep) and what
// the simulation needs besides.
type container struct {
	rep.Container
	failed    bool // task: completes failed
	cell      int32
	gen       uint32
	app       int32         // app id (LRPs); the process guid is s.apps.guid(app)
	index     int32         // LRP index
	cellPos   int32         // position in its cell's containers
	next      int32         // LRPs: the next container of the same (app, index), or -1
	beh       uint32        // LRPs: the app's behaviour (appBeh), kept here for the start
	guid      string        // the LRP's instance guid or the task's guid
	mem, disk int32         // the work's resource request (MB)
	timer     engine.Handle // pending start / crash / completion
	born      time.Duration // when the container was allocated (bulk sync's grace)
	startedAt time.Duration
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
	p.items[id].Container = rep.Container{}
	p.items[id].gen++
	p.free = append(p.free, id)
}

// perform runs the rep's side of an auction win: one container per instance or task,
// each handed to the rep's state machine, which claims (LRPs) or starts (tasks) it.
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
		var st rep.Step
		ct.Container, st = rep.NewLRP()
		ct.cell, ct.index, ct.guid = int32(ci), int32(l.Index), l.InstanceGUID
		ct.mem, ct.disk = int32(l.MemoryMB), int32(l.DiskMB)
		ct.born = now
		ct.app = s.apps.id(l.ProcessGUID)
		s.place(c, id)
		s.apps.link(&s.containers, id)
		s.m.memUsed += l.MemoryMB
		s.k.MixString(l.InstanceGUID)
		s.k.MixString(w.CellID)
		s.carry(now, id, st)
	}
	for _, t := range w.Tasks {
		id := s.containers.alloc()
		ct := &s.containers.items[id]
		var st rep.Step
		ct.Container, st = rep.NewTask()
		ct.cell, ct.guid = int32(ci), t.GUID
		ct.mem, ct.disk = int32(t.MemoryMB), int32(t.DiskMB)
		ct.born = now
		s.place(c, id)
		s.m.memUsed += t.MemoryMB
		s.byTask[t.GUID] = id
		s.k.MixString(t.GUID)
		s.k.MixString(w.CellID)
		s.carry(now, id, st)
	}
}

// carry carries out the rep's step for container id and feeds the BBS's answers back
// until the rep wants nothing more. It returns the last report's answer and whether it
// reached the BBS.
func (s *Sim) carry(now time.Duration, id int32, st rep.Step) (rep.Reply, bool) {
	for {
		// The report names the container as it was: destroying it releases its slot.
		ct := &s.containers.items[id]
		var key model.ActualLRPKey
		if st.Report != rep.ReportNone && ct.Kind() == rep.LRP {
			key = s.key(ct)
		}
		s.exec(now, id, st.Exec)
		if st.Report == rep.ReportNone {
			return rep.Reply{}, false
		}
		reply, delivered := s.report(now, s.cells[ct.cell], key, ct.guid, st)
		if !delivered || !st.Report.Answered() {
			return reply, delivered
		}
		st = ct.Reply(st.Report, reply)
		if !st.Any() {
			return reply, delivered
		}
	}
}

// exec carries out an executor command on a simulated container. Creating samples the
// start (an LRP) or the run (a task); stopping and destroying free it at once.
func (s *Sim) exec(now time.Duration, id int32, e rep.Exec) {
	switch e {
	case rep.ExecCreate:
		if s.containers.items[id].Kind() == rep.LRP {
			s.createLRP(now, id)
		} else {
			s.runTask(now, id)
		}
	case rep.ExecStop, rep.ExecDestroy:
		s.deleteContainer(id)
	}
}

// report sends the rep's report to the BBS through the plane, for the instance key (an
// LRP) or the task guid on cell c. A cut-off rep's reports are lost (bulk sync repairs
// the BBS later).
func (s *Sim) report(now time.Duration, c *cell, key model.ActualLRPKey, guid string, st rep.Step) (rep.Reply, bool) {
	if st.Report == rep.ReportNone || !c.reachable() {
		return rep.Reply{}, false
	}
	ik := model.InstanceKey{InstanceGUID: guid, CellID: c.ID}
	var err error
	switch st.Report {
	case rep.ReportClaim:
		err = s.plane.ClaimLRP(now, key, ik)
	case rep.ReportStart:
		err = s.plane.StartLRP(now, key, ik, "")
	case rep.ReportCrash:
		err = s.plane.CrashLRP(now, key, ik, st.Reason)
	case rep.ReportRemove:
		err = s.plane.RemoveActualLRP(now, key, ik)
	case rep.ReportRemoveEvacuating:
		err = s.plane.RemoveEvacuating(now, key, ik)
	case rep.ReportEvacuateClaimed, rep.ReportEvacuateRunning:
		state := model.Claimed
		if st.Report == rep.ReportEvacuateRunning {
			state = model.Running
		}
		keep, err := s.plane.Evacuate(now, key, ik, state, "")
		return rep.Reply{OK: err == nil, Keep: keep}, true
	case rep.ReportStartTask:
		ok, err := s.plane.StartTask(now, guid, c.ID)
		return rep.Reply{OK: ok && err == nil}, true
	case rep.ReportCompleteTask:
		err = s.plane.CompleteTask(now, guid, c.ID, st.Failed, st.Reason, st.Result)
	}
	return rep.Reply{OK: err == nil}, true
}

// createLRP: the claimed instance's container is created; its process starts after the
// app's sampled start time (after resolving and pulling its image, for a pushed app).
func (s *Sim) createLRP(now time.Duration, id int32) {
	ct := &s.containers.items[id]
	ct.beh = s.behOf(ct.app)
	g := s.behaviour(ct.beh)
	var d time.Duration
	if s.sc.Calibration.Draws == scenarios.DrawsInstance {
		d = s.instancePlan(ct, g).StartAfter
	} else {
		d = behave.StartTime(g, s.rStart)
	}
	if s.sc.Calibration.StartConcurrency == 0 {
		d += s.startOverheadOf(ct)
	}
	if s.pullStart(now, id, d) {
		return // a pushed app: the image is resolved and pulled first
	}
	if s.queueStart(now, id, d) {
		return // the container's start waits its turn on the machine
	}
	ct.timer = s.k.After(d, s, engine.Payload{Kind: kStart, A: int64(id), B: int64(ct.gen)})
}

// runTask: the started task's container runs for its sampled duration (a staging task
// runs its lifecycle's steps instead).
func (s *Sim) runTask(now time.Duration, id int32) {
	ct := &s.containers.items[id]
	c := s.cells[ct.cell]
	ct.startedAt = now
	if err := s.view.Started(c.ref); err != nil {
		s.fail(err)
		return
	}
	if s.stagingRun(now, id) {
		return // a staging task runs its lifecycle's steps
	}
	var g *scenarios.TaskGroup
	if gi, ok := s.taskBeh[ct.guid]; ok {
		g = &s.sc.Tasks[gi]
	}
	r := s.rTasks
	if s.sc.Calibration.Draws == scenarios.DrawsInstance {
		r = behave.Task(s.sc.Seed, ct.guid) // as real mode's workload draws it
	}
	var d time.Duration
	d, ct.failed = behave.TaskRun(g, r)
	ct.timer = s.k.After(d, s, engine.Payload{Kind: kTaskDone, A: int64(id), B: int64(ct.gen)})
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
	if ct.gen != gen || ct.Done() {
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
	s.carry(now, id, ct.Created(true))
	var plan behave.Plan
	if s.sc.Calibration.Draws == scenarios.DrawsInstance {
		plan = s.instancePlan(ct, g)
	} else {
		plan.StartFails = behave.StartFails(g, s.rStart)
	}
	if plan.StartFails {
		s.crashContainer(now, id, rep.ReasonStartFailed)
		return
	}
	st := ct.Healthy()
	ct.startedAt = now
	if err := s.view.Started(c.ref); err != nil {
		s.fail(err)
		return
	}
	s.apps.containerUp(ct.app, int(ct.index))
	s.stgUp(now, id)
	if s.carry(now, id, st); s.live(id, gen) == nil {
		return // the BBS refused the start: the rep stopped the container
	}
	if s.sc.Calibration.Draws != scenarios.DrawsInstance {
		plan.CrashAfter, plan.Crashes = behave.CrashAfter(g, s.rCrash)
	}
	if plan.Crashes {
		ct.timer = s.k.After(plan.CrashAfter, s, engine.Payload{Kind: kCrash, A: int64(id), B: int64(ct.gen)})
	}
}

// startOverhead is the calibration's overhead of this start: FirstStartOverhead for
// the first container of an (app, index), when set, else StartOverhead. The first
// starts are remembered only when the calibration asks for them.
func (s *Sim) startOverhead(ct *container) scenarios.Dist {
	c := &s.sc.Calibration
	if c.FirstStartOverhead == (scenarios.Dist{}) {
		return c.StartOverhead
	}
	if s.begun == nil {
		s.begun = map[int64]bool{}
	}
	k := int64(ct.app)<<32 | int64(ct.index)
	if s.begun[k] {
		return c.StartOverhead
	}
	s.begun[k] = true
	return c.FirstStartOverhead
}

// instancePlan draws the instance's start, start failure and crash from its own
// generator (calibration draws = "instance"), as real mode's workload does: each call
// draws the same plan again, so the container need not keep it.
func (s *Sim) instancePlan(ct *container, g *scenarios.AppGroup) behave.Plan {
	return behave.PlanInstance(g, behave.Instance(s.sc.Seed, s.apps.guid(ct.app), int(ct.index), ct.guid))
}

func (s *Sim) containerCrash(now time.Duration, id int32, gen uint32, reason string) {
	if s.live(id, gen) == nil {
		return
	}
	s.crashContainer(now, id, reason)
}

// crashContainer: the instance's container failed; the rep reports the crash and
// deletes the container.
func (s *Sim) crashContainer(now time.Duration, id int32, reason string) {
	s.m.crashes++
	s.carry(now, id, s.containers.items[id].Exited(reason))
}

// deleteContainer frees a container's resources on its cell and forgets it.
func (s *Sim) deleteContainer(id int32) {
	ct := &s.containers.items[id]
	c := s.cells[ct.cell]
	s.k.Cancel(ct.timer)
	starting := ct.Starting()
	if c.state != cellCrashed && c.state != cellPartitioned && c.state != cellDown {
		var err error
		if ct.Kind() == rep.LRP {
			err = s.view.RemovedLRP(c.ref, s.apps.guid(ct.app), ct.res(), starting)
		} else {
			err = s.view.RemovedTask(c.ID, ct.guid, ct.res(), starting)
		}
		if err != nil {
			s.fail(fmt.Errorf("free container on %s: %w", c.ID, err))
		}
	}
	if ct.Kind() == rep.LRP {
		s.stgDown(s.k.Now(), id)
		if ct.Started() {
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
	dur := now - ct.startedAt
	reason := ""
	if ct.failed {
		reason = "APP/TASK: Exited with status 1"
	}
	if reply, delivered := s.carry(now, id, ct.TaskExited(ct.failed, reason, "")); delivered && reply.OK {
		s.m.taskDurations.add(dur.Seconds())
	}
}

// stopLRP carries out a StopLRPInstance from the BBS.
func (s *Sim) stopLRP(now time.Duration, key model.ActualLRPKey, instance string) {
	if id := s.apps.find(&s.containers, key, instance); id >= 0 {
		s.carry(now, id, s.containers.items[id].Stop())
	}
}

// cancelTask carries out a cancel from the BBS.
func (s *Sim) cancelTask(now time.Duration, guid string) {
	if id, ok := s.byTask[guid]; ok {
		s.carry(now, id, s.containers.items[id].Cancel())
	}
}

// writeCellEvent records a change of a cell's condition.
func (s *Sim) writeCellEvent(now time.Duration, c *cell, state string) {
	s.events.WriteCell(now, c.ID, c.Zone, state)
}
