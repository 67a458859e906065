package converge

import (
	"math"
	"math/bits"
	"slices"
	"time"
	"unsafe"

	"github.com/diegolab/diegolab/internal/prefetch"
	"github.com/diegolab/diegolab/internal/strref"
	"github.com/diegolab/diegolab/model"
)

// --- per process guid records ---

// Bits of guidRec.flags.
const (
	recDesired        uint8 = 1 << iota // a desired LRP exists; instances is valid
	recMismatch                         // member of Tracker.mismatch
	recOrphan                           // member of Tracker.orphan
	recOrphanSuspects                   // member of Tracker.orphanSuspects
	recLive                             // the record is in use (a freed one is all zero)
)

// heapPos holds, for one actual LRP key, its position in the unclaimed queue
// (heapUnclaimed) and in the crashed queue of its delay (heapCrashed, see delayQueues),
// each as 1 + dueQueue.base + its index there; 0 means "not there".
type heapPos [2]int32

const (
	heapUnclaimed = 0
	heapCrashed   = 1
)

// denseIndexLimit bounds the per-guid position array: keys with an index outside
// [0, denseIndexLimit) keep their heap positions in guidTable.sparse instead, so a
// strange index cannot allocate a huge array.
const denseIndexLimit = 1 << 16

// guidRec is everything the tracker knows about one process guid. It lives in
// guidTable.recs at its id; heap items and the guid sets refer to it by id.
//
// 56 bytes: desired instances are kept as an int32 (saturated: 2^31-1 stands for "more
// than any ORDINARY count can reach", which the comparison with ord still gets right).
// The heap positions of index 0 sit in the record itself, so the heap operations of a
// single-instance app (most of them) read no other memory than the record.
type guidRec struct {
	guid      string     // shares the caller's string data
	pos0      heapPos    // heap positions of index 0
	more      *[]heapPos // heap positions of indices 1.. at [index-1] (grown on demand), or nil
	instances int32      // desired instances (saturated), when flags&recDesired
	ord       int32      // ORDINARY rows
	susp      int32      // SUSPECT rows
	suspKeys  int32      // keys of this guid in Tracker.suspRunning plus those in Tracker.extraSuspects
	inHeap    int32      // keys of this guid in the unclaimed or crashed queues (counted per queue)
	flags     uint8
}

// empty reports whether nothing refers to the record any more, so it can be freed.
func (r *guidRec) empty() bool {
	return r.flags&recDesired == 0 && r.ord == 0 && r.susp == 0 && r.suspKeys == 0 && r.inHeap == 0
}

// wants reports whether the record's desired LRP exists and wants index (index <
// instances); sat is true when the saturated count cannot tell (instances 2^31-1 and an
// index at least that large: only the desired LRP itself can).
func (r *guidRec) wants(index int) (want, sat bool) {
	if r.flags&recDesired == 0 {
		return false, false
	}
	if r.instances == math.MaxInt32 && index >= math.MaxInt32 {
		return false, true
	}
	return index < int(r.instances), false
}

// saturate32 clamps a desired instance count to the int32 range.
func saturate32(n int) int32 { return int32(min(max(n, 0), math.MaxInt32)) }

type sparseKey struct {
	id    uint32
	index int
}

// guidTable interns process guids to small ids, then indexes records by id.
//
// Two ways to get the ids. With the run's shared table (names, see Tracker.UseGUIDs)
// a guid's id is its model.GUIDs id, found from the string's address for the guids the
// driver laid out in blocks (no hashing, no map of the tracker's own), and its record
// sits at recs[id]: a freed record stays in place, all zero, until the guid comes back.
// Without it (any other Source) the table keeps its own map from guid to id and reuses
// freed ids.
type guidTable struct {
	ids   map[string]uint32 // without names: the ids of the live guids
	names *model.GUIDs      // the shared ids, or nil
	// last memoises the most recent lookup (id+1, 0 = none): the BBS notifies the
	// tracker of one guid's rows in a row, with the store's own string, so a repeat
	// costs a pointer compare instead of a probe of a map with millions of keys.
	last   uint32
	recs   []guidRec
	free   []uint32              // without names: freed ids, reused first
	sparse map[sparseKey]heapPos // heap positions of keys with an index outside the dense range
	room   int                   // guids the map was last sized for (reserve)
}

func newGuidTable() guidTable {
	return guidTable{ids: map[string]uint32{}, sparse: map[sparseKey]heapPos{}}
}

// share switches an empty table to the shared ids of names (its own map is dropped).
// It reports false, changing nothing, when the table holds a record or names is nil.
func (g *guidTable) share(names *model.GUIDs) bool {
	if names == nil || g.names != nil || len(g.recs) > len(g.free) {
		return false
	}
	*g = guidTable{names: names, sparse: g.sparse}
	return true
}

// lookup returns the id of guid, if it has a record.
func (g *guidTable) lookup(guid string) (uint32, bool) {
	if g.names != nil {
		// The memo is taken for the very string only: comparing the bytes of two
		// different guids would read the new one's (a cache miss) where the shared
		// table finds a block guid's id from its address alone.
		if g.last > 0 && strref.Same(g.recs[g.last-1].guid, guid) {
			return g.last - 1, true
		}
		id, ok := g.names.Find(guid)
		if !ok || int(id) >= len(g.recs) || g.recs[id].flags&recLive == 0 {
			return 0, false
		}
		g.last = uint32(id) + 1
		return uint32(id), true
	}
	if g.last > 0 && g.recs[g.last-1].guid == guid {
		return g.last - 1, true
	}
	id, ok := g.ids[guid]
	if ok {
		g.last = id + 1
	}
	return id, ok
}

// intern returns the id of guid, creating an empty record if needed. With shared ids a
// guid the table has no id for yet gets the next one there (model.GUIDs.ID), as the
// store gave it when the row was written, before the tracker heard of it.
func (g *guidTable) intern(guid string) uint32 {
	if g.names != nil {
		// lookup's way, keeping the id it finds for a guid with no record yet: a new
		// app's guid is found in the shared table once, not twice.
		if g.last > 0 && strref.Same(g.recs[g.last-1].guid, guid) {
			return g.last - 1
		}
		id32, ok := g.names.Find(guid)
		if !ok {
			id32 = g.names.ID(guid)
		}
		id := uint32(id32)
		if int(id) < len(g.recs) && g.recs[id].flags&recLive != 0 {
			g.last = id + 1
			return id
		}
		if n := int(id) + 1; n > len(g.recs) {
			g.extend(n)
		}
		g.recs[id] = guidRec{guid: guid, flags: recLive}
		g.last = id + 1
		return id
	}
	if id, ok := g.lookup(guid); ok {
		return id
	}
	id := takeID(&g.recs, &g.free, guidRec{guid: guid, flags: recLive})
	g.ids[guid] = id
	return id
}

// extend makes recs n long, the new records empty. Within the room reserve made it
// reslices and zeroes them one by one (usually one): append(recs, make(...)...) would
// call the runtime's bulk clear with its write barriers for every new guid, which was
// ~5 % of a 100,000-cell set-up.
func (g *guidTable) extend(n int) {
	if n > cap(g.recs) {
		g.recs = append(g.recs, make([]guidRec, n-len(g.recs))...)
		return
	}
	old := len(g.recs)
	g.recs = g.recs[:n]
	for i := old; i < n; i++ {
		g.recs[i] = guidRec{}
	}
}

// internHint is intern through a caller's hint: *hint names the record when it is one
// id+1 whose record is the live one of guid (a live guid has exactly one record), else
// the table decides and *hint is rewritten.
func (g *guidTable) internHint(guid string, hint *GUIDHint) uint32 {
	if h := uint32(*hint); h != 0 && h <= uint32(len(g.recs)) {
		if r := &g.recs[h-1]; r.flags&recLive != 0 && r.guid == guid {
			g.last = h
			return h - 1
		}
	}
	id := g.intern(guid)
	*hint = GUIDHint(id + 1)
	return id
}

// reserve makes room for n more guids at once: a driver desiring millions of apps would
// otherwise grow the map (rehashing every key) and the records (copying them) step by
// step. The map is rebuilt from the live records, in id order. With shared ids there
// is no map, and the records get room for n more ids.
func (g *guidTable) reserve(n int) {
	if g.names != nil {
		if n > 0 {
			g.recs = slices.Grow(g.recs, n)
		}
		return
	}
	live := len(g.recs) - len(g.free)
	if n <= 0 || live+n <= g.room {
		return
	}
	g.room = live + n
	m := make(map[string]uint32, g.room)
	for id := range g.recs {
		if r := &g.recs[id]; r.flags&recLive != 0 {
			m[r.guid] = uint32(id)
		}
	}
	g.ids = m
	if more := n - len(g.free); more > 0 {
		g.recs = slices.Grow(g.recs, more)
	}
}

// takeID stores rec in a freed slot of recs, or in a new one, and returns its index.
func takeID[T any](recs *[]T, free *[]uint32, rec T) uint32 {
	if n := len(*free); n > 0 {
		id := (*free)[n-1]
		*free = (*free)[:n-1]
		(*recs)[id] = rec
		return id
	}
	*recs = append(*recs, rec)
	return uint32(len(*recs) - 1)
}

// release frees the record of id if nothing refers to it.
func (g *guidTable) release(id uint32) {
	r := &g.recs[id]
	if !r.empty() {
		return
	}
	if g.names == nil {
		delete(g.ids, r.guid)
		g.free = append(g.free, id)
	}
	if g.last == id+1 {
		g.last = 0
	}
	*r = guidRec{}
}

// pos returns 1 + the position of (id, index) in heap which, or 0.
func (g *guidTable) pos(id uint32, index int, which int) int32 {
	if index < 0 || index >= denseIndexLimit {
		return g.sparse[sparseKey{id, index}][which]
	}
	r := &g.recs[id]
	if index == 0 {
		return r.pos0[which]
	}
	if m := r.more; m != nil && index-1 < len(*m) {
		return (*m)[index-1][which]
	}
	return 0
}

// setPos records p (1 + position, or 0) for (id, index) in heap which.
func (g *guidTable) setPos(id uint32, index int, which int, p int32) {
	if index < 0 || index >= denseIndexLimit {
		k := sparseKey{id, index}
		hp := g.sparse[k]
		hp[which] = p
		if hp == (heapPos{}) {
			delete(g.sparse, k)
		} else {
			g.sparse[k] = hp
		}
		return
	}
	r := &g.recs[id]
	if index == 0 {
		r.pos0[which] = p
		return
	}
	if r.more == nil || index-1 >= len(*r.more) {
		if p == 0 {
			return
		}
		// Size the array for the desired instances at once when the index is among them:
		// indices 1..n-1 take n-1 entries.
		n := index + 1
		if r.flags&recDesired != 0 && int(r.instances) > n {
			n = min(int(r.instances), denseIndexLimit)
		}
		if r.more == nil {
			r.more = new([]heapPos)
		}
		*r.more = append(*r.more, make([]heapPos, n-1-len(*r.more))...)
	}
	(*r.more)[index-1][which] = p
}

// --- due queues (queue.go, delays.go) ---

// dueItem is one queue entry: no strings, no pointers (the GC does not scan the queues).
type dueItem struct {
	due   time.Duration
	id    uint32
	index int
}

// minHeapCap is the capacity below which a queue's array is never shrunk.
const minHeapCap = 1024

// --- cells ---

// Kinds of per-cell counts.
const (
	cellOrd  = iota // ORDINARY CLAIMED/RUNNING rows, hot when the cell is absent
	cellEvac        // EVACUATING rows, hot when absent
	cellSusp        // SUSPECT rows, hot when present
	cellTask        // RUNNING tasks, hot when absent
	// cellSuspLost counts nothing of its own: a cell is hot for it when it is absent and
	// has SUSPECT rows (n[cellSusp]), the cells Diego still reports as missing.
	cellSuspLost
	cellKinds
)

// hotWhenPresent says, per kind, which presence makes a cell with rows of that kind hot.
var hotWhenPresent = [cellKinds]bool{cellSusp: true}

// countKind is the count a kind's hotness is judged on: its own, except cellSuspLost's.
var countKind = [cellKinds]int{cellOrd, cellEvac, cellSusp, cellTask, cellSusp}

// cellRec is what the tracker knows about one cell: whether it is present, per-kind row
// counts, which of those kinds are hot, and its running tasks.
type cellRec struct {
	name    string
	present bool
	hot     uint8 // bit per kind: member of Tracker.hot[kind]
	n       [cellKinds]int32
	tasks   set[string] // RUNNING task guids on the cell
}

func (c *cellRec) isHot(kind int) bool {
	return c.n[countKind[kind]] > 0 && c.present == hotWhenPresent[kind]
}

// cellTable interns cell ids like guidTable. A record lives while the cell is present or
// counts anything.
type cellTable struct {
	ids  map[string]uint32
	recs []cellRec
	free []uint32
	hot  [cellKinds]set[uint32]
}

func newCellTable() cellTable {
	c := cellTable{ids: map[string]uint32{}}
	for k := range c.hot {
		c.hot[k] = set[uint32]{}
	}
	return c
}

func (c *cellTable) intern(name string) uint32 {
	if id, ok := c.ids[name]; ok {
		return id
	}
	id := takeID(&c.recs, &c.free, cellRec{name: name})
	c.ids[name] = id
	return id
}

// internHint is intern through a caller's hint, like guidTable.internHint: *hint names
// the record when it is id+1 of the live record of name (a freed record has no name), else
// the map decides and *hint, when not nil, is rewritten.
func (c *cellTable) internHint(name string, hint *CellHint) uint32 {
	if hint == nil {
		return c.intern(name)
	}
	if h := uint32(*hint); h != 0 && h <= uint32(len(c.recs)) && name != "" && c.recs[h-1].name == name {
		return h - 1
	}
	id := c.intern(name)
	*hint = CellHint(id + 1)
	return id
}

func (c *cellTable) present(name string) bool {
	id, ok := c.ids[name]
	return ok && c.recs[id].present
}

// update re-evaluates the hot bits of cell id after a count or presence change and frees
// the record when nothing refers to it.
func (c *cellTable) update(id uint32) {
	r := &c.recs[id]
	for k := range cellKinds {
		bit := uint8(1) << k
		if on := r.isHot(k); on != (r.hot&bit != 0) {
			r.hot ^= bit
			c.hot[k].put(id, on)
		}
	}
	if !r.present && r.n == [cellKinds]int32{} && len(r.tasks) == 0 {
		delete(c.ids, r.name)
		*r = cellRec{}
		c.free = append(c.free, id)
	}
}

// add changes the count of kind on cell id by delta (a count never goes below 0).
func (c *cellTable) add(id uint32, kind int, delta int32) {
	r := &c.recs[id]
	r.n[kind] = max(r.n[kind]+delta, 0)
	c.update(id)
}

// sortedHot returns the names of the hot cells of kind, sorted.
func (c *cellTable) sortedHot(kind int) []string {
	return sortedNames(c.hot[kind], func(id uint32) string { return c.recs[id].name })
}

// --- sets ---

// set is a small key set with sorted extraction.
type set[K comparable] map[K]struct{}

// idSet is a set of guid ids: a bitmap over the dense ids and a count. Each app's
// desire puts its id in Tracker.mismatch and its last UNCLAIMED row takes it out again,
// which as a map insert and delete was ~6 % of a 100,000-cell set-up; here it is a bit
// flip. An empty set is skipped at once; a non-empty one is read in id order.
type idSet struct {
	words []uint64
	n     int
}

func (s *idSet) put(id uint32, on bool) {
	w := int(id / 64)
	if w >= len(s.words) {
		if !on {
			return
		}
		s.words = append(s.words, make([]uint64, w+1-len(s.words))...)
	}
	bit := uint64(1) << (id % 64)
	if on == (s.words[w]&bit != 0) {
		return
	}
	s.words[w] ^= bit
	if on {
		s.n++
	} else {
		s.n--
	}
}

// each calls f with every member, in increasing order.
func (s *idSet) each(f func(id uint32)) {
	left := s.n
	for w := 0; left > 0; w++ {
		for m := s.words[w]; m != 0; m &= m - 1 {
			f(uint32(w*64 + bits.TrailingZeros64(m)))
			left--
		}
	}
}

func (s set[K]) put(k K, on bool) {
	if on {
		s[k] = struct{}{}
	} else {
		delete(s, k)
	}
}

// sortedNames returns the names of the ids in s, sorted.
func sortedNames(s set[uint32], name func(uint32) string) []string {
	if len(s) == 0 {
		return nil
	}
	out := make([]string, 0, len(s))
	for id := range s {
		out = append(out, name(id))
	}
	slices.Sort(out)
	return out
}

// --- prefetching ---

// PrefetchGUID starts loading the record that hint names (if any) into the cache, for a
// caller about to notify a change of that guid's rows: its miss then overlaps the
// caller's other work instead of stalling the notification. It is only a hint to the
// CPU (internal/prefetch): it reads and changes nothing the tracker keeps.
func (t *Tracker) PrefetchGUID(hint GUIDHint) {
	if h := uint32(hint); h != 0 && h <= uint32(len(t.guids.recs)) {
		t.prefetchRec(h - 1)
	}
}

// prefetchAhead is how many items ahead of the one it reads Plan asks the CPU for the
// next ones' guid records and guid bytes.
const prefetchAhead = 8

// prefetchRec starts loading the record of id (both lines it may straddle).
func (t *Tracker) prefetchRec(id uint32) {
	p := unsafe.Pointer(&t.guids.recs[id])
	prefetch.Line(p)
	prefetch.Line(unsafe.Add(p, unsafe.Sizeof(guidRec{})-1))
}

// PrefetchID is PrefetchGUID for a tracker that shares the run's process ids
// (UseGUIDs), by id: a caller that knows the id (the store prefetching a proc) asks for
// the record without reading the hint kept in the proc. It does nothing otherwise.
func (t *Tracker) PrefetchID(id int32) {
	if t.guids.names != nil && uint64(id) < uint64(len(t.guids.recs)) {
		t.prefetchRec(uint32(id))
	}
}

// prefetchString starts loading the first bytes of s.
func prefetchString(s string) { prefetch.Line(unsafe.Pointer(unsafe.StringData(s))) }

// PrefetchCell is PrefetchGUID for a cell's record.
func (t *Tracker) PrefetchCell(hint CellHint) {
	if h := uint32(hint); h != 0 && h <= uint32(len(t.cell.recs)) {
		p := unsafe.Pointer(&t.cell.recs[h-1])
		prefetch.Line(p)
		prefetch.Line(unsafe.Add(p, unsafe.Sizeof(cellRec{})-1))
	}
}
