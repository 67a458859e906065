package converge

import (
	"slices"
	"time"

	"github.com/diegolab/diegolab/model"
)

// Source is the read access the Tracker needs to the BBS store, at plan time and while
// it is notified of a change (after the change has been written). Lists are sorted:
// by (index, presence) for a process, by (key, presence) on a cell, domains by name.
type Source interface {
	DesiredLRP(guid string) (model.DesiredLRP, bool)
	ActualLRP(key model.ActualLRPKey, p model.Presence) (model.ActualLRP, bool)
	ActualLRPsByProcess(guid string) []model.ActualLRP
	ActualLRPsOnCell(cellID string) []model.ActualLRP
	Task(guid string) (model.Task, bool)
	Domains() []Domain
}

// Tracker keeps the indexes that let Plan find every row convergence acts on without
// scanning the store. Notify it of every write; Plan then equals Compute on a snapshot.
type Tracker struct {
	cfg     Config
	src     Source
	present set[string]
	cells   []string // the sorted cell list of the last Plan

	instances map[string]int // desired instances per process guid
	ordCount  map[string]int // ORDINARY rows per process guid
	suspCount map[string]int // SUSPECT rows per process guid

	mismatch       set[string] // desired, ORDINARY count != instances
	orphan         set[string] // ORDINARY rows, no desired
	orphanSuspects set[string] // SUSPECT rows, no desired
	suspRunning    set[model.ActualLRPKey]
	extraSuspects  set[model.ActualLRPKey]
	suspectClaimed int

	unclaimed *dueHeap[model.ActualLRPKey] // ORDINARY UNCLAIMED, due = since
	crashed   *dueHeap[model.ActualLRPKey] // ORDINARY CRASHED, due = since + backoff

	ordCells  cellCounts // ORDINARY CLAIMED/RUNNING per cell, hot when absent
	evacCells cellCounts // EVACUATING per cell, hot when absent
	suspCells cellCounts // SUSPECT per cell, hot when present
	taskCells cellCounts // RUNNING tasks per cell, hot when absent

	runningTasks map[string]set[string] // cell -> running task guids
	pending      set[string]
	completed    set[string]
	resolving    set[string]
}

// NewTracker returns an empty tracker reading through src. Until the first Plan no cell
// is present.
func NewTracker(cfg Config, src Source) *Tracker {
	return &Tracker{
		cfg: cfg, src: src, present: set[string]{},
		instances: map[string]int{}, ordCount: map[string]int{}, suspCount: map[string]int{},
		mismatch: set[string]{}, orphan: set[string]{}, orphanSuspects: set[string]{},
		suspRunning: set[model.ActualLRPKey]{}, extraSuspects: set[model.ActualLRPKey]{},
		unclaimed: newDueHeap[model.ActualLRPKey](), crashed: newDueHeap[model.ActualLRPKey](),
		ordCells: newCellCounts(false), evacCells: newCellCounts(false),
		suspCells: newCellCounts(true), taskCells: newCellCounts(false),
		runningTasks: map[string]set[string]{},
		pending:      set[string]{}, completed: set[string]{}, resolving: set[string]{},
	}
}

func (t *Tracker) guidChanged(guid string) {
	inst, desired := t.instances[guid]
	t.mismatch.put(guid, desired && t.ordCount[guid] != inst)
	t.orphan.put(guid, !desired && t.ordCount[guid] > 0)
	t.orphanSuspects.put(guid, !desired && t.suspCount[guid] > 0)
}

// DesiredChanged records a desired LRP created (old nil), updated or removed (new nil).
func (t *Tracker) DesiredChanged(old, new *model.DesiredLRP) {
	guid := ""
	if old != nil {
		guid = old.ProcessGUID
		delete(t.instances, guid)
	}
	if new != nil {
		guid = new.ProcessGUID
		t.instances[guid] = new.Instances
	}
	t.guidChanged(guid)
}

// ActualChanged records an actual LRP row created (old nil), changed or deleted (new nil).
// Old and new must have the same key and presence.
func (t *Tracker) ActualChanged(old, new *model.ActualLRP) {
	if old != nil {
		t.actualRow(old, -1)
	}
	if new != nil {
		t.actualRow(new, +1)
	}
	a := new
	if a == nil {
		a = old
	}
	t.guidChanged(a.ProcessGUID)
	// extra suspects depend on the ORDINARY and the SUSPECT row of the key.
	if _, ok := t.suspRunning[a.ActualLRPKey]; ok {
		o, found := t.src.ActualLRP(a.ActualLRPKey, model.Ordinary)
		t.extraSuspects.put(a.ActualLRPKey, found && o.State == model.Running)
	} else {
		delete(t.extraSuspects, a.ActualLRPKey)
	}
}

func (t *Tracker) actualRow(a *model.ActualLRP, d int) {
	on := d > 0
	_, present := t.present[a.CellID]
	switch a.Presence {
	case model.Ordinary:
		t.ordCount[a.ProcessGUID] += d
		if t.ordCount[a.ProcessGUID] == 0 {
			delete(t.ordCount, a.ProcessGUID)
		}
		switch a.State {
		case model.Unclaimed:
			if on {
				t.unclaimed.Set(a.ActualLRPKey, a.Since)
			} else {
				t.unclaimed.Remove(a.ActualLRPKey)
			}
		case model.Crashed:
			if delay, ok := model.RestartDelay(a.CrashCount); ok && on {
				t.crashed.Set(a.ActualLRPKey, a.Since+delay)
			} else {
				t.crashed.Remove(a.ActualLRPKey)
			}
		case model.Claimed, model.Running:
			t.ordCells.add(a.CellID, d, present)
		}
	case model.Evacuating:
		t.evacCells.add(a.CellID, d, present)
	case model.Suspect:
		t.suspCount[a.ProcessGUID] += d
		if t.suspCount[a.ProcessGUID] == 0 {
			delete(t.suspCount, a.ProcessGUID)
		}
		t.suspCells.add(a.CellID, d, present)
		switch a.State {
		case model.Running:
			t.suspRunning.put(a.ActualLRPKey, on)
		case model.Claimed:
			t.suspectClaimed += d
		}
	}
}

// TaskChanged records a task created (old nil), changed or deleted (new nil).
func (t *Tracker) TaskChanged(old, new *model.Task) {
	if old != nil {
		t.taskRow(old, false)
	}
	if new != nil {
		t.taskRow(new, true)
	}
}

func (t *Tracker) taskRow(k *model.Task, on bool) {
	switch k.State {
	case model.TaskPending:
		t.pending.put(k.GUID, on)
	case model.TaskCompleted:
		t.completed.put(k.GUID, on)
	case model.TaskResolving:
		t.resolving.put(k.GUID, on)
	case model.TaskRunning:
		s := t.runningTasks[k.CellID]
		if s == nil {
			s = set[string]{}
			t.runningTasks[k.CellID] = s
		}
		_, present := t.present[k.CellID]
		if on {
			if _, dup := s[k.GUID]; !dup {
				s[k.GUID] = struct{}{}
				t.taskCells.add(k.CellID, 1, present)
			}
		} else if _, ok := s[k.GUID]; ok {
			delete(s, k.GUID)
			t.taskCells.add(k.CellID, -1, present)
		}
		if len(s) == 0 {
			delete(t.runningTasks, k.CellID)
		}
	}
}

// setCells makes cells (sorted, unique) the present set, visiting only the cells that
// were lost or returned.
func (t *Tracker) setCells(cells []string) {
	if sameSlice(cells, t.cells) || slices.Equal(cells, t.cells) {
		return
	}
	flip := func(cell string, present bool) {
		t.present.put(cell, present)
		t.ordCells.presenceChanged(cell, present)
		t.evacCells.presenceChanged(cell, present)
		t.suspCells.presenceChanged(cell, present)
		t.taskCells.presenceChanged(cell, present)
	}
	old := t.cells
	i, j := 0, 0
	for i < len(old) || j < len(cells) {
		switch {
		case j == len(cells) || (i < len(old) && old[i] < cells[j]):
			flip(old[i], false) // lost
			i++
		case i == len(old) || cells[j] < old[i]:
			flip(cells[j], true) // returned or new
			j++
		default:
			i++
			j++
		}
	}
	t.cells = cells
}

// sameSlice reports whether a and b are the very same slice (same backing array and
// length): the O(1) way a caller says "the present cells did not change".
func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// Plan computes the convergence plan at now for the present cells from the indexes. It
// equals Compute(now, snapshot) for the same store contents.
//
// cells must not be modified after the call: the tracker keeps the slice, and a caller
// that passes the same slice again (as control.Plane does while membership is
// unchanged) costs O(1) instead of a comparison of every id.
func (t *Tracker) Plan(now time.Duration, cells []string) Plan {
	if !sameSlice(cells, t.cells) && !strictlySorted(cells) {
		cells = slices.Compact(slices.Sorted(slices.Values(cells)))
	}
	t.setCells(cells)
	var p Plan
	var fresh map[string]bool
	p.PruneDomains, fresh = freshDomains(t.src.Domains(), now)

	for _, cell := range sortedSet(t.evacCells.hot) {
		for _, a := range t.src.ActualLRPsOnCell(cell) {
			if a.Presence == model.Evacuating {
				p.PruneEvacuating = append(p.PruneEvacuating, a)
			}
		}
	}
	slices.SortFunc(p.PruneEvacuating, compareActual)

	desired := func(guid string) *model.DesiredLRP {
		if d, ok := t.src.DesiredLRP(guid); ok {
			return &d
		}
		return nil
	}
	for _, k := range t.unclaimed.Due(now-t.cfg.StaleUnclaimed-1, nil) {
		if a, ok := t.src.ActualLRP(k, model.Ordinary); ok && staleUnclaimed(&a, desired(k.ProcessGUID), now, t.cfg) {
			p.StaleUnclaimed = append(p.StaleUnclaimed, k)
		}
	}
	slices.SortFunc(p.StaleUnclaimed, compareKey)

	for _, cell := range sortedSet(t.ordCells.hot) {
		p.MissingCellIDs = append(p.MissingCellIDs, cell)
		for _, a := range t.src.ActualLRPsOnCell(cell) {
			if !onCellRow(&a) {
				continue
			}
			if _, ok := t.instances[a.ProcessGUID]; ok {
				_, susp := t.src.ActualLRP(a.ActualLRPKey, model.Suspect)
				p.MissingCells = append(p.MissingCells, MissingCell{Key: a.ActualLRPKey, CellID: a.CellID, SuspectExists: susp})
			}
		}
	}
	slices.SortFunc(p.MissingCells, func(a, b MissingCell) int { return compareKey(a.Key, b.Key) })

	for _, guid := range sortedSet(t.mismatch) {
		d := desired(guid)
		if d == nil {
			continue
		}
		var idx []int
		for _, a := range t.src.ActualLRPsByProcess(guid) {
			if a.Presence == model.Ordinary {
				idx = append(idx, a.Index)
			}
		}
		instanceCounts(d, idx, fresh, &p)
	}

	for _, guid := range sortedSet(t.orphan) {
		for _, a := range t.src.ActualLRPsByProcess(guid) {
			if a.Presence == model.Ordinary && fresh[a.Domain] {
				p.Orphaned = append(p.Orphaned, a.ActualLRPKey)
			}
		}
	}
	for _, guid := range sortedSet(t.orphanSuspects) {
		for _, a := range t.src.ActualLRPsByProcess(guid) {
			if a.Presence == model.Suspect {
				p.OrphanedSuspects = append(p.OrphanedSuspects, a.ActualLRPKey)
			}
		}
	}
	for k := range t.extraSuspects {
		p.ExtraSuspects = append(p.ExtraSuspects, k)
	}
	slices.SortFunc(p.ExtraSuspects, compareKey)
	for _, cell := range sortedSet(t.suspCells.hot) {
		for _, a := range t.src.ActualLRPsOnCell(cell) {
			if a.Presence == model.Suspect {
				p.PromoteSuspects = append(p.PromoteSuspects, a.ActualLRPKey)
			}
		}
	}
	slices.SortFunc(p.PromoteSuspects, compareKey)
	p.SuspectRunning, p.SuspectClaimed = len(t.suspRunning), t.suspectClaimed

	for _, k := range t.crashed.Due(now, nil) {
		if a, ok := t.src.ActualLRP(k, model.Ordinary); ok && restartDue(&a, desired(k.ProcessGUID), now) {
			p.RestartCrashed = append(p.RestartCrashed, k)
		}
	}
	slices.SortFunc(p.RestartCrashed, compareKey)

	t.planTasks(now, &p)
	return p
}

func (t *Tracker) planTasks(now time.Duration, p *Plan) {
	var guids []string
	for g := range t.pending {
		guids = append(guids, g)
	}
	for _, cell := range sortedSet(t.taskCells.hot) {
		for g := range t.runningTasks[cell] {
			guids = append(guids, g)
		}
	}
	for g := range t.resolving {
		guids = append(guids, g)
	}
	for g := range t.completed {
		guids = append(guids, g)
	}
	slices.Sort(guids)
	isPresent := func(c string) bool { _, ok := t.present[c]; return ok }
	for _, g := range guids {
		if k, ok := t.src.Task(g); ok {
			planTask(&k, now, t.cfg, isPresent, p)
		}
	}
}

func strictlySorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}
