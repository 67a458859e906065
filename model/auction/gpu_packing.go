package auction

import (
	"math/rand/v2"
	"slices"

	"github.com/diegolab/diegolab/model"
)

func init() { Register("gpu-packing", func() Algorithm { return GPUPacking{} }) }

var _ Algorithm = GPUPacking{}

// GPUPacking is the FGD paper's GpuPacking baseline (the simulator's
// GpuPackingScore): GPU work goes first to devices already shared, then to idle devices
// of a cell already in use, then to an idle cell. In integer scores, highest wins,
// ties to the first in cell order (RandomTies: at random):
//
//   - a share of a used device: 100 - (sum over the devices taken of their free
//     milli-GPU x 100 / 1000) / 10, at least 50;
//   - idle devices of a cell with some in use: 50 - the idle devices taken, at least 33;
//   - a cell whose devices are all idle: max(33 - its idle devices, its idle devices).
//
// The devices considered are the fitting ones in order of free milli-GPU, least first.
// Work without GPUs scores 0 everywhere: a random feasible cell.
type GPUPacking struct {
	RandomTies bool // break equal scores at random (Kubernetes) instead of by cell order
}

func (GPUPacking) Name() string { return "gpu-packing" }

func (p GPUPacking) Choose(req Request, cands []Candidate, _ Settings, r *rand.Rand) int {
	return pickMax(len(cands), func(i int) int64 { return gpuPackingScore(req.Compute, cands[i].Compute) }, tieStream(r, p.RandomTies))
}

func gpuPackingScore(req *model.Compute, c *model.CellCompute) int64 {
	if req.TotalMilliGPU() <= 0 || c == nil {
		return 0
	}
	idle := c.IdleGPUs()
	if idle == c.GPUs() {
		return max(int64(maxNodeScore/3-idle), int64(idle))
	}
	order := make([]int, len(c.GPUFree))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return c.GPUFree[a] - c.GPUFree[b] })
	need, per := req.GPUs, req.PerDevice()
	idleUsed := 0
	var freeRatio int64
	for _, d := range order {
		if need == 0 {
			break
		}
		if f := c.GPUFree[d]; f >= per {
			need--
			freeRatio += int64(f) * 100 / model.MilliGPU
			if f == model.MilliGPU {
				idleUsed++
			}
		}
	}
	if need != 0 {
		return 0
	}
	if idleUsed > 0 {
		return max(int64(maxNodeScore/2-idleUsed), maxNodeScore/3)
	}
	return max(maxNodeScore-freeRatio/10, maxNodeScore/2)
}
