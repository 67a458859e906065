package bench

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/scenarios"
)

// CompactionResult is the outcome of a bisection over the cell count.
type CompactionResult struct {
	Cells int     // fewest cells that fit; NaN-worthy (0) when the full cluster does not fit
	Ratio float64 // Cells / cells of the scenario; NaN when the full cluster does not fit
	Runs  int     // simulations run
}

// fits reports whether a run placed its whole workload: no failed LRP or task
// placement and every desired instance running at the end.
func fits(sc *scenarios.Scenario) (bool, error) {
	s, err := sim.New(sc, sim.Options{NoEvents: true})
	if err != nil {
		return false, err
	}
	sum, err := s.Run()
	if err != nil {
		return false, err
	}
	a := sum.Auction
	return a.LRPsFailed == 0 && a.TasksFailed == 0 && sum.RunningInstances >= sum.DesiredInstances, nil
}

// Compaction finds the fewest cells with which run r still fits its workload (Borg's
// compaction, Verma et al. EuroSys'15): bisection over the total cell count k in
// [1, N], where N is the scenario's initial cell count, assuming that fitting is
// monotone in k. The k cells are shared among the [[cells]] groups in proportion to
// their counts (largest remainder, ties to the earlier group), so the groups must have
// distinct names. Every trial uses the run's seed, algorithm and settings. When the
// full cluster does not fit, Cells is N and Ratio is NaN.
func Compaction(r Run) (CompactionResult, error) {
	full, err := r.Load()
	if err != nil {
		return CompactionResult{}, err
	}
	counts := make([]int, len(full.Cells))
	names := make([]string, len(full.Cells))
	n := 0
	for i, g := range full.Cells {
		if slices.Contains(names, g.Name) {
			return CompactionResult{}, fmt.Errorf("compaction needs distinctly named [[cells]] groups; %q is used twice", g.Name)
		}
		names[i], counts[i] = g.Name, g.Count
		n += g.Count
	}
	res := CompactionResult{Cells: n, Ratio: math.NaN()}
	try := func(k int) (bool, error) {
		res.Runs++
		ov := []string{}
		for i, c := range share(counts, k) {
			ov = append(ov, "cells."+names[i]+".count="+strconv.Itoa(c))
		}
		sc, err := r.Load(ov...)
		if err != nil {
			return false, fmt.Errorf("compaction with %d cells: %w", k, err)
		}
		return fits(sc)
	}
	ok, err := try(n)
	if err != nil || !ok {
		return res, err
	}
	lo, hi := 0, n // invariant: hi fits, lo does not (0 cells fit nothing)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := try(mid)
		if err != nil {
			return res, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	res.Cells, res.Ratio = hi, float64(hi)/float64(n)
	return res, nil
}

// share divides k among groups in proportion to counts: floor shares, then one more to
// the groups with the largest remainders (earlier group first on ties).
func share(counts []int, k int) []int {
	total := 0
	for _, c := range counts {
		total += c
	}
	out := make([]int, len(counts))
	if total == 0 {
		return out
	}
	rem := make([]int, len(counts))
	given := 0
	for i, c := range counts {
		out[i] = c * k / total
		rem[i] = c * k % total
		given += out[i]
	}
	idx := make([]int, len(counts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return rem[b] - rem[a] })
	for j := 0; given < k; j++ {
		out[idx[j%len(idx)]]++
		given++
	}
	return out
}
