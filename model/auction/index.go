package auction

import (
	"math"
	"slices"
)

// node aggregates the cells under one node of a group's tree. The keys are real-valued
// score estimates without the request-dependent part; the other fields give, through the
// monotonicity of every float64 operation in Diego's score, an exact lower bound of any
// score in the subtree (see doc.go).
//
// The integer figures are int32 so that a node fills one 64-byte cache line: a search
// at 10,000 cells touches tens of nodes in trees of megabytes. AddCell keeps every
// total within int32 (c32 saturates the counts that could in theory exceed it).
type node struct {
	kL, kT           float64 // min LRP key (no locality term) and min task key
	maxM, maxD, maxC int32   // max available memory, disk, containers
	// over the cells with a free container only (the others fit nothing): max and min
	// available memory and disk, for the other built-ins' searches (fast.go)
	maxMf, maxDf, minM, minD int32
	minS, minRank, minT      int32 // min starting containers, zone rank, tasks
	minSeq                   int32 // min cell order
}

// c32 converts a non-negative count to int32, saturating.
func c32(x int) int32 { return int32(min(x, math.MaxInt32)) }

var emptyNode = node{kL: math.Inf(1), kT: math.Inf(1), maxM: -1, maxD: -1, maxC: -1,
	maxMf: -1, maxDf: -1, minM: math.MaxInt32, minD: math.MaxInt32, minS: math.MaxInt32, minRank: math.MaxInt32, minT: math.MaxInt32, minSeq: math.MaxInt32}

func combine(a, b *node) node {
	return node{
		kL: math.Min(a.kL, b.kL), kT: math.Min(a.kT, b.kT),
		maxM: max(a.maxM, b.maxM), maxD: max(a.maxD, b.maxD), maxC: max(a.maxC, b.maxC),
		maxMf: max(a.maxMf, b.maxMf), maxDf: max(a.maxDf, b.maxDf),
		minM: min(a.minM, b.minM), minD: min(a.minD, b.minD),
		minS: min(a.minS, b.minS), minRank: min(a.minRank, b.minRank), minT: min(a.minT, b.minT),
		minSeq: min(a.minSeq, b.minSeq),
	}
}

// profile is what decides a cell's LRP score without locality, given its group's
// totals and proxy memory: two cells with equal profiles score exactly alike.
type profile struct{ m, d, c, s, rank int32 }

// tie describes, for the LRP key kL, the tie class of a subtree: the cells whose kL
// equals the subtree's minimum. When uniq, all of them have the figures prof, so they
// score exactly like any cell with those figures (no locality); k2 is the lowest kL in
// the subtree above the minimum. This lets the diego search dismiss a subtree whose
// best cells are exact ties of the best cell found, later in cell order, without
// descending to each of them: at 10,000 cells, identical cells are common.
type tie struct {
	k2   float64
	prof profile
	seq  int32 // lowest cell order in the class
	uniq bool
}

var emptyTie = tie{k2: math.Inf(1), seq: math.MaxInt32}

func combineTie(na, nb *node, ta, tb *tie) tie {
	switch {
	case na.kL < nb.kL:
		t := *ta
		t.k2 = math.Min(ta.k2, nb.kL)
		return t
	case nb.kL < na.kL:
		t := *tb
		t.k2 = math.Min(tb.k2, na.kL)
		return t
	}
	t := *ta
	if tb.seq < ta.seq {
		t.prof, t.seq = tb.prof, tb.seq
	}
	t.uniq = ta.uniq && tb.uniq && ta.prof == tb.prof
	t.k2 = math.Min(ta.k2, tb.k2)
	return t
}

// tree is a complete binary tree over a group's leaves (cells in cell order; freed
// slots stay empty). nodes[1] is the root; leaf i is nodes[size+i]; ties parallels
// nodes (kept apart so that a node stays one cache line).
//
// Leaves are written at once (set); the inner nodes above them are brought up to date
// lazily, by flush, before anything reads them: the driver's RemoveLRP, Started and
// the like between two auctions then cost one leaf each, and flush recomputes each
// inner node above the changed leaves once, level by level, and stops climbing where a
// recomputed node comes out unchanged (its ancestors then need nothing from it). The
// values are those an update of every ancestor after each set gives: an inner node is
// a function of its children only (combine, combineTie).
type tree struct {
	size  int
	nodes []node
	ties  []tie
	pend  []int32 // node indices of leaves changed since the last flush (may repeat)
}

func (t *tree) grow(n int) {
	size := 1
	for size < n {
		size *= 2
	}
	if size <= t.size {
		return
	}
	old, oldTies := t.nodes, t.ties
	oldSize := t.size
	t.size = size
	t.nodes = make([]node, 2*size)
	t.ties = make([]tie, 2*size)
	for i := range t.nodes {
		t.nodes[i], t.ties[i] = emptyNode, emptyTie
	}
	for i := 0; i < oldSize; i++ {
		t.nodes[size+i], t.ties[size+i] = old[oldSize+i], oldTies[oldSize+i]
	}
	for i := size - 1; i >= 1; i-- {
		t.up(i)
	}
	t.pend = t.pend[:0] // every inner node is current; the old indices are stale
}

// up recomputes inner node i from its children.
func (t *tree) up(i int) {
	a, b := &t.nodes[2*i], &t.nodes[2*i+1]
	t.nodes[i] = combine(a, b)
	t.ties[i] = combineTie(a, b, &t.ties[2*i], &t.ties[2*i+1])
}

// upChanged recomputes inner node i and reports whether it changed (bit for bit).
func (t *tree) upChanged(i int) bool {
	a, b := &t.nodes[2*i], &t.nodes[2*i+1]
	n := combine(a, b)
	tv := combineTie(a, b, &t.ties[2*i], &t.ties[2*i+1])
	if sameNode(&n, &t.nodes[i]) && sameTie(&tv, &t.ties[i]) {
		return false
	}
	t.nodes[i], t.ties[i] = n, tv
	return true
}

// set writes a leaf; its ancestors wait for flush. It reports whether the tree has
// pending work (a no-op write leaves none).
func (t *tree) set(leaf int, v node, tv tie) bool {
	i := t.size + leaf
	if sameNode(&v, &t.nodes[i]) && sameTie(&tv, &t.ties[i]) {
		return len(t.pend) > 0
	}
	t.nodes[i], t.ties[i] = v, tv
	if len(t.pend) >= t.size {
		t.flush() // bound the list: a flush now is as good as one later
	}
	t.pend = append(t.pend, int32(i))
	return true
}

// flush brings every inner node above the leaves set since the last flush up to date.
// Indices of one level are kept sorted, so their parents come out sorted: a parent is
// recomputed once however many of its children changed.
func (t *tree) flush() {
	lv := t.pend
	if len(lv) == 0 {
		return
	}
	slices.Sort(lv)
	for len(lv) > 0 && lv[0] > 1 {
		out := lv[:0] // out[k] is written after lv[k] is read
		last := int32(-1)
		for _, i := range lv {
			p := i / 2
			if p == last {
				continue
			}
			last = p
			if t.upChanged(int(p)) {
				out = append(out, p)
			}
		}
		lv = out
	}
	t.pend = t.pend[:0]
}

func sameFloat(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func sameNode(a, b *node) bool {
	return sameFloat(a.kL, b.kL) && sameFloat(a.kT, b.kT) &&
		a.maxM == b.maxM && a.maxD == b.maxD && a.maxC == b.maxC &&
		a.maxMf == b.maxMf && a.maxDf == b.maxDf && a.minM == b.minM && a.minD == b.minD &&
		a.minS == b.minS && a.minRank == b.minRank && a.minT == b.minT && a.minSeq == b.minSeq
}

func sameTie(a, b *tie) bool {
	return sameFloat(a.k2, b.k2) && a.prof == b.prof && a.seq == b.seq && a.uniq == b.uniq
}

// searchEntry is a tree node waiting in the best-first search.
type searchEntry struct {
	key float64 // real-valued estimate of the lowest score below (heap order)
	eb  float64 // exact lower bound of the scores below
	seq int     // min cell order below (heap tie-break)
	grp *group
	idx int
}

// searchHeap is a binary min-heap by (key, seq), reused across searches.
type searchHeap []searchEntry

func (h searchHeap) less(i, j int) bool {
	if h[i].key != h[j].key {
		return h[i].key < h[j].key
	}
	return h[i].seq < h[j].seq
}

func (h *searchHeap) push(e searchEntry) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *searchHeap) pop() searchEntry {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s.less(r, l) {
			m = r
		}
		if !s.less(m, i) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// margin bounds the float64 rounding of a score or key of magnitude k: every term is
// non-negative and a score takes about 12 roundings of at most 2^-53 relative each, so
// 1e-9 relative is a safe over-estimate by six orders of magnitude.
func margin(k float64) float64 { return 1e-9 * (4 + math.Abs(k)) }
