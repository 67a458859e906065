package sim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// checkComputeBooks compares, on every cell the auction's view holds, its free CPU and
// milli-GPU with the cell's totals minus what the containers on it asked for: whatever
// left the cell (stopped, crashed, evacuated, done) must have given its share back.
func checkComputeBooks(t *testing.T, s *Sim) (gpuContainers int) {
	t.Helper()
	for _, c := range s.cells {
		cc := s.view.Compute(c.ID)
		if c.Compute == nil {
			if cc != nil {
				t.Errorf("cell %s declares no compute but the view has %+v", c.ID, cc)
			}
			continue
		}
		if cc == nil {
			if c.state == cellUp || c.state == cellEvacuating {
				t.Errorf("cell %s (%s) is missing from the view", c.ID, c.stateName())
			}
			continue
		}
		cpu, gpu := 0, 0
		for _, id := range c.sortedIDs() {
			r := s.computeOf(&s.containers.items[id])
			cpu += r.MilliCPU
			gpu += r.TotalMilliGPU()
			if r.GPUs > 0 {
				gpuContainers++
			}
		}
		if got, want := cc.MilliCPUFree, c.Compute.MilliCPU-cpu; got != want {
			t.Errorf("cell %s: free CPU %d, want %d - %d = %d", c.ID, got, c.Compute.MilliCPU, cpu, want)
		}
		if got, want := cc.FreeMilliGPU(), c.Compute.FreeMilliGPU()-gpu; got != want {
			t.Errorf("cell %s: free milli-GPU %d, want %d - %d = %d (devices %v)", c.ID, got, c.Compute.FreeMilliGPU(), gpu, want, cc.GPUFree)
		}
		if err := cc.Validate("compute"); err != nil {
			t.Errorf("cell %s: %v", c.ID, err)
		}
	}
	return gpuContainers
}

// TestGPUSharingBooks runs the shipped gpu-sharing scenario (a crash, crashing
// instances, a drain, tasks coming and going) under several policies and checks the
// cells' CPU and GPU books at the end, and what the run record says about them.
func TestGPUSharingBooks(t *testing.T) {
	for _, alg := range []string{"fgd", "gpu-best-fit", "gpu-packing", "random", "diego", "best-fit"} {
		t.Run(alg, func(t *testing.T) {
			sc, err := scenarios.LoadShipped("gpu-sharing", "run.algorithm=\""+alg+"\"")
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			s, err := New(sc, Options{OutDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			sum, err := s.Run()
			if err != nil {
				t.Fatalf("seed %d: %v", sc.Seed, err)
			}
			if n := checkComputeBooks(t, s); n == 0 {
				t.Errorf("no GPU container at the end of the run: the scenario exercises nothing")
			}
			cs := sum.Compute
			if cs == nil {
				t.Fatal("summary has no compute section")
			}
			if cs.GPUs != 102 || cs.MilliCPU != 1904000 { // v100-3 crashed, t4-1 drained and gone
				t.Errorf("compute totals %d GPUs, %d millicores; want 102 and 1904000 (27 cells: 11 V100 x 8 + 7 T4 x 2, CPU without v100-3 and t4-1)", cs.GPUs, cs.MilliCPU)
			}
			if cs.MilliGPUUsed <= 0 || cs.GPUAllocation <= 0 || cs.PeakGPUAllocation < cs.GPUAllocation || cs.MeanGPUAllocation <= 0 {
				t.Errorf("compute summary %+v: want GPU work allocated, peak >= end", cs)
			}
			run, err := record.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(run.CellsCompute) != 28 {
				t.Fatalf("cells.csv has %d compute rows, want 28", len(run.CellsCompute))
			}
			used, frag := 0, 0
			for _, r := range run.CellsCompute {
				if r.State == record.CellUp {
					used += r.MilliGPUUsed
					frag += r.FragmentedMilliGPU
				}
				if strings.HasPrefix(r.CellID, "cpu-") && (r.GPUs != 0 || r.MilliCPU != 64000) {
					t.Errorf("row %+v: a CPU cell has 64000 millicores and no GPU", r)
				}
			}
			if used != cs.MilliGPUUsed || frag != cs.FragmentedMilliGPU {
				t.Errorf("cells.csv sums to %d milli-GPU used, %d fragmented; summary says %d, %d", used, frag, cs.MilliGPUUsed, cs.FragmentedMilliGPU)
			}
		})
	}
}

// TestNoComputeNoColumns: a run where no cell declares CPU or GPUs has neither the
// summary section nor the cells.csv columns.
func TestNoComputeNoColumns(t *testing.T) {
	sc, err := scenarios.LoadShipped("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s, err := New(sc, Options{OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Compute != nil {
		t.Errorf("summary.compute = %+v, want none", sum.Compute)
	}
	data, err := os.ReadFile(filepath.Join(dir, record.CellsFile))
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(data), "\n"); first != strings.Join(record.CellsHeader, ",") {
		t.Errorf("cells.csv header %q, want %q", first, strings.Join(record.CellsHeader, ","))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, record.SummaryFile)); strings.Contains(string(b), `"compute"`) {
		t.Errorf("summary.json mentions compute")
	}
}

// TestPartitionedGPUCellRejoins: a GPU cell cut off by a partition leaves the view with
// its containers and, when it comes back, re-enters it holding their CPU and GPUs.
func TestPartitionedGPUCellRejoins(t *testing.T) {
	src := `
[run]
duration = "10m"
algorithm = "gpu-best-fit"
[[cells]]
count = 2
memory_mb = 65536
disk_mb = 65536
cpu_milli = 16000
gpus = 4
gpu_model = "A100"
[[apps]]
name = "share"
count = 6
instances = 1
memory_mb = 1024
disk_mb = 1024
cpu_milli = 1000
num_gpu = 1
gpu_milli = 300
[[events]]
at = "2m"
action = "partition-cell"
cell = "cell-0"
duration = "10s"
`
	sc, err := scenarios.Parse("rejoin.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if n := checkComputeBooks(t, s); n != 6 {
		t.Errorf("%d GPU containers at the end, want 6", n)
	}
	tot := s.view.ComputeTotals()
	if got := tot.GPUs*model.MilliGPU - tot.MilliGPUFree; got != 6*300 {
		t.Errorf("milli-GPU used %d, want 1800", got)
	}
}
