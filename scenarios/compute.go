package scenarios

import (
	"fmt"
	"strconv"

	"github.com/diegolab/diegolab/model"
)

// CPU and GPUs in scenarios (docs/fgd.md, docs/scenario.md "CPU and GPUs"): a [[cells]]
// group (or an add-cells event) may declare cpu_milli, gpus and gpu_model; an [[apps]]
// or [[tasks]] group may ask for cpu_milli, num_gpu, gpu_milli and gpu_models. Nothing
// declared: Diego's cells and work, exactly as before.

// computeCellFields are the compute keys of a [[cells]] group.
type computeCellFields struct {
	CPUMilli rawValue `toml:"cpu_milli"`
	GPUs     rawValue `toml:"gpus"`
	GPUModel rawValue `toml:"gpu_model"`
}

// computeWorkFields are the compute keys of an [[apps]] or [[tasks]] group.
type computeWorkFields struct {
	CPUMilli  rawValue `toml:"cpu_milli"`
	NumGPU    rawValue `toml:"num_gpu"`
	GPUMilli  rawValue `toml:"gpu_milli"`
	GPUModels rawValue `toml:"gpu_models"`
}

var (
	milliCPU   = intRange{0, model.MaxMilliCPU, fmt.Sprintf("an integer in [0, %d] (millicores)", model.MaxMilliCPU)}
	gpuDevices = intRange{0, model.MaxGPUDevices, fmt.Sprintf("an integer in [0, %d] (GPU devices)", model.MaxGPUDevices)}
	gpuMilli   = intRange{0, model.MilliGPU, fmt.Sprintf("an integer in [0, %d] (milli-GPU per device; 0 = a whole device)", model.MilliGPU)}
)

// cellCompute reads a cell group's CPU and GPUs into g.
func (p *problems) cellCompute(key string, d *computeCellFields, g *CellGroup) {
	g.MilliCPU = p.integer(key+".cpu_milli", d.CPUMilli, 0, milliCPU, false)
	g.GPUs = p.integer(key+".gpus", d.GPUs, 0, gpuDevices, false)
	g.GPUModel = p.str(key+".gpu_model", d.GPUModel, "", false, `a GPU model name such as "V100M16"`)
	if d.GPUModel.set && g.GPUs == 0 {
		p.errorf(key+".gpu_model", "set without gpus: declare the cell's devices with gpus = N")
	}
}

// workCompute reads an app or task group's CPU and GPU request (nil when it asks for
// neither).
func (p *problems) workCompute(key string, d *computeWorkFields) *model.Compute {
	c := &model.Compute{
		MilliCPU:  p.integer(key+".cpu_milli", d.CPUMilli, 0, milliCPU, false),
		GPUs:      p.integer(key+".num_gpu", d.NumGPU, 0, gpuDevices, false),
		GPUMilli:  p.integer(key+".gpu_milli", d.GPUMilli, 0, gpuMilli, false),
		GPUModels: p.strings(key+".gpu_models", d.GPUModels, nil),
	}
	if len(c.GPUModels) > model.MaxGPUModels {
		p.errorf(key+".gpu_models", fmt.Sprintf("at most %d models, got %d", model.MaxGPUModels, len(c.GPUModels)))
		c.GPUModels = c.GPUModels[:model.MaxGPUModels]
	}
	switch {
	case c.GPUMilli > 0 && c.GPUs == 0:
		p.errorf(key+".num_gpu", fmt.Sprintf("missing with gpu_milli = %d: a share of a device needs num_gpu = 1", c.GPUMilli))
		return nil
	case c.GPUMilli > 0 && c.GPUMilli < model.MilliGPU && c.GPUs != 1:
		p.errorf(key+".gpu_milli", fmt.Sprintf("a share of a device (%d < 1000) needs num_gpu = 1, got num_gpu = %d", c.GPUMilli, c.GPUs))
		return nil
	case len(c.GPUModels) > 0 && c.GPUs == 0:
		p.errorf(key+".gpu_models", "set without num_gpu: the models a GPU request accepts need a GPU request")
		return nil
	}
	if !c.Declared() {
		return nil
	}
	return c
}

// cellCompute is the CellCompute of one cell of the group (nil when it declares no CPU
// and no GPU).
func (g CellGroup) cellCompute() *model.CellCompute {
	if g.MilliCPU == 0 && g.GPUs == 0 {
		return nil
	}
	return model.NewCellCompute(g.MilliCPU, g.GPUs, g.GPUModel)
}

// DeclaresCompute reports whether some cell group (initial or added by an event)
// declares CPU or GPUs.
func (s *Scenario) DeclaresCompute() bool {
	for _, g := range s.Cells {
		if g.MilliCPU > 0 || g.GPUs > 0 {
			return true
		}
	}
	for _, e := range s.Events {
		if e.Cells != nil && (e.Cells.MilliCPU > 0 || e.Cells.GPUs > 0) {
			return true
		}
	}
	return false
}

// computeWarnings flags app and task groups whose CPU or GPUs no cell group offers:
// their work will fail placement.
func (p *problems) computeWarnings(s *Scenario, groups []CellGroup) {
	var offers []*model.CellCompute
	for _, g := range groups {
		if g.Count > 0 {
			offers = append(offers, g.cellCompute())
		}
	}
	fits := func(c *model.Compute) bool {
		for _, o := range offers {
			if o.Fits(c) {
				return true
			}
		}
		return false
	}
	for i, g := range s.Apps {
		if g.Compute.Declared() && !fits(g.Compute) {
			p.warnf("apps["+strconv.Itoa(i)+"]", fmt.Sprintf("an instance asks for cpu_milli %d and num_gpu %d x %d milli-GPU (models %v), more than any cell group offers; its instances will fail placement with \"insufficient resources\"",
				g.Compute.MilliCPU, g.Compute.GPUs, g.Compute.PerDevice(), g.Compute.GPUModels))
		}
	}
	for i, g := range s.Tasks {
		if g.Compute.Declared() && !fits(g.Compute) {
			p.warnf("tasks["+strconv.Itoa(i)+"]", fmt.Sprintf("a task asks for cpu_milli %d and num_gpu %d x %d milli-GPU (models %v), more than any cell group offers; it will fail placement",
				g.Compute.MilliCPU, g.Compute.GPUs, g.Compute.PerDevice(), g.Compute.GPUModels))
		}
	}
}
