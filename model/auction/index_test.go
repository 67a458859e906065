package auction

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randomLeaf is a leaf as refresh could write it, from a small range of figures so that
// equal keys and equal profiles (tie classes) are common; empty one time in eight.
func randomLeaf(r *rand.Rand, seq int32) (node, tie, cnode) {
	if r.IntN(8) == 0 {
		return emptyNode, emptyTie, emptyCold
	}
	m, d, c := int32(r.IntN(4)*64), int32(r.IntN(3)*128), int32(r.IntN(3))
	n := node{kL: float64(r.IntN(5)) / 4, maxM: m, maxD: d, maxC: c, minS: int32(r.IntN(3)), minRank: int32(r.IntN(4)), minSeq: seq}
	tv := mkTie(math.Inf(1), profile{m: m, d: d, c: c, s: n.minS, rank: n.minRank}, seq, true)
	cn := cnode{kT: float64(r.IntN(5)) / 4, minT: int32(r.IntN(3)), maxMf: -1, maxDf: -1, minM: math.MaxInt32, minD: math.MaxInt32, minSeqF: math.MaxInt32}
	if c >= 1 {
		cn.maxMf, cn.maxDf, cn.minM, cn.minD, cn.minSeqF = m, d, m, d, seq
	}
	return n, tv, cn
}

// checkAgainstLeaves fails unless every inner node of t is, bit for bit, the pairwise
// fold (combine, combineTie, combineCold) over the leaves of its subtree in leaf
// order: the definition of an inner node, computed without the tree's shape.
func checkAgainstLeaves(t *testing.T, tr *tree, when string) {
	t.Helper()
	for lo, width := 1, tr.size; lo < tr.size; lo, width = lo*fan, width/fan {
		for i := lo; i < 2*lo; i++ {
			first := tr.size + (i-lo)*width
			n, tv, cn := tr.nodes[first], tr.ties[first], tr.cold[first]
			for j := first + 1; j < first+width; j++ {
				tv = combineTie(&n, &tr.nodes[j], &tv, &tr.ties[j])
				n = combine(&n, &tr.nodes[j])
				cn = combineCold(&cn, &tr.cold[j])
			}
			if !sameNode(&n, &tr.nodes[i]) || !sameTie(&tv, &tr.ties[i]) {
				t.Fatalf("%s: node %d = %+v %+v, its leaves give %+v %+v", when, i, tr.nodes[i], tr.ties[i], n, tv)
			}
			if !sameCold(&cn, &tr.cold[i]) {
				t.Fatalf("%s: cold node %d = %+v, its leaves give %+v", when, i, tr.cold[i], cn)
			}
		}
	}
}

// TestTreeMatchesLeaves: trees of many sizes (1 leaf, powers of the fan-out and
// sizes between them, grown while in use) under random leaf writes, with flush and
// flushCold at random moments (so that the cold part sometimes waits through many
// writes and is rebuilt whole): after both flushes every inner node is the fold of its
// leaves, and nothing is left pending.
func TestTreeMatchesLeaves(t *testing.T) {
	for _, n := range []int{1, 2, fan - 1, fan, fan + 1, 2*fan + 3, fan * fan, fan*fan + 1, 100, fan * fan * fan, 300} {
		t.Run(fmt.Sprintf("%d leaves", n), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(n), 3))
			var tr tree
			used := 0
			grow := func(k int) {
				for ; used < k; used++ {
					tr.grow(used + 1)
					v, tv, cv := randomLeaf(r, int32(used))
					tr.set(used, v, tv, cv)
				}
			}
			grow((n + 1) / 2) // half now, the rest while in use (grow rebuilds)
			if tr.size < used || tr.size%fan != 0 && tr.size != 1 {
				t.Fatalf("size %d for %d leaves: not a power of %d that holds them", tr.size, used, fan)
			}
			sawColdAll := false
			for op := 0; op < 40*n+200; op++ {
				if op == 10*n {
					grow(n)
				}
				leaf := r.IntN(used)
				v, tv, cv := randomLeaf(r, int32(leaf))
				tr.set(leaf, v, tv, cv)
				sawColdAll = sawColdAll || tr.coldAll
				if r.IntN(4) == 0 {
					tr.flush()
				}
				if r.IntN(3*n) == 0 {
					tr.flushCold()
				}
				if r.IntN(n+10) == 0 || op == 40*n+199 {
					tr.flush()
					tr.flushCold()
					if len(tr.pend) != 0 || len(tr.pendCold) != 0 || tr.coldAll {
						t.Fatalf("op %d: work pending after both flushes", op)
					}
					checkAgainstLeaves(t, &tr, fmt.Sprintf("op %d", op))
				}
			}
			if n >= 2*fan && !sawColdAll {
				t.Errorf("the cold part never waited long enough to be rebuilt whole")
			}
		})
	}
}

// TestEvalIsPairwiseFold: eval and evalCold (the flush's unrolled folds) equal
// combine, combineTie and combineCold folded over the children in order, on random
// children with many equal keys.
func TestEvalIsPairwiseFold(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	var tr tree
	tr.grow(fan)
	for k := 0; k < 20000; k++ {
		for j := 0; j < fan; j++ {
			v, tv, cv := randomLeaf(r, int32(r.IntN(2*fan)))
			if r.IntN(3) == 0 { // an inner child: a class with several figures, k2 set
				tv = mkTie(v.kL+float64(r.IntN(3))/8, tv.prof, tv.seq(), r.IntN(2) == 0)
			}
			tr.nodes[fan+j], tr.ties[fan+j], tr.cold[fan+j] = v, tv, cv
		}
		n, tv, cn := tr.nodes[fan], tr.ties[fan], tr.cold[fan]
		for j := fan + 1; j < 2*fan; j++ {
			tv = combineTie(&n, &tr.nodes[j], &tv, &tr.ties[j])
			n = combine(&n, &tr.nodes[j])
			cn = combineCold(&cn, &tr.cold[j])
		}
		gn, gt := tr.eval(1)
		gc := tr.evalCold(1)
		if !sameNode(&n, &gn) || !sameTie(&tv, &gt) || !sameCold(&cn, &gc) {
			t.Fatalf("case %d: eval %+v %+v %+v, pairwise fold %+v %+v %+v", k, gn, gt, gc, n, tv, cn)
		}
	}
}
