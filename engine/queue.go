package engine

import (
	"slices"
	"time"
)

// The pending events are kept in three tiers by time bucket (at >> bucketShift, about a
// quarter of a second each):
//
//   - near: the 4-ary heap of heap.go holds every pending event of a bucket below k.hb;
//   - ring: ringBuckets unsorted buckets hold the events of buckets hb .. hb+ringBuckets-1
//     (about 18 minutes ahead), appended in O(1);
//   - far: a binary min-heap by (at, seq), without position index, holds the rest.
//
// Every near event orders before every ring or far event, so the near heap's root is the
// next event whenever the near heap is not empty. When it runs dry, refill moves the next
// bucket into it (and far events into the ring as the window slides). A simulation's
// timers are seconds to minutes ahead while only a few hundred events fall in any quarter
// second: the heap stays small enough for the cache, instead of holding every pending
// timer at log(n) cache misses per operation. Events keep their sequence number on the
// way, so the order is still exactly (time, sequence): the tiers change the cost, never
// the order.
//
// Cancel removes a ring event at once (its slot knows its bucket, pos its index there:
// swap with the bucket's last). A far event is only marked (posFarCancelled) and loses its
// handler; its slot is freed when the queue reaches it.

const (
	bucketShift = 28 // bucket width 2^28 ns = 268 ms
	ringBuckets = 1 << 12
	ringMask    = ringBuckets - 1

	// pos values of a slot that is not in the near heap
	posFree         = -1 // not pending
	posFar          = -2 // pending in far
	posFarCancelled = -3 // cancelled in far, not yet freed
	posRing         = -4 // pending in the ring at index posRing-pos of bucket slot.rb

	// bigBucket is the capacity above which an emptied bucket gives its array back.
	bigBucket = 1024
	// nearReserve caps the near heap's room made by Reserve.
	nearReserve = 1 << 16
)

func bucketOf(at time.Duration) int64 { return int64(at) >> bucketShift }

// enqueue files entry e (slot s) into the tier of its bucket.
func (k *Kernel) enqueue(e entry, s uint32) {
	switch b := bucketOf(e.at); {
	case b < k.hb:
		k.nearPush(e)
	case b < k.hb+ringBuckets:
		k.ringAppend(e, s, b)
	default:
		k.farPush(e)
		k.pos[s] = posFar
	}
}

func (k *Kernel) nearPush(e entry) {
	i := len(k.heap)
	if i == cap(k.heap) {
		k.growHeap(2*i + 64)
	}
	k.heap = append(k.heap, e)
	k.up(i)
}

func (k *Kernel) ringAppend(e entry, s uint32, b int64) {
	if k.ring == nil {
		k.ring = make([][]entry, ringBuckets)
	}
	rb := uint32(b & ringMask)
	r := &k.ring[rb]
	k.pos[s] = posRing - int32(len(*r))
	k.slots[s].rb = rb
	*r = append(*r, e)
	k.ringN++
}

// ringRemove takes slot s's entry (index i of its bucket) out of the ring.
func (k *Kernel) ringRemove(s uint32, i int) {
	r := &k.ring[k.slots[s].rb]
	last := len(*r) - 1
	if i != last {
		m := (*r)[last]
		(*r)[i] = m
		k.pos[m.slot()] = posRing - int32(i)
	}
	*r = (*r)[:last]
	k.ringN--
}

// refill makes the near heap hold the next pending event, if any is pending: it moves
// buckets from the ring (the window slides one bucket each time) and, when the ring is
// empty, jumps the window to the earliest far event.
func (k *Kernel) refill() {
	if len(k.heap) == 0 && cap(k.heap) > nearReserve {
		k.heap = nil // a burst is over: do not keep its room for good
	}
	for len(k.heap) == 0 && k.pending > 0 {
		if k.ringN == 0 {
			k.dropCancelledFar()
			if len(k.far) == 0 {
				return // unreachable while pending > 0; defensive
			}
			k.hb = max(k.hb, bucketOf(k.far[0].at))
			k.pullFar()
			continue
		}
		r := &k.ring[k.hb&ringMask]
		k.ringN -= len(*r)
		for _, e := range *r {
			k.nearPush(e)
		}
		if cap(*r) > bigBucket {
			*r = nil // a burst (a first auction's starts): do not keep its room for good
		} else {
			*r = (*r)[:0]
		}
		k.hb++
		k.pullFar()
	}
}

// pullFar moves the far events whose bucket entered the window into the ring. They are
// at bucket hb+ringBuckets-1 or later before the window moves one bucket, and at hb or
// later after a jump to the earliest: inside the ring either way.
func (k *Kernel) pullFar() {
	for len(k.far) > 0 && bucketOf(k.far[0].at) < k.hb+ringBuckets {
		e := k.farPop()
		s := e.slot()
		if k.pos[s] == posFarCancelled {
			k.release(s)
			continue
		}
		k.ringAppend(e, s, bucketOf(e.at))
	}
}

// dropCancelledFar frees the cancelled events at the top of the far heap.
func (k *Kernel) dropCancelledFar() {
	for len(k.far) > 0 && k.pos[k.far[0].slot()] == posFarCancelled {
		e := k.farPop()
		k.release(e.slot())
	}
}

func (k *Kernel) farPush(e entry) {
	k.far = append(k.far, e)
	h := k.far
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (k *Kernel) farPop() entry {
	h := k.far
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	k.far = h
	farDown(h, 0)
	return top
}

func farDown(h []entry, i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && less(&h[r], &h[l]) {
			m = r
		}
		if !less(&h[m], &h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// compactFar frees the cancelled events of the far heap, so that every queued entry is
// live (renumber needs that), and restores the far heap's order.
func (k *Kernel) compactFar() {
	out := k.far[:0]
	for _, e := range k.far {
		if k.pos[e.slot()] == posFarCancelled {
			k.release(e.slot())
			continue
		}
		out = append(out, e)
	}
	k.far = out
	for i := len(out)/2 - 1; i >= 0; i-- {
		farDown(out, i)
	}
}

// pendingEntries returns pointers to every pending entry of every tier in (at, seq)
// order (after compactFar, all of them live).
func (k *Kernel) pendingEntries() []*entry {
	all := make([]*entry, 0, k.pending)
	for i := range k.heap {
		all = append(all, &k.heap[i])
	}
	for b := range k.ring {
		for i := range k.ring[b] {
			all = append(all, &k.ring[b][i])
		}
	}
	for i := range k.far {
		all = append(all, &k.far[i])
	}
	slices.SortFunc(all, func(a, b *entry) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return 0
	})
	return all
}
