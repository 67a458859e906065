package bbs

// ReleaseReady declares that the caller is done with the Events and LRPStarts of every
// Ready returned so far: from now on the BBS may overwrite those slices' arrays and the
// model.ActualLRP and model.DesiredLRP copies their events' Actual and Desired fields
// point to, and it reuses them for the following batches instead of allocating new ones
// (the copy per actual LRP event, 160 bytes, was the largest allocation of a
// simulation's steady state; the copy per desired LRP, ~190 bytes, was 1.5 GB of a
// set-up of 8 million apps).
//
// It is opt-in: a BBS whose owner never calls it keeps the contract of Ready (every
// batch and every row copy stays valid for as long as it is kept). A caller may call it
// only when nothing of an earlier batch's Events or LRPStarts is still in use: neither
// the slices, nor an Event (an Event's Task copy is never reused and may be kept), nor
// a *model.ActualLRP or *model.DesiredLRP read from one; values copied out of them (the
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
	// Copies: restart at the front of the pools. Every Actual and Desired of an event
	// is a copy carved from its pool (actualCopy, desiredCopy). The pending events'
	// copies come after every copy handed out since the last release, in pool order
	// (copies are carved in order and Ready hands events out in order), so copying them
	// to the front in order only ever writes a slot at or before the one it reads,
	// never an unread one.
	b.rowCopies.restart()
	b.desiredCopies.restart()
	for i := range b.out.Events {
		if a := b.out.Events[i].Actual; a != nil {
			tmp := *a
			b.out.Events[i].Actual = b.actualCopy(&tmp)
		}
		if d := b.out.Events[i].Desired; d != nil {
			tmp := *d
			b.out.Events[i].Desired = b.desiredCopy(&tmp)
		}
	}
}

// Bounds of the storage ReleaseReady keeps for reuse. recycleStarts holds the start
// requests of the simulator's set-up batches (256 apps of up to 4 instances between
// flushes in Diego's 250k mix) with room to spare: at 1,024 the array of such a batch
// outgrew the bound, was let go at each release and grown again from a quarter of it,
// 1.2 GB of garbage in a set-up of 10 million instances; at 4,096 its base (a quarter,
// 1,024) was filled exactly by a batch of 4-instance apps, so handOff, finding no room
// left, made a new one for each (180 MB of garbage at 10,000,000 instances).
const (
	recycleRows   = 32 * rowChunk // 2,048 row and 2,048 desired copies, 320 + 400 KB
	recycleEvents = 4096          // 128 KB
	recycleStarts = 8192          // ~920 KB, a base of 2,048 (~230 KB)
)

// copyPool is where the copies events point to are carved from: cur is the rest of
// the current chunk of rowChunk copies. Without recycling each chunk is new; with it
// (ReleaseReady) the chunks come from pool, which keeps the first recycleRows/rowChunk
// chunks taken since the last release (later ones are not kept), reused from next = 0
// after each release.
type copyPool[T any] struct {
	cur  []T
	pool [][]T
	next int
}

// copyOf returns a copy of v in the next free slot.
func (c *copyPool[T]) copyOf(v *T, recycle bool) *T {
	if len(c.cur) == 0 {
		c.nextChunk(recycle)
	}
	cp := &c.cur[0]
	c.cur = c.cur[1:]
	*cp = *v
	return cp
}

// nextChunk makes cur the next chunk: a new one, or with recycling the next one of the
// pool.
func (c *copyPool[T]) nextChunk(recycle bool) {
	if !recycle {
		c.cur = make([]T, rowChunk)
		return
	}
	if c.next == len(c.pool) {
		if len(c.pool) == recycleRows/rowChunk { // full: a chunk of its own, as without recycling
			c.cur = make([]T, rowChunk)
			return
		}
		c.pool = append(c.pool, make([]T, rowChunk))
	}
	c.cur = c.pool[c.next]
	c.next++
}

// restart makes the next copy the first slot of the pool (the caller released them).
func (c *copyPool[T]) restart() { c.next, c.cur = 0, nil }

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
