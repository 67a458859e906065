package engine

import (
	"math/bits"
	"slices"
	"time"
)

// The pending events are kept in five tiers by time: a sorted run and a small heap in
// front of a hierarchical timing wheel and a far heap. A fine bucket is at >> fineShift
// (2^16 ns, about 66 µs); a coarse bucket is at >> bucketShift (2^28 ns, about a quarter
// of a second: fineBuckets fine buckets).
//
//   - run (run.go): the events of the buckets taken so far, sorted by (at, seq) when taken
//     and popped from the front in O(1);
//   - near: the 4-ary heap of heap.go holds the events scheduled into a taken bucket
//     afterwards (fine bucket below k.hf), usually few;
//   - fine: fineBuckets unsorted buckets hold the events of fine buckets hf and up whose
//     coarse bucket is below k.hb (at most one coarse bucket's worth), appended in O(1);
//   - coarse: ringBuckets unsorted buckets hold the events of coarse buckets
//     hb .. hb+ringBuckets-1 (about 18 minutes ahead), appended in O(1);
//   - far: a binary min-heap by (at, seq), without position index, holds the rest.
//
// The run's and the near heap's events order before every event of the tiers after them,
// so the next event is the smaller of the run's front and the heap's root. When both are
// empty, refill takes the next non-empty fine bucket into the run (topUp does the same
// early when fewer than nearLow events are left in the run, so that the slots of the next
// events can be prefetched and the Prefetcher's lookahead sees them). When the fine
// buckets are empty, refill takes the next coarse bucket: one with more than k.spreadMin
// events is spread over the fine buckets (the clock is about to enter a dense quarter
// second, whose new events must go to fine buckets, not all to the near heap), a smaller
// one goes into the run whole (then the fine window is empty). The far events move into
// the coarse ring as its window slides, or the window jumps to the earliest far event
// when the ring is empty.
//
// A bucket is sorted into the run by a radix sort on the bytes of at that differ within
// it (two passes for a fine bucket) and its ties by key (run.go), linear in its size. So
// popping costs no comparison at all, the heap holds the few events scheduled less than a
// bucket ahead, and no tier holds every pending event at log(n) cache misses per
// operation. Events keep their sequence number on the way, so the order is still exactly
// (time, sequence): the tiers change the cost, never the order.
//
// Invariants (hb and hf only grow): (hb-1)<<fineBits <= hf <= hb<<fineBits, so the fine
// window never spans more than fineBuckets buckets: fine bucket f sits at index
// f & fineMask of k.ring, coarse bucket c at fineBuckets + c & ringMask; fineUsed marks
// the non-empty fine buckets and ringUsed the non-empty coarse ones. Every event of the
// run and the near heap is in a fine bucket below hf; the run's own invariants are in
// run.go.
//
// pos[s] says where slot s's entry is: its index in the near heap (>= 0), posRun - i for
// k.run[i], posRing - i for index i of bucket k.ring[slot.rb], or posFree, posFar,
// posFarCancelled. Cancel removes a fine or coarse event at once (swap with the bucket's
// last), a heap event by sifting, and marks a run event dead (it is skipped when reached;
// its slot is freed at once). A far event is only marked (posFarCancelled) and loses its
// handler; its slot is freed when the queue reaches it.

const (
	bucketShift = 28 // coarse bucket width 2^28 ns = 268 ms
	ringBuckets = 1 << 12
	ringMask    = ringBuckets - 1

	fineShift   = 16 // fine bucket width 2^16 ns = 66 µs
	fineBits    = bucketShift - fineShift
	fineBuckets = 1 << fineBits // one coarse bucket's worth
	fineMask    = fineBuckets - 1

	// pos values of a slot that is not in the near heap
	posFree         = -1 // not pending
	posFar          = -2 // pending in far
	posFarCancelled = -3 // cancelled in far, not yet freed
	posRing         = -4 // pending in a bucket (fine or coarse) at index posRing-pos of k.ring[slot.rb]

	// bigBucket is the capacity above which an emptied bucket gives its array back (to the
	// spares, or to the collector when there are spareBuckets of them already).
	bigBucket    = 1024
	spareBuckets = 32
	// spreadMin is the default of Kernel.spreadMin: the size above which a coarse bucket
	// is spread over the fine buckets; a smaller one is sorted into the run whole (sparse
	// events skip the second append).
	spreadMin = 512
	// nearLow is the number of events topUp keeps in the run when it can.
	nearLow = 32
	// nearReserve caps the near heap's room made by Reserve.
	nearReserve = 1 << 16
)

func bucketOf(at time.Duration) int64 { return int64(at) >> bucketShift }
func fineOf(at time.Duration) int64   { return int64(at) >> fineShift }

// enqueue files entry e (slot s) into the tier of its time.
func (k *Kernel) enqueue(e entry, s uint32) {
	f := fineOf(e.at)
	if f < k.hf {
		k.nearPush(e)
		return
	}
	switch b := f >> fineBits; {
	case b < k.hb:
		k.fineAppend(e, s)
	case b < k.hb+ringBuckets:
		k.coarseAppend(e, s, b)
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

// ringAppend appends entry e (slot s) to bucket rb of k.ring (fine or coarse).
func (k *Kernel) ringAppend(e entry, s uint32, rb uint32) {
	if k.ring == nil {
		k.ring = make([][]entry, fineBuckets+ringBuckets)
	}
	r := &k.ring[rb]
	if len(*r) == cap(*r) {
		k.growBucket(r)
	}
	k.pos[s] = posRing - int32(len(*r))
	k.slots[s].rb = rb
	*r = append(*r, e)
}

// fineAppend appends entry e (slot s) to its fine bucket and marks the bucket in use.
func (k *Kernel) fineAppend(e entry, s uint32) {
	i := uint32(fineOf(e.at) & fineMask)
	k.ringAppend(e, s, i)
	k.fineUsed[i/64] |= 1 << (i % 64)
	k.fineN++
}

// coarseAppend appends entry e (slot s) to coarse bucket b and marks the bucket in use.
func (k *Kernel) coarseAppend(e entry, s uint32, b int64) {
	i := uint32(b & ringMask)
	k.ringAppend(e, s, fineBuckets+i)
	k.ringUsed[i/64] |= 1 << (i % 64)
	k.ringN++
}

// growBucket makes room in a full bucket: it swaps in the top spare array when that one
// is larger (a big array it replaces becomes the spare), so that buckets which fill and
// empty at a steady rate reuse arrays instead of growing new ones. Otherwise append
// grows the bucket.
func (k *Kernel) growBucket(r *[]entry) {
	n := len(k.spare)
	if n == 0 || cap(k.spare[n-1]) <= cap(*r) {
		return
	}
	old := *r
	*r = append(k.spare[n-1][:0], old...)
	if cap(old) > bigBucket {
		k.spare[n-1] = old[:0]
	} else {
		k.spare[n-1] = nil
		k.spare = k.spare[:n-1]
	}
}

// emptyBucket resets bucket r after its entries moved on: a big array goes to the spares
// (or the collector), so a burst does not keep its room in one bucket for good.
func (k *Kernel) emptyBucket(r *[]entry) {
	if cap(*r) <= bigBucket {
		*r = (*r)[:0]
		return
	}
	if len(k.spare) < spareBuckets {
		k.spare = append(k.spare, (*r)[:0])
	}
	*r = nil
}

// ringRemove takes slot s's entry (index i of its bucket) out of its bucket.
func (k *Kernel) ringRemove(s uint32, i int) {
	rb := k.slots[s].rb
	r := &k.ring[rb]
	last := len(*r) - 1
	if i != last {
		m := (*r)[last]
		(*r)[i] = m
		k.pos[m.slot()] = posRing - int32(i)
	}
	*r = (*r)[:last]
	if rb < fineBuckets {
		k.fineN--
		if last == 0 {
			k.fineUsed[rb/64] &^= 1 << (rb % 64)
		}
	} else {
		k.ringN--
		if last == 0 {
			c := rb - fineBuckets
			k.ringUsed[c/64] &^= 1 << (c % 64)
		}
	}
}

// refill makes the run or the near heap hold the next pending event, if any is pending:
// it sorts fine buckets into the run (one each time), takes the next coarse bucket (into
// the run, or spread over the fine buckets) when those are empty (the coarse window slides
// one bucket), and, when the coarse ring is empty too, jumps the coarse window to the
// earliest far event.
func (k *Kernel) refill() {
	if len(k.heap) == 0 && cap(k.heap) > nearReserve {
		k.heap = nil // a burst is over: do not keep its room for good
	}
	for k.idle() && k.pending > 0 {
		if k.fineN > 0 {
			k.nextFine()
			continue
		}
		if k.ringN == 0 {
			k.dropCancelledFar()
			if len(k.far) == 0 {
				return // unreachable while pending > 0; defensive
			}
			k.hb = max(k.hb, bucketOf(k.far[0].at))
			k.pullFar()
			continue
		}
		// The fine buckets are empty: skip to the first non-empty coarse bucket (the far
		// events are beyond the ring's window before the slide, so inside the ring's
		// window after it), then spread it over them, or, if it holds few events, sort it
		// into the run whole (then the fine window is empty).
		c := nextUsed(k.ringUsed[:], uint32(k.hb&ringMask))
		if d := int64((c - uint32(k.hb)) & ringMask); d > 0 {
			k.hb += d
			k.pullFar()
		}
		k.ringUsed[c/64] &^= 1 << (c % 64)
		r := &k.ring[fineBuckets+c]
		k.ringN -= len(*r)
		if len(*r) <= k.spreadMin {
			k.hf = (k.hb + 1) << fineBits
			k.takeBucket(*r)
		} else {
			k.hf = k.hb << fineBits
			for _, e := range *r {
				k.fineAppend(e, e.slot())
			}
		}
		k.emptyBucket(r)
		k.hb++
		k.pullFar()
	}
}

// nextFine appends the first non-empty fine bucket (fineN > 0), sorted, to the run and
// sets hf past it: the buckets before it are empty, so skipping them keeps the invariants.
func (k *Kernel) nextFine() {
	i := nextUsed(k.fineUsed[:], uint32(k.hf&fineMask))
	k.hf += int64((i - uint32(k.hf)) & fineMask)
	r := &k.ring[i]
	k.fineN -= len(*r)
	k.takeBucket(*r)
	k.emptyBucket(r)
	k.fineUsed[i/64] &^= 1 << (i % 64)
	k.hf++
}

// nextUsed returns the index of the first bit set in bitmap used (the non-empty fine or
// coarse buckets) at or after index i, circularly (the window starts at i and spans at
// most the bitmap). Some bit must be set.
func nextUsed(used []uint64, i uint32) uint32 {
	w := i / 64
	if m := used[w] >> (i % 64); m != 0 {
		return i + uint32(bits.TrailingZeros64(m))
	}
	for n := uint32(1); n <= uint32(len(used)); n++ {
		j := (w + n) % uint32(len(used))
		if m := used[j]; m != 0 {
			return j*64 + uint32(bits.TrailingZeros64(m))
		}
	}
	panic("engine: no bucket in use while the tier counts some")
}

// topUp moves fine buckets into the run until it holds nearLow events or the fine
// buckets are empty, so that the next few events are known (for the slot prefetch and the
// Prefetcher's announcements) even where events are sparser than one per fine bucket. It
// never goes past the fine buckets (the current coarse bucket).
func (k *Kernel) topUp() {
	for k.runLen() < nearLow && k.fineN > 0 {
		k.nextFine()
	}
}

// pullFar moves the far events whose bucket entered the coarse window into the coarse
// ring. They are at bucket hb+ringBuckets-1 or later before the window moves one bucket,
// and at hb or later after a jump to the earliest: inside the ring either way.
func (k *Kernel) pullFar() {
	for len(k.far) > 0 && bucketOf(k.far[0].at) < k.hb+ringBuckets {
		e := k.farPop()
		s := e.slot()
		if k.pos[s] == posFarCancelled {
			k.release(s)
			continue
		}
		k.coarseAppend(e, s, bucketOf(e.at))
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
	for i := k.rh; i < len(k.run); i++ {
		if k.run[i].at >= 0 {
			all = append(all, &k.run[i])
		}
	}
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
