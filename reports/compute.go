package reports

import (
	"fmt"
	"sort"

	"github.com/diegolab/diegolab/record"
)

// ComputeData is the CPU and GPU part of a run (summary.json "compute" and cells.csv's
// compute columns, docs/fgd.md): utilisation per resource and GPU fragmentation.
type ComputeData struct {
	// Resources is the allocated fraction of each resource at the end of the run, over
	// the cells the auction knew: memory, disk and containers as means over cells
	// (summary.json utilisation), CPU and GPU as totals (used / capacity).
	Resources []ResourceUse
	Summary   record.ComputeSummary
	// FragmentedShare is the fragmented milli-GPU over all free milli-GPU (0 when
	// nothing is free).
	FragmentedShare float64
	// Models is one row per GPU model (cells without GPUs are "none"), sorted.
	Models []ModelUse
}

// ResourceUse is one resource's allocated fraction.
type ResourceUse struct {
	Resource string
	Used     float64
}

// ModelUse sums the cells of one GPU model that are up at the end.
type ModelUse struct {
	Model                        string
	Cells, GPUs, MilliGPUUsed    int
	IdleGPUs, FragmentedMilli    int
	MilliCPU, MilliCPUUsed       int
	GPUAllocation, CPUAllocation float64
}

// computeData is nil for a run without CPU or GPUs.
func computeData(s *record.Summary, rows []record.CellComputeRow) *ComputeData {
	if s.Compute == nil {
		return nil
	}
	c := s.Compute
	d := &ComputeData{Summary: *c, Resources: []ResourceUse{
		{"memory (mean over cells)", s.Utilisation.Memory.Mean},
		{"disk (mean over cells)", s.Utilisation.Disk.Mean},
		{"containers (mean over cells)", s.Utilisation.Containers.Mean},
		{"CPU (total)", c.CPUAllocation},
		{"GPU (total)", c.GPUAllocation},
	}}
	if free := c.GPUs*1000 - c.MilliGPUUsed; free > 0 {
		d.FragmentedShare = float64(c.FragmentedMilliGPU) / float64(free)
	}
	by := map[string]*ModelUse{}
	for _, r := range rows {
		if r.State != record.CellUp {
			continue
		}
		m := r.GPUModel
		if r.GPUs == 0 {
			m = "none"
		}
		u := by[m]
		if u == nil {
			u = &ModelUse{Model: m}
			by[m] = u
		}
		u.Cells++
		u.GPUs += r.GPUs
		u.MilliGPUUsed += r.MilliGPUUsed
		u.IdleGPUs += r.IdleGPUs
		u.FragmentedMilli += r.FragmentedMilliGPU
		u.MilliCPU += r.MilliCPU
		u.MilliCPUUsed += r.MilliCPUUsed
	}
	for _, u := range by {
		if u.GPUs > 0 {
			u.GPUAllocation = float64(u.MilliGPUUsed) / float64(u.GPUs*1000)
		}
		if u.MilliCPU > 0 {
			u.CPUAllocation = float64(u.MilliCPUUsed) / float64(u.MilliCPU)
		}
		d.Models = append(d.Models, *u)
	}
	sort.Slice(d.Models, func(i, j int) bool { return d.Models[i].Model < d.Models[j].Model })
	return d
}

// computeTables are the report's "CPU and GPUs" tables.
func computeTables(d *ComputeData) []table {
	use := table{Caption: "CPU and GPUs: allocated fraction per resource at the end", Head: []string{"resource", "allocated"}}
	for _, r := range d.Resources {
		use.Rows = append(use.Rows, []cell{{Text: r.Resource}, {Text: pct(r.Used), Class: "num"}})
	}
	s := d.Summary
	fig := table{Caption: "GPU allocation and fragmentation", Head: []string{"figure", "value"}}
	add := func(name string, v float64) { fig.Rows = append(fig.Rows, []cell{{Text: name}, numCell(v)}) }
	add("GPU devices", float64(s.GPUs))
	add("milli-GPU allocated", float64(s.MilliGPUUsed))
	add("idle devices", float64(s.IdleGPUs))
	add("fragmented milli-GPU (free on partly allocated devices)", float64(s.FragmentedMilliGPU))
	fig.Rows = append(fig.Rows,
		[]cell{{Text: "fragmented share of the free milli-GPU"}, {Text: pct(d.FragmentedShare), Class: "num"}},
		[]cell{{Text: "GPU allocation: peak over the run"}, {Text: pct(s.PeakGPUAllocation), Class: "num"}},
		[]cell{{Text: "GPU allocation: mean over the run's samples"}, {Text: pct(s.MeanGPUAllocation), Class: "num"}})
	add("CPU millicores", float64(s.MilliCPU))
	add("CPU millicores allocated", float64(s.MilliCPUUsed))
	models := table{Caption: fmt.Sprintf("Cells up at the end, by GPU model (%d)", len(d.Models)),
		Head: []string{"model", "cells", "devices", "GPU allocated", "idle devices", "fragmented milli-GPU", "CPU allocated"}}
	for _, m := range d.Models {
		models.Rows = append(models.Rows, []cell{{Text: m.Model}, numCell(float64(m.Cells)), numCell(float64(m.GPUs)),
			{Text: pct(m.GPUAllocation), Class: "num"}, numCell(float64(m.IdleGPUs)), numCell(float64(m.FragmentedMilli)),
			{Text: pct(m.CPUAllocation), Class: "num"}})
	}
	return []table{use, fig, models}
}
