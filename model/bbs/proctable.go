package bbs

import "hash/maphash"

// procTable is the MemStore's index of procs by process guid: an open-addressing hash
// table (linear probing, backward-shift deletion) of (hash, *proc) slots.
//
// Why not a map[string]*proc: with millions of guids every probe of a Go map misses the
// cache on its control word, on its slot and (unless the caller's string shares the
// key's data) on the key's bytes, before the proc itself. Here a probe reads one slot
// (the hash filters out foreign procs, and the neighbours a probe walks share its cache
// line) and then the proc, which the caller needs anyway; the guid compare is a pointer
// compare when the caller's string is the store's.
//
// Invariants: len(slots) is 0 or a power of two; n procs sit in slots, at most 7/8 of
// them (a high load for linear probing, but slots are 16 bytes, four to a cache line, so
// the ~4.5 slots a hit reads at 7/8 are mostly one line; the longer scans of absent
// guids happen mostly when a guid is created; and it keeps the table at 18-37 bytes per
// proc, no more than a Go map's); no empty slot lies between a proc's home slot
// (h & mask) and its own, so a lookup may stop at the first empty slot; h is
// maphash.String of the proc's guid under seed. The layout depends on the per-process seed; nothing
// observable does (sortedProcs sorts).
type procTable struct {
	seed  maphash.Seed
	slots []procSlot
	n     int
}

type procSlot struct {
	h uint64
	p *proc // nil: empty
}

func newProcTable() procTable { return procTable{seed: maphash.MakeSeed()} }

// get returns the proc of guid, or nil.
func (t *procTable) get(guid string) *proc {
	if t.n == 0 {
		return nil
	}
	h := maphash.String(t.seed, guid)
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.p == nil {
			return nil
		}
		if s.h == h && s.p.guid == guid {
			return s.p
		}
	}
}

// add inserts p, whose guid must not be in the table.
func (t *procTable) add(p *proc) {
	if (t.n+1)*8 > len(t.slots)*7 {
		t.grow()
	}
	t.place(procSlot{h: maphash.String(t.seed, p.guid), p: p})
	t.n++
}

// place puts s in the first empty slot from its home.
func (t *procTable) place(s procSlot) {
	mask := uint64(len(t.slots) - 1)
	i := s.h & mask
	for t.slots[i].p != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// grow doubles the slots (16 at first) and re-places every proc.
func (t *procTable) grow() {
	old := t.slots
	t.slots = make([]procSlot, max(16, 2*len(old)))
	for _, s := range old {
		if s.p != nil {
			t.place(s)
		}
	}
}

// remove deletes p if it is in the table, shifting back the procs after it in its run so
// that no lookup stops early.
func (t *procTable) remove(p *proc) {
	if t.n == 0 {
		return
	}
	mask := uint64(len(t.slots) - 1)
	i := maphash.String(t.seed, p.guid) & mask
	for t.slots[i].p != p {
		if t.slots[i].p == nil {
			return
		}
		i = (i + 1) & mask
	}
	// i is the hole; move back each later proc of the run whose home is not in (i, j].
	for j := (i + 1) & mask; t.slots[j].p != nil; j = (j + 1) & mask {
		home := t.slots[j].h & mask
		if (j-home)&mask >= (j-i)&mask { // home is at or before the hole, cyclically
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = procSlot{}
	t.n--
}

// len returns the number of procs.
func (t *procTable) len() int { return t.n }

// all calls f for every proc, in slot order (callers sort).
func (t *procTable) all(f func(*proc)) {
	for _, s := range t.slots {
		if s.p != nil {
			f(s.p)
		}
	}
}
