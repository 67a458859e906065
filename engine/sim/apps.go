package sim

import (
	"slices"

	"github.com/diegolab/diegolab/internal/strref"
	"github.com/diegolab/diegolab/model"
)

// appTable keeps, per app and instance index, what the metrics need without scanning
// the store: the number of containers actually running (the truth of the simulated
// world) and the state of each of the BBS's rows (its view). Three bytes and a counter
// per instance, so a 2.5 M-instance run stays small.
type appTable struct {
	names   *model.GUIDs // app ids are the run's process ids
	desired []int32
	// per app id, per index: slot (running containers, then the state+1 of the BBS's
	// row per presence, 0 = no row) and the first LRP container of the (app, index)
	// (container id + 1, 0 = none), chained through container.next. refs[app] says
	// where in chunks the app's slots are (see slots): 12 bytes per app where a slice
	// header took 24, a saving of ~100 MB at 8,000,000 apps.
	refs   []slotRef
	chunks [][]instSlot
	// cur is 1 + the chunk newly desired apps' slots are carved from (0: none yet), next
	// its first free slot (see carve).
	cur, next int32
	// room is the number of slots the place of an app whose slots grew (slot) has,
	// when more than its n: growth doubles, so indices that come one by one (a scale-up)
	// move an app's slots log(n) times, not n times.
	room map[int32]uint32

	// lastGUID and lastID memoise id's last answer (lastID < 0: none): the events of
	// one app (its desired row, then each instance's) name it by the same string.
	lastGUID string
	lastID   int32

	desiredTotal int
	runningKeys  int       // indices < desired with a running container
	counts       [3][4]int // rows by presence and state
}

func (t *appTable) init(names *model.GUIDs) { t.names, t.lastID = names, -1 }

type instSlot struct {
	running uint8
	rows    [3]uint8
	first   int32
}

// slotRef locates an app's slots: chunks[chunk][pos : pos+n] (n = 0: none yet).
type slotRef struct{ chunk, pos, n uint32 }

// slots returns the app's slots (capacity len: appending to it copies).
func (t *appTable) slots(app int32) []instSlot {
	r := t.refs[app]
	if r.n == 0 {
		return nil
	}
	return t.chunks[r.chunk][r.pos : r.pos+r.n : r.pos+r.n]
}

// slot returns the (app, index) slot, growing the app's slots as needed: within the
// room of their place if it has some (the slots past n there are zero), else they move
// to a new place of twice the size; an old place in a chunk of its own is let go, one
// in a shared chunk is left unused (at most as many slots as the app has).
func (t *appTable) slot(app int32, index int) *instSlot {
	r := t.refs[app]
	if index < int(r.n) {
		return &t.chunks[r.chunk][int(r.pos)+index]
	}
	room := max(r.n, t.room[app])
	if r.n > 0 && index < int(room) {
		r.n = uint32(index + 1)
		t.refs[app] = r
		return &t.chunks[r.chunk][int(r.pos)+index]
	}
	old := t.slots(app)
	size := max(index+1, 2*int(room))
	nr := t.carve(size)
	copy(t.chunks[nr.chunk][nr.pos:], old)
	if r.n > 0 && int(r.chunk) != int(t.cur)-1 && len(t.chunks[r.chunk]) == int(room) {
		t.chunks[r.chunk] = nil // the old place was a chunk of its own
	}
	if t.room == nil {
		t.room = map[int32]uint32{}
	}
	t.room[app] = uint32(size)
	nr.n = uint32(index + 1)
	t.refs[app] = nr
	return &t.chunks[nr.chunk][int(nr.pos)+index]
}

// link adds LRP container id to its (app, index) chain.
func (t *appTable) link(p *containerPool, id int32) {
	ct := &p.items[id]
	sl := t.slot(ct.app, int(ct.index))
	ct.next = sl.first - 1
	sl.first = id + 1
}

// unlink removes LRP container id from its (app, index) chain.
func (t *appTable) unlink(p *containerPool, id int32) {
	ct := &p.items[id]
	sl := t.slot(ct.app, int(ct.index))
	if sl.first-1 == id {
		sl.first = ct.next + 1
		return
	}
	for prev := sl.first - 1; prev >= 0; prev = p.items[prev].next {
		if p.items[prev].next == id {
			p.items[prev].next = ct.next
			return
		}
	}
}

// find returns the LRP container of key with the instance guid, or -1.
func (t *appTable) find(p *containerPool, key model.ActualLRPKey, instance string) int32 {
	app, ok := t.names.Find(key.ProcessGUID)
	if !ok || int(app) >= len(t.refs) || key.Index >= int(t.refs[app].n) {
		return -1
	}
	for id := t.slots(app)[key.Index].first - 1; id >= 0; id = p.items[id].next {
		if p.items[id].guid == instance {
			return id
		}
	}
	return -1
}

// stateOf encodes a state as stored in rows.
func stateOf(s model.ActualLRPState) uint8 { return uint8(s) + 1 }

// id returns the app's id, creating it on first sight.
// (Ids come from the run's shared table, so another layer may have given one first: the
// per-app slices grow to whatever id comes back.)
func (t *appTable) id(guid string) int32 {
	if t.lastID >= 0 && strref.Same(guid, t.lastGUID) {
		return t.lastID // the same string: the same guid, whose id never changes
	}
	id := t.names.ID(guid)
	t.ensure(id)
	t.lastGUID, t.lastID = guid, id
	return id
}

// ensure makes the tables long enough for app id.
func (t *appTable) ensure(id int32) {
	for int(id) >= len(t.desired) {
		t.desired = append(t.desired, 0)
		t.refs = append(t.refs, slotRef{})
	}
}

// reserve makes room for n more apps (the driver is about to desire them).
func (t *appTable) reserve(n int) {
	t.desired = slices.Grow(t.desired, n)
	t.refs = slices.Grow(t.refs, n)
}

// guid returns app id's process guid.
func (t *appTable) guid(id int32) string { return t.names.GUID(id) }

func (t *appTable) containerUp(app int32, index int) {
	sl := t.slot(app, index)
	sl.running++
	if sl.running == 1 && int32(index) < t.desired[app] {
		t.runningKeys++
	}
}

func (t *appTable) containerDown(app int32, index int) {
	sl := t.slot(app, index)
	sl.running--
	if sl.running == 0 && int32(index) < t.desired[app] {
		t.runningKeys--
	}
}

func (t *appTable) setDesired(guid string, n int) {
	app := t.id(guid)
	if t.refs[app].n == 0 && n > 0 {
		t.refs[app] = t.carve(n)
	}
	old := int(t.desired[app])
	lo, hi, sign := old, n, 1
	if n < old {
		lo, hi, sign = n, old, -1
	}
	slots := t.slots(app)
	for i := lo; i < hi && i < len(slots); i++ {
		if slots[i].running > 0 {
			t.runningKeys += sign
		}
	}
	t.desiredTotal += n - old
	t.desired[app] = int32(n)
}

// slotChunk is the number of slots of a chunk carve places apps' slots in (64 KB).
const slotChunk = 8192

// carve returns a place for n zeroed slots in the current chunk, so that desiring
// millions of apps costs an allocation per chunk rather than one per app. An app of
// more than slotChunk/8 instances gets a chunk of its own.
func (t *appTable) carve(n int) slotRef {
	if n > slotChunk/8 {
		t.chunks = append(t.chunks, make([]instSlot, n))
		return slotRef{chunk: uint32(len(t.chunks) - 1), n: uint32(n)}
	}
	if t.cur == 0 || slotChunk-int(t.next) < n {
		t.chunks = append(t.chunks, make([]instSlot, slotChunk))
		t.cur, t.next = int32(len(t.chunks)), 0
	}
	r := slotRef{chunk: uint32(t.cur - 1), pos: uint32(t.next), n: uint32(n)}
	t.next += int32(n)
	return r
}

// setActual records a row's new state (or its removal) and returns the old encoding.
func (t *appTable) setActual(guid string, index int, p model.Presence, s model.ActualLRPState, removed bool) uint8 {
	sl := t.slot(t.id(guid), index)
	old := sl.rows[p]
	if old != 0 {
		t.counts[p][old-1]--
	}
	if removed {
		sl.rows[p] = 0
		return old
	}
	sl.rows[p] = stateOf(s)
	t.counts[p][s]++
	return old
}

// missing is the number of desired instances with no running container.
func (t *appTable) missing() int { return t.desiredTotal - t.runningKeys }
