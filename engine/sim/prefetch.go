package sim

import (
	"unsafe"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/internal/prefetch"
	"github.com/diegolab/diegolab/model/control"
	"github.com/diegolab/diegolab/model/rep"
)

// The simulator's prefetching: hints to the CPU (internal/prefetch) that start loading
// what the next events will touch, so their cache misses overlap the current event's
// work. Nothing here reads into a result or changes state; the kernel finds the two
// hooks below by itself (*Sim is an engine.Prefetcher), and drain asks for prefetchWork
// before it performs an auction's work.

var _ engine.Prefetcher = (*Sim)(nil)

// PrefetchAfter starts loading the container of an event that runs after the next one
// (engine.Prefetcher), so PrefetchNext can read it without waiting.
func (s *Sim) PrefetchAfter(p engine.Payload) {
	switch p.Kind {
	case kStart, kCrash:
		if uint64(p.A) < uint64(len(s.containers.items)) {
			ct := &s.containers.items[p.A]
			prefetch.Line(unsafe.Pointer(ct))
			prefetch.Line(unsafe.Pointer(&ct.startedAt))
		}
	}
}

// PrefetchNext starts loading what the next event will touch besides its container
// (engine.Prefetcher): the app's instance slots and the BBS's proc first (independent of
// each other), then the cell and, through it, the auction's record of the cell and
// counts.
func (s *Sim) PrefetchNext(p engine.Payload) {
	switch p.Kind {
	case kStart, kCrash:
		if uint64(p.A) >= uint64(len(s.containers.items)) {
			return
		}
		ct := &s.containers.items[p.A]
		if ct.Kind() != rep.LRP || uint64(ct.cell) >= uint64(len(s.cells)) {
			return
		}
		if uint64(ct.app) < uint64(len(s.apps.refs)) {
			prefetch.Line(unsafe.Pointer(&s.apps.refs[ct.app]))
		}
		s.store.PrefetchProc(ct.app)
		c := s.cells[ct.cell]
		prefetch.Line(unsafe.Pointer(c))
		s.view.PrefetchLRP(c.ref, ct.app)
	}
}

// prefetchWork starts loading what performing an auction's work will touch, for all its
// LRPs at once (their cache misses overlap instead of following one another): the won
// cells and the entries of their container lists the placements will fill, the
// containers the pool will hand out, the apps' instance slots and behaviours, and the
// BBS's procs. A cell's list entry is found through the cell, so the cells go first and
// the entries last, with the other loads in between.
func (s *Sim) prefetchWork(work []control.Work) {
	for i := range work {
		if ci, ok := s.cellIndex(work[i].CellID); ok {
			c := s.cells[ci]
			prefetch.Line(unsafe.Pointer(c))
			prefetch.Line(unsafe.Pointer(&c.holes))
		}
	}
	free := s.containers.free
	for i := range work {
		for j := range work[i].LRPs {
			if n := len(free); n > 0 {
				prefetch.Line(unsafe.Pointer(&s.containers.items[free[n-1]]))
				free = free[:n-1]
			}
			id, ok := s.guids.Find(work[i].LRPs[j].ProcessGUID)
			if !ok {
				continue
			}
			if uint64(id) < uint64(len(s.apps.refs)) {
				prefetch.Line(unsafe.Pointer(&s.apps.refs[id]))
			}
			if uint64(id) < uint64(len(s.appBeh)) {
				prefetch.Line(unsafe.Pointer(&s.appBeh[id]))
			}
			s.store.PrefetchProc(id)
		}
	}
	for i := range work {
		if ci, ok := s.cellIndex(work[i].CellID); ok {
			c := s.cells[ci]
			if n := len(c.holes); n > 0 {
				prefetch.Line(unsafe.Pointer(&c.holes[n-1]))
			} else if n := len(c.containers); n < cap(c.containers) {
				prefetch.Line(unsafe.Pointer(&c.containers[:n+1][n]))
			}
		}
	}
}

// cellIndex is cellByID[id] through a cache keyed by the address of the string's bytes:
// the auction hands out the cells' own id strings (it copied each model.Cell), so after
// a cell's first win its lookups read a cache entry instead of hashing and comparing the
// id in a map of 10,000 cells. The cache is open-addressed (linear probing, at most
// cellProbes entries, which share a cache line or two): two cells whose addresses hash
// alike both stay cached. Only addresses of the cells' own ids (alive for the whole run)
// are cached, so an address never stands for another string.
func (s *Sim) cellIndex(id string) (int, bool) {
	p := uintptr(unsafe.Pointer(unsafe.StringData(id)))
	mask := len(s.cellCache) - 1
	h := int((uint64(p) * 0x9E3779B97F4A7C15) >> s.cellShift)
	var free *cellCacheEntry
	for i := range cellProbes {
		e := &s.cellCache[(h+i)&mask]
		if e.p == p && p != 0 && int(e.n) == len(id) {
			return int(e.ci), true
		}
		if e.p == 0 {
			free = e // not cached: nothing is cached past an empty entry
			break
		}
	}
	ci, ok := s.cellByID[id]
	if free != nil && ok && unsafe.StringData(s.cells[ci].ID) == unsafe.StringData(id) && len(id) > 0 {
		*free = cellCacheEntry{p: p, n: int32(len(id)), ci: int32(ci)}
	}
	return ci, ok
}

// cellProbes is how many entries of the cell-id cache a lookup reads at most.
const cellProbes = 8

// sizeCellCache makes room in the cell-id cache for about twice n cells (a power of two
// from 64 to 16,384 entries of 16 bytes).
func (s *Sim) sizeCellCache(n int) {
	bits := 6
	for bits < 14 && 1<<bits < 2*n {
		bits++
	}
	s.cellCache, s.cellShift = make([]cellCacheEntry, 1<<bits), uint(64-bits)
}

type cellCacheEntry struct {
	p     uintptr
	n, ci int32
}
