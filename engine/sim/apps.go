package sim

import (
	"unsafe"

	"github.com/diegolab/diegolab/model"
)

// appTable keeps, per app and instance index, what the metrics need without scanning
// the store: the number of containers actually running (the truth of the simulated
// world) and the state of each of the BBS's rows (its view). Three bytes and a counter
// per instance, so a 2.5 M-instance run stays small.
type appTable struct {
	ids     map[string]int32
	guids   []string // per app id
	desired []int32
	// per app id, per index: slot (running containers, then the state+1 of the BBS's
	// row per presence, 0 = no row) and the first LRP container of the (app, index)
	// (container id + 1, 0 = none), chained through container.next.
	inst [][]instSlot
	// cache: recent guid -> id lookups (see idEntry).
	cache *[1 << idCacheBits]idEntry

	desiredTotal int
	runningKeys  int       // indices < desired with a running container
	counts       [3][4]int // rows by presence and state
}

func (t *appTable) init() {
	t.ids = map[string]int32{}
	t.cache = new([1 << idCacheBits]idEntry)
}

type instSlot struct {
	running uint8
	rows    [3]uint8
	first   int32
}

// slot returns the (app, index) slot, growing the app's slice as needed.
func (t *appTable) slot(app int32, index int) *instSlot {
	s := t.inst[app]
	if index >= len(s) {
		s = append(s, make([]instSlot, index+1-len(s))...)
		t.inst[app] = s
	}
	return &s[index]
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
	app, ok := t.ids[key.ProcessGUID]
	if !ok || key.Index >= len(t.inst[app]) {
		return -1
	}
	for id := t.inst[app][key.Index].first - 1; id >= 0; id = p.items[id].next {
		if p.items[id].guid == instance {
			return id
		}
	}
	return -1
}

// stateOf encodes a state as stored in rows.
func stateOf(s model.ActualLRPState) uint8 { return uint8(s) + 1 }

// idCacheBits sizes appTable's cache of recent guid lookups (16k entries, 384 KB).
const idCacheBits = 14

// idEntry remembers the id of one guid string. The cache is keyed by the address of the
// string's bytes: the BBS copies rows by value, so every event of an app carries the same
// backing array, and a hit costs no hashing of the guid and no probe of a map with
// hundreds of thousands of keys. An entry holds its string, which keeps the bytes alive,
// so an address can never be reused for another guid while it is cached; a hit
// therefore means the same guid. Only speed depends on addresses, never a result.
type idEntry struct {
	s  string
	id int32
}

// id returns the app's id, creating it on first sight.
func (t *appTable) id(guid string) int32 {
	if len(guid) == 0 {
		return t.lookup(guid)
	}
	p := unsafe.StringData(guid)
	e := &t.cache[uint64(uintptr(unsafe.Pointer(p))>>3)*0x9E3779B97F4A7C15>>(64-idCacheBits)]
	if len(e.s) == len(guid) && unsafe.StringData(e.s) == p {
		return e.id
	}
	id := t.lookup(guid)
	e.s, e.id = guid, id
	return id
}

func (t *appTable) lookup(guid string) int32 {
	if id, ok := t.ids[guid]; ok {
		return id
	}
	id := int32(len(t.desired))
	t.ids[guid] = id
	t.guids = append(t.guids, guid)
	t.desired = append(t.desired, 0)
	t.inst = append(t.inst, nil)
	return id
}

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
	old := int(t.desired[app])
	lo, hi, sign := old, n, 1
	if n < old {
		lo, hi, sign = n, old, -1
	}
	for i := lo; i < hi && i < len(t.inst[app]); i++ {
		if t.inst[app][i].running > 0 {
			t.runningKeys += sign
		}
	}
	t.desiredTotal += n - old
	t.desired[app] = int32(n)
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
