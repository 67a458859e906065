package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/record"
)

func TestComputeData(t *testing.T) {
	s := &record.Summary{Compute: &record.ComputeSummary{MilliCPU: 3000, MilliCPUUsed: 1500, GPUs: 4, MilliGPUUsed: 1500,
		IdleGPUs: 2, FragmentedMilliGPU: 500, CPUAllocation: 0.5, GPUAllocation: 0.375}}
	rows := []record.CellComputeRow{
		{CellRow: record.CellRow{CellID: "a", State: record.CellUp}, GPUs: 2, GPUModel: "T4", MilliGPUUsed: 1500, FragmentedMilliGPU: 500, MilliCPU: 1000, MilliCPUUsed: 1000},
		{CellRow: record.CellRow{CellID: "b", State: record.CellUp}, GPUs: 2, GPUModel: "T4", IdleGPUs: 2, MilliCPU: 1000, MilliCPUUsed: 500},
		{CellRow: record.CellRow{CellID: "c", State: record.CellUp}, MilliCPU: 1000},
		{CellRow: record.CellRow{CellID: "d", State: record.CellCrashed}, GPUs: 8, GPUModel: "A100"},
	}
	d := computeData(s, rows)
	// free milli-GPU 4000 - 1500 = 2500, of which 500 fragmented: 20 %.
	if d.FragmentedShare != 0.2 {
		t.Errorf("fragmented share %v, want 0.2", d.FragmentedShare)
	}
	want := []ModelUse{
		{Model: "T4", Cells: 2, GPUs: 4, MilliGPUUsed: 1500, IdleGPUs: 2, FragmentedMilli: 500, MilliCPU: 2000, MilliCPUUsed: 1500, GPUAllocation: 0.375, CPUAllocation: 0.75},
		{Model: "none", Cells: 1, MilliCPU: 1000},
	}
	if len(d.Models) != 2 || d.Models[0] != want[0] || d.Models[1] != want[1] {
		t.Errorf("models %+v, want %+v (sorted by model, crashed cells left out)", d.Models, want)
	}
	if computeData(&record.Summary{}, nil) != nil {
		t.Error("a run without compute has compute data")
	}
	var buf bytes.Buffer
	if err := RenderRun(&buf, &RunData{Compute: d}, Asset{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"GPU allocation and fragmentation", "fragmented share of the free milli-GPU", "20.0%", "Cells up at the end, by GPU model (2)"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("report lacks %q", s)
		}
	}
}
