package engine

import (
	"cmp"
	"slices"
)

// The sorted run (the front of the queue, see queue.go): when the queue takes a bucket (a
// fine one, or a coarse one too small to spread), it sorts the bucket's entries by (at, key) and appends them to k.run, and the
// events are popped from its front, k.run[k.rh], in O(1) and in sequence: no sift-down,
// and the slots of the next events are known, so fireNext prefetches the slot of the
// event runAhead places ahead while the current one runs.
//
// Invariants:
//   - k.run[k.rh:] is sorted by (at, key) and every entry in it is before every entry of
//     the fine buckets and the tiers after them (its fine buckets are below k.hf);
//   - an entry of k.run[k.rh:] is live (pos[s] == posRun - index) or dead (cancelled:
//     at < 0, its slot already freed and maybe reused, so a dead entry's slot is never
//     read); k.run[k.rh] is live whenever k.rh < len(k.run);
//   - the entries before k.rh have run or died and are garbage.
//
// Cancel marks an entry dead in O(1) (and moves k.rh past the dead ones at the front).
// The near heap (heap.go) holds what is scheduled into a fine bucket already taken; the
// next event is the smaller of the run's front and the heap's root.

const (
	// posRun is the pos of the run's first array element: a pending slot whose entry is
	// k.run[i] has pos posRun - i. Below posRing - maxSlots, so the two ranges are apart.
	posRun = -(1 << 29)
	// runAhead is how many events ahead of the next one fireNext prefetches a slot from
	// the run: far enough that the load completes during the events in between.
	runAhead = 8
	// radixMin is the default of Kernel.radixMin: buckets of more entries are sorted by
	// radix on the bytes of at below bucketShift, smaller ones by insertion.
	radixMin = 48
)

// runLen is the number of entries (live or dead) of the run not yet reached.
func (k *Kernel) runLen() int { return len(k.run) - k.rh }

// takeBucket appends bucket r, sorted by (at, key), to the run. Its entries are all in one
// bucket (fine or coarse) and after every entry of the run.
func (k *Kernel) takeBucket(r []entry) {
	n := len(r)
	if n == 0 {
		return
	}
	switch left := k.runLen(); {
	case left == 0:
		k.run = k.run[:0]
		k.rh = 0
		if cap(k.run) > nearReserve && n <= nearReserve {
			k.run = nil // a burst is over: do not keep its room for good
		}
	case k.rh >= left:
		k.compactRun() // moves at most as many entries as have been popped since the last time
	}
	base := len(k.run)
	if n <= k.radixMin {
		k.run = append(k.run, r...)
		insertionSort(k.run[base:])
	} else {
		if cap(k.run)-base < n {
			k.run = slices.Grow(k.run, n)
		}
		k.run = k.run[:base+n]
		radixSort(r, k.run[base:])
	}
	for i := base; i < len(k.run); i++ {
		k.pos[k.run[i].slot()] = posRun - int32(i)
	}
	// fireNext prefetches the slot runAhead events ahead: start on those before that.
	for i := base; i <= min(k.rh+runAhead, len(k.run)-1); i++ {
		prefetchSlot(&k.slots[k.run[i].slot()])
	}
}

// compactRun moves the live entries of the run not yet reached to its start.
func (k *Kernel) compactRun() {
	j := 0
	for _, e := range k.run[k.rh:] {
		if e.at < 0 {
			continue
		}
		k.run[j] = e
		k.pos[e.slot()] = posRun - int32(j)
		j++
	}
	k.run = k.run[:j]
	k.rh = 0
}

// runCancel marks the run's entry i dead (its slot is freed by the caller).
func (k *Kernel) runCancel(i int) {
	k.run[i].at = -1
	if i == k.rh {
		k.skipDead()
	}
}

// skipDead moves k.rh past the dead entries at the run's front.
func (k *Kernel) skipDead() {
	for k.rh < len(k.run) && k.run[k.rh].at < 0 {
		k.rh++
	}
}

// radixSort writes the entries of src to dst (as long) sorted by (at, key). They are all
// in one bucket (fine or coarse: their at agree above bit bucketShift), so stable counting
// passes on the bytes of at below bucketShift order them by at; a pass is skipped where
// all entries share the byte (a fine bucket's upper two). Entries of equal at keep src's
// order, which is mostly but not always the scheduling order (Cancel swaps the last entry
// of a bucket into the hole), so the runs of equal at are then sorted by key. src is used
// as the scratch space and left garbage.
func radixSort(src, dst []entry) {
	const bytes = (bucketShift + 7) / 8
	var c [bytes][256]int32
	a0 := uint64(src[0].at)
	var diff uint64
	for i := range src {
		a := uint64(src[i].at)
		diff |= a ^ a0
		c[0][a&0xff]++
		c[1][a>>8&0xff]++
	}
	if diff>>16 != 0 {
		for i := range src {
			a := uint64(src[i].at)
			c[2][a>>16&0xff]++
			c[3][a>>24&0xff]++
		}
	}
	from, to := src, dst
	for b := range bytes {
		if diff>>(8*b)&0xff == 0 {
			continue // one value of this byte: the pass would not move anything
		}
		cb := &c[b]
		var sum int32
		for v := range cb {
			sum, cb[v] = sum+cb[v], sum
		}
		sh := 8 * b
		for _, e := range from {
			v := uint64(e.at) >> sh & 0xff
			to[cb[v]] = e
			cb[v]++
		}
		from, to = to, from
	}
	if &from[0] != &dst[0] {
		copy(dst, from)
	}
	for i := 1; i < len(dst); {
		if dst[i].at != dst[i-1].at {
			i++
			continue
		}
		j := i + 1 // dst[i-1 : j] share one at
		for j < len(dst) && dst[j].at == dst[i-1].at {
			j++
		}
		sortByKey(dst[i-1 : j])
		i = j + 1
	}
}

// sortByKey sorts entries of one at by key (the scheduling order).
func sortByKey(es []entry) {
	if len(es) <= 16 {
		insertionSort(es)
		return
	}
	slices.SortFunc(es, func(a, b entry) int { return cmp.Compare(a.key, b.key) })
}

// insertionSort sorts es by (at, key): for the few entries of a sparse bucket or a tie.
func insertionSort(es []entry) {
	for i := 1; i < len(es); i++ {
		e := es[i]
		j := i
		for j > 0 && less(&e, &es[j-1]) {
			es[j] = es[j-1]
			j--
		}
		es[j] = e
	}
}
