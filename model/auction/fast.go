package auction

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// The built-in algorithms other than diego on the State's index (doc.go, "Algorithms").
//
// first-fit, best-fit, worst-fit, dot-product and balanced each maximise a value over the
// feasible cells, ties to the lowest cell order. They share one depth-first branch and
// bound over the trees of the compatible groups (maximize): a subtree whose maxima do not
// fit the item has no feasible cell; otherwise objective.bound gives a float64 that is
// >= the value of every feasible cell below, and the subtree is skipped when that bound
// is below the best value found, or equal to it with only later cells (minSeqF). Leaves
// are valued with the same function as the algorithm's Choose, so the winner is the one
// Choose would return over the enumerated candidates (diff_fast_test.go checks it).
//
// random and power-of-two draw from the feasible cells by rejection sampling (sample).

var (
	_ indexed = FirstFit{}
	_ indexed = BestFit{}
	_ indexed = WorstFit{}
	_ indexed = Random{}
	_ indexed = PowerOfTwo{}
	_ indexed = DotProduct{}
	_ indexed = Balanced{}
)

func (FirstFit) place(s *State, q *query, _ *rand.Rand) *cellRec {
	return s.maximize(objFirstFit, q)
}
func (BestFit) place(s *State, q *query, _ *rand.Rand) *cellRec {
	return s.maximize(objBestFit, q)
}
func (WorstFit) place(s *State, q *query, _ *rand.Rand) *cellRec {
	return s.maximize(objWorstFit, q)
}
func (DotProduct) place(s *State, q *query, _ *rand.Rand) *cellRec {
	return s.maximize(objDotProduct, q)
}
func (Balanced) place(s *State, q *query, _ *rand.Rand) *cellRec {
	return s.maximize(objBalanced, q)
}

// place draws a feasible cell uniformly (Choose: r.IntN over the candidates); with a nil
// stream it takes the first feasible cell in cell order, as Choose does.
func (Random) place(s *State, q *query, r *rand.Rand) *cellRec {
	if r == nil {
		return s.maximize(objFirstFit, q)
	}
	return s.sample(q, r, nil)
}

// place draws two distinct feasible cells uniformly and keeps the lower DiegoScore (ties:
// cell order), computed on the same Candidate figures Choose sees. With one feasible cell
// it is that cell; with a nil stream the first feasible cell in cell order.
func (PowerOfTwo) place(s *State, q *query, r *rand.Rand) *cellRec {
	if r == nil {
		return s.maximize(objFirstFit, q)
	}
	a := s.sample(q, r, nil)
	if a == nil {
		return nil
	}
	b := s.sample(q, r, a)
	if b == nil {
		return a
	}
	ca, cb := s.candidate(a, q), s.candidate(b, q)
	sa, sb := DiegoScore(q.req, &ca, s.set), DiegoScore(q.req, &cb, s.set)
	if sb < sa || (sb == sa && cb.Order < ca.Order) {
		return b
	}
	return a
}

// fits is the feasibility of one cell for the item: not evacuating, filters pass,
// memory (+ proxy for LRPs), disk, one container, MaxPerCell (State.choose's test).
func (s *State) fits(rec *cellRec, q *query) bool {
	if rec.cell.Evacuating || q.st[rec.grp.key.sig] != stagePass {
		return false
	}
	mem := q.mem
	if !q.task {
		mem += rec.proxy
		if q.maxPerCell > 0 && int(rec.guids.get(q.gid)) >= q.maxPerCell {
			return false
		}
	}
	a := &rec.cell.Available
	return a.MemoryMB >= mem && a.DiskMB >= q.disk && a.Containers >= 1
}

// candidate is the Candidate State.choose would build for rec.
func (s *State) candidate(rec *cellRec, q *query) Candidate {
	c := Candidate{
		ID: rec.cell.ID, Zone: rec.cell.Zone, Order: rec.seq, ZoneRank: rec.rank,
		Total: rec.cell.Total, Available: rec.cell.Available, StartingContainers: rec.cell.StartingContainers,
		Same: len(rec.tasks),
	}
	if !q.task {
		c.ProxyMemoryMB = rec.proxy
		c.Same = int(rec.guids.get(q.gid))
		c.ZoneSame = int(s.guidZone[s.zoneSlot(q.gid, rec.zone)])
	}
	return c
}

// sampleTries is how many uniform draws over all cells sample makes before it
// enumerates the feasible cells.
const sampleTries = 16

// sample returns a feasible cell other than not, uniformly at random, or nil when there
// is none. It draws a cell uniformly from all cells up to sampleTries times and accepts
// the first feasible one; then it enumerates the feasible cells and draws one. Each
// accepted draw is uniform over the feasible cells (a uniform draw conditioned on
// landing in the set), and so is the fallback, so the result is exactly uniform; it is
// a function of r's stream. The cost is O(1) expected while feasible cells are common,
// and one compact pass over the cells (no Candidate built) otherwise.
func (s *State) sample(q *query, r *rand.Rand, not *cellRec) *cellRec {
	if !s.anyGroupFits(q) {
		return nil // no compatible group has room: nothing to draw from
	}
	n := len(s.cells)
	for k := 0; k < sampleTries; k++ {
		if rec := s.cells[r.IntN(n)]; rec != not && s.fits(rec, q) {
			return rec
		}
	}
	feasible := s.recs[:0]
	for _, rec := range s.cells {
		if rec != not && s.fits(rec, q) {
			feasible = append(feasible, rec)
		}
	}
	s.recs = feasible
	if len(feasible) == 0 {
		return nil
	}
	return feasible[r.IntN(len(feasible))]
}

// anyGroupFits reports whether some compatible group's root maxima fit the item (a
// necessary condition for a feasible cell).
func (s *State) anyGroupFits(q *query) bool {
	s.flushCold()
	for _, g := range s.grpList {
		if g.active == 0 || q.st[g.key.sig] != stagePass {
			continue
		}
		if nodeFits(&g.t.cold[1], q.memFor(g), q.disk) {
			return true
		}
	}
	return false
}

// memFor is the item's memory on a cell of g (with the group's proxy for LRPs).
func (q *query) memFor(g *group) int {
	if q.task {
		return q.mem
	}
	return q.mem + g.key.proxy
}

// nodeFits: some cell below may fit: the maxima over the cells with a free container
// fit (false when there is none, or no cell at all).
func nodeFits(n *cnode, mp, disk int) bool {
	return int(n.maxMf) >= mp && int(n.maxDf) >= disk && int(n.maxMf) >= 0
}

type objKind uint8

const (
	objFirstFit   objKind = iota // value -seq
	objBestFit                   // value -(memory after placement)
	objWorstFit                  // value memory after placement
	objDotProduct                // value dotValue
	objBalanced                  // value balancedValue
)

// balancedMargin bounds the float64 rounding of balancedValue against its real-number
// form 1 + min(free fractions): about ten roundings of values in [0, 2], each at most
// 2^-52 absolute, and a square root of a square; 1e-12 over-estimates it a hundredfold.
const balancedMargin = 1e-12

// bnb is one branch and bound: the objective, the item, the group being searched and
// the best cell so far.
type bnb struct {
	kind    objKind
	q       *query
	g       *group
	mp      int // memory on a cell of g (proxy included for LRPs)
	best    *cellRec
	bestV   float64
	bestSeq int
}

// value is the algorithm's value of a feasible cell of b.g, computed exactly as its
// Choose does.
func (b *bnb) value(rec *cellRec) float64 {
	a := &rec.cell.Available
	switch b.kind {
	case objFirstFit:
		return -float64(rec.seq)
	case objBestFit:
		return -float64(a.MemoryMB - b.mp)
	case objWorstFit:
		return float64(a.MemoryMB - b.mp)
	case objDotProduct:
		return dotValue(b.mp, b.q.disk, b.g.key.total, a.MemoryMB, a.DiskMB, a.Containers)
	default:
		return balancedValue(b.mp, b.q.disk, b.g.key.total, a.MemoryMB, a.DiskMB)
	}
}

// bound is >= value(c) for every feasible cell c below a node of b.g whose maxima fit,
// from its cold part n (and, for dot-product only, its hot part's maxC). On a leaf it
// is the cell's value for every kind but balanced, where it is the real-number form
// plus balancedMargin (within about 1e-12 of it): a leaf is valued exactly only when
// that bound does not prune it.
func (b *bnb) bound(n *cnode, hot *node, leaf bool) float64 {
	switch b.kind {
	case objFirstFit:
		return -float64(n.minSeqF)
	case objBestFit:
		// a feasible cell has at least max(minM, mp) memory, so at least that minus mp
		// left after the placement
		return -float64(max(int(n.minM), b.mp) - b.mp)
	case objWorstFit:
		return float64(int(n.maxMf) - b.mp)
	case objDotProduct:
		// monotone non-decreasing in each available figure (dotValue)
		return dotValue(b.mp, b.q.disk, b.g.key.total, int(n.maxMf), int(n.maxDf), int(hot.maxC))
	default:
		tot := b.g.key.total
		if !leaf && n.minM == n.maxMf && n.minD == n.maxDf {
			// every cell below that can be feasible has these figures, hence exactly
			// this value: ties between identical cells are decided by minSeqF without
			// descending
			return balancedValue(b.mp, b.q.disk, tot, int(n.maxMf), int(n.maxDf))
		}
		// value = 1 + min(fm, fd) in real numbers (balancedValue), fm and fd the free
		// fractions after placement, each monotone in the available figure; the
		// float64 evaluation is within balancedMargin of it
		fm := float64(int(n.maxMf)-b.mp) / float64(tot.MemoryMB)
		fd := float64(int(n.maxDf)-b.q.disk) / float64(tot.DiskMB)
		return 1 + min(fm, fd) + balancedMargin
	}
}

// pruned: nothing below a node with bound ub and minimum cell order seq can beat the
// best cell so far (a higher value, or an equal value and an earlier cell).
func (b *bnb) pruned(ub float64, seq int) bool {
	return ub < b.bestV || (ub == b.bestV && seq > b.bestSeq)
}

// grpBound is a compatible group with room, with its root's bound.
type grpBound struct {
	g   *group
	ub  float64
	seq int
}

// maximize returns the feasible cell with the highest value of kind, ties to the lowest
// cell order (what argBest returns over the candidates in cell order), or nil.
func (s *State) maximize(kind objKind, q *query) *cellRec {
	s.flushCold()
	if kind == objDotProduct {
		s.flush() // its bound reads the hot part's maxC
	}
	b := bnb{kind: kind, q: q, bestV: math.Inf(-1), bestSeq: math.MaxInt}
	gs := s.grpBounds[:0]
	for _, g := range s.grpList {
		if g.active == 0 || q.st[g.key.sig] != stagePass {
			continue
		}
		b.g, b.mp = g, q.memFor(g)
		t := &g.t
		root := &t.cold[1]
		if !nodeFits(root, b.mp, q.disk) {
			continue
		}
		gs = append(gs, grpBound{g: g, ub: b.bound(root, &t.nodes[1], t.size == 1), seq: int(root.minSeqF)})
	}
	s.grpBounds = gs
	if len(gs) > 1 { // most promising group first: its best prunes the others
		slices.SortFunc(gs, func(x, y grpBound) int {
			if c := cmp.Compare(y.ub, x.ub); c != 0 {
				return c
			}
			return cmp.Compare(x.seq, y.seq)
		})
	}
	for _, e := range gs {
		if b.pruned(e.ub, e.seq) {
			continue
		}
		b.g, b.mp = e.g, q.memFor(e.g)
		if e.g.t.size == 1 {
			b.leaf(1)
		} else {
			b.dfs(1)
		}
	}
	return b.best
}

// leaf values the cell at leaf node idx of b.g (which fits, and which its bound did
// not prune) and keeps it if it beats the best.
func (b *bnb) leaf(idx int) {
	rec := b.g.cells[idx-b.g.t.size] // live: an empty leaf never fits
	q := b.q
	if !q.task && q.maxPerCell > 0 && int(rec.guids.get(q.gid)) >= q.maxPerCell {
		return
	}
	if v := b.value(rec); v > b.bestV || (v == b.bestV && rec.seq < b.bestSeq) {
		b.best, b.bestV, b.bestSeq = rec, v, rec.seq
	}
}

// dfs searches the subtree of b.g at inner node idx (whose maxima fit, not pruned). The
// children of a node above the leaves that fit and survive the bounds are visited by
// descending bound (then ascending cell order), and the visits stop at the first one
// pruned (every later one is pruned too: the best only improves). Leaves are taken in
// order, each valued only when its bound does not prune it.
func (b *bnb) dfs(idx int) {
	t := &b.g.t
	c0 := fan * idx
	cold := t.cold[c0 : c0+fan : c0+fan]
	hot := t.nodes[c0 : c0+fan : c0+fan] // read for dot-product's maxC only
	if c0 >= t.size {
		for j := range cold {
			n := &cold[j]
			if !nodeFits(n, b.mp, b.q.disk) || b.pruned(b.bound(n, &hot[j], true), int(n.minSeqF)) {
				continue
			}
			// balanced: the cell's exact value, from its figures in the leaf (its
			// available memory and disk), settles the near ties the margin leaves
			// open without reading the cell
			if b.kind == objBalanced && b.pruned(balancedValue(b.mp, b.q.disk, b.g.key.total, int(n.maxMf), int(n.maxDf)), int(n.minSeqF)) {
				continue
			}
			b.leaf(c0 + j)
		}
		return
	}
	type child struct {
		idx int
		ub  float64
		seq int32
	}
	var cs [fan]child
	k := 0
	for j := range cold {
		n := &cold[j]
		if !nodeFits(n, b.mp, b.q.disk) {
			continue
		}
		e := child{c0 + j, b.bound(n, &hot[j], false), n.minSeqF}
		if b.pruned(e.ub, int(e.seq)) {
			continue
		}
		i := k // insertion: higher bound first, then the earlier cell
		for ; i > 0 && (e.ub > cs[i-1].ub || (e.ub == cs[i-1].ub && e.seq < cs[i-1].seq)); i-- {
			cs[i] = cs[i-1]
		}
		cs[i] = e
		k++
	}
	for _, e := range cs[:k] {
		if b.pruned(e.ub, int(e.seq)) {
			return
		}
		b.dfs(e.idx)
	}
}
