package bbs

import "github.com/diegolab/diegolab/model"

// ReleaseReady declares that the caller is done with the Events and LRPStarts of every
// Ready returned so far: from now on the BBS may overwrite those slices' arrays and the
// model.ActualLRP copies their events' Actual fields point to, and it reuses them for
// the following batches instead of allocating new ones (the copy per actual LRP event,
// 160 bytes, was the largest allocation of a simulation's steady state).
//
// It is opt-in: a BBS whose owner never calls it keeps the contract of Ready (every
// batch and every row copy stays valid for as long as it is kept). A caller may call it
// only when nothing of an earlier batch's Events or LRPStarts is still in use: neither
// the slices, nor an Event (an Event's Desired and Task copies are never reused and may
// be kept), nor a *model.ActualLRP read from one; values copied out of them (the
// strings of a row, a copy of the struct) stay valid. In the simulation, that is right
// after observing the events of control.Plane.Ready or Plane.TakeEvents (the plane
// copies LRPStarts into its auction queue when it collects them, and holds no event once
// it has handed them over).
//
// Events produced since the last Ready (not yet returned) are not released: they come
// out of the next Ready with their data, moved to the front of the reused storage. The
// reused storage is bounded (recycleRows row copies, recycleEvents events and
// recycleStarts start requests kept; a larger batch allocates its excess as without
// recycling), so the memory kept is a few hundred KB whatever the batch sizes, and an
// owner that stops calling ReleaseReady gets fresh storage as without it.
func (b *BBS) ReleaseReady() {
	if b.recycle && !b.handed {
		return // nothing returned since the last release: everything is in place
	}
	b.recycle, b.handed = true, false
	b.out.Events = b.events.release(b.out.Events, recycleEvents)
	b.out.LRPStarts = b.starts.release(b.out.LRPStarts, recycleStarts)
	// Row copies: restart at the front of the pool. The pending events' copies come
	// after every copy handed out since the last release, in pool order (copies are
	// carved in order and Ready hands events out in order), so copying them to the front
	// in order only ever writes a slot at or before the one it reads, never an unread one.
	b.poolNext, b.rowCopies = 0, nil
	for i := range b.out.Events {
		if a := b.out.Events[i].Actual; a != nil {
			tmp := *a
			b.out.Events[i].Actual = b.actualCopy(&tmp)
		}
	}
}

// Bounds of the storage ReleaseReady keeps for reuse.
const (
	recycleRows   = 32 * rowChunk // 2,048 row copies, 320 KB
	recycleEvents = 4096          // 128 KB
	recycleStarts = 1024          // ~150 KB
)

// nextRowChunk makes rowCopies the next chunk of row copies: a new one, or with
// recycling (ReleaseReady) the next one of the pool, which keeps the first
// recycleRows/rowChunk chunks taken since the last release (later ones are not kept).
func (b *BBS) nextRowChunk() {
	if !b.recycle {
		b.rowCopies = make([]model.ActualLRP, rowChunk)
		return
	}
	if b.poolNext == len(b.rowPool) {
		if len(b.rowPool) == recycleRows/rowChunk { // full: a chunk of its own, as without recycling
			b.rowCopies = make([]model.ActualLRP, rowChunk)
			return
		}
		b.rowPool = append(b.rowPool, make([]model.ActualLRP, rowChunk))
	}
	b.rowCopies = b.rowPool[b.poolNext]
	b.poolNext++
}

// recycled is one outbox list (Events or LRPStarts) under ReleaseReady: base is the
// array its batches are carved from, from its start (len 0). The list in b.out always
// starts at the first element not yet returned by Ready; when an append or slices.Grow
// moves it to a new array, that array starts there (see rebase).
type recycled[T any] struct{ base []T }

// sameArray reports whether a and b are slices of one array (their capacities end at
// the same element): no two arrays share an end.
func sameArray[T any](a, b []T) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:cap(a)][cap(a)-1] == &b[:cap(b)][cap(b)-1]
}

// rebase makes the array of s the base when s is in another one: s was moved by an
// append or a Grow, which copy it to the start of a new array.
func (o *recycled[T]) rebase(s []T) {
	if cap(s) > 0 && !sameArray(s, o.base) {
		o.base = s[:0:cap(s)]
	}
}

// handOff is Ready's split of s under recycling: out is s clipped (nil when empty) and
// next the rest of its array (the base's, after rebase), where the next batch appends,
// while 1/16 of limit/4 is left there; else a new base of limit/4 (an owner that stopped
// releasing gets the chunks of the plain handOff, not arrays growing from nothing).
func (o *recycled[T]) handOff(s []T, limit int) (out, next []T) {
	o.rebase(s)
	if len(s) > 0 {
		out = s[:len(s):len(s)]
	}
	if cap(s)-len(s) >= limit/64 {
		return out, s[len(s):]
	}
	o.base = make([]T, 0, limit/4)
	return out, o.base
}

// release returns the list s (its elements not yet returned by Ready) moved to the
// front of the base array, which every earlier batch may share: the caller released
// them. A base larger than limit is let go when nothing is pending, and a small one is
// replaced by an array of limit/4, so the list neither keeps a huge array nor grows
// by doubling from nothing.
func (o *recycled[T]) release(s []T, limit int) []T {
	o.rebase(s)
	if len(s) == 0 && (cap(o.base) > limit || cap(o.base) < limit/4) {
		o.base = make([]T, 0, limit/4)
		return o.base
	}
	// s lies in base (rebase), or is empty. The released elements after it are not
	// cleared (the next batches overwrite them): at most limit of them keep what they
	// point to alive a little longer, where clearing them cost a pass over each batch.
	n := copy(o.base[:len(s)], s)
	return o.base[:n]
}
