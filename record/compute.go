package record

import (
	"bufio"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
)

// CPU and GPUs in the run record (docs/fgd.md): only a run where some cell declares them
// has summary.json "compute" and the extra cells.csv columns, so every other run's
// record is byte for byte what it was.

// ComputeSummary is summary.json "compute": the CPU and GPUs of the cells the auction
// knows at the end of the run (as utilisation), and the GPU allocation over the run.
type ComputeSummary struct {
	MilliCPU     int `json:"cpu_milli"`
	MilliCPUUsed int `json:"cpu_milli_used"`
	GPUs         int `json:"gpus"`
	MilliGPUUsed int `json:"gpu_milli_used"`
	IdleGPUs     int `json:"idle_gpus"`
	// FragmentedMilliGPU is the free milli-GPU on partly allocated devices: what only
	// a share can use.
	FragmentedMilliGPU int `json:"gpu_fragmented_milli"`
	// CPUAllocation and GPUAllocation are used / total (0 without any).
	CPUAllocation float64 `json:"cpu_allocation"`
	GPUAllocation float64 `json:"gpu_allocation"`
	// PeakGPUAllocation and MeanGPUAllocation are over the run's samples.
	PeakGPUAllocation float64 `json:"peak_gpu_allocation"`
	MeanGPUAllocation float64 `json:"mean_gpu_allocation"`
}

// CellComputeRow is a line of cells.csv in a run where some cell declares CPU or GPUs:
// CellRow's columns (embedded, so the two stay one definition), then the cell's CPU and
// GPUs.
type CellComputeRow struct {
	CellRow
	MilliCPU     int    `csv:"cpu_milli"`
	MilliCPUUsed int    `csv:"cpu_milli_used"`
	GPUs         int    `csv:"gpus"`
	GPUModel     string `csv:"gpu_model"`
	MilliGPUUsed int    `csv:"gpu_milli_used"`
	IdleGPUs     int    `csv:"idle_gpus"`
	// FragmentedMilliGPU: free milli-GPU on the cell's partly allocated devices.
	FragmentedMilliGPU int `csv:"gpu_fragmented_milli"`
}

// CellsComputeHeader is cells.csv's header when cells declare CPU or GPUs.
var CellsComputeHeader = header[CellComputeRow]()

// readCells reads cells.csv in either form: rows, and the compute rows when the file
// has the compute columns (nil otherwise).
func readCells(dir string) ([]CellRow, []CellComputeRow, error) {
	f, err := os.Open(filepath.Join(dir, CellsFile))
	if err != nil {
		return nil, nil, err
	}
	first, err := csv.NewReader(bufio.NewReader(f)).Read()
	f.Close()
	if err != nil || !reflect.DeepEqual(first, CellsComputeHeader) {
		rows, err := ReadCSV[CellRow](dir, CellsFile)
		return rows, nil, err
	}
	comp, err := ReadCSV[CellComputeRow](dir, CellsFile)
	if err != nil {
		return nil, nil, err
	}
	rows := make([]CellRow, len(comp))
	for i := range comp {
		rows[i] = comp[i].CellRow
	}
	return rows, comp, nil
}
