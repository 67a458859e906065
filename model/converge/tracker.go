package converge

import (
	"cmp"
	"math"
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
	// Domains lists the domains; the Tracker only reads the list, which may be the
	// store's own (the same slice while the domains are unchanged).
	Domains() []Domain
}

// Tracker keeps the indexes that let Plan find every row convergence acts on without
// scanning the store. Notify it of every write; Plan then equals Compute on a snapshot.
//
// Everything per process guid sits in one record (guidTable): desired instances, row
// counts, set membership bits and the heap positions of its keys, so a write costs one
// guid lookup, plus one cell lookup when a row enters or leaves a cell. The guid sets are
// touched only when a membership bit flips.
type Tracker struct {
	cfg     Config
	restart model.RestartCalculator // cfg.Restart, or Diego's defaults
	src     Source
	cells   []string // the sorted cell list of the last Plan
	// rawCells (nil = none) is the unsorted list the last Plan was given (kept, as cells
	// is), whose sorted copy is cells: passing it again costs O(1), not a sort.
	rawCells []string
	// items is Plan's scratch list of the queue items due, and windows sortKeys's
	// (reused pass to pass; windows holds no guid between passes).
	items   []dueItem
	windows []windowKey
	// fresh is the last Plan's set of fresh domains, made from the domain list freshOf;
	// it stands while Domains returns that same slice and now is before freshUntil (the
	// first expiry among them), when no domain was expired (a pass every 30 s, and the
	// domains change when one is upserted).
	fresh      map[string]bool
	freshOf    []Domain
	freshUntil time.Duration

	guids guidTable
	cell  cellTable

	mismatch       idSet // guid ids: desired, ORDINARY count != instances
	orphan         idSet // guid ids: ORDINARY rows, no desired
	orphanSuspects idSet // guid ids: SUSPECT rows, no desired
	suspRunning    set[model.ActualLRPKey]
	extraSuspects  set[model.ActualLRPKey]
	suspectClaimed int

	unclaimed dueQueue    // ORDINARY UNCLAIMED, due = since
	crashed   delayQueues // ORDINARY CRASHED, due = since + backoff

	pending   set[string]
	completed set[string]
	resolving set[string]
}

// NewTracker returns an empty tracker reading through src. Until the first Plan no cell
// is present.
func NewTracker(cfg Config, src Source) *Tracker {
	t := &Tracker{
		cfg: cfg, restart: cfg.Restart.OrDefault(), src: src, guids: newGuidTable(), cell: newCellTable(),
		suspRunning: set[model.ActualLRPKey]{}, extraSuspects: set[model.ActualLRPKey]{},
		pending: set[string]{}, completed: set[string]{}, resolving: set[string]{},
		fresh: map[string]bool{},
	}
	t.unclaimed = newDueQueue(&t.guids, heapUnclaimed)
	t.crashed = newDelayQueues(&t.guids, heapCrashed)
	return t
}

// UseGUIDs makes the tracker key its per-guid records by the run's shared process ids
// (model.GUIDs, the table the BBS's MemStore shares with the driver): a guid laid out
// by names.Block is then found from its address, with no map of the tracker's own, and
// its record sits at its id. Call it on a tracker that holds no guid yet (NewTracker's);
// it reports whether the tracker uses names from now on (false, changing nothing, on a
// tracker holding guids, or once it shares a table). No result depends on it.
//
// A guid the tracker hears of before names has an id for it gets the next id there
// (model.GUIDs.ID), so the owner of names must accept ids given in the tracker's order:
// the BBS always writes a row to its store (which gives the id) before telling the
// tracker.
func (t *Tracker) UseGUIDs(names *model.GUIDs) bool { return t.guids.share(names) }

// Reserve makes room for about n more process guids (desired LRPs about to be created),
// and for as many more keys in the unclaimed queue (each one creates an UNCLAIMED row
// per instance): no result changes, only how often the tracker's tables grow.
func (t *Tracker) Reserve(n int) {
	t.guids.reserve(n)
	t.unclaimed.reserve(n)
}

// ReserveRows makes room in the unclaimed queue for about n more UNCLAIMED rows (the
// instances of the desired LRPs about to be created; Reserve counts one per guid). No
// result changes.
func (t *Tracker) ReserveRows(n int) { t.unclaimed.reserve(n) }

// guidChanged re-evaluates the set memberships of guid id, touching a set only when its
// bit flips, and frees the record when nothing refers to it any more.
func (t *Tracker) guidChanged(id uint32) {
	r := &t.guids.recs[id]
	desired := r.flags&recDesired != 0
	t.flip(r, id, recMismatch, desired && r.ord != r.instances, &t.mismatch)
	t.flip(r, id, recOrphan, !desired && r.ord > 0, &t.orphan)
	t.flip(r, id, recOrphanSuspects, !desired && r.susp > 0, &t.orphanSuspects)
	t.guids.release(id)
}

func (t *Tracker) flip(r *guidRec, id uint32, bit uint8, on bool, s *idSet) {
	if on != (r.flags&bit != 0) {
		r.flags ^= bit
		s.put(id, on)
	}
}

// DesiredChanged records a desired LRP created (old nil), updated or removed (new nil).
func (t *Tracker) DesiredChanged(old, new *model.DesiredLRP) {
	if old != nil && (new == nil || old.ProcessGUID != new.ProcessGUID) {
		id := t.guids.intern(old.ProcessGUID)
		t.guids.recs[id].flags &^= recDesired
		t.guids.recs[id].instances = 0
		t.guidChanged(id)
	}
	if new != nil {
		id := t.guids.intern(new.ProcessGUID)
		t.guids.recs[id].flags |= recDesired
		t.guids.recs[id].instances = saturate32(new.Instances)
		t.guidChanged(id)
	}
}

// ActualChanged records an actual LRP row created (old nil), changed or deleted (new nil).
// Old and new must have the same key and presence.
func (t *Tracker) ActualChanged(old, new *model.ActualLRP) { t.ActualChangedHint(nil, old, new) }

// GUIDHint caches where the tracker keeps a process guid's record, so that a caller that
// already holds something per guid (the MemStore's proc) spares the tracker its probe of
// a map with millions of string keys. The zero value is "unknown". A hint is only ever a
// shortcut: the tracker checks it against the guid (a stale or foreign hint costs the
// map lookup and is rewritten), so keeping one hint per guid is all a caller must do.
type GUIDHint uint32

// ActualChangedHint is ActualChanged for a caller that keeps a GUIDHint per process guid;
// hint (nil = none) is the one of the row's guid and is updated.
func (t *Tracker) ActualChangedHint(hint *GUIDHint, old, new *model.ActualLRP) {
	t.ActualChangedHints(Hints{GUID: hint}, old, new)
}

// CellHint caches where the tracker keeps a cell's record, as GUIDHint does for a
// process guid: a caller that interns cell ids itself keeps one per cell and spares the
// tracker its probe of the string-keyed cell map. The zero value is "unknown"; a stale
// or foreign hint costs the lookup and is rewritten.
type CellHint uint32

// Hints are a caller's hints for one row change: the guid's, and the cells' of the old
// and the new row (each nil = none; a cell hint is only read when that row is counted on
// its cell, and is updated then).
type Hints struct {
	GUID             *GUIDHint
	OldCell, NewCell *CellHint
}

// ActualChangedHints is ActualChanged through the caller's hints (see Hints).
func (t *Tracker) ActualChangedHints(h Hints, old, new *model.ActualLRP) {
	if old != nil && new != nil && old.ActualLRPKey != new.ActualLRPKey {
		// not a change of one row: two unrelated rows.
		t.ActualChanged(old, nil)
		t.ActualChanged(nil, new)
		return
	}
	if old != nil && new != nil && t.neutral(old, new) {
		return
	}
	a := new
	if a == nil {
		a = old
	}
	if a == nil {
		return
	}
	var id uint32
	if h.GUID != nil {
		id = t.guids.internHint(a.ProcessGUID, h.GUID)
	} else {
		id = t.guids.intern(a.ProcessGUID)
	}
	t.actualRows(id, old, new, h.OldCell, h.NewCell)
	// extra suspects depend on the ORDINARY and the SUSPECT row of the key.
	if r := &t.guids.recs[id]; r.suspKeys > 0 {
		key := a.ActualLRPKey
		want := false
		if _, ok := t.suspRunning[key]; ok {
			o, found := t.src.ActualLRP(key, model.Ordinary)
			want = found && o.State == model.Running
		}
		if _, in := t.extraSuspects[key]; in != want {
			t.extraSuspects.put(key, want)
			if want {
				t.guids.recs[id].suspKeys++
			} else {
				t.guids.recs[id].suspKeys--
			}
		}
	}
	t.guidChanged(id)
}

// neutral reports whether replacing old by new (same key) changes nothing the tracker
// keeps, so the guid's record need not even be read: an ORDINARY row going between
// CLAIMED and RUNNING on one cell (a start) changes no count, heap or cell, and the
// extra-suspect check only matters for a key with a SUSPECT RUNNING row, of which there
// is none anywhere.
func (t *Tracker) neutral(old, new *model.ActualLRP) bool {
	live := func(a *model.ActualLRP) bool {
		return a.Presence == model.Ordinary && (a.State == model.Claimed || a.State == model.Running)
	}
	return len(t.suspRunning) == 0 && len(t.extraSuspects) == 0 && live(old) && live(new) && old.CellID == new.CellID
}

// rowCell returns the per-cell count a row belongs to, or -1.
func rowCell(a *model.ActualLRP) int {
	switch a.Presence {
	case model.Ordinary:
		if a.State == model.Claimed || a.State == model.Running {
			return cellOrd
		}
	case model.Evacuating:
		return cellEvac
	case model.Suspect:
		return cellSusp
	}
	return -1
}

// actualRows replaces row old by row new (either may be nil; same key) in the indexes of
// guid id; oldCell and newCell are the caller's hints for their cells, or nil.
func (t *Tracker) actualRows(id uint32, old, new *model.ActualLRP, oldCell, newCell *CellHint) {
	r := &t.guids.recs[id]
	// counts per guid
	for _, x := range [2]struct {
		a *model.ActualLRP
		d int32
	}{{old, -1}, {new, +1}} {
		if x.a == nil {
			continue
		}
		switch x.a.Presence {
		case model.Ordinary:
			r.ord += x.d
		case model.Suspect:
			r.susp += x.d
			switch x.a.State {
			case model.Running:
				t.suspRunningPut(id, x.a.ActualLRPKey, x.d > 0)
			case model.Claimed:
				t.suspectClaimed += int(x.d)
			}
		}
	}

	// queues: a key that stays in a queue is moved, not removed and re-inserted.
	isOrd := func(a *model.ActualLRP, s model.ActualLRPState) bool {
		return a != nil && a.Presence == model.Ordinary && a.State == s
	}
	switch {
	case isOrd(new, model.Unclaimed):
		t.unclaimed.Set(id, new.Index, new.Since)
	case isOrd(old, model.Unclaimed):
		t.unclaimed.Remove(id, old.Index)
	}
	// crashed: the key sits in the queue of its row's restart delay.
	if isOrd(new, model.Crashed) {
		if delay, ok := t.restart.Delay(new.CrashCount); ok {
			t.crashed.Set(id, new.Index, delay, new.Since)
		} else {
			t.crashed.Remove(id, new.Index, t.crashDelay(old))
		}
	} else if isOrd(old, model.Crashed) {
		t.crashed.Remove(id, old.Index, t.crashDelay(old))
	}

	// cells: nothing to do when the row stays counted on the same cell.
	oc, nc := -1, -1
	if old != nil {
		oc = rowCell(old)
	}
	if new != nil {
		nc = rowCell(new)
	}
	if oc == nc && oc >= 0 && old.CellID == new.CellID {
		return
	}
	if oc >= 0 {
		t.cell.add(t.cell.internHint(old.CellID, oldCell), oc, -1)
	}
	if nc >= 0 {
		t.cell.add(t.cell.internHint(new.CellID, newCell), nc, +1)
	}
}

// crashDelay returns the restart delay of a (nil or any row: 0 when it has none), the
// queue of delayQueues to look in first for its key.
func (t *Tracker) crashDelay(a *model.ActualLRP) time.Duration {
	if a == nil {
		return 0
	}
	d, _ := t.restart.Delay(a.CrashCount)
	return d
}

func (t *Tracker) suspRunningPut(id uint32, key model.ActualLRPKey, on bool) {
	_, in := t.suspRunning[key]
	if in == on {
		return
	}
	t.suspRunning.put(key, on)
	if on {
		t.guids.recs[id].suspKeys++
	} else {
		t.guids.recs[id].suspKeys--
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
		id := t.cell.intern(k.CellID)
		c := &t.cell.recs[id]
		_, in := c.tasks[k.GUID]
		switch {
		case on && !in:
			if c.tasks == nil {
				c.tasks = set[string]{}
			}
			c.tasks[k.GUID] = struct{}{}
			c.n[cellTask]++
		case !on && in:
			delete(c.tasks, k.GUID)
			c.n[cellTask]--
		}
		if len(c.tasks) == 0 {
			c.tasks = nil
		}
		t.cell.update(id)
	}
}

// freshDomains sets t.fresh to the fresh domains at now and returns the expired ones
// (freshDomains), reusing the last pass's set when nothing can have changed.
func (t *Tracker) freshDomains(now time.Duration) (expired []string) {
	ds := t.src.Domains()
	if t.freshOf != nil && sameDomains(ds, t.freshOf) && now < t.freshUntil {
		return nil
	}
	expired = freshDomains(ds, now, t.fresh)
	t.freshOf, t.freshUntil = nil, now // no reuse unless set below
	if len(expired) == 0 {
		t.freshOf, t.freshUntil = ds, math.MaxInt64
		for _, d := range ds {
			if d.ExpiresAt != 0 {
				t.freshUntil = min(t.freshUntil, d.ExpiresAt)
			}
		}
	}
	return expired
}

// sameDomains reports whether a and b are the same slice (not merely equal lists).
func sameDomains(a, b []Domain) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// setCells makes cells (sorted, unique) the present set, visiting only the cells that
// were lost or returned.
func (t *Tracker) setCells(cells []string) {
	if sameSlice(cells, t.cells) || slices.Equal(cells, t.cells) {
		return
	}
	flip := func(cell string, present bool) {
		id := t.cell.intern(cell)
		t.cell.recs[id].present = present
		t.cell.update(id)
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
// equals Compute(now, snapshot) for the same store contents. The stale-unclaimed and
// crashed-restart lists come from the queues and guid records alone (no row is read
// through Source; see wantedKeys).
//
// cells must not be modified after the call: the tracker keeps the slice, and a caller
// that passes the same slice again (as control.Plane does while membership is
// unchanged) costs O(1) instead of a comparison of every id.
func (t *Tracker) Plan(now time.Duration, cells []string) Plan {
	switch {
	case sameSlice(cells, t.cells):
	case t.rawCells != nil && sameSlice(cells, t.rawCells): // sorted last time into t.cells
		cells = t.cells
	case strictlySorted(cells):
		t.rawCells = nil
	default:
		t.rawCells = cells
		cells = slices.Compact(slices.Sorted(slices.Values(cells)))
	}
	t.setCells(cells)
	var p Plan
	p.PruneDomains = t.freshDomains(now)
	fresh := t.fresh

	for _, cell := range t.cell.sortedHot(cellEvac) {
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
	// The unclaimed queue holds exactly the ORDINARY UNCLAIMED rows, due at their since,
	// so its items due by now-StaleUnclaimed-1 are the rows with since <
	// now-StaleUnclaimed (staleSince): what is left of staleUnclaimed is the desired
	// LRP's, which the guid record keeps (wantedKeys). No row is read.
	t.items = t.unclaimed.Due(now-t.cfg.StaleUnclaimed-1, t.items[:0])
	p.StaleUnclaimed = t.wantedKeys(t.items)
	t.sortKeys(p.StaleUnclaimed)

	// Absent cells with ORDINARY CLAIMED/RUNNING rows, or with SUSPECT rows: a cell is
	// missing (metric) when one of those rows has a desired LRP.
	hasDesired := func(guid string) bool {
		id, ok := t.guids.lookup(guid)
		return ok && t.guids.recs[id].flags&recDesired != 0
	}
	for _, cell := range mergeSorted(t.cell.sortedHot(cellOrd), t.cell.sortedHot(cellSuspLost)) {
		missing := false
		for _, a := range t.src.ActualLRPsOnCell(cell) {
			switch {
			case onCellRow(&a):
				if hasDesired(a.ProcessGUID) {
					missing = true
					_, susp := t.src.ActualLRP(a.ActualLRPKey, model.Suspect)
					p.MissingCells = append(p.MissingCells, MissingCell{Key: a.ActualLRPKey, CellID: a.CellID, SuspectExists: susp})
				}
			case a.Presence == model.Suspect && (a.State == model.Claimed || a.State == model.Running):
				missing = missing || hasDesired(a.ProcessGUID)
			}
		}
		if missing {
			p.MissingCellIDs = append(p.MissingCellIDs, cell)
		}
	}
	slices.SortFunc(p.MissingCells, func(a, b MissingCell) int { return compareKey(a.Key, b.Key) })

	for _, guid := range t.sortedGuids(&t.mismatch) {
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

	for _, guid := range t.sortedGuids(&t.orphan) {
		for _, a := range t.src.ActualLRPsByProcess(guid) {
			if a.Presence == model.Ordinary && fresh[a.Domain] {
				p.Orphaned = append(p.Orphaned, a.ActualLRPKey)
			}
		}
	}
	for _, guid := range t.sortedGuids(&t.orphanSuspects) {
		for _, a := range t.src.ActualLRPsByProcess(guid) {
			if a.Presence == model.Suspect && fresh[a.Domain] {
				p.OrphanedSuspects = append(p.OrphanedSuspects, a.ActualLRPKey)
			}
		}
	}
	for k := range t.extraSuspects {
		p.ExtraSuspects = append(p.ExtraSuspects, k)
	}
	slices.SortFunc(p.ExtraSuspects, compareKey)
	for _, cell := range t.cell.sortedHot(cellSusp) {
		for _, a := range t.src.ActualLRPsOnCell(cell) {
			if a.Presence == model.Suspect {
				p.PromoteSuspects = append(p.PromoteSuspects, a.ActualLRPKey)
			}
		}
	}
	slices.SortFunc(p.PromoteSuspects, compareKey)
	p.SuspectRunning, p.SuspectClaimed = len(t.suspRunning), t.suspectClaimed

	// Likewise the crashed queues hold exactly the ORDINARY CRASHED rows that are ever
	// restarted, due at since + the restart delay of the crash count: those due by now are
	// the rows the restart policy restarts now.
	t.items = t.crashed.Due(now, t.items[:0])
	p.RestartCrashed = t.wantedKeys(t.items)
	t.sortKeys(p.RestartCrashed)

	t.planTasks(now, &p)
	return p
}

func (t *Tracker) planTasks(now time.Duration, p *Plan) {
	var guids []string
	for g := range t.pending {
		guids = append(guids, g)
	}
	for _, cell := range t.cell.sortedHot(cellTask) {
		id := t.cell.ids[cell]
		for g := range t.cell.recs[id].tasks {
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
	isPresent := t.cell.present
	for _, g := range guids {
		if k, ok := t.src.Task(g); ok {
			planTask(&k, now, t.cfg, isPresent, p)
		}
	}
}

// wantedKeys returns the keys of items (nil when none) whose guid's desired LRP exists
// and wants their index (wantsIndex), read from the guid records; only a count too large
// for a record (see guidRec.wants) is read from the desired LRP through Source.
func (t *Tracker) wantedKeys(items []dueItem) []model.ActualLRPKey {
	var out []model.ActualLRPKey
	for i, it := range items {
		if j := i + prefetchAhead; j < len(items) {
			// the records of the next keys (each one a cache miss): their misses overlap
			t.prefetchRec(items[j].id)
		}
		r := &t.guids.recs[it.id]
		want, sat := r.wants(it.index)
		if sat {
			d, ok := t.src.DesiredLRP(r.guid)
			want = ok && wantsIndex(&d, it.index)
		}
		if want {
			if out == nil {
				out = make([]model.ActualLRPKey, 0, len(items))
			}
			out = append(out, model.ActualLRPKey{ProcessGUID: r.guid, Index: it.index})
		}
	}
	return out
}

// windowKey is a key with its window (see sortKeys).
type windowKey struct {
	win uint64
	key model.ActualLRPKey
}

// sortKeys sorts keys by compareKey, in the order slices.SortFunc(keys, compareKey)
// gives (keys are distinct, so the order is unique), comparing integers instead of
// strings where it can. The guids of a long list share a prefix (the "crashing-" of
// "crashing-1234"): with l the length of the prefix all of them share, the window of
// a key is the 8 bytes of its guid from l on, big-endian, zero-padded. A smaller window
// means a smaller key: at the first byte where two windows differ, either both guids
// have that byte, or the one that ends there (padding) is a prefix of the other, hence
// smaller. Equal windows are decided by compareKey.
func (t *Tracker) sortKeys(keys []model.ActualLRPKey) {
	if len(keys) < 16 {
		slices.SortFunc(keys, compareKey)
		return
	}
	first := keys[0].ProcessGUID
	l := len(first)
	for j := 1; j < len(keys); j++ {
		if n := j + prefetchAhead; n < len(keys) {
			// the bytes of the next guids (each a cache miss): their misses overlap
			prefetchString(keys[n].ProcessGUID)
		}
		g := keys[j].ProcessGUID
		i := 0
		for i < l && i < len(g) && g[i] == first[i] {
			i++
		}
		l = i
	}
	w := t.windows[:0]
	for _, k := range keys {
		var win uint64
		rest := k.ProcessGUID[l:]
		for i := range 8 {
			win <<= 8
			if i < len(rest) {
				win |= uint64(rest[i])
			}
		}
		w = append(w, windowKey{win: win, key: k})
	}
	slices.SortFunc(w, func(a, b windowKey) int {
		if a.win != b.win {
			return cmp.Compare(a.win, b.win)
		}
		return compareKey(a.key, b.key)
	})
	for i := range w {
		keys[i] = w[i].key
	}
	clear(w) // hold no guid strings until the next pass
	t.windows = w[:0]
}

// sortedGuids returns the process guids of the ids in s, sorted.
func (t *Tracker) sortedGuids(s *idSet) []string {
	if s.n == 0 {
		return nil
	}
	out := make([]string, 0, s.n)
	s.each(func(id uint32) { out = append(out, t.guids.recs[id].guid) })
	slices.Sort(out)
	return out
}

// mergeSorted returns the union of two sorted lists of distinct names, sorted.
func mergeSorted(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

func strictlySorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}
