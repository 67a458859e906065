package memstore

import (
	"unsafe"

	"github.com/diegolab/diegolab/internal/prefetch"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/converge"
)

// The store's prefetching: hints to the CPU (internal/prefetch) that start loading what
// an operation will touch, so that cache misses overlap instead of following one by
// one. None of it reads into a result or changes a row. The byte offsets below are the
// proc's layout (see proc).

// AttachTracker gives the store the convergence tracker of the BBS over it (the BBS
// calls it once, when the tracker is new and the store empty): the prefetches of a row
// change then ask for the tracker's records too, and with the run's shared process ids
// (UseGUIDs) the tracker keys its records by the same ids (converge.Tracker.UseGUIDs).
func (m *Store) AttachTracker(t *converge.Tracker) {
	m.tracker = t
	m.trackerIDs = t != nil && m.names != nil && t.UseGUIDs(m.names)
}

// PrefetchProc starts loading the proc of process id (UseGUIDs) into the cache, for a
// caller that will soon change one of its rows, and the convergence tracker's record of
// the guid, which that change updates (internal/prefetch; no effect on results).
func (m *Store) PrefetchProc(id int32) {
	c := int(id) / procChunk
	if id < 0 || c >= len(m.arena) || m.arena[c] == nil {
		return
	}
	p := &m.arena[c][int(id)%procChunk]
	// A proc is two whole cache lines (128 bytes, starting at a line's start).
	prefetch.Line(unsafe.Pointer(p))
	prefetch.Line(unsafe.Add(unsafe.Pointer(p), 64))
	if m.trackerIDs {
		m.tracker.PrefetchID(id)
	}
}

// PrefetchGUID is PrefetchProc by guid (UseGUIDs; a guid with no id, or a store without
// shared ids, is not prefetched).
func (m *Store) PrefetchGUID(guid string) {
	if m.names == nil {
		return
	}
	if id, ok := m.names.Find(guid); ok {
		m.PrefetchProc(id)
	}
}

// PrefetchLeave starts loading, for an operation about to move the ORDINARY row of key
// off its cell and queue its start request (a crash), what that will touch after the
// proc, which the caller has just read: the row's entry in its cell's index, the
// tracker's records of the guid and of the cell, and the proc's desired row. Their
// misses then overlap one another instead of following one by one. Only a hint to the
// CPU (internal/prefetch): nothing is read into results or changed.
func (m *Store) PrefetchLeave(key model.ActualLRPKey) {
	t := m.tracker
	p := m.proc(key.ProcessGUID) // the memo: the caller just looked it up
	if p == nil || t == nil {
		return
	}
	t.PrefetchGUID(p.hint)
	// The desired row's interned fields (domain, root filesystem), read by the start
	// request: a row of its own or one that a group's apps share (usually cached).
	if d := p.desired; d != nil {
		prefetch.Line(unsafe.Pointer(d))
	}
	if i, ok := p.find(key.Index, model.Ordinary); ok {
		if r := &p.rows[i]; r.cell != 0 {
			l := &m.byCell[r.cell]
			if int(r.cellPos) < len(l.refs) {
				prefetch.Line(unsafe.Pointer(&l.refs[r.cellPos]))
			}
			t.PrefetchCell(l.hint)
		}
	}
}

// PrefetchEnter starts loading, for an operation about to put a row on cellID (a
// claim), the entry of the cell's index the row will take and the tracker's record of
// the cell, so their misses overlap the operation's reads of the proc. The cell is
// found through the address cache only (no hashing, nothing interned): a cell id not
// found there is simply not prefetched. Only a hint to the CPU, as PrefetchLeave.
func (m *Store) PrefetchEnter(cellID string) {
	t := m.tracker
	if cellID == "" || m.cells.byAddr == nil || t == nil {
		return
	}
	addr := uintptr(unsafe.Pointer(unsafe.StringData(cellID)))
	e := &m.cells.byAddr[addrSlot(addr)]
	if e.addr != addr || e.n != uint32(len(cellID)) || e.id == 0 || int(e.id) >= len(m.byCell) {
		return
	}
	l := &m.byCell[e.id]
	if f := int(l.free); f != 0 && f <= len(l.refs) {
		prefetch.Line(unsafe.Pointer(&l.refs[f-1]))
	} else if len(l.refs) < cap(l.refs) {
		prefetch.Line(unsafe.Pointer(&l.refs[:len(l.refs)+1][len(l.refs)]))
	}
	t.PrefetchCell(l.hint)
}
