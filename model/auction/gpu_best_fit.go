package auction

import (
	"math/rand/v2"
)

func init() { Register("gpu-best-fit", func() Algorithm { return GPUBestFit{} }) }

var _ Algorithm = GPUBestFit{}

// GPUBestFit is the FGD paper's BestFit baseline (the simulator's BestFitScore): the
// cell whose CPU and GPU left over after the placement, each as a share of the largest
// node, weigh least:
//
//	score = int64((1 - (0.5 x (cpuFree - cpu)/128000 + 0.5 x (gpuFree - gpu)/8000)) x 100)
//
// with gpuFree the free milli-GPU summed over the cell's devices and gpu the request's
// total milli-GPU; highest wins, ties to the first in cell order (RandomTies: at random). Unlike diegolab's memory-only
// `best-fit` it weighs CPU and GPUs and ignores memory (which only bounds fit).
type GPUBestFit struct {
	RandomTies bool // break equal scores at random (Kubernetes) instead of by cell order
}

func (GPUBestFit) Name() string { return "gpu-best-fit" }

func (p GPUBestFit) Choose(req Request, cands []Candidate, _ Settings, r *rand.Rand) int {
	return pickMax(len(cands), func(i int) int64 { return gpuBestFitScore(req, &cands[i]) }, tieStream(r, p.RandomTies))
}

func gpuBestFitScore(req Request, c *Candidate) int64 {
	cpuLeft := float64(freeCPU(c.Compute, req.Compute) - cpuOf(req.Compute))
	gpuLeft := float64(c.Compute.FreeMilliGPU() - req.Compute.TotalMilliGPU())
	s := cpuLeft/MaxSpecMilliCPU*0.5 + gpuLeft/MaxSpecMilliGPU*0.5
	return int64((1.0 - s) * maxNodeScore)
}
