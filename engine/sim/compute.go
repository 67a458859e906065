package sim

import (
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/auction"
	"github.com/diegolab/diegolab/model/rep"
	"github.com/diegolab/diegolab/record"
)

// CPU and GPUs in the simulator (docs/fgd.md). The auction's State (the plane's cell
// view) holds each cell's free CPU and GPU devices and what each container took: the
// auction reserves them when it places work and the view gives them back when the
// driver removes the container (deleteContainer: stopped, crashed, evacuated, task
// done). The simulator keeps no compute per container: a container's request is its
// app's or task group's (computeOf). Runs where no cell declares CPU or GPUs have no
// computeMetrics, and their record is what it was before.

// computeMetrics follows the GPU allocation over the run.
type computeMetrics struct {
	samples       int
	sumGPU, peakG float64
}

// computeOf is the CPU and GPUs the container's work asks for (nil: none).
func (s *Sim) computeOf(ct *container) *model.Compute {
	if ct.Kind() == rep.LRP {
		if g := s.behaviour(s.behOf(ct.app)); g != nil {
			return g.Compute
		}
		return nil
	}
	if gi, ok := s.taskBeh[ct.guid]; ok {
		return s.sc.Tasks[gi].Compute
	}
	return nil
}

func allocation(total, free int) float64 {
	if total <= 0 {
		return 0
	}
	return float64(total-free) / float64(total)
}

// sampleCompute records the GPU allocation of the cells the auction knows now.
func (s *Sim) sampleCompute() {
	t := s.view.ComputeTotals()
	a := allocation(t.GPUs*model.MilliGPU, t.MilliGPUFree)
	s.cm.samples++
	s.cm.sumGPU += a
	s.cm.peakG = max(s.cm.peakG, a)
}

// computeSummary is summary.json "compute".
func (s *Sim) computeSummary() *record.ComputeSummary {
	t := s.view.ComputeTotals()
	cs := &record.ComputeSummary{
		MilliCPU: t.MilliCPU, MilliCPUUsed: t.MilliCPU - t.MilliCPUFree,
		GPUs: t.GPUs, MilliGPUUsed: t.GPUs*model.MilliGPU - t.MilliGPUFree,
		IdleGPUs: t.IdleGPUs, FragmentedMilliGPU: t.FragmentedMilliGPU,
		CPUAllocation:     round6(allocation(t.MilliCPU, t.MilliCPUFree)),
		GPUAllocation:     round6(allocation(t.GPUs*model.MilliGPU, t.MilliGPUFree)),
		PeakGPUAllocation: round6(s.cm.peakG),
	}
	if s.cm.samples > 0 {
		cs.MeanGPUAllocation = round6(s.cm.sumGPU / float64(s.cm.samples))
	}
	return cs
}

// cellComputeRows extends cells.csv's rows with each cell's CPU and GPUs: as the
// auction's view holds them for the cells it knows, and for a cell it does not (cut
// off by a partition, crashed, stopped) the requests of the containers still on it
// laid on its devices as a rejoining cell's are (State.AddLRPCompute).
func (s *Sim) cellComputeRows(rows []record.CellRow) []record.CellComputeRow {
	out := make([]record.CellComputeRow, len(rows))
	for i, c := range s.cells {
		out[i] = record.CellComputeRow{CellRow: rows[i]}
		cc := s.view.Compute(c.ID)
		if cc == nil && c.Compute != nil {
			cc = c.Compute.Clone()
			for _, id := range c.sortedIDs() {
				if r := s.computeOf(&s.containers.items[id]); r.Declared() && cc.Fits(r) {
					cc.Take(r, cc.BestFitDevices(r))
				}
			}
		}
		if cc == nil {
			continue
		}
		var t auction.ComputeTotals
		t.Add(cc)
		out[i].MilliCPU, out[i].MilliCPUUsed = t.MilliCPU, t.MilliCPU-t.MilliCPUFree
		out[i].GPUs, out[i].GPUModel = t.GPUs, cc.GPUModel
		out[i].MilliGPUUsed = t.GPUs*model.MilliGPU - t.MilliGPUFree
		out[i].IdleGPUs, out[i].FragmentedMilliGPU = t.IdleGPUs, t.FragmentedMilliGPU
	}
	return out
}
