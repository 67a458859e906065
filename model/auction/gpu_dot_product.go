package auction

import (
	"math/rand/v2"
)

func init() { Register("gpu-dot-product", func() Algorithm { return GPUDotProduct{} }) }

var _ Algorithm = GPUDotProduct{}

// GPUDotProduct is the FGD paper's DotProd baseline (the simulator's DotProductScore
// with its "merge" dimensions and "max" normalisation, as the paper's run scripts
// configure it): the cell whose free (CPU, GPU) vector, normalised by the largest node,
// has the smallest dot product with the request's:
//
//	dot   = (cpuFree/128000) x (cpu/128000) + (gpuFree/8000) x (gpu/8000)
//	score = int64(100 x (1 - dot/2))
//
// highest wins, ties to the first in cell order (RandomTies: at random). It packs: the cell with the least of what the request
// needs. diegolab's own `dot-product` (Tetris) maximises the product and so spreads.
type GPUDotProduct struct {
	RandomTies bool // break equal scores at random (Kubernetes) instead of by cell order
}

func (GPUDotProduct) Name() string { return "gpu-dot-product" }

func (p GPUDotProduct) Choose(req Request, cands []Candidate, _ Settings, r *rand.Rand) int {
	return pickMax(len(cands), func(i int) int64 { return gpuDotProductScore(req, &cands[i]) }, tieStream(r, p.RandomTies))
}

func gpuDotProductScore(req Request, c *Candidate) int64 {
	dot := float64(freeCPU(c.Compute, req.Compute))/MaxSpecMilliCPU*(float64(cpuOf(req.Compute))/MaxSpecMilliCPU) +
		float64(c.Compute.FreeMilliGPU())/MaxSpecMilliGPU*(float64(req.Compute.TotalMilliGPU())/MaxSpecMilliGPU)
	return int64(maxNodeScore * (1 - dot/2))
}
