package bbs

import (
	"slices"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/converge"
)

// ConvergeReport counts what one pass did, per step of DIEGO.md §4, plus the gauges
// Diego emits (LRPsMissing, SuspectCells, ...).
type ConvergeReport struct {
	DomainsPruned     int `json:"domains_pruned"`
	EvacuatingPruned  int `json:"evacuating_pruned"`
	StaleUnclaimed    int `json:"stale_unclaimed"`
	SuspectsCreated   int `json:"suspects_created"`
	ReplacementsReset int `json:"replacements_unclaimed"` // missing cell, suspect already there
	MissingInstances  int `json:"lrps_missing"`
	ExtraInstances    int `json:"lrps_extra"`
	Orphaned          int `json:"orphaned"`
	SuspectsRemoved   int `json:"suspects_removed"`
	SuspectsPromoted  int `json:"suspects_promoted"`
	CrashedRestarted  int `json:"crashed_restarted"`
	SuspectRunning    int `json:"suspect_running"`
	SuspectClaimed    int `json:"suspect_claimed"`
	MissingCells      int `json:"missing_cells"`
	PresentCells      int `json:"present_cells"`

	TasksExpired   int `json:"tasks_expired"`
	TasksKicked    int `json:"tasks_kicked"`
	TasksCellLost  int `json:"tasks_cell_lost"`
	TasksDemoted   int `json:"tasks_demoted"`
	TasksDeleted   int `json:"tasks_deleted"`
	CallbacksKicks int `json:"callbacks_kicked"`

	LRPStarts int `json:"lrp_starts"`
	// Errors counts plan entries that could not be applied (the row changed under an
	// earlier step of the same pass, or a store failure). StoreErr is the first store error.
	Errors   int   `json:"errors"`
	StoreErr error `json:"-"`
}

// ConvergePlan computes the plan the next Converge would apply, from the incremental
// indexes, without applying it.
func (b *BBS) ConvergePlan(now time.Duration, cells []string) converge.Plan {
	return b.tracker.Plan(now, cells)
}

// Converge runs one convergence pass with the given present cells: it computes the plan
// incrementally and applies it step by step through the BBS operations. LRP starts go
// out as one batch at the end of the pass (deduplicated by key, first kept).
func (b *BBS) Converge(now time.Duration, cells []string) ConvergeReport {
	b.srcErr = nil
	b.SetCells(cells)
	p := b.tracker.Plan(now, cells)
	rep := ConvergeReport{StoreErr: b.srcErr, PresentCells: len(b.present), MissingCells: len(p.MissingCellIDs),
		SuspectRunning: p.SuspectRunning, SuspectClaimed: p.SuspectClaimed}
	b.stats.ConvergePasses++
	startsBefore := len(b.out.LRPStarts)
	// room for every start the plan can ask for at once, instead of growing by doubling
	starts := make([]model.ActualLRPKey, 0, len(p.StaleUnclaimed)+len(p.MissingCells)+len(p.MissingInstances)+len(p.RestartCrashed))
	check := func(err error) bool {
		if err != nil {
			rep.Errors++
			if rep.StoreErr == nil && errorClass(err) == "store" {
				rep.StoreErr = err
			}
			return false
		}
		return true
	}

	for _, d := range p.PruneDomains {
		if check(b.store.DeleteDomain(d)) {
			rep.DomainsPruned++
		}
	}
	for i := range p.PruneEvacuating {
		e := &p.PruneEvacuating[i]
		if check(b.removeEvacuating(e.ActualLRPKey, e.InstanceKey)) {
			rep.EvacuatingPruned++
		}
	}
	for _, k := range p.StaleUnclaimed {
		starts = append(starts, k)
		rep.StaleUnclaimed++
	}
	for _, m := range p.MissingCells {
		if m.SuspectExists {
			// the row is itself a replacement: Diego unclaims it and requests no start;
			// it is auctioned later as a stale UNCLAIMED row.
			if check(b.unclaim(now, m.Key)) {
				rep.ReplacementsReset++
			}
			continue
		}
		if check(b.suspect(now, m)) {
			starts = append(starts, m.Key)
			rep.SuspectsCreated++
		}
	}
	for _, k := range p.MissingInstances {
		if check(b.createMissing(now, k)) {
			starts = append(starts, k)
			rep.MissingInstances++
		}
	}
	for _, k := range p.ExtraInstances {
		if check(b.retire(k)) {
			rep.ExtraInstances++
		}
	}
	for _, k := range p.Orphaned {
		if check(b.retire(k)) {
			rep.Orphaned++
		}
	}
	for _, k := range append(slices.Clone(p.OrphanedSuspects), p.ExtraSuspects...) {
		var sBuf model.ActualLRP
		s, err := b.getActual(&sBuf, k, model.Suspect)
		if !check(err) || s == nil {
			continue // already removed by the other list
		}
		if check(b.deleteActual(s)) {
			rep.SuspectsRemoved++
		}
	}
	for _, k := range p.PromoteSuspects {
		if check(b.promote(k)) {
			rep.SuspectsPromoted++
		}
	}
	for i, k := range p.RestartCrashed {
		b.prefetchKey(p.RestartCrashed, i+prefetchAhead)
		if check(b.unclaim(now, k)) {
			starts = append(starts, k)
			rep.CrashedRestarted++
		}
	}

	// task convergence
	for _, g := range p.ExpirePendingTasks {
		if check(b.convergeFailTask(now, g, model.ReasonTaskNotStarted)) {
			rep.TasksExpired++
		}
	}
	for _, g := range p.KickPendingTasks {
		var buf model.Task
		t, err := b.getTask(&buf, g)
		if check(err) {
			b.out.TaskStarts = append(b.out.TaskStarts, taskStart(t))
			rep.TasksKicked++
		}
	}
	for _, g := range p.FailCellTasks {
		if check(b.convergeFailTask(now, g, model.ReasonCellDisappeared)) {
			rep.TasksCellLost++
		}
	}
	for _, g := range p.DemoteResolvingTasks {
		var buf model.Task
		t, err := b.getTask(&buf, g)
		if !check(err) {
			continue
		}
		n := *t
		n.State = model.TaskCompleted // updated_at unchanged, as Diego's UPDATE
		if check(b.putTask(t, n)) {
			rep.TasksDemoted++
		}
	}
	for _, g := range p.DeleteCompletedTasks {
		if check(b.deleteTask(g, model.TaskCompleted)) {
			rep.TasksDeleted++
		}
	}
	for _, g := range p.KickCompletedTasks {
		var buf model.Task
		t, err := b.getTask(&buf, g)
		if check(err) {
			b.out.Callbacks = append(b.out.Callbacks, *t)
			rep.CallbacksKicks++
		}
	}

	// Deduplicate, first kept; a list in strictly increasing order (the usual pass, whose
	// starts all come from one sorted plan list) has no duplicate and needs no map.
	b.out.LRPStarts = slices.Grow(b.out.LRPStarts, len(starts))
	var seen map[model.ActualLRPKey]bool
	if !strictlyIncreasing(starts) {
		seen = make(map[model.ActualLRPKey]bool, len(starts))
	}
	for i, k := range starts {
		b.prefetchKey(starts, i+prefetchAhead)
		if seen != nil {
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		check(b.requestStart(k))
	}
	rep.LRPStarts = len(b.out.LRPStarts) - startsBefore
	b.stats.PlanErrors += rep.Errors
	return rep
}

// prefetchAhead is how many keys ahead of the one it applies Converge asks the CPU for
// the next ones' procs and tracker records (a pass restarts thousands of crashed
// instances, each proc a cache miss): enough for their misses to overlap, few enough
// that they are still cached when their turn comes.
const prefetchAhead = 8

// prefetchKey starts loading the proc and the tracker record of keys[i]'s guid, if
// there is such a key (prefetchStore; no effect on results).
func (b *BBS) prefetchKey(keys []model.ActualLRPKey, i int) {
	if i < len(keys) {
		b.hint.PrefetchGUID(keys[i].ProcessGUID)
	}
}

// strictlyIncreasing reports whether keys are in strictly increasing (process guid,
// index) order, so no key repeats.
func strictlyIncreasing(keys []model.ActualLRPKey) bool {
	for i := 1; i < len(keys); i++ {
		a, b := keys[i-1], keys[i]
		if a.ProcessGUID > b.ProcessGUID || a.ProcessGUID == b.ProcessGUID && a.Index >= b.Index {
			return false
		}
	}
	return true
}

// suspect marks the ORDINARY row of a missing cell SUSPECT and creates its UNCLAIMED
// replacement.
func (b *BBS) suspect(now time.Duration, m converge.MissingCell) error {
	var oBuf model.ActualLRP
	o, err := b.getActual(&oBuf, m.Key, model.Ordinary)
	if err != nil {
		return err
	}
	if o == nil || o.CellID != m.CellID || (o.State != model.Claimed && o.State != model.Running) {
		return notFound(m.Key)
	}
	var sBuf model.ActualLRP
	if s, err := b.getActual(&sBuf, m.Key, model.Suspect); err != nil || s != nil {
		if err != nil {
			return err
		}
		return &model.ExistsError{Kind: "suspect actual_lrp", Key: m.Key.String()}
	}
	if err := b.moveActual(o, model.Suspect); err != nil {
		return err
	}
	return b.putActual(nil, model.ActualLRP{ActualLRPKey: m.Key, Domain: o.Domain, State: model.Unclaimed, Since: now})
}

func (b *BBS) createMissing(now time.Duration, k model.ActualLRPKey) error {
	var oBuf model.ActualLRP
	o, err := b.getActual(&oBuf, k, model.Ordinary)
	if err != nil {
		return err
	}
	if o != nil {
		return &model.ExistsError{Kind: "actual_lrp", Key: k.String()}
	}
	var dBuf model.DesiredLRP
	d, err := b.getDesired(&dBuf, k.ProcessGUID)
	if err != nil {
		return err
	}
	if d == nil {
		return &model.NotFoundError{Kind: "desired_lrp", Key: k.ProcessGUID}
	}
	return b.putActual(nil, model.ActualLRP{ActualLRPKey: k, Domain: d.Domain, State: model.Unclaimed, Since: now})
}

// promote deletes the ORDINARY replacement of a suspect whose cell is back and makes the
// suspect ORDINARY again.
func (b *BBS) promote(k model.ActualLRPKey) error {
	var sBuf model.ActualLRP
	s, err := b.getActual(&sBuf, k, model.Suspect)
	if err != nil {
		return err
	}
	if s == nil {
		return notFound(k)
	}
	var oBuf model.ActualLRP
	o, err := b.getActual(&oBuf, k, model.Ordinary)
	if err != nil {
		return err
	}
	if o != nil {
		if err := b.deleteActual(o); err != nil {
			return err
		}
	}
	return b.moveActual(s, model.Ordinary)
}
