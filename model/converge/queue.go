package converge

import (
	"math"
	"slices"
	"sort"
	"time"
)

// dueQueue holds actual LRP keys (guid id, index) by a due time, for due times that
// mostly arrive in order: the UNCLAIMED rows, due at their since, which the BBS sets to
// the time of the write (and the CRASHED rows of one restart delay, see delayQueues).
// It is an array sorted by due in which a removed key leaves a hole; a key due no
// earlier than the last one is appended. So the common operations (a crash appends its
// row; a claim takes one out) write the key's own position and nothing else, where a
// heap would sift and rewrite the positions of the keys it moves, a cache miss on
// another guid record per level.
//
// Positions are kept in the guid records (guidTable.pos, slot which), as 1 + base +
// the index in items: dropping holes at the front (advancing head, then sliding the
// array down and adding to base) moves no position. A key due earlier than the last one is
// inserted in place, shifting the later ones (their positions are rewritten); a queue
// with more holes than keys is compacted (every position rewritten): both are rare,
// and Set on a key whose due does not change does nothing.
//
// Invariants: items[head:] is sorted by due (holes included: a hole keeps its due);
// items[:head] are holes; a key with position p sits at items[p-1-base]; holes counts
// the holes in items[head:]; the first and the last item of items[head:], if any, are
// keys.
type dueQueue struct {
	items []dueItem // a hole has id == holeID
	head  int
	holes int
	base  int32
	small int // consecutive tidies that found the array under a quarter full (see tidy)
	tab   *guidTable
	which int
}

// shrinkAfter bounds the operations an array must stay under a quarter full before
// tidy halves it (see tidy).
const shrinkAfter = 1 << 14

// holeID marks a removed item (guid ids stay far below it).
const holeID = math.MaxUint32

func newDueQueue(tab *guidTable, which int) dueQueue { return dueQueue{tab: tab, which: which} }

// reserve makes room for n more items at once (a start-up creating millions of
// UNCLAIMED rows would otherwise grow the array by copying it step by step).
func (q *dueQueue) reserve(n int) {
	if n > 0 {
		q.items = slices.Grow(q.items, n)
	}
}

// Len is the number of keys.
func (q *dueQueue) Len() int { return len(q.items) - q.head - q.holes }

// Set inserts (id, index) or moves it to due.
func (q *dueQueue) Set(id uint32, index int, due time.Duration) {
	if p := q.tab.pos(id, index, q.which); p > 0 {
		i := int(p - 1 - q.base)
		if q.items[i].due == due {
			return
		}
		q.hole(i)
		q.insert(dueItem{due: due, id: id, index: index})
		q.tidy()
		return
	}
	q.tab.recs[id].inHeap++
	q.insert(dueItem{due: due, id: id, index: index})
}

// holds reports whether (id, index) is in q, when its recorded position may be one in
// another queue sharing the slot (delayQueues): the item at that position is the key.
func (q *dueQueue) holds(id uint32, index int) bool {
	p := q.tab.pos(id, index, q.which)
	if p == 0 {
		return false
	}
	i := int(p-1) - int(q.base)
	return i >= q.head && i < len(q.items) && q.items[i].id == id && q.items[i].index == index
}

// Remove deletes (id, index) if present.
func (q *dueQueue) Remove(id uint32, index int) {
	p := q.tab.pos(id, index, q.which)
	if p == 0 {
		return
	}
	q.hole(int(p - 1 - q.base))
	q.tab.setPos(id, index, q.which, 0)
	q.tab.recs[id].inHeap--
	q.tidy()
}

// hole makes items[i] a hole (its position is the caller's to clear or rewrite) and
// trims the holes at both ends.
func (q *dueQueue) hole(i int) {
	q.items[i].id = holeID
	q.holes++
	for q.head < len(q.items) && q.items[q.head].id == holeID {
		q.head++
		q.holes--
	}
	for n := len(q.items); n > q.head && q.items[n-1].id == holeID; n = len(q.items) {
		q.items = q.items[:n-1]
		q.holes--
	}
	if q.head == len(q.items) { // empty: start over at the front
		q.base += int32(q.head)
		q.items, q.head = q.items[:0], 0
	}
}

// insert adds it (not in the queue) at its place by due and records its position.
func (q *dueQueue) insert(it dueItem) {
	n := len(q.items)
	if n == q.head || q.items[n-1].due <= it.due {
		q.items = append(q.items, it)
		q.setPos(n)
		return
	}
	// out of order: after every item due no later, shifting the rest up by one.
	j := q.head + sort.Search(n-q.head, func(k int) bool { return q.items[q.head+k].due > it.due })
	q.items = slices.Insert(q.items, j, it)
	for k := j; k <= n; k++ {
		if q.items[k].id != holeID {
			q.setPos(k)
		}
	}
}

// setPos records that items[i] sits at i.
func (q *dueQueue) setPos(i int) {
	it := &q.items[i]
	q.tab.setPos(it.id, it.index, q.which, q.base+int32(i)+1)
}

// tidy slides the keys down to the front once the dropped front is half the array,
// compacts a queue with more holes than keys, renumbers before base could overflow,
// and gives back an array that has been four times larger than needed for a while.
func (q *dueQueue) tidy() {
	live := len(q.items) - q.head - q.holes
	switch {
	case q.holes > 64 && q.holes > live:
		w := 0
		for _, it := range q.items[q.head:] {
			if it.id != holeID {
				q.items[w] = it
				w++
			}
		}
		clear(q.items[w:])
		q.items, q.head, q.holes = q.items[:w], 0, 0
		q.base = 0
		for i := range q.items {
			q.setPos(i)
		}
	case q.head > 0 && q.head >= len(q.items)/2:
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items = q.items[:n]
		q.base += int32(q.head)
		q.head = 0
	}
	if q.base > math.MaxInt32/2 {
		q.base = 0
		for i := q.head; i < len(q.items); i++ {
			if q.items[i].id != holeID {
				q.setPos(i)
			}
		}
	}
	// Shrink only an array that has stayed small over as many operations as it has
	// entries, or shrinkAfter: a queue that empties and fills up again between
	// convergence passes (the crashed keys of one delay) keeps its array instead of
	// halving it after each pass and growing it back by doubling, while the array of a
	// one-off burst (the millions of UNCLAIMED rows of a start-up) still goes in a few
	// steps of shrinkAfter operations each.
	if c := cap(q.items); c > minHeapCap && len(q.items) < c/4 {
		if q.small++; q.small >= min(c, shrinkAfter) {
			q.items = append(make([]dueItem, 0, c/2), q.items...)
			q.small = 0
		}
	} else {
		q.small = 0
	}
}

// Due appends every item with due <= limit to out (in due order, holes skipped).
func (q *dueQueue) Due(limit time.Duration, out []dueItem) []dueItem {
	for _, it := range q.items[q.head:] {
		if it.due > limit {
			break
		}
		if it.id != holeID {
			out = append(out, it)
		}
	}
	return out
}
