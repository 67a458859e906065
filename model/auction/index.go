package auction

import (
	"math"
	"slices"
)

// node aggregates the cells under one node of a group's tree for the diego search of
// LRPs, the hot path: the key kL is a real-valued score estimate without the
// request-dependent part; the other fields give, through the monotonicity of every
// float64 operation in Diego's score, an exact lower bound of any score in the subtree
// (see doc.go). What only tasks and the other built-ins read is in cnode, flushed
// only when one of them searches.
//
// The integer figures are int32 so that a node is 32 bytes, two to a cache line: a
// search or a flush at 10,000 cells touches tens of nodes in trees of megabytes.
// AddCell keeps every total within int32 (c32 saturates the counts that could in
// theory exceed it).
type node struct {
	kL               float64 // min LRP key (no locality term)
	maxM, maxD, maxC int32   // max available memory, disk, containers
	minS, minRank    int32   // min starting containers, zone rank
	minSeq           int32   // min cell order
}

// cnode is the cold part of a node: the task key and, over the cells with a free
// container only (the others fit nothing), the max and min available memory and disk
// and the min cell order, for the other built-ins' searches (fast.go), which read no
// hot node but for dot-product's maxC. Also 32 bytes.
type cnode struct {
	kT                       float64 // min task key
	minT                     int32   // min tasks
	maxMf, maxDf, minM, minD int32
	minSeqF                  int32
}

// c32 converts a non-negative count to int32, saturating.
func c32(x int) int32 { return int32(min(x, math.MaxInt32)) }

var (
	emptyNode = node{kL: math.Inf(1), maxM: -1, maxD: -1, maxC: -1,
		minS: math.MaxInt32, minRank: math.MaxInt32, minSeq: math.MaxInt32}
	emptyCold = cnode{kT: math.Inf(1), minT: math.MaxInt32, maxMf: -1, maxDf: -1, minM: math.MaxInt32, minD: math.MaxInt32, minSeqF: math.MaxInt32}
)

// combine, combineCold and combineTie define an inner node from two disjoint parts of
// its subtree; eval and evalCold fold them over a node's children (index_test.go
// checks the folds against them).
func combine(a, b *node) node {
	return node{
		kL:   min(a.kL, b.kL),
		maxM: max(a.maxM, b.maxM), maxD: max(a.maxD, b.maxD), maxC: max(a.maxC, b.maxC),
		minS: min(a.minS, b.minS), minRank: min(a.minRank, b.minRank),
		minSeq: min(a.minSeq, b.minSeq),
	}
}

func combineCold(a, b *cnode) cnode {
	return cnode{
		kT: min(a.kT, b.kT), minT: min(a.minT, b.minT),
		maxMf: max(a.maxMf, b.maxMf), maxDf: max(a.maxDf, b.maxDf),
		minM: min(a.minM, b.minM), minD: min(a.minD, b.minD), minSeqF: min(a.minSeqF, b.minSeqF),
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
//
// The lowest cell order and the uniq flag share one word (su = seq<<1 | uniq) so that
// a tie is 32 bytes: the fan ties a flush reads for a parent are two aligned cache
// lines, like its nodes, and a tie read by the search never straddles two.
type tie struct {
	k2   float64
	prof profile
	su   uint32 // lowest cell order in the class << 1 | uniq
}

// mkTie makes a tie from its parts; seq must be in [0, MaxInt32].
func mkTie(k2 float64, prof profile, seq int32, uniq bool) tie {
	su := uint32(seq) << 1
	if uniq {
		su |= 1
	}
	return tie{k2: k2, prof: prof, su: su}
}

// seq is the lowest cell order in the class.
func (t *tie) seq() int32 { return int32(t.su >> 1) }

// uniq reports whether every cell of the class has the figures prof.
func (t *tie) uniq() bool { return t.su&1 != 0 }

var emptyTie = mkTie(math.Inf(1), profile{}, math.MaxInt32, false)

func combineTie(na, nb *node, ta, tb *tie) tie {
	switch {
	case na.kL < nb.kL:
		t := *ta
		t.k2 = min(ta.k2, nb.kL)
		return t
	case nb.kL < na.kL:
		t := *tb
		t.k2 = min(tb.k2, na.kL)
		return t
	}
	prof, seq := ta.prof, ta.seq()
	if tb.seq() < seq {
		prof, seq = tb.prof, tb.seq()
	}
	return mkTie(min(ta.k2, tb.k2), prof, seq, ta.uniq() && tb.uniq() && ta.prof == tb.prof)
}

// fanBits is log2 of the trees' fan-out: every inner node has fan children. A wider
// tree has fewer levels (a search dive and a flush climb cross log_fan(cells) of
// them), and the children of a node are adjacent in memory (fan 32-byte nodes), so
// reading all of them costs a few adjacent cache lines.
const fanBits = 2

const fan = 1 << fanBits

// tree is a complete fan-ary tree over a group's leaves (cells in cell order; freed
// slots stay empty). nodes[1] is the root; the children of inner node i are
// nodes[fan*i .. fan*i+fan-1], its parent nodes[i/fan]; level l (the root is level 0)
// is nodes[fan^l .. 2*fan^l-1], and leaf i is nodes[size+i] (size is a power of fan).
// The slots between levels (0 and [2*fan^l, fan^(l+1))) are unused. ties and cold
// parallel nodes.
//
// Leaves are written at once (set); the inner nodes above them are brought up to date
// lazily, by flush (nodes and ties) and flushCold (cold), before anything reads them:
// the driver's RemoveLRP, Started and the like between two auctions then cost one leaf
// each, and a flush recomputes each inner node above the changed leaves once, level by
// level, and stops climbing where a recomputed node comes out unchanged (its ancestors
// then need nothing from it). The values are those an update of every ancestor after
// each set gives: an inner node is a function of its children only (eval, evalCold).
// Diego's LRP search reads only nodes and ties and the other built-ins (but for
// dot-product's maxC) only cold, so while only one kind runs the other part waits:
// the hot list is flushed when it reaches size entries (its climb, sorted and without
// repeats, costs about one rebuild); once more than size/fan cold leaves wait, the
// cold list is dropped for coldAll, and flushCold then recomputes every inner cold
// node once (about size/(fan-1) evaluations, no more than the climbs of that many
// leaves would cost); until then a cold write costs nothing more.
type tree struct {
	size     int
	nodes    []node
	ties     []tie
	cold     []cnode
	pend     []int32 // node indices of leaves whose node or tie changed since the last flush (may repeat)
	pendCold []int32 // the same for cold and flushCold
	coldAll  bool    // every inner cold node waits for flushCold (pendCold is not kept)
}

func (t *tree) grow(n int) {
	size := 1
	for size < n {
		size *= fan
	}
	if size <= t.size {
		return
	}
	old, oldTies, oldCold := t.nodes, t.ties, t.cold
	oldSize := t.size
	t.size = size
	t.nodes = make([]node, 2*size)
	t.ties = make([]tie, 2*size)
	t.cold = make([]cnode, 2*size)
	for i := range t.nodes {
		t.nodes[i], t.ties[i], t.cold[i] = emptyNode, emptyTie, emptyCold
	}
	for i := 0; i < oldSize; i++ {
		t.nodes[size+i], t.ties[size+i], t.cold[size+i] = old[oldSize+i], oldTies[oldSize+i], oldCold[oldSize+i]
	}
	for lo := size / fan; lo >= 1; lo /= fan {
		for i := lo; i < 2*lo; i++ {
			t.nodes[i], t.ties[i] = t.eval(i)
			t.cold[i] = t.evalCold(i)
		}
	}
	// every inner node is current; the old indices are stale
	t.pend, t.pendCold, t.coldAll = t.pend[:0], t.pendCold[:0], false
}

// eval computes inner node i and its tie from its children: combine and combineTie
// folded over them in order, written out field by field (the flush's inner loop).
func (t *tree) eval(i int) (node, tie) {
	c := fan * i
	ch, cht := t.nodes[c:c+fan:c+fan], t.ties[c:c+fan:c+fan]
	n := ch[0]
	for j := 1; j < fan; j++ {
		b := &ch[j]
		n.kL = min(n.kL, b.kL)
		n.maxM, n.maxD, n.maxC = max(n.maxM, b.maxM), max(n.maxD, b.maxD), max(n.maxC, b.maxC)
		n.minS, n.minRank, n.minSeq = min(n.minS, b.minS), min(n.minRank, b.minRank), min(n.minSeq, b.minSeq)
	}
	// The tie class of n: the children at the minimum kL (combineTie's rules).
	tv := tie{k2: math.Inf(1)}
	first := true
	for j := 0; j < fan; j++ {
		if ch[j].kL != n.kL {
			tv.k2 = min(tv.k2, ch[j].kL)
			continue
		}
		ct := &cht[j]
		tv.k2 = min(tv.k2, ct.k2)
		if first {
			tv.prof, tv.su, first = ct.prof, ct.su, false
			continue
		}
		// su>>1 is the cell order, su&1 the uniq flag (tie)
		if ct.su&1 == 0 || ct.prof != tv.prof {
			tv.su &^= 1
		}
		if ct.su>>1 < tv.su>>1 {
			tv.prof, tv.su = ct.prof, ct.su&^1|tv.su&1
		}
	}
	return n, tv
}

// evalCold computes inner node i's cold part from its children (combineCold folded).
func (t *tree) evalCold(i int) cnode {
	c := fan * i
	ch := t.cold[c : c+fan : c+fan]
	n := ch[0]
	for j := 1; j < fan; j++ {
		b := &ch[j]
		n.kT, n.minT = min(n.kT, b.kT), min(n.minT, b.minT)
		n.maxMf, n.maxDf = max(n.maxMf, b.maxMf), max(n.maxDf, b.maxDf)
		n.minM, n.minD, n.minSeqF = min(n.minM, b.minM), min(n.minD, b.minD), min(n.minSeqF, b.minSeqF)
	}
	return n
}

// upChanged recomputes inner node i (node and tie) and reports whether it changed
// (bit for bit). It is eval written with scalar locals and no struct temporaries (a
// node or tie built in memory and copied back stalls on store forwarding; the flush's
// inner loop), writing the fields in place: the same folds in the same order, so the
// same bits (lazy_test.go and index_test.go check every node against eval).
func (t *tree) upChanged(i int) bool {
	c := fan * i
	// Read the node and tie to compare with first: their cache lines then load
	// alongside the children's instead of after them.
	n, tv := &t.nodes[i], &t.ties[i]
	oldKL, oldK2 := n.kL, tv.k2
	ch := (*[fan]node)(t.nodes[c : c+fan])
	kL := ch[0].kL
	maxM, maxD, maxC := ch[0].maxM, ch[0].maxD, ch[0].maxC
	minS, minRank, minSeq := ch[0].minS, ch[0].minRank, ch[0].minSeq
	for j := 1; j < fan; j++ {
		b := &ch[j]
		kL = min(kL, b.kL)
		maxM, maxD, maxC = max(maxM, b.maxM), max(maxD, b.maxD), max(maxC, b.maxC)
		minS, minRank, minSeq = min(minS, b.minS), min(minRank, b.minRank), min(minSeq, b.minSeq)
	}
	// The tie class (eval's rules): k2 over every child, the lowest cell order and its
	// child's profile among the children at kL, uniq when all of those are uniq with
	// one profile (comparing each with the first is the same as with the running
	// choice: both fail exactly when the profiles are not all equal).
	cht := (*[fan]tie)(t.ties[c : c+fan])
	k2 := math.Inf(1)
	first, pick := -1, 0
	var seq, uniq uint32
	for j := 0; j < fan; j++ {
		if ch[j].kL != kL {
			k2 = min(k2, ch[j].kL)
			continue
		}
		ct := &cht[j]
		k2 = min(k2, ct.k2)
		if first < 0 {
			first, pick, seq, uniq = j, j, ct.su>>1, ct.su&1
			continue
		}
		if ct.su&1 == 0 || ct.prof != cht[first].prof {
			uniq = 0
		}
		if ct.su>>1 < seq {
			pick, seq = j, ct.su>>1
		}
	}
	su := seq<<1 | uniq
	if sameFloat(kL, oldKL) && maxM == n.maxM && maxD == n.maxD && maxC == n.maxC &&
		minS == n.minS && minRank == n.minRank && minSeq == n.minSeq &&
		sameFloat(k2, oldK2) && su == tv.su && cht[pick].prof == tv.prof {
		return false
	}
	n.kL, n.maxM, n.maxD, n.maxC = kL, maxM, maxD, maxC
	n.minS, n.minRank, n.minSeq = minS, minRank, minSeq
	tv.k2, tv.prof, tv.su = k2, cht[pick].prof, su
	return true
}

// upChangedCold is upChanged for the cold part.
func (t *tree) upChangedCold(i int) bool {
	n := t.evalCold(i)
	if sameCold(&n, &t.cold[i]) {
		return false
	}
	t.cold[i] = n
	return true
}

// set writes a leaf; its ancestors wait for flush and flushCold. It reports which of
// the two has pending work (a no-op write adds none).
func (t *tree) set(leaf int, v node, tv tie, cv cnode) (hot, cold bool) {
	t.setHot(leaf, &v, &tv)
	t.setCold(leaf, &cv)
	return len(t.pend) > 0, t.coldAll || len(t.pendCold) > 0
}

// setHot writes a leaf's node and tie (set's hot half).
func (t *tree) setHot(leaf int, v *node, tv *tie) {
	i := t.size + leaf
	if !sameNode(v, &t.nodes[i]) || !sameTie(tv, &t.ties[i]) {
		t.nodes[i], t.ties[i] = *v, *tv
		if len(t.pend) >= t.size {
			t.flush() // bound the list: a flush now is as good as one later
		}
		t.pend = append(t.pend, int32(i))
	}
}

// setCold writes a leaf's cold part (set's cold half).
func (t *tree) setCold(leaf int, cv *cnode) {
	i := t.size + leaf
	if t.coldAll {
		t.cold[i] = *cv // every inner cold node waits anyway: no need to compare
		return
	}
	if !sameCold(cv, &t.cold[i]) {
		t.cold[i] = *cv
		if len(t.pendCold) >= max(1, t.size/fan) {
			t.coldAll, t.pendCold = true, t.pendCold[:0]
		} else {
			t.pendCold = append(t.pendCold, int32(i))
		}
	}
}

// flush brings every inner node and tie above the leaves set since the last flush up
// to date; flushCold does the same for the cold part.
func (t *tree) flush() { t.pend = t.climb(t.pend, (*tree).upChanged) }

func (t *tree) flushCold() {
	if !t.coldAll {
		t.pendCold = t.climb(t.pendCold, (*tree).upChangedCold)
		return
	}
	for lo := t.size / fan; lo >= 1; lo /= fan {
		for i := lo; i < 2*lo; i++ {
			t.cold[i] = t.evalCold(i)
		}
	}
	t.coldAll = false
}

// climb recomputes, level by level, the parents of the listed nodes with up, and
// returns the emptied list. Indices of one level are kept sorted, so their parents
// come out sorted: a parent is recomputed once however many of its children changed.
func (t *tree) climb(lv []int32, up func(*tree, int) bool) []int32 {
	if len(lv) == 0 {
		return lv
	}
	if len(lv) > 1 {
		slices.Sort(lv)
	}
	pend := lv
	for len(lv) > 0 && lv[0] > 1 {
		out := lv[:0] // out[k] is written after lv[k] is read
		last := int32(-1)
		for _, i := range lv {
			p := i / fan
			if p == last {
				continue
			}
			last = p
			if up(t, int(p)) {
				out = append(out, p)
			}
		}
		lv = out
	}
	return pend[:0]
}

func sameFloat(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func sameNode(a, b *node) bool {
	return sameFloat(a.kL, b.kL) && a.maxM == b.maxM && a.maxD == b.maxD && a.maxC == b.maxC &&
		a.minS == b.minS && a.minRank == b.minRank && a.minSeq == b.minSeq
}

func sameCold(a, b *cnode) bool {
	return sameFloat(a.kT, b.kT) && a.minT == b.minT &&
		a.maxMf == b.maxMf && a.maxDf == b.maxDf && a.minM == b.minM && a.minD == b.minD &&
		a.minSeqF == b.minSeqF
}

func sameTie(a, b *tie) bool {
	return sameFloat(a.k2, b.k2) && a.prof == b.prof && a.su == b.su
}

// searchEntry is a tree node waiting in the best-first search.
type searchEntry struct {
	key float64 // real-valued estimate of the lowest score below (heap order)
	eb  float64 // exact lower bound of the scores below (NaN: not computed yet)
	grp *group
	seq int32 // min cell order below (heap tie-break)
	idx int32 // node index in grp's tree
}

// searchHeap is a binary min-heap by (key, seq), reused across searches.
//
// Entries go in and out as scalars, written and read field by field: a searchEntry
// built in registers, spilled to the stack piecewise and copied as a whole (16-byte
// moves over 8- and 4-byte stores) stalls on store forwarding, which cost the search
// more than its heap work. The sifts move a hole instead of swapping: the same
// comparisons and the same final arrangement as swapping the entry along its path.
type searchHeap []searchEntry

func (h searchHeap) less(i, j int) bool {
	if h[i].key != h[j].key {
		return h[i].key < h[j].key
	}
	return h[i].seq < h[j].seq
}

// before reports whether an entry of key and seq goes before h[j] (less).
func (h searchHeap) before(key float64, seq int32, j int) bool {
	if key != h[j].key {
		return key < h[j].key
	}
	return seq < h[j].seq
}

// pushFields pushes the entry with these fields.
func (h *searchHeap) pushFields(key, eb float64, g *group, seq, idx int32) {
	s := *h
	i := len(s)
	if i == cap(s) {
		s = slices.Grow(s, 1)
	}
	s = s[:i+1]
	for i > 0 {
		p := (i - 1) / 2
		if !s.before(key, seq, p) {
			break
		}
		s[i] = s[p]
		i = p
	}
	d := &s[i]
	d.key, d.eb, d.grp, d.seq, d.idx = key, eb, g, seq, idx
	*h = s
}

// popFields removes the least entry and returns its fields.
func (h *searchHeap) popFields() (key, eb float64, g *group, seq, idx int32) {
	s := *h
	t := &s[0]
	key, eb, g, seq, idx = t.key, t.eb, t.grp, t.seq, t.idx
	n := len(s) - 1
	if n > 0 {
		// sift the last entry (s[n], left in place until the end) down from the root
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
			if !s.less(m, n) {
				break
			}
			s[i] = s[m]
			i = m
		}
		s[i] = s[n]
	}
	*h = s[:n]
	return
}

// margin bounds the float64 rounding of a score or key of magnitude k: every term is
// non-negative and a score takes about 12 roundings of at most 2^-53 relative each, so
// 1e-9 relative is a safe over-estimate by six orders of magnitude.
func margin(k float64) float64 { return 1e-9 * (4 + math.Abs(k)) }
