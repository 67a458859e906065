package engine

import "slices"

// The sorted run (the front of the queue, see queue.go): when the queue takes a fine
// bucket, it sorts the bucket's entries by (at, key) and appends them to k.run, and the
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
	// radix on the at bits below fineShift, smaller ones by insertion.
	radixMin = 48
)

// runLen is the number of entries (live or dead) of the run not yet reached.
func (k *Kernel) runLen() int { return len(k.run) - k.rh }

// takeFine appends fine bucket r, sorted by (at, key), to the run. Its entries are all in
// one fine bucket (at >> fineShift is the same) and after every entry of the run.
func (k *Kernel) takeFine(r []entry) {
	n := len(r)
	switch live := k.runLen(); {
	case live == 0:
		k.run = k.run[:0]
		k.rh = 0
	case k.rh >= live:
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

// radixSort writes the entries of src, all in one fine bucket, to dst (as long) sorted
// by (at, key). Two stable counting passes on the bytes of at below fineShift order them
// by at; entries of equal at keep src's order, which is mostly but not always the
// scheduling order (Cancel swaps the last entry of a bucket into the hole), so the runs of
// equal at are then sorted by key. src is used as the scratch space and left garbage.
func radixSort(src, dst []entry) {
	var c0, c1 [256]int32
	for i := range src {
		a := uint64(src[i].at)
		c0[a&0xff]++
		c1[a>>8&0xff]++
	}
	var s0, s1 int32
	for b := range c0 {
		s0, c0[b] = s0+c0[b], s0
		s1, c1[b] = s1+c1[b], s1
	}
	for _, e := range src {
		b := uint64(e.at) & 0xff
		dst[c0[b]] = e
		c0[b]++
	}
	for _, e := range dst {
		b := uint64(e.at) >> 8 & 0xff
		src[c1[b]] = e
		c1[b]++
	}
	copy(dst, src)
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
	slices.SortFunc(es, func(a, b entry) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
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
