package auction

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
)

// TestComputeIndexSamePlacements is the compute index's differential test: over random
// clusters (GPU cells of one to sixteen devices, CPU-only cells, cells that account no
// CPU, cells without compute, evacuating cells, cells short of memory) and random
// batches of LRPs and tasks with CPU and GPU requests, interleaved with removals, fgd
// through the index places every request on the same cell, with the same devices, as
// fgd through the plain enumeration.
func TestComputeIndexSamePlacements(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 10
	}
	indexed := 0
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 19))
		var fixed []WorkloadShare
		if seed%2 == 1 { // half the runs with the paper's fixed workload
			fixed = []WorkloadShare{{model.Compute{MilliCPU: 4000, GPUs: 1, GPUMilli: 500}, 0.5}, {model.Compute{MilliCPU: 8000, GPUs: 2}, 0.3}, {model.Compute{MilliCPU: 2000}, 0.2}}
		}
		fast, slow := NewState(DefaultSettings()), NewState(DefaultSettings())
		slow.noComputeIndex = true
		algF, algS := NewFGD(fixed), NewFGD(fixed)
		models := []string{"T4", "V100M16", "A100"}
		ncells := 5 + r.IntN(60)
		for i := range ncells {
			res := model.Resources{MemoryMB: 1000 + r.IntN(20000), DiskMB: 100000, Containers: 2 + r.IntN(30)}
			c := model.Cell{ID: "c" + strconv.Itoa(i), Zone: "z" + strconv.Itoa(r.IntN(2)), Total: res, Available: res, RootFSProviders: []string{"docker"}}
			switch k := r.IntN(10); {
			case k == 0: // no compute
			case k == 1:
				c.Compute = model.NewCellCompute(0, 1+r.IntN(4), models[r.IntN(3)]) // CPU not accounted
			case k == 2:
				c.Compute = model.NewCellCompute(32000, 0, "")
			case k == 3:
				c.Compute = model.NewCellCompute(128000, 9+r.IntN(8), "A100") // wider than a class key
			default:
				c.Compute = model.NewCellCompute(16000*(1+r.IntN(6)), []int{1, 2, 4, 8}[r.IntN(4)], models[r.IntN(3)])
			}
			for _, s := range []*State{fast, slow} {
				if err := s.AddCell(c); err != nil {
					t.Fatal(err)
				}
			}
		}
		var live []string // tasks placed, to remove some
		lrpsOn := map[string][]string{}
		for round := range 12 {
			var batch Batch
			for i := range 1 + r.IntN(25) {
				c := randomRequest(r, models)
				res := model.Resource{MemoryMB: 100 + r.IntN(3000)}
				pc := model.PlacementConstraint{RootFS: "docker:///x"}
				if r.IntN(2) == 0 {
					batch.Tasks = append(batch.Tasks, Task{GUID: fmt.Sprintf("t%d-%d", round, i), Resource: res, PlacementConstraint: pc, Compute: c})
				} else {
					batch.LRPs = append(batch.LRPs, LRP{ProcessGUID: "p" + strconv.Itoa(r.IntN(5)), Index: round*100 + i, LRPSpec: &LRPSpec{Resource: res, PlacementConstraint: pc, Compute: c, MaxPerCell: r.IntN(3)}})
				}
			}
			if round == 6 {
				id := "c" + strconv.Itoa(r.IntN(ncells))
				fast.SetEvacuating(id, true)
				slow.SetEvacuating(id, true)
			}
			rf := fast.Schedule(batch, algF, rand.New(rand.NewPCG(seed, uint64(round))))
			rs := slow.Schedule(batch, algS, rand.New(rand.NewPCG(seed, uint64(round))))
			if diff := cmp.Diff(rs, rf); diff != "" {
				t.Fatalf("seed %d round %d: results differ (-plain +indexed):\n%s", seed, round, diff)
			}
			if diff := cmp.Diff(slow.Cells(), fast.Cells()); diff != "" {
				t.Fatalf("seed %d round %d: cells differ (-plain +indexed):\n%s", seed, round, diff)
			}
			for _, tr := range rf.Tasks {
				if tr.Error == "" {
					live = append(live, tr.CellID+"/"+tr.GUID)
					indexed++
				}
			}
			for _, lr := range rf.LRPs {
				if lr.Error == "" {
					lrpsOn[lr.CellID] = append(lrpsOn[lr.CellID], lr.ProcessGUID)
					indexed++
				}
			}
			// Remove some tasks and instances: their CPU and GPUs come back.
			for k := 0; k < 3 && len(live) > 0; k++ {
				i := r.IntN(len(live))
				cell, guid, _ := strings.Cut(live[i], "/")
				live = slices.Delete(live, i, i+1)
				// The memory given back is not the task's (the test keeps no record of
				// it): the same on both States, and only CPU and GPUs matter here.
				for _, s := range []*State{fast, slow} {
					_ = s.RemoveTask(cell, guid, model.Resource{}, false)
				}
			}
			for _, cell := range sortedCells(lrpsOn) {
				if ps := lrpsOn[cell]; len(ps) > 0 && r.IntN(3) == 0 {
					for _, s := range []*State{fast, slow} {
						_ = s.RemoveLRP(cell, ps[0], model.Resource{}, false)
					}
					lrpsOn[cell] = ps[1:]
				}
			}
			if diff := cmp.Diff(slow.Cells(), fast.Cells()); diff != "" {
				t.Fatalf("seed %d round %d: cells differ after removals (-plain +indexed):\n%s", seed, round, diff)
			}
		}
	}
	if indexed < 1000 {
		t.Fatalf("only %d placements compared: the test exercises too little", indexed)
	}
	t.Logf("%d placements compared", indexed)
}

func sortedCells(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func randomRequest(r *rand.Rand, models []string) *model.Compute {
	c := &model.Compute{MilliCPU: 1000 * r.IntN(20)}
	switch r.IntN(5) {
	case 0: // CPU only
		if c.MilliCPU == 0 {
			c.MilliCPU = 500
		}
	case 1, 2:
		c.GPUs, c.GPUMilli = 1, []int{100, 250, 300, 500, 700}[r.IntN(5)]
	case 3:
		c.GPUs = 1 + r.IntN(4)
	default:
		c.GPUs, c.GPUMilli = 1, 500
		c.GPUModels = []string{models[r.IntN(len(models))]}
	}
	return c
}
