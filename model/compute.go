package model

import (
	"fmt"
	"slices"
	"strings"
)

// MilliGPU is one GPU device in milli-GPU: a request for a share of a device asks for
// fewer (GPU sharing), a request for whole devices takes MilliGPU of each.
const MilliGPU = 1000

// Bounds on client-given CPU and GPU figures: everything sized by them stays small.
const (
	MaxMilliCPU   = 1 << 30 // about a million cores
	MaxGPUDevices = 64      // devices per cell or per request
	MaxGPUModels  = 16      // acceptable models per request
)

// Compute is what a piece of work asks for beyond Diego's memory, disk and container
// (DIEGO.md §1.3 schedules those only): CPU in millicores and GPUs. A request takes
// GPUs whole devices, or, with GPUs = 1 and 0 < GPUMilli < 1000, a share of one
// device's remainder (GPU sharing, as in the Alibaba openb trace). GPUModels lists the
// acceptable device models ("V100M16", "V100M32"); empty accepts any. The zero value
// asks for nothing, and work without a Compute is Diego's.
type Compute struct {
	MilliCPU  int      `json:"cpu_milli,omitempty"`
	GPUs      int      `json:"num_gpu,omitempty"`
	GPUMilli  int      `json:"gpu_milli,omitempty"` // per device; 0 with GPUs > 0 means 1000
	GPUModels []string `json:"gpu_models,omitempty"`
}

// Declared reports whether c asks for CPU or a GPU.
func (c *Compute) Declared() bool { return c != nil && (c.MilliCPU > 0 || c.GPUs > 0) }

// Clone copies c (nil stays nil).
func (c *Compute) Clone() *Compute {
	if c == nil {
		return nil
	}
	d := *c
	d.GPUModels = slices.Clone(c.GPUModels)
	return &d
}

// PerDevice is the milli-GPU the request takes on each of its devices (0 without GPUs).
func (c *Compute) PerDevice() int {
	switch {
	case c == nil || c.GPUs == 0:
		return 0
	case c.GPUMilli == 0:
		return MilliGPU
	}
	return c.GPUMilli
}

// TotalMilliGPU is GPUs x PerDevice.
func (c *Compute) TotalMilliGPU() int {
	if c == nil {
		return 0
	}
	return c.GPUs * c.PerDevice()
}

// Shared reports whether the request asks for a share of one device.
func (c *Compute) Shared() bool { return c != nil && c.GPUs == 1 && c.PerDevice() < MilliGPU }

// Accepts reports whether a device of model m is acceptable.
func (c *Compute) Accepts(m string) bool {
	if c == nil || len(c.GPUModels) == 0 {
		return true
	}
	return slices.Contains(c.GPUModels, m)
}

// ParseGPUModels splits "V100M16|V100M32" into its models (empty entries dropped).
func ParseGPUModels(spec string) []string {
	var out []string
	for _, m := range strings.Split(spec, "|") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// Validate checks a request: figures within bounds, a share only of one device.
func (c *Compute) Validate(field string) error {
	if c == nil {
		return nil
	}
	bad := func(f, p string) error { return &ValidationError{Field: field + "." + f, Problem: p} }
	switch {
	case c.MilliCPU < 0 || c.MilliCPU > MaxMilliCPU:
		return bad("cpu_milli", fmt.Sprintf("must be in [0, %d], got %d", MaxMilliCPU, c.MilliCPU))
	case c.GPUs < 0 || c.GPUs > MaxGPUDevices:
		return bad("num_gpu", fmt.Sprintf("must be in [0, %d], got %d", MaxGPUDevices, c.GPUs))
	case c.GPUMilli < 0 || c.GPUMilli > MilliGPU:
		return bad("gpu_milli", fmt.Sprintf("must be in [0, %d], got %d", MilliGPU, c.GPUMilli))
	case c.GPUMilli > 0 && c.GPUMilli < MilliGPU && c.GPUs != 1:
		return bad("gpu_milli", fmt.Sprintf("a share of a device (%d < 1000) needs num_gpu = 1, got %d", c.GPUMilli, c.GPUs))
	case c.GPUMilli > 0 && c.GPUs == 0:
		return bad("num_gpu", fmt.Sprintf("must be >= 1 with gpu_milli %d", c.GPUMilli))
	case len(c.GPUModels) > MaxGPUModels:
		return bad("gpu_models", fmt.Sprintf("at most %d models, got %d", MaxGPUModels, len(c.GPUModels)))
	}
	return nil
}

// CellCompute is a cell's CPU and GPUs beyond Diego's memory, disk and containers: total
// and free millicores (MilliCPU 0: the cell does not account CPU, and any request's
// CPU fits, as on Diego's cells, which share CPU by weight), and GPUFree, the free
// milli-GPU of each of its devices, all of model GPUModel (no devices: GPU requests do
// not fit).
type CellCompute struct {
	MilliCPU     int    `json:"cpu_milli"`
	MilliCPUFree int    `json:"cpu_milli_free"`
	GPUModel     string `json:"gpu_model,omitempty"`
	GPUFree      []int  `json:"gpu_milli_free,omitempty"`
}

// NewCellCompute is an empty cell's compute: cpu millicores and gpus idle devices.
func NewCellCompute(cpu, gpus int, gpuModel string) *CellCompute {
	c := &CellCompute{MilliCPU: cpu, MilliCPUFree: cpu, GPUModel: gpuModel}
	if gpus > 0 {
		c.GPUFree = make([]int, gpus)
		for i := range c.GPUFree {
			c.GPUFree[i] = MilliGPU
		}
	}
	return c
}

// Clone copies c (nil stays nil).
func (c *CellCompute) Clone() *CellCompute {
	if c == nil {
		return nil
	}
	d := *c
	d.GPUFree = slices.Clone(c.GPUFree)
	return &d
}

// GPUs is the number of devices.
func (c *CellCompute) GPUs() int {
	if c == nil {
		return 0
	}
	return len(c.GPUFree)
}

// FreeMilliGPU is the free milli-GPU summed over the devices.
func (c *CellCompute) FreeMilliGPU() int {
	n := 0
	if c != nil {
		for _, f := range c.GPUFree {
			n += f
		}
	}
	return n
}

// IdleGPUs is the number of devices with nothing allocated.
func (c *CellCompute) IdleGPUs() int {
	n := 0
	if c != nil {
		for _, f := range c.GPUFree {
			if f == MilliGPU {
				n++
			}
		}
	}
	return n
}

// FitsCPU reports whether the cell has the request's CPU (always, when it does not
// account CPU).
func (c *CellCompute) FitsCPU(r *Compute) bool {
	if r == nil || r.MilliCPU == 0 || c == nil || c.MilliCPU == 0 {
		return true
	}
	return c.MilliCPUFree >= r.MilliCPU
}

// FitsGPU reports whether the cell can give the request its GPUs: an acceptable model
// and GPUs devices with at least PerDevice free each (a share: one device's remainder).
func (c *CellCompute) FitsGPU(r *Compute) bool {
	if r == nil || r.GPUs == 0 {
		return true
	}
	if c == nil || !r.Accepts(c.GPUModel) {
		return false
	}
	need, per := r.GPUs, r.PerDevice()
	for _, f := range c.GPUFree {
		if f >= per {
			need--
			if need == 0 {
				return true
			}
		}
	}
	return false
}

// Fits reports whether r fits on the cell's CPU and GPUs.
func (c *CellCompute) Fits(r *Compute) bool { return c.FitsCPU(r) && c.FitsGPU(r) }

// Validate checks a cell's compute: bounds, free within total.
func (c *CellCompute) Validate(field string) error {
	if c == nil {
		return nil
	}
	bad := func(f, p string) error { return &ValidationError{Field: field + "." + f, Problem: p} }
	switch {
	case c.MilliCPU < 0 || c.MilliCPU > MaxMilliCPU:
		return bad("cpu_milli", fmt.Sprintf("must be in [0, %d], got %d", MaxMilliCPU, c.MilliCPU))
	case c.MilliCPUFree < 0 || c.MilliCPUFree > c.MilliCPU:
		return bad("cpu_milli_free", fmt.Sprintf("must be in [0, cpu_milli = %d], got %d", c.MilliCPU, c.MilliCPUFree))
	case len(c.GPUFree) > MaxGPUDevices:
		return bad("gpu_milli_free", fmt.Sprintf("at most %d devices, got %d", MaxGPUDevices, len(c.GPUFree)))
	}
	for i, f := range c.GPUFree {
		if f < 0 || f > MilliGPU {
			return bad(fmt.Sprintf("gpu_milli_free[%d]", i), fmt.Sprintf("must be in [0, %d], got %d", MilliGPU, f))
		}
	}
	return nil
}

// Take removes r from the cell: its CPU, and its GPUs from devs (device indexes, one per
// requested device). It reports false and changes nothing when r does not fit there.
func (c *CellCompute) Take(r *Compute, devs []int) bool {
	if !c.FitsCPU(r) || len(devs) != r.GPUs {
		return false
	}
	per := r.PerDevice()
	for i, d := range devs {
		if d < 0 || d >= len(c.GPUFree) || c.GPUFree[d] < per || slices.Contains(devs[:i], d) {
			return false
		}
	}
	if c.MilliCPU > 0 {
		c.MilliCPUFree -= r.MilliCPU
	}
	for _, d := range devs {
		c.GPUFree[d] -= per
	}
	return true
}

// Give returns what Take took.
func (c *CellCompute) Give(r *Compute, devs []int) {
	if c.MilliCPU > 0 {
		c.MilliCPUFree = min(c.MilliCPUFree+r.MilliCPU, c.MilliCPU)
	}
	per := r.PerDevice()
	for _, d := range devs {
		if d >= 0 && d < len(c.GPUFree) {
			c.GPUFree[d] = min(c.GPUFree[d]+per, MilliGPU)
		}
	}
}

// BestFitDevices picks the devices for r on c the way the openb simulator's GPU-share
// plugin does by default ("best"): a share goes to the fitting device with the least
// free (ties: lowest index), whole devices to the idle ones of lowest index. nil when
// r has no GPUs or does not fit.
func (c *CellCompute) BestFitDevices(r *Compute) []int {
	if r == nil || r.GPUs == 0 || !c.FitsGPU(r) {
		return nil
	}
	per := r.PerDevice()
	if r.Shared() {
		best := -1
		for i, f := range c.GPUFree {
			if f >= per && (best < 0 || f < c.GPUFree[best]) {
				best = i
			}
		}
		return []int{best}
	}
	devs := make([]int, 0, r.GPUs)
	for i, f := range c.GPUFree {
		if f >= per && len(devs) < r.GPUs {
			devs = append(devs, i)
		}
	}
	return devs
}
