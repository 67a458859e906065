package auction

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
)

// Schedule's first two steps, de-duplication and placement order, for batches of any
// size: small batches (the steady state's) by a scan and comparison sorts, big ones
// (a first auction of millions of instances) in linear time.

// bigOrder is the smallest number of LRPs Schedule orders by a counting sort rather
// than a comparison sort.
const bigOrder = 1024

// maxMemKinds is the most distinct LRP memory figures the counting sort takes; a batch
// with more is ordered by the comparison sort.
const maxMemKinds = 256

// dedupe returns the batch's LRPs de-duplicated by (process guid, index), first wins,
// in input order, with the interned guid of each (appended to gids).
func (s *State) dedupe(b *Batch, gids []int32) ([]LRPResult, []int32) {
	res := make([]LRPResult, 0, len(b.LRPs))
	if cap(gids) < len(b.LRPs) {
		gids = make([]int32, 0, len(b.LRPs))
	}
	var big bigDedupe
	if len(b.LRPs) > dedupeScan {
		big.limit = 4*len(b.LRPs) + 1024
	}
	lastGUID, lastGID := "", int32(-1)
	for i := range b.LRPs {
		l := &b.LRPs[i]
		// The same guid as the last item's: not interned again.
		if lastGID < 0 || !s.sameGUID(l.ProcessGUID, lastGUID) {
			lastGUID, lastGID = l.ProcessGUID, s.internGUID(l.ProcessGUID)
		}
		if big.limit > 0 {
			if big.seen(res, gids, lastGID, l.Index) {
				continue
			}
		} else if seenLRP(res, gids, lastGID, l.Index) {
			continue
		}
		res = append(res, LRPResult{LRP: l})
		gids = append(gids, lastGID)
	}
	return res, gids
}

// bigDedupe de-duplicates a big batch of LRPs with no per-instance map in the common
// case: per guid id, next[gid] = k >= 0 says that the indices seen so far are exactly
// 0..k-1 (each once, in that order: how instances are desired), so index k is new and
// any index in [0, k) a repeat. A guid whose indices break that pattern (a gap, a
// negative or huge index, an out-of-order one) is converted once: its indices 0..k-1
// go into the map and next[gid] becomes -1 (the map holds all of its indices from then
// on), so the cost stays O(1) amortised per item. next covers guid ids below limit
// (a few times the batch size, so the array is never much bigger than the batch);
// above it every guid goes to the map.
type bigDedupe struct {
	limit int
	next  []int32
	slow  map[lrpKey]struct{}
	// allSlow: a guid id at or above limit came; every key of the results so far was
	// put in slow, which now decides alone
	allSlow bool
}

// seen reports whether (gid, index) is among the results so far (res, with guid ids
// gids), and records it when not (the caller appends it to the results).
func (d *bigDedupe) seen(res []LRPResult, gids []int32, gid int32, index int) bool {
	if !d.allSlow && int(gid) >= len(d.next) {
		if int(gid) < d.limit {
			n := min(max(int(gid)+1, 2*len(d.next), 1024), d.limit)
			d.next = slices.Grow(d.next, n-len(d.next))[:n]
		} else {
			d.allSlow = true
			d.next = nil
			if d.slow == nil {
				d.slow = make(map[lrpKey]struct{}, len(res))
			}
			for j := range res {
				d.slow[lrpKey{gids[j], res[j].Index}] = struct{}{}
			}
		}
	}
	if !d.allSlow {
		k := d.next[gid]
		if k >= 0 {
			switch {
			case index == int(k) && k < math.MaxInt32:
				d.next[gid] = k + 1
				return false
			case index >= 0 && index < int(k):
				return true
			}
			// leave the pattern: the map takes this guid from now on
			if d.slow == nil {
				d.slow = map[lrpKey]struct{}{}
			}
			for j := range int(k) {
				d.slow[lrpKey{gid, j}] = struct{}{}
			}
			d.next[gid] = -1
		}
	}
	key := lrpKey{gid, index}
	if _, dup := d.slow[key]; dup {
		return true
	}
	d.slow[key] = struct{}{}
	return false
}

// placementOrder returns the placement order of the de-duplicated items (DIEGO.md
// §1.6 quirks 1 and 2): index-0 LRPs by memory descending, then tasks by memory
// descending, then the other LRPs by index ascending then memory descending, each
// stable with respect to the input. order is scratch to reuse.
func placementOrder(res *Results, order []workItem) []workItem {
	if len(res.LRPs) >= bigOrder {
		if o, ok := countingOrder(res, order); ok {
			return o
		}
	}
	order = order[:0]
	for i := range res.LRPs {
		if res.LRPs[i].Index == 0 {
			order = append(order, workItem{i: i})
		}
	}
	n0 := len(order)
	for i := range res.Tasks {
		order = append(order, workItem{task: true, i: i})
	}
	n1 := len(order)
	for i := range res.LRPs {
		if res.LRPs[i].Index != 0 {
			order = append(order, workItem{i: i})
		}
	}
	// Unstable sorts with the input position as the last key: the same order as a
	// stable sort, without its O(n log^2 n) merging.
	lrpMem := func(w workItem) int { return res.LRPs[w.i].MemoryMB }
	slices.SortFunc(order[:n0], func(a, b workItem) int {
		if c := cmp.Compare(lrpMem(b), lrpMem(a)); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	sortTasks(res, order[n0:n1])
	slices.SortFunc(order[n1:], func(a, b workItem) int {
		if c := cmp.Compare(res.LRPs[a.i].Index, res.LRPs[b.i].Index); c != 0 {
			return c
		}
		if c := cmp.Compare(lrpMem(b), lrpMem(a)); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	return order
}

// sortTasks orders the tasks' work items (in input order) by memory descending, stable.
func sortTasks(res *Results, items []workItem) {
	slices.SortFunc(items, func(a, b workItem) int {
		if c := cmp.Compare(res.Tasks[b.i].MemoryMB, res.Tasks[a.i].MemoryMB); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
}

// memTable maps the distinct memory figures of a batch's LRPs to a small number (their
// rank once ranked): open addressing over 2*maxMemKinds slots, with the last figure
// looked up cached (an app's instances come together).
type memTable struct {
	keys     [2 * maxMemKinds]int
	vals     [2 * maxMemKinds]int32
	used     [2 * maxMemKinds]bool
	n        int
	lastKey  int
	lastVal  int32
	lastUsed bool
}

func memHome(m int) int {
	return int((uint64(m) * 0x9E3779B97F4A7C15) >> (64 - bits.Len(2*maxMemKinds-1)))
}

// slot returns the slot of m, adding it (value -1) when absent, or -1 when the table
// is full.
func (t *memTable) slot(m int) int {
	const mask = 2*maxMemKinds - 1
	i := memHome(m)
	for ; t.used[i]; i = (i + 1) & mask {
		if t.keys[i] == m {
			return i
		}
	}
	if t.n == maxMemKinds {
		return -1
	}
	t.used[i], t.keys[i], t.vals[i] = true, m, -1
	t.n++
	return i
}

// rank returns the value of m (present).
func (t *memTable) rank(m int) int32 {
	if t.lastUsed && m == t.lastKey {
		return t.lastVal
	}
	v := t.vals[t.slot(m)]
	t.lastKey, t.lastVal, t.lastUsed = m, v, true
	return v
}

// countingOrder is placementOrder by counting sorts, in O(items + buckets): each LRP
// falls in a bucket by (index, memory rank) (index-0 LRPs by memory rank alone), the
// buckets are laid out in placement order and each LRP goes to the next slot of its
// bucket in input order, so each bucket keeps the input order (stable). It reports
// false when the batch has more than maxMemKinds memory figures, or indices too spread
// out for a bucket array of the batch's size.
func countingOrder(res *Results, order []workItem) ([]workItem, bool) {
	var mt memTable
	n0 := 0
	minI, maxI := math.MaxInt, math.MinInt
	lastMem := 0
	for i := range res.LRPs {
		l := res.LRPs[i].LRP
		if i == 0 || l.MemoryMB != lastMem {
			if mt.slot(l.MemoryMB) < 0 {
				return nil, false
			}
			lastMem = l.MemoryMB
		}
		if l.Index == 0 {
			n0++
		} else {
			minI, maxI = min(minI, l.Index), max(maxI, l.Index)
		}
	}
	n := len(res.LRPs)
	spread := uint64(0) // number of index values from minI to maxI
	if n0 < n {
		spread = uint64(maxI) - uint64(minI) + 1 // exact in uint64 arithmetic
		if spread == 0 || spread > uint64(max(n, 1<<16))/uint64(mt.n) {
			return nil, false
		}
	}
	// ranks: memory descending
	mems := make([]int, 0, mt.n)
	for i, u := range mt.used {
		if u {
			mems = append(mems, mt.keys[i])
		}
	}
	slices.Sort(mems)
	for r, m := range mems {
		mt.vals[mt.slot(m)] = int32(len(mems) - 1 - r)
	}
	kinds := mt.n
	// bucket b: [0, kinds) the index-0 LRPs by rank; kinds + (index-minI)*kinds + rank
	// the others
	bucket := func(l *LRP) int {
		r := int(mt.rank(l.MemoryMB))
		if l.Index == 0 {
			return r
		}
		return kinds + int(uint64(l.Index)-uint64(minI))*kinds + r
	}
	start := make([]int, kinds+int(spread)*kinds+1)
	for i := range res.LRPs {
		start[bucket(res.LRPs[i].LRP)+1]++
	}
	nt := len(res.Tasks)
	for b := 1; b < len(start); b++ {
		start[b] += start[b-1]
	}
	for b := kinds; b < len(start); b++ {
		start[b] += nt // the tasks come between the two LRP groups
	}
	total := n + nt
	if cap(order) < total {
		order = make([]workItem, total)
	}
	order = order[:total]
	for i := range res.LRPs {
		b := bucket(res.LRPs[i].LRP)
		order[start[b]] = workItem{i: i}
		start[b]++
	}
	for i := range res.Tasks {
		order[n0+i] = workItem{task: true, i: i}
	}
	sortTasks(res, order[n0:n0+nt])
	return order, true
}
