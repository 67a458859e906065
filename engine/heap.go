package engine

import (
	"math/bits"
	"time"
)

// The near heap (the events scheduled into a bucket already taken into the run; queue.go)
// is an implicit 4-ary min-heap of entries ordered by (at, seq). A 4-ary heap has half the
// depth of a binary one; a node's four children are adjacent. Kernel.pos maps each slot
// in the heap to its entry's index, so Cancel can remove an arbitrary entry in O(log n).

// entry is one heap element: 16 bytes, so a node's four children fill one 64-byte cache
// line. key packs the scheduling sequence number above the slot index; sequence numbers are
// unique, so comparing keys compares sequences and the slot bits never decide.
type entry struct {
	at  time.Duration // >= 0 always: the clock starts at 0 and never schedules backwards
	key uint64        // seq<<slotBits | slot
}

const (
	arity = 4
	// slotBits bounds the number of simultaneously pending events (2^27 = 134,217,728),
	// which leaves 37 bits of sequence number (about 1.4e11 schedules) before renumber.
	slotBits = 27
	slotMask = 1<<slotBits - 1
	maxSlots = 1 << slotBits
	seqBits  = 64 - slotBits
)

func (e *entry) slot() uint32 { return uint32(e.key & slotMask) }

// lessBit is 1 if a orders before b and 0 otherwise: entries are ordered by time, then by
// scheduling sequence (FIFO among equal times). It is a 128-bit unsigned comparison of
// (at, key) computed with borrows instead of branches, because the outcome of comparing
// random times is unpredictable and a mispredicted branch per heap level costs more than
// the arithmetic. Valid because at is never negative.
func lessBit(a, b *entry) uint64 {
	_, borrow := bits.Sub64(a.key, b.key, 0)
	_, borrow = bits.Sub64(uint64(a.at), uint64(b.at), borrow)
	return borrow
}

// less reports whether a orders before b (see lessBit).
func less(a, b *entry) bool { return lessBit(a, b) != 0 }

// renumber gives the pending entries fresh sequence numbers 0..n-1 in their current
// (at, seq) order and restarts the counter at n. Order is preserved, so the near heap and
// the run stay valid and no position changes; cancelled entries of the far tier are freed first
// (queue.go). It runs when the sequence counter reaches k.seqLimit: once every ~1.4e11
// schedules by default (allocates a temporary index, which is fine at that rate).
func (k *Kernel) renumber() {
	k.compactFar()
	for seq, e := range k.pendingEntries() {
		e.key = uint64(seq)<<slotBits | uint64(e.slot())
	}
	k.seq = uint64(k.pending)
}

// heapPad is the number of unused entries before the root in the heap's backing array. With
// the root at backing index 3, the children of node i (4i+1 .. 4i+4) sit at backing indexes
// 4(i+1) .. 4(i+1)+3: the four 16-byte children share one 64-byte cache line whenever the
// backing array is 64-byte aligned (Go page-aligns allocations above 32 KiB).
const heapPad = arity - 1

// growHeap moves the heap into a new backing array with room for n entries, keeping the
// padding so the cache-line alignment of sibling groups survives growth.
func (k *Kernel) growHeap(n int) {
	if n <= cap(k.heap) {
		return
	}
	backing := make([]entry, heapPad+len(k.heap), heapPad+n)
	copy(backing[heapPad:], k.heap)
	k.heap = backing[heapPad:]
}

// up moves the entry at index i towards the root until its parent is not greater.
func (k *Kernel) up(i int) {
	h := k.heap
	e := h[i]
	for i > 0 {
		p := (i - 1) / arity
		if !less(&e, &h[p]) {
			break
		}
		h[i] = h[p]
		k.pos[h[i].slot()] = int32(i)
		i = p
	}
	h[i] = e
	k.pos[e.slot()] = int32(i)
}

// removeAt deletes the entry at index i and restores the heap order. It uses Floyd's
// bottom-up method: the hole at i descends along smallest children to a leaf (three
// comparisons per level, no comparison with the moved element), then the last entry fills
// the hole and sifts up, usually by zero or one level since it came from the bottom.
func (k *Kernel) removeAt(i int) {
	h := k.heap
	last := len(h) - 1
	x := h[last]
	h = h[:last]
	k.heap = h
	if i == last {
		return
	}
	n := last
	for {
		c := i*arity + 1
		if c >= n {
			break
		}
		var m int
		if c+arity <= n {
			// Tournament over the four children, selected with arithmetic, not branches.
			ch := h[c : c+arity : c+arity]
			a := lessBit(&ch[1], &ch[0])     // index of the smaller of ch[0], ch[1]
			b := 2 + lessBit(&ch[3], &ch[2]) // index of the smaller of ch[2], ch[3]
			w := lessBit(&ch[b], &ch[a])     // 1 if ch[b] wins
			m = c + int(a^((a^b)&-w))
		} else {
			m = c
			for j := c + 1; j < n; j++ {
				if less(&h[j], &h[m]) {
					m = j
				}
			}
		}
		h[i] = h[m]
		k.pos[h[i].slot()] = int32(i)
		i = m
	}
	h[i] = x
	k.up(i)
}
