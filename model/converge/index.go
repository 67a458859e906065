package converge

import (
	"slices"
	"time"
)

// dueHeap is a binary min-heap of keys by a due time, with positions so that a key can be
// moved or removed in O(log n). Due lists every key with due <= limit without popping,
// by walking the heap and pruning subtrees whose root is later: O(answer).
type dueHeap[K comparable] struct {
	items []dueItem[K]
	pos   map[K]int
}

type dueItem[K comparable] struct {
	due time.Duration
	key K
}

func newDueHeap[K comparable]() *dueHeap[K] { return &dueHeap[K]{pos: map[K]int{}} }

func (h *dueHeap[K]) Len() int { return len(h.items) }

// Set inserts key or moves it to due.
func (h *dueHeap[K]) Set(key K, due time.Duration) {
	if i, ok := h.pos[key]; ok {
		h.items[i].due = due
		h.fix(i)
		return
	}
	h.items = append(h.items, dueItem[K]{due, key})
	h.pos[key] = len(h.items) - 1
	h.up(len(h.items) - 1)
}

// Remove deletes key if present.
func (h *dueHeap[K]) Remove(key K) {
	i, ok := h.pos[key]
	if !ok {
		return
	}
	last := len(h.items) - 1
	h.swap(i, last)
	h.items = h.items[:last]
	delete(h.pos, key)
	if i < last {
		h.fix(i)
	}
}

// Due appends every key with due <= limit to out (unordered).
func (h *dueHeap[K]) Due(limit time.Duration, out []K) []K {
	if len(h.items) == 0 {
		return out
	}
	stack := []int{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if h.items[i].due > limit {
			continue
		}
		out = append(out, h.items[i].key)
		if l := 2*i + 1; l < len(h.items) {
			stack = append(stack, l)
			if l+1 < len(h.items) {
				stack = append(stack, l+1)
			}
		}
	}
	return out
}

func (h *dueHeap[K]) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *dueHeap[K]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h.items[p].due <= h.items[i].due {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *dueHeap[K]) down(i int) bool {
	start := i
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h.items[r].due < h.items[l].due {
			c = r
		}
		if h.items[c].due >= h.items[i].due {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > start
}

func (h *dueHeap[K]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.pos[h.items[i].key] = i
	h.pos[h.items[j].key] = j
}

// set is a small string/key set with sorted extraction.
type set[K comparable] map[K]struct{}

func (s set[K]) put(k K, on bool) {
	if on {
		s[k] = struct{}{}
	} else {
		delete(s, k)
	}
}

func sortedSet(s set[string]) []string {
	if len(s) == 0 {
		return nil
	}
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// cellCounts counts rows of one kind per cell and keeps the "hot" cells: those with rows
// whose presence status equals wantPresent (absent cells for ORDINARY/EVACUATING rows and
// running tasks, present cells for SUSPECT rows).
type cellCounts struct {
	counts      map[string]int
	hot         set[string]
	wantPresent bool
}

func newCellCounts(wantPresent bool) cellCounts {
	return cellCounts{counts: map[string]int{}, hot: set[string]{}, wantPresent: wantPresent}
}

func (c *cellCounts) add(cell string, delta int, present bool) {
	n := c.counts[cell] + delta
	if n <= 0 {
		delete(c.counts, cell)
		delete(c.hot, cell)
		return
	}
	c.counts[cell] = n
	c.hot.put(cell, present == c.wantPresent)
}

// presenceChanged re-evaluates one cell whose presence flipped.
func (c *cellCounts) presenceChanged(cell string, present bool) {
	if c.counts[cell] > 0 {
		c.hot.put(cell, present == c.wantPresent)
	}
}
