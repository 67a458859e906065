package auction

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/diegolab/diegolab/model"
)

// CPU and GPUs (model.Compute) live beside the auction's index, not in it: the index
// orders cells by Diego's three resources, and a request that declares CPU or GPUs is
// placed by enumerating the feasible cells (State.choose), each checked with
// model.CellCompute.Fits. A request without them takes the index as before, so Diego's
// decisions, and the cost of a batch, do not change when nobody declares CPU or GPUs.

// cellSide is what the State keeps per cell for CPU and GPU work, only on cells that
// ever held some: the work's affinity tags (gpu-clustering), and what each task and
// each LRP instance took (so that RemoveTask and RemoveLRP give it back). An LRP's
// instances all ask for the same, so the cell keeps a stack per process id and a
// removal gives back the last one pushed: the cell's free figures come out right
// whichever instance left.
type cellSide struct {
	affinity map[string]int
	held     map[string]held  // task guid -> what it took
	lrps     map[int32][]held // process id -> what its instances on the cell took
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

// takeCompute reserves the request's CPU and GPUs on the winner and remembers them
// under the task guid (a task) or the process id gid (an LRP instance: task "").
func (s *State) takeCompute(rec *cellRec, req *Request, alg Algorithm, r *rand.Rand, task string, gid int32) {
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
	s.computeChanged(rec)
	s.hold(rec, req.Compute, devs, task, gid)
}

// hold records what work took on the cell (takeCompute, addCompute).
func (s *State) hold(rec *cellRec, comp *model.Compute, devs []int, task string, gid int32) {
	if rec.side == nil {
		rec.side = &cellSide{}
	}
	if tag := GPUAffinity(comp); tag != "" {
		if rec.side.affinity == nil {
			rec.side.affinity = map[string]int{}
		}
		rec.side.affinity[tag]++
	}
	h := held{comp, devs}
	if task != "" {
		if rec.side.held == nil {
			rec.side.held = map[string]held{}
		}
		rec.side.held[task] = h
		return
	}
	if rec.side.lrps == nil {
		rec.side.lrps = map[int32][]held{}
	}
	rec.side.lrps[gid] = append(rec.side.lrps[gid], h)
}

// addCompute takes comp on the cell for work a driver adds (AddLRPCompute,
// AddTaskCompute): the devices the openb simulator's default would pick.
func (s *State) addCompute(rec *cellRec, comp *model.Compute, task string, gid int32) error {
	if !comp.Declared() || rec.cell.Compute == nil {
		return nil
	}
	if !rec.cell.Compute.Fits(comp) {
		return &model.ValidationError{Field: "compute", Problem: fmt.Sprintf("cell %s cannot take cpu_milli %d, num_gpu %d x %d milli-GPU (free: %d millicores, devices %v)",
			rec.cell.ID, comp.MilliCPU, comp.GPUs, comp.PerDevice(), rec.cell.Compute.MilliCPUFree, rec.cell.Compute.GPUFree)}
	}
	devs := rec.cell.Compute.BestFitDevices(comp)
	rec.cell.Compute.Take(comp, devs)
	s.computeChanged(rec)
	s.hold(rec, comp, devs, task, gid)
	return nil
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
	s.give1(rec, h)
}

// giveLRPCompute returns what one instance of process id gid took on the cell.
func (s *State) giveLRPCompute(rec *cellRec, gid int32) {
	if rec.side == nil || rec.side.lrps == nil {
		return
	}
	hs := rec.side.lrps[gid]
	if len(hs) == 0 {
		return
	}
	h := hs[len(hs)-1]
	if len(hs) == 1 {
		delete(rec.side.lrps, gid)
	} else {
		rec.side.lrps[gid] = hs[:len(hs)-1]
	}
	s.give1(rec, h)
}

func (s *State) give1(rec *cellRec, h held) {
	rec.cell.Compute.Give(h.comp, h.devs)
	s.computeChanged(rec)
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

// ComputeTotals sums the CPU and GPUs of the cells (evacuating ones included).
type ComputeTotals struct {
	MilliCPU, MilliCPUFree int
	GPUs, MilliGPUFree     int
	IdleGPUs               int
	// FragmentedMilliGPU is the free milli-GPU on partly allocated devices.
	FragmentedMilliGPU int
}

// ComputeTotals returns the cells' CPU and GPUs summed.
func (s *State) ComputeTotals() ComputeTotals {
	var t ComputeTotals
	for _, rec := range s.cells {
		t.Add(rec.cell.Compute)
	}
	return t
}

// Add adds one cell's compute (nil: nothing).
func (t *ComputeTotals) Add(c *model.CellCompute) {
	if c == nil {
		return
	}
	t.MilliCPU += c.MilliCPU
	t.MilliCPUFree += c.MilliCPUFree
	t.GPUs += len(c.GPUFree)
	for _, f := range c.GPUFree {
		t.MilliGPUFree += f
		switch {
		case f == model.MilliGPU:
			t.IdleGPUs++
		case f > 0:
			t.FragmentedMilliGPU += f
		}
	}
}
