package rep

import (
	"time"

	mrep "github.com/diegolab/diegolab/model/rep"
)

// Drain starts the rep's evacuation (DIEGO.md §6.5), as SIGTERM or SIGUSR1 (BOSH's
// drain) do to Diego's rep: the cell takes no more work; every EvacuationPoll it
// reports its instances to the BBS, which auctions replacements and tells it which
// containers to keep (a running instance serves, and stays routable, under an
// EVACUATING row until its replacement runs); tasks run to completion. The evacuation
// ends when the cell is empty or at EvacuationTimeout, when what is left is ended (a
// task fails); then Serve returns. Drain may be called more than once.
func (r *Rep) Drain() { r.drainOnce.Do(func() { close(r.drain) }) }

// now is the state machine's clock: the time since the rep started.
func (r *Rep) now() time.Duration { return time.Since(r.epoch) }

// evacuator waits for Drain and runs the evacuation.
func (r *Rep) evacuator() {
	defer r.wg.Done()
	select {
	case <-r.ctx.Done():
		return
	case <-r.drain:
	}
	r.mu.Lock()
	r.evac.Drain(r.now())
	r.mu.Unlock()
	r.log.Info("evacuating", "timeout", r.cfg.EvacuationTimeout)
	t := time.NewTicker(r.cfg.EvacuationPoll)
	defer t.Stop()
	for {
		r.evacuatePass(func(c *mrep.Container) mrep.Step { return c.Evacuate() })
		r.mu.Lock()
		out := r.evac.Poll(r.now(), len(r.lrps)+len(r.tasks), r.cfg.EvacuationTimeout)
		r.mu.Unlock()
		if out != mrep.Continue {
			if out == mrep.TimedOut {
				r.log.Warn("evacuation timed out: ending what is left")
				r.evacuatePass(func(c *mrep.Container) mrep.Step { return c.EvacuationEnded() })
			}
			r.log.Info("evacuation ended", "outcome", out.String())
			close(r.evacuated)
			return
		}
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// evacuatePass feeds input to every container, in instance-guid order, and carries
// out the steps.
func (r *Rep) evacuatePass(input func(*mrep.Container) mrep.Step) {
	type lrpStep struct {
		c  *lrpC
		st mrep.Step
	}
	type taskStep struct {
		t  *taskC
		st mrep.Step
	}
	var lrps []lrpStep
	var tasks []taskStep
	r.mu.Lock()
	for _, id := range sortedKeys(r.lrps) {
		c := r.lrps[id]
		if st := input(&c.Container); st.Any() {
			lrps = append(lrps, lrpStep{c, st})
		}
	}
	for _, guid := range sortedKeys(r.tasks) {
		t := r.tasks[guid]
		if st := input(&t.Container); st.Any() {
			tasks = append(tasks, taskStep{t, st})
		}
	}
	r.mu.Unlock()
	for _, l := range lrps {
		r.driveLRP(l.c, l.st)
	}
	for _, t := range tasks {
		r.driveTask(t.t, t.st)
	}
}
