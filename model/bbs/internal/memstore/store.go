// Package memstore is the BBS's in-memory store (bbs.MemStore), laid out for the
// millions of rows of a large simulation: compact rows, guid tables shared with the
// run, interned cell ids behind an address cache, a per-cell index, and the prefetching
// that overlaps their cache misses. Everything of that kind lives here, behind the
// bbs.Store interface and the optional capabilities the BBS looks for (see model/bbs's
// store.go); model/bbs's operations never see the layout.
package memstore

import (
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/diegolab/diegolab/internal/prefetch"
	"github.com/diegolab/diegolab/internal/strref"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/converge"
)

// Store is the in-memory bbs.Store of the simulation, laid out for millions of rows:
//
//   - one proc per process guid, holding both the desired row and the actual rows of
//     that guid, so a BBS operation finds everything about a guid with one probe of the
//     big map (procs), or with none when the store shares the run's process ids
//     (UseGUIDs): the procs then sit in an arena indexed by id (chunks that never move),
//     found by the guid's address with no hashing and no pointer to follow, and the map
//     is not kept. A one-entry memo (last, keyed by the very guid string) makes the
//     following accesses to the same guid (the BBS reads rows, then writes one) free;
//   - actual rows of a guid in a slice sorted by (index, presence), compact (64 bytes),
//     the first one inside the proc itself:
//     the guid is the proc's, cell ids, domains and root filesystems are interned to
//     uint32 ids (cell ids also through a cache keyed by the string's address, so a
//     caller passing the same cell strings skips the map), and the rarely set strings
//     (address, crash reason, placement error) share one immutable value, shared
//     between rows as well (sharedExt);
//   - the cell index is a slice of (proc, slot) references per interned cell id; each
//     row keeps its position in its cell's slice, so moving a row between cells is
//     freeing one entry and taking another, with no map operation. A freed entry joins
//     its cell's free list (threaded through the freed entries) and the next row to
//     arrive takes it: no other row moves, so leaving a cell touches no other proc;
//   - the convergence tracker's hints live next to what they name: the guid's in the
//     proc, the cell's in its cellList (see BBS.putActual).
//
// Invariants: for every row r at p.rows[s] with r.cell != 0, byCell[r.cell].refs[r.cellPos]
// is {p, s}; every other entry of a refs slice is free (p nil) and on its cell's free
// list; live counts the rows; a cell with no rows has no refs slice when it was larger
// than 16 entries; a proc exists (in procs, or in use in the arena) iff it has a desired
// row or at least one actual row; a proc's rows have capacity 1 exactly when they are
// its inline row; nprocs counts the procs; every arena slot at or past top is zero;
// last is nil or a proc that exists. Interned strings are never released (the tables
// grow with the number of distinct cell ids, domains and root filesystems ever stored);
// an arena chunk, once allocated, stays.
type Store struct {
	procs map[string]*proc // every proc, unless names is set
	// last is the memo of the last guid looked up (nil = none) and lastGUID the string
	// it was looked up by: checking the memo reads no proc.
	last     *proc
	lastGUID string
	// names and arena (UseGUIDs): the run's shared process ids and the procs by id, in
	// chunks of procChunk that never move (so *proc stays valid); a slot is in use while
	// its guid is set. The procs map is not used then.
	names *model.GUIDs
	arena [][]proc
	// top is 1 + the highest id whose arena slot was ever written: a slot at or past it
	// is free and was never touched, so slotID does not read it. (Reading a fresh page
	// first maps the kernel's zero page, and the write that follows faults a second
	// time: at 8,000,000 new apps that was 250,000 faults more, 0.5 s.)
	top    int32
	nprocs int      // procs in use
	strs   strTable // domains and root filesystems
	cells  strTable // cell ids; index of byCell
	byCell []cellList
	// exts shares rowExt values between rows (see sharedExt).
	exts [extSlots]*rowExt

	tasks   map[string]model.Task
	domains map[string]converge.Domain
	// lastDomain is the domain HasDomain found last ("" = none): creating millions of
	// apps asks for the same few domains over and over.
	lastDomain string
	// lastDesired is the desired row shareDesired shared last (nil = none).
	lastDesired *desiredRow
	// domainList is ListDomains's sorted list, kept until a domain is put or deleted
	// (nil = to be made): convergence lists the domains every pass, and they change
	// only when a domain is upserted.
	domainList []converge.Domain

	// tracker (nil = none) is the convergence tracker of the BBS over this store
	// (AttachTracker): the prefetches of a row change ask for its records too.
	// trackerIDs is set when it keys its records by the same shared ids, so PrefetchProc
	// finds the record of a process id.
	tracker    *converge.Tracker
	trackerIDs bool

	// rowBuf holds what ActualLRPs read last (its caller copies what it keeps).
	rowBuf [3]model.ActualLRP
}

// proc is everything stored about one process guid, 128 bytes: two whole cache lines,
// as procs of an arena chunk and of the 128-byte size class start at a line's start.
// What an operation on the first instance reads (rows, the first row, hint) comes first,
// in 92 bytes; the guid (read by every lookup and row copy) and the desired row's
// pointer follow on the second line.
//
// The desired row is not held in the proc but shared (see desiredRow): the apps of a
// scenario group, desired at once, point to one row. At 8,000,000 apps the proc's 48
// bytes of desired row were 384 MB of memory touched for the first time while building,
// where one shared row is touched once and stays in the cache.
//
// A proc in use always has a row array (rows has capacity 1 or more; a zeroed proc, a
// free arena slot, has none).
type proc struct {
	rows []row // sorted by (index, presence); backed by inline while it holds one row
	// inline holds the first row of the proc, so the common single-instance app costs
	// one allocation and one cache miss instead of two; unused once rows outgrows it.
	inline [1]row
	// hint is the convergence tracker's hint for the guid (in what would be padding: no
	// extra bytes), so the BBS, having found the proc, spares the tracker its own guid
	// lookup.
	hint converge.GUIDHint
	guid string
	// desired is the desired row (nil = none); immutable and possibly shared with
	// other procs: a change replaces the pointer, never the row.
	desired *desiredRow
	_       [8]byte // to 128 bytes: a proc never straddles three cache lines
}

// inUse reports whether p holds a proc (see proc).
func (p *proc) inUse() bool { return cap(p.rows) > 0 }

// procChunk is the number of procs per arena chunk (UseGUIDs).
const procChunk = 1024

// newProc returns an empty proc whose rows use its inline storage.
func newProc(guid string) *proc {
	p := &proc{guid: guid}
	p.rows = p.inline[:0:1]
	return p
}

// onInline reports whether rows is backed by the inline storage.
func (p *proc) onInline() bool { return cap(p.rows) > 0 && &p.rows[:1][0] == &p.inline[0] }

// desiredRow is a model.DesiredLRP without its guid: figures as int32 and strings
// interned; ext carries the slices, and the figures when one does not fit an int32.
// A stored row is immutable, so procs may share one (Store.shareDesired); a row with an
// ext is never shared (each app keeps its own copy of the slices, which GetDesiredLRP
// hands out).
type desiredRow struct {
	startTimeout                                     time.Duration
	ext                                              *desiredExt
	instances, memoryMB, diskMB, maxPids, maxPerCell int32
	domain, rootFS                                   uint32
}

type desiredExt struct {
	placementTags, volumeDrivers, routes             []string
	compute                                          *model.Compute
	wide                                             bool // the int fields below hold the figures
	instances, memoryMB, diskMB, maxPids, maxPerCell int
}

// row is a model.ActualLRP without its process guid.
type row struct {
	instanceGUID string
	ext          *rowExt // nil when address, crash reason and placement error are empty
	since        time.Duration
	index        int
	crashCount   int
	cell         uint32 // interned cell id, 0 = none
	domain       uint32 // interned domain
	cellPos      int32  // position in byCell[cell] when cell != 0
	state        model.ActualLRPState
	presence     model.Presence
}

// rowExt holds the rarely set strings of a row; immutable, so rows may share one.
type rowExt struct{ address, crashReason, placementError string }

// extSlots is the size of Store.exts.
const (
	extBits  = 6
	extSlots = 1 << extBits
)

// sharedExt returns a rowExt holding the three strings: the one in its slot of m.exts
// when that holds the same strings, else a new one, which takes the slot. Rows with the
// same strings (the few crash reasons of a run) so point to one value that stays in the
// cache, instead of each to its own: reading a row costs no miss on its ext, and a
// crash allocates none. The slot comes from the strings' addresses, which only decide
// how often values are shared, never what a row reads.
func (m *Store) sharedExt(address, crashReason, placementError string) *rowExt {
	h := uint64(uintptr(unsafe.Pointer(unsafe.StringData(address))))
	h = h*0x9e3779b97f4a7c15 + uint64(uintptr(unsafe.Pointer(unsafe.StringData(crashReason))))
	h = h*0x9e3779b97f4a7c15 + uint64(uintptr(unsafe.Pointer(unsafe.StringData(placementError))))
	h = (h + uint64(len(address)+len(crashReason)<<8+len(placementError)<<16)) * 0x9e3779b97f4a7c15
	slot := &m.exts[h>>(64-extBits)]
	if e := *slot; e != nil && e.address == address && e.crashReason == crashReason && e.placementError == placementError {
		return e
	}
	e := &rowExt{address: address, crashReason: crashReason, placementError: placementError}
	*slot = e
	return e
}

// cellRef names the row p.rows[slot]; a free entry has p nil and slot = 1 + the
// position of the next free entry (0 ends the list).
type cellRef struct {
	p    *proc
	slot int32
}

// cellList is the index of one cell: its row references and free entries, and the
// convergence tracker's hint for the cell.
type cellList struct {
	refs []cellRef
	free int32 // 1 + position of the first free entry of refs, 0 = none
	live int32 // rows on the cell
	hint converge.CellHint
}

// strTable interns strings to dense uint32 ids; id 0 is "".
type strTable struct {
	ids   map[string]uint32
	names []string
	// one-entry memo of the last string interned
	lastName string
	lastID   uint32
	// byAddr (nil = unused) finds the id of a string whose bytes are those of an
	// interned name (names keeps them alive and they never change, so an address and a
	// length name one string for good) without reading them or hashing: callers that
	// pass the same string values again (the cell ids of a run) skip the map.
	byAddr []addrEntry
}

// addrEntry is one slot of strTable.byAddr, a direct-mapped cache: the address and
// length of an interned name's bytes and its id (0 = empty slot).
type addrEntry struct {
	addr uintptr
	n    uint32
	id   uint32
}

// addrSlots is the size of a strTable.byAddr cache (16 bytes each: 256 KB).
const addrSlots = 1 << 14

// addrSlot returns the cache slot of the string with bytes at addr.
func addrSlot(addr uintptr) int { return int((addr>>4)^(addr>>18)) & (addrSlots - 1) }

func (t *strTable) id(s string) uint32 {
	if s == "" {
		return 0
	}
	var e *addrEntry
	if t.byAddr != nil {
		addr := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		e = &t.byAddr[addrSlot(addr)]
		if e.addr == addr && e.n == uint32(len(s)) && e.id != 0 {
			return e.id
		}
	}
	if t.lastID != 0 && s == t.lastName {
		return t.lastID
	}
	id, ok := t.ids[s]
	if !ok {
		if t.ids == nil {
			t.ids = map[string]uint32{}
			t.names = []string{""}
		}
		id = uint32(len(t.names))
		t.names = append(t.names, s)
		t.ids[s] = id
	}
	t.lastName, t.lastID = s, id
	if e != nil && strref.Same(s, t.names[id]) {
		*e = addrEntry{addr: uintptr(unsafe.Pointer(unsafe.StringData(s))), n: uint32(len(s)), id: id}
	}
	return id
}

// lookup returns the id of s without interning it (0, false when s was never interned).
func (t *strTable) lookup(s string) (uint32, bool) {
	if s == "" {
		return 0, true
	}
	if t.lastID != 0 && s == t.lastName {
		return t.lastID, true
	}
	id, ok := t.ids[s]
	return id, ok
}

func (t *strTable) name(id uint32) string {
	if id == 0 {
		return ""
	}
	return t.names[id]
}

// New returns an empty in-memory store.
func New() *Store {
	return &Store{
		procs:   map[string]*proc{},
		cells:   strTable{byAddr: make([]addrEntry, addrSlots)},
		byCell:  make([]cellList, 1),
		tasks:   map[string]model.Task{},
		domains: map[string]converge.Domain{},
	}
}

// UseGUIDs makes the store find its procs through names, the process ids the driver
// shares with the other layers of a run: a guid laid out by names.Block is then found
// by its address instead of by hashing it. Call it on an empty store; later calls, or
// calls on a store holding processes, do nothing.
func (m *Store) UseGUIDs(names *model.GUIDs) {
	if m.names == nil && len(m.procs) == 0 {
		m.names = names
	}
}

// slot returns the arena slot of guid (UseGUIDs), or nil when guid has no id or its
// chunk was never allocated.
//
// A guid laid out by the shared table's Block is found by its address alone: the slot of
// the entry it starts at (model.GUIDs.EntryID) is its own when the proc there holds the
// very same string (address and length; p.guid is read anyway, by every row copy), so
// the table's array of guid lengths (2 MB at 2 M guids, a cache miss per cold guid) is
// not read. Any other string (a copy, a prefix, a free slot) takes Find, as before.
func (m *Store) slot(guid string) *proc {
	p, _, _ := m.slotID(guid)
	return p
}

// slotID is slot, also returning guid's id when it looked it up (known: the guid has an
// id, whether or not its slot holds a proc).
func (m *Store) slotID(guid string) (p *proc, id int32, known bool) {
	if id, ok := m.names.EntryID(guid); ok && id < m.top {
		if p := m.arenaAt(id); p != nil {
			// The caller reads the proc's first row, which ends on its second cache line:
			// ask for that line now, so its miss overlaps the guid's (a hint, see
			// internal/prefetch).
			prefetch.Line(unsafe.Add(unsafe.Pointer(p), 64))
			if strref.Same(p.guid, guid) {
				return p, id, true
			}
		}
	}
	id, ok := m.names.Find(guid)
	if !ok {
		return nil, 0, false
	}
	if id >= m.top {
		return nil, id, true // never written: free (see top)
	}
	p = m.arenaAt(id)
	if p != nil {
		prefetch.Line(unsafe.Add(unsafe.Pointer(p), 64))
	}
	return p, id, true
}

// slotFind is slotID through the shared table's Find alone: one search of its blocks
// (which also checks the guid's length), where slotID searches them for the address,
// and again through Find when that slot holds no proc of that very string.
func (m *Store) slotFind(guid string) (p *proc, id int32, known bool) {
	id, ok := m.names.Find(guid)
	if !ok {
		return nil, 0, false
	}
	if id >= m.top {
		return nil, id, true // never written: free (see top)
	}
	return m.arenaAt(id), id, true
}

// arenaAt returns the arena slot of id, or nil when its chunk was never allocated.
func (m *Store) arenaAt(id int32) *proc {
	c := int(id) / procChunk
	if id < 0 || c >= len(m.arena) || m.arena[c] == nil {
		return nil
	}
	return &m.arena[c][int(id)%procChunk]
}

// proc returns the proc of guid, or nil.
//
// With shared ids the memo is only taken for the very string of the memo's guid: the
// address lookup of a block guid reads no byte of it, while comparing the bytes with the
// memo's guid would cost a cache miss on them for every new guid.
func (m *Store) proc(guid string) *proc {
	if p := m.last; p != nil && (strref.Same(m.lastGUID, guid) || m.names == nil && m.lastGUID == guid) {
		return p
	}
	var p *proc
	if m.names != nil {
		if p = m.slot(guid); p != nil && !p.inUse() {
			p = nil // a free slot
		}
	} else {
		p = m.procs[guid]
	}
	if p != nil {
		m.last, m.lastGUID = p, guid
	}
	return p
}

// hints returns the tracker hints of a row change of p's guid whose old and new rows are
// on the interned cells oldCell and newCell (0 = none).
func (m *Store) hints(p *proc, oldCell, newCell uint32) converge.Hints {
	h := converge.Hints{GUID: &p.hint}
	if oldCell != 0 {
		h.OldCell = &m.byCell[oldCell].hint
	}
	if newCell != 0 {
		h.NewCell = &m.byCell[newCell].hint
	}
	return h
}

// procFor returns the proc of guid, creating it when missing.
func (m *Store) procFor(guid string) *proc { return m.procForLikely(guid, false) }

// procForLikely is procFor; isNew says the guid most likely has no proc yet (a desired
// row inserted), so that with shared ids its id comes from the table's Find at once
// (slotFind) instead of after a try of the address of a proc that does not exist.
func (m *Store) procForLikely(guid string, isNew bool) *proc {
	if m.names == nil {
		if p := m.proc(guid); p != nil {
			return p
		}
		p := newProc(guid)
		m.procs[guid] = p
		m.nprocs++
		m.last, m.lastGUID = p, guid
		return p
	}
	if p := m.last; p != nil && strref.Same(m.lastGUID, guid) {
		return p
	}
	// proc's lookup, keeping the id it finds for a guid with no proc yet (a new app's
	// guid was found in the shared table once, not three times)
	var p *proc
	var id32 int32
	var known bool
	if isNew {
		p, id32, known = m.slotFind(guid)
	} else {
		p, id32, known = m.slotID(guid)
	}
	if p != nil && p.inUse() {
		m.last, m.lastGUID = p, guid
		return p
	}
	if !known {
		id32 = m.names.ID(guid)
	}
	id := int(id32)
	c := id / procChunk
	if c >= len(m.arena) {
		m.arena = append(m.arena, make([][]proc, c+1-len(m.arena))...)
	}
	if m.arena[c] == nil {
		m.arena[c] = make([]proc, procChunk)
	}
	p = &m.arena[c][id%procChunk]
	*p = proc{guid: guid}
	p.rows = p.inline[:0:1]
	m.top = max(m.top, id32+1)
	m.nprocs++
	m.last, m.lastGUID = p, guid
	return p
}

// release drops p when it holds nothing any more.
func (m *Store) release(p *proc) {
	if p.desired != nil || len(p.rows) > 0 {
		return
	}
	if m.names == nil {
		delete(m.procs, p.guid)
	} else {
		*p = proc{} // a free slot
	}
	m.nprocs--
	if m.last == p {
		m.last, m.lastGUID = nil, ""
	}
}

// --- desired LRPs ---

func fits32(v int) bool { return v >= math.MinInt32 && v <= math.MaxInt32 }

func (m *Store) GetDesiredLRP(guid string) (model.DesiredLRP, bool, error) {
	p := m.proc(guid)
	if p == nil || p.desired == nil {
		return model.DesiredLRP{}, false, nil
	}
	return m.desiredOf(p), true, nil
}

func (m *Store) desiredOf(p *proc) model.DesiredLRP {
	r := p.desired
	d := model.DesiredLRP{ProcessGUID: p.guid, Domain: m.strs.name(r.domain), Instances: int(r.instances),
		MemoryMB: int(r.memoryMB), DiskMB: int(r.diskMB), MaxPids: int(r.maxPids), RootFS: m.strs.name(r.rootFS),
		StartTimeout: r.startTimeout, MaxPerCell: int(r.maxPerCell)}
	if e := r.ext; e != nil {
		d.PlacementTags, d.VolumeDrivers, d.Routes = e.placementTags, e.volumeDrivers, e.routes
		d.Compute = e.compute
		if e.wide {
			d.Instances, d.MemoryMB, d.DiskMB, d.MaxPids, d.MaxPerCell = e.instances, e.memoryMB, e.diskMB, e.maxPids, e.maxPerCell
		}
	}
	return d
}

// PutDesiredLRP stores a copy (slices cloned, so the caller may reuse its own).
func (m *Store) PutDesiredLRP(d model.DesiredLRP) error {
	p := m.procFor(d.ProcessGUID)
	p.desired = m.shareDesired(m.desiredRow(&d))
	return nil
}

// shareDesired returns a stored row equal to r: the last one shared when it is equal
// (the apps of a group, or an app desired again as it was), else a new one, which is
// shared from then on. A row with an ext (slices a caller may read) is never shared.
func (m *Store) shareDesired(r desiredRow) *desiredRow {
	if r.ext == nil {
		if l := m.lastDesired; l != nil && *l == r {
			return l
		}
	}
	p := new(desiredRow) // not &r: r would then be allocated by every call
	*p = r
	if r.ext == nil {
		m.lastDesired = p
	}
	return p
}

// desiredRow returns the stored form of d: its strings interned, its slices cloned.
func (m *Store) desiredRow(d *model.DesiredLRP) desiredRow {
	r := desiredRow{startTimeout: d.StartTimeout, domain: m.strs.id(d.Domain), rootFS: m.strs.id(d.RootFS),
		instances: int32(d.Instances), memoryMB: int32(d.MemoryMB), diskMB: int32(d.DiskMB),
		maxPids: int32(d.MaxPids), maxPerCell: int32(d.MaxPerCell)}
	if wideDesired(d) || d.PlacementTags != nil || d.VolumeDrivers != nil || d.Routes != nil || d.Compute != nil {
		r.ext = newDesiredExt(d)
	}
	return r
}

func wideDesired(d *model.DesiredLRP) bool {
	return !fits32(d.Instances) || !fits32(d.MemoryMB) || !fits32(d.DiskMB) || !fits32(d.MaxPids) || !fits32(d.MaxPerCell)
}

// newDesiredExt returns d's slices (cloned), compute (cloned) and, when one does not fit
// an int32, figures.
func newDesiredExt(d *model.DesiredLRP) *desiredExt {
	e := &desiredExt{placementTags: slices.Clone(d.PlacementTags), volumeDrivers: slices.Clone(d.VolumeDrivers),
		routes: slices.Clone(d.Routes), compute: d.Compute.Clone()}
	if wideDesired(d) {
		e.wide = true
		e.instances, e.memoryMB, e.diskMB, e.maxPids, e.maxPerCell = d.Instances, d.MemoryMB, d.DiskMB, d.MaxPids, d.MaxPerCell
	}
	return e
}

// InsertDesiredLRPs stores template under each guid in order, stopping before the
// first guid that has a desired row, and returns how many it stored (bbs's rowStore):
// the stored form is built once and each app gets its own copy of the slices, as from
// PutDesiredLRP.
func (m *Store) InsertDesiredLRPs(template model.DesiredLRP, guids []string) (int, error) {
	r := m.desiredRow(&template)
	var shared *desiredRow // the group's row, when it can be shared
	if r.ext == nil {
		shared = m.shareDesired(r)
	}
	for i, g := range guids {
		p := m.procForLikely(g, true)
		if p.desired != nil {
			return i, nil
		}
		if shared != nil {
			p.desired = shared
			continue
		}
		if i > 0 {
			r.ext = newDesiredExt(&template)
		}
		p.desired = m.shareDesired(r)
	}
	return len(guids), nil
}

func (m *Store) DeleteDesiredLRP(guid string) error {
	p := m.proc(guid)
	if p == nil || p.desired == nil {
		return nil
	}
	p.desired = nil
	m.release(p)
	return nil
}

// sortedProcs returns the procs for which keep holds, by guid.
func (m *Store) sortedProcs(keep func(*proc) bool) []*proc {
	out := make([]*proc, 0, m.nprocs)
	for _, p := range m.procs {
		if keep(p) {
			out = append(out, p)
		}
	}
	for _, c := range m.arena {
		for i := range c {
			if p := &c[i]; p.inUse() && keep(p) {
				out = append(out, p)
			}
		}
	}
	slices.SortFunc(out, func(a, b *proc) int { return strings.Compare(a.guid, b.guid) })
	return out
}

func (m *Store) ListDesiredLRPs() ([]model.DesiredLRP, error) {
	ps := m.sortedProcs(func(p *proc) bool { return p.desired != nil })
	out := make([]model.DesiredLRP, len(ps))
	for i, p := range ps {
		out[i] = m.desiredOf(p)
	}
	return out, nil
}

// --- actual LRPs ---

// find returns the position of (index, p) in rows, sorted by (index, presence), and
// whether it is there.
func (p *proc) find(index int, pr model.Presence) (int, bool) {
	rows := p.rows
	if cap(rows) == 1 { // the common case: one instance, in inline
		if len(rows) == 0 {
			return 0, false
		}
		// Read the row at its fixed place in p rather than through rows' pointer: the
		// loads do not wait for the proc's first cache line, so a cold proc's two lines
		// arrive together.
		r := &p.inline[0]
		switch {
		case r.index == index && r.presence == pr:
			return 0, true
		case r.index < index || (r.index == index && r.presence < pr):
			return 1, false
		}
		return 0, false
	}
	lo, hi := 0, len(rows)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		r := &rows[mid]
		if r.index < index || (r.index == index && r.presence < pr) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(rows) && rows[lo].index == index && rows[lo].presence == pr
}

func (m *Store) actualOf(p *proc, r *row) model.ActualLRP {
	a := model.ActualLRP{ActualLRPKey: model.ActualLRPKey{ProcessGUID: p.guid, Index: r.index},
		Domain: m.strs.name(r.domain), InstanceKey: model.InstanceKey{InstanceGUID: r.instanceGUID, CellID: m.cells.name(r.cell)},
		State: r.state, Presence: r.presence, CrashCount: r.crashCount, Since: r.since}
	if e := r.ext; e != nil {
		a.Address, a.CrashReason, a.PlacementError = e.address, e.crashReason, e.placementError
	}
	return a
}

func (m *Store) GetActualLRP(key model.ActualLRPKey, pr model.Presence) (model.ActualLRP, bool, error) {
	if p := m.proc(key.ProcessGUID); p != nil {
		if i, ok := p.find(key.Index, pr); ok {
			return m.actualOf(p, &p.rows[i]), true, nil
		}
	}
	return model.ActualLRP{}, false, nil
}

// ActualLRPs reads the ORDINARY, EVACUATING and SUSPECT rows of key with one lookup of
// the guid (three GetActualLRP calls in one); found[p] tells which exist. rows is the
// store's own buffer, valid until the next call; only its found entries are set.
func (m *Store) ActualLRPs(key model.ActualLRPKey) (rows *[3]model.ActualLRP, found [3]bool, err error) {
	rows = &m.rowBuf
	p := m.proc(key.ProcessGUID)
	if p == nil {
		return rows, found, nil
	}
	i, _ := p.find(key.Index, model.Ordinary)
	for ; i < len(p.rows) && p.rows[i].index == key.Index; i++ {
		r := &p.rows[i]
		rows[r.presence] = m.actualOf(p, r)
		found[r.presence] = true
	}
	return rows, found, nil
}

// fill sets r to a's fields but its cell index, reusing r's interned ids and shared
// strings where they are unchanged.
func (m *Store) fill(r *row, a *model.ActualLRP) {
	r.instanceGUID, r.since, r.index, r.crashCount, r.state, r.presence =
		a.InstanceGUID, a.Since, a.Index, a.CrashCount, a.State, a.Presence
	if r.domain == 0 || a.Domain != m.strs.names[r.domain] {
		r.domain = m.strs.id(a.Domain)
	}
	if a.Address == "" && a.CrashReason == "" && a.PlacementError == "" {
		r.ext = nil
	} else if e := r.ext; e == nil || e.address != a.Address || e.crashReason != a.CrashReason || e.placementError != a.PlacementError {
		r.ext = m.sharedExt(a.Address, a.CrashReason, a.PlacementError)
	}
}

// cellID interns a cell id, trying the row's current one first.
func (m *Store) cellID(cur uint32, cellID string) uint32 {
	if cellID == "" {
		return 0
	}
	if cur != 0 && m.cells.names[cur] == cellID {
		return cur
	}
	id := m.cells.id(cellID)
	if int(id) >= len(m.byCell) {
		m.byCell = append(m.byCell, make([]cellList, int(id)+1-len(m.byCell))...)
	}
	return id
}

// index adds p.rows[slot] to its cell's list.
func (m *Store) index(p *proc, slot int) {
	r := &p.rows[slot]
	if r.cell == 0 {
		return
	}
	l := &m.byCell[r.cell]
	l.live++
	ref := cellRef{p: p, slot: int32(slot)}
	if f := l.free; f != 0 {
		r.cellPos = f - 1
		l.free = l.refs[f-1].slot
		l.refs[f-1] = ref
		return
	}
	r.cellPos = int32(len(l.refs))
	l.refs = append(l.refs, ref)
}

// unindex removes p.rows[slot] from its cell's list: its entry goes on the free list.
func (m *Store) unindex(p *proc, slot int) {
	r := &p.rows[slot]
	if r.cell == 0 {
		return
	}
	l := &m.byCell[r.cell]
	l.live--
	switch {
	case l.live == 0 && cap(l.refs) > 16:
		*l = cellList{hint: l.hint} // let a drained cell's list go
	case l.live == 0:
		clear(l.refs)
		l.refs, l.free = l.refs[:0], 0
	default:
		l.refs[r.cellPos] = cellRef{slot: l.free}
		l.free = r.cellPos + 1
	}
	r.cellPos = 0
}

// shiftSlots adds d to the cell references of p.rows[from:] (they moved by d).
func (m *Store) shiftSlots(p *proc, from, d int) {
	for s := from; s < len(p.rows); s++ {
		if r := &p.rows[s]; r.cell != 0 {
			m.byCell[r.cell].refs[r.cellPos].slot += int32(d)
		}
	}
}

// ReserveActualLRPs makes room for n more actual rows of guid (when it has a proc), so
// creating an app's instances allocates its row slice once. It changes no result.
func (m *Store) ReserveActualLRPs(guid string, n int) {
	if p := m.proc(guid); p != nil && cap(p.rows)-len(p.rows) < n {
		inl := p.onInline()
		p.rows = slices.Grow(p.rows, n)
		if inl {
			p.inline[0] = row{} // moved out: drop its references
		}
	}
}

func (m *Store) PutActualLRP(a model.ActualLRP) error {
	m.put(&a)
	return nil
}

// PutActualLRPHinted is PutActualLRP returning the convergence tracker's hints for the
// change: the guid's (kept in its proc) and the cells' before and after the write (kept
// in the cell index), so the tracker does no lookup of its own.
func (m *Store) PutActualLRPHinted(a model.ActualLRP) (converge.Hints, error) {
	p, oldCell, newCell := m.put(&a)
	return m.hints(p, oldCell, newCell), nil
}

// put writes a and returns the proc of the row and the interned cells of the row before
// (0 when it had none or did not exist) and after the write.
func (m *Store) put(a *model.ActualLRP) (p *proc, oldCell, newCell uint32) {
	p = m.procFor(a.ProcessGUID)
	i, ok := p.find(a.Index, a.Presence)
	if ok {
		r := &p.rows[i]
		m.fill(r, a)
		oldCell = r.cell
		if cell := m.cellID(r.cell, a.CellID); cell != r.cell {
			m.unindex(p, i)
			r.cell = cell
			m.index(p, i)
		}
		return p, oldCell, r.cell
	}
	var r row
	m.fill(&r, a)
	r.cell = m.cellID(0, a.CellID)
	inl := p.onInline()
	if i == len(p.rows) {
		p.rows = append(p.rows, r)
	} else {
		p.rows = slices.Insert(p.rows, i, r)
		m.shiftSlots(p, i+1, 1)
	}
	if inl && !p.onInline() {
		p.inline[0] = row{} // moved out: drop its references
	}
	m.index(p, i)
	return p, 0, r.cell
}

func (m *Store) DeleteActualLRP(key model.ActualLRPKey, pr model.Presence) error {
	m.del(key, pr)
	return nil
}

// DeleteActualLRPHinted is DeleteActualLRP returning the convergence tracker's hints for
// the removal (none when there was no row).
func (m *Store) DeleteActualLRPHinted(key model.ActualLRPKey, pr model.Presence) (converge.Hints, error) {
	if p, cell := m.del(key, pr); p != nil {
		return m.hints(p, cell, 0), nil
	}
	return converge.Hints{}, nil
}

// del deletes the row and returns the proc it was in (nil when there was no row; the
// proc may have been released) and the row's interned cell.
func (m *Store) del(key model.ActualLRPKey, pr model.Presence) (p *proc, cell uint32) {
	p = m.proc(key.ProcessGUID)
	if p == nil {
		return nil, 0
	}
	i, ok := p.find(key.Index, pr)
	if !ok {
		return nil, 0
	}
	cell = p.rows[i].cell
	m.unindex(p, i)
	p.rows = slices.Delete(p.rows, i, i+1)
	m.shiftSlots(p, i, -1)
	if len(p.rows) == 0 {
		p.inline[0] = row{}
		p.rows = p.inline[:0:1] // a drained big app gives its row array back
		m.release(p)
	}
	return p, cell
}

func (m *Store) ListActualLRPsByProcess(guid string) ([]model.ActualLRP, error) {
	p := m.proc(guid)
	if p == nil || len(p.rows) == 0 {
		return nil, nil
	}
	out := make([]model.ActualLRP, len(p.rows)) // already in (index, presence) order
	for i := range p.rows {
		out[i] = m.actualOf(p, &p.rows[i])
	}
	return out, nil
}

func (m *Store) ListActualLRPsByCell(cellID string) ([]model.ActualLRP, error) {
	id, ok := m.cells.lookup(cellID)
	if !ok || id == 0 || int(id) >= len(m.byCell) || m.byCell[id].live == 0 {
		return []model.ActualLRP{}, nil
	}
	l := &m.byCell[id]
	out := make([]model.ActualLRP, 0, l.live)
	for _, c := range l.refs {
		if c.p != nil {
			out = append(out, m.actualOf(c.p, &c.p.rows[c.slot]))
		}
	}
	slices.SortFunc(out, model.CompareActualLRPs)
	return out, nil
}

func (m *Store) ListActualLRPs() ([]model.ActualLRP, error) {
	var out []model.ActualLRP
	for _, p := range m.sortedProcs(func(p *proc) bool { return len(p.rows) > 0 }) {
		for i := range p.rows {
			out = append(out, m.actualOf(p, &p.rows[i]))
		}
	}
	return out, nil
}

// --- tasks and domains ---

func (m *Store) GetTask(guid string) (model.Task, bool, error) {
	t, ok := m.tasks[guid]
	return t, ok, nil
}

// PutTask stores a copy (slices cloned).
func (m *Store) PutTask(t model.Task) error {
	t.PlacementTags = slices.Clone(t.PlacementTags)
	t.VolumeDrivers = slices.Clone(t.VolumeDrivers)
	t.Compute = t.Compute.Clone()
	m.tasks[t.GUID] = t
	return nil
}

func (m *Store) DeleteTask(guid string) error {
	delete(m.tasks, guid)
	return nil
}

func (m *Store) ListTasks() ([]model.Task, error) {
	out := make([]model.Task, 0, len(m.tasks))
	for _, t := range m.tasks {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b model.Task) int { return strings.Compare(a.GUID, b.GUID) })
	return out, nil
}

// HasDomain reports whether the domain has a row (without listing them all).
func (m *Store) HasDomain(name string) (bool, error) {
	if name == m.lastDomain && name != "" {
		return true, nil
	}
	_, ok := m.domains[name]
	if ok {
		m.lastDomain = name
	}
	return ok, nil
}

func (m *Store) PutDomain(d converge.Domain) error {
	m.domains[d.Name] = d
	m.domainList = nil
	return nil
}

func (m *Store) DeleteDomain(name string) error {
	delete(m.domains, name)
	m.domainList = nil
	if name == m.lastDomain {
		m.lastDomain = ""
	}
	return nil
}

func (m *Store) ListDomains() ([]converge.Domain, error) {
	return slices.Clone(m.SharedDomains()), nil // a copy, as every List
}

// SharedDomains is ListDomains without the copy: the store's own sorted list, which the
// caller must not modify. The same slice comes back until a domain is put or deleted,
// so a caller can tell "unchanged" by the slice alone.
func (m *Store) SharedDomains() []converge.Domain {
	if m.domainList == nil {
		m.domainList = make([]converge.Domain, 0, len(m.domains))
		for _, d := range m.domains {
			m.domainList = append(m.domainList, d)
		}
		slices.SortFunc(m.domainList, func(a, b converge.Domain) int { return strings.Compare(a.Name, b.Name) })
	}
	return m.domainList
}
