package auction

import (
	"math/rand/v2"

	"github.com/diegolab/diegolab/model"
)

// The GPU-scheduling policies of the FGD paper (Weng et al., "Beware of Fragmentation:
// Scheduling GPU-Sharing Workloads with Fragmentation Gradient Descent", USENIX ATC'23)
// as its open-source simulator (hkust-adsl/kubernetes-scheduler-simulator) defines
// them: each gives every feasible cell an integer score in [0, 100] (Kubernetes'
// MinNodeScore..MaxNodeScore), and the highest wins. Equal scores, frequent with
// integer scores, go to the first cell in cell order, diegolab's tie-break everywhere;
// with RandomTies set they are broken uniformly at random from the run's stream, as
// Kubernetes' selectHost does. (The FGD reproduction, docs/fgd.md, finds that the
// paper's table is reproduced by first-in-order ties over a node order shuffled per
// seed, and not by random ties, under which FGD loses four points.) Feasibility
// (memory, disk, container, CPU, GPU count and model) is the auction's, shared with
// every other algorithm.

// Normalisers of the simulator's BestFit, DotProd and GpuClustering scores: the
// largest node of its clusters (128 cores, 8 GPUs).
const (
	MaxSpecMilliCPU = 128000
	MaxSpecMilliGPU = 8000
)

// maxNodeScore is Kubernetes' framework.MaxNodeScore.
const maxNodeScore = 100

// tieStream is r when ties are random, nil (first in cell order) otherwise.
func tieStream(r *rand.Rand, random bool) *rand.Rand {
	if random {
		return r
	}
	return nil
}

// pickMax returns the index of the highest score among n, ties uniformly at random
// from r (reservoir sampling in cell order), or the first with a nil r.
func pickMax(n int, score func(i int) int64, r *rand.Rand) int {
	best, ties := -1, 0
	var bestS int64
	for i := 0; i < n; i++ {
		s := score(i)
		switch {
		case best < 0 || s > bestS:
			best, bestS, ties = i, s, 1
		case s == bestS:
			ties++
			if r != nil && r.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return best
}

// freeCPU is what the scores count as the cell's free CPU: its free millicores, or,
// on a cell that does not account CPU, exactly the request (nothing left over).
func freeCPU(c *model.CellCompute, req *model.Compute) int {
	if c == nil || c.MilliCPU == 0 {
		return cpuOf(req)
	}
	return c.MilliCPUFree
}

func cpuOf(req *model.Compute) int {
	if req == nil {
		return 0
	}
	return req.MilliCPU
}
