package auction

import (
	"math/rand/v2"
	"strconv"

	"github.com/diegolab/diegolab/model"
)

// CPU and GPUs (model.Compute) live beside the auction's index, not in it: the index
// orders cells by Diego's three resources, and a request that declares CPU or GPUs is
// placed by enumerating the feasible cells (State.choose), each checked with
// model.CellCompute.Fits. A request without them takes the index as before, so Diego's
// decisions, and the cost of a batch, do not change when nobody declares CPU or GPUs.

// cellSide is what the State keeps per cell for GPU work, only on cells that ever held
// some: the work's affinity tags (gpu-clustering) and the devices each task holds (so
// RemoveTask gives them back).
type cellSide struct {
	affinity map[string]int
	held     map[string]held // task guid -> what it took
}

type held struct {
	comp *model.Compute
	devs []int
}

// DeviceChooser is implemented by algorithms that choose the GPU devices of the work
// they place (fgd: the devices where fragmentation grows least). The others get
// model.CellCompute.BestFitDevices, the openb simulator's default.
type DeviceChooser interface {
	Devices(req Request, cell *model.CellCompute, r *rand.Rand) []int
}

// GPUAffinity is the tag the openb simulator's GPU-clustering policy groups work by:
// "" without GPUs, "share-gpu" for a share of one device, "N-gpu" for N whole devices.
func GPUAffinity(c *model.Compute) string {
	switch {
	case c == nil || c.GPUs == 0:
		return ""
	case c.Shared():
		return "share-gpu"
	}
	return strconv.Itoa(c.GPUs) + "-gpu"
}

// takeCompute reserves the request's CPU and GPUs on the winner (task: the guid to
// remember the devices under; "" for LRPs, whose devices are not given back).
func (s *State) takeCompute(rec *cellRec, req *Request, alg Algorithm, r *rand.Rand, task string) {
	if !req.Compute.Declared() || rec.cell.Compute == nil {
		return
	}
	var devs []int
	if req.Compute.GPUs > 0 {
		if dc, ok := alg.(DeviceChooser); ok {
			devs = dc.Devices(*req, rec.cell.Compute, r)
		}
		if !fitsDevices(rec.cell.Compute, req.Compute, devs) {
			devs = rec.cell.Compute.BestFitDevices(req.Compute)
		}
	}
	if !rec.cell.Compute.Take(req.Compute, devs) {
		return // cannot happen: the cell passed Fits
	}
	if tag := GPUAffinity(req.Compute); tag != "" || task != "" {
		if rec.side == nil {
			rec.side = &cellSide{}
		}
		if tag != "" {
			if rec.side.affinity == nil {
				rec.side.affinity = map[string]int{}
			}
			rec.side.affinity[tag]++
		}
		if task != "" {
			if rec.side.held == nil {
				rec.side.held = map[string]held{}
			}
			rec.side.held[task] = held{req.Compute, devs}
		}
	}
}

func fitsDevices(c *model.CellCompute, r *model.Compute, devs []int) bool {
	if len(devs) != r.GPUs {
		return false
	}
	per := r.PerDevice()
	for i, d := range devs {
		if d < 0 || d >= len(c.GPUFree) || c.GPUFree[d] < per {
			return false
		}
		for _, e := range devs[:i] {
			if e == d {
				return false
			}
		}
	}
	return true
}

// giveTaskCompute returns what a task's takeCompute took.
func (s *State) giveTaskCompute(rec *cellRec, task string) {
	if rec.side == nil || rec.side.held == nil {
		return
	}
	h, ok := rec.side.held[task]
	if !ok {
		return
	}
	delete(rec.side.held, task)
	rec.cell.Compute.Give(h.comp, h.devs)
	if tag := GPUAffinity(h.comp); tag != "" {
		if rec.side.affinity[tag]--; rec.side.affinity[tag] <= 0 {
			delete(rec.side.affinity, tag)
		}
	}
}

// Compute returns a copy of the cell's CPU and GPUs (nil when it declares none).
func (s *State) Compute(cellID string) *model.CellCompute {
	if rec, ok := s.byID[cellID]; ok {
		return rec.cell.Compute.Clone()
	}
	return nil
}

var _ DeviceChooser = Random{}

// Devices: random picks a share's device at random too, as the paper's Random
// baseline does (its run scripts set the GPU-share plugin's device selection to
// "random"): uniformly among the devices with enough free. Whole devices, and
// everything with a nil stream, as model.CellCompute.BestFitDevices.
func (Random) Devices(req Request, c *model.CellCompute, r *rand.Rand) []int {
	if r == nil || !req.Compute.Shared() {
		return c.BestFitDevices(req.Compute)
	}
	per, dev, n := req.Compute.PerDevice(), -1, 0
	for i, f := range c.GPUFree {
		if f >= per {
			n++
			if r.IntN(n) == 0 {
				dev = i
			}
		}
	}
	if dev < 0 {
		return nil
	}
	return []int{dev}
}
