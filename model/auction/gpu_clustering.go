package auction

import (
	"math/rand/v2"
)

func init() { Register("gpu-clustering", func() Algorithm { return GPUClustering{} }) }

var _ Algorithm = GPUClustering{}

// GPUClustering is the FGD paper's GpuClustering baseline (the simulator's
// GpuClusteringScore): GPU work of one kind (its GPUAffinity tag: a device share, or N
// whole devices) gathers on the same cells. With u = (8000 - the cell's free
// milli-GPU) the integer part of 25 x u / 8000 (fuller cells first within a band):
//
//	cell holds only work of the request's kind:          75 + 25 x u / 8000
//	cell holds that kind and others:                     50 + 25 x u / 8000
//	cell holds no GPU work:                              25 + 25 x u / 8000
//	cell holds other kinds only:                              25 x u / 8000
//
// highest wins, ties to the first in cell order (RandomTies: at random). Work without GPUs scores 0 everywhere (random).
type GPUClustering struct {
	RandomTies bool // break equal scores at random (Kubernetes) instead of by cell order
}

func (GPUClustering) Name() string { return "gpu-clustering" }

func (p GPUClustering) Choose(req Request, cands []Candidate, _ Settings, r *rand.Rand) int {
	tag := GPUAffinity(req.Compute)
	return pickMax(len(cands), func(i int) int64 { return gpuClusteringScore(tag, &cands[i]) }, tieStream(r, p.RandomTies))
}

func gpuClusteringScore(tag string, c *Candidate) int64 {
	if tag == "" {
		return 0
	}
	band := int64(maxNodeScore/4) * int64(MaxSpecMilliGPU-c.Compute.FreeMilliGPU()) / MaxSpecMilliGPU
	switch {
	case c.GPUPods[tag] > 0 && len(c.GPUPods) == 1:
		return band + maxNodeScore*3/4
	case c.GPUPods[tag] > 0:
		return band + maxNodeScore*2/4
	case len(c.GPUPods) == 0:
		return band + maxNodeScore/4
	}
	return band
}
