package auction

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/model"
)

// TestLRPComputeGivenBack: an LRP instance's CPU and GPUs, reserved by the auction or
// added by a driver, come back when RemoveLRP (or RemoveLRPRef) removes the instance;
// other instances of the same LRP keep theirs.
func TestLRPComputeGivenBack(t *testing.T) {
	s := NewState(DefaultSettings())
	res := model.Resources{MemoryMB: 1 << 16, DiskMB: 1 << 16, Containers: 100}
	if err := s.AddCell(model.Cell{ID: "g", Total: res, Available: res, RootFSProviders: []string{"docker"},
		Compute: model.NewCellCompute(8000, 2, "T4")}); err != nil {
		t.Fatal(err)
	}
	lrp := func(i int, c *model.Compute) LRP {
		return LRP{ProcessGUID: "inf", Index: i, LRPSpec: &LRPSpec{Resource: model.Resource{MemoryMB: 10}, PlacementConstraint: model.PlacementConstraint{RootFS: "docker:///x"}, Compute: c}}
	}
	shr := &model.Compute{MilliCPU: 1000, GPUs: 1, GPUMilli: 300}
	r := s.Schedule(Batch{LRPs: []LRP{lrp(0, shr), lrp(1, shr), lrp(2, shr)}}, GPUBestFit{}, rand.New(rand.NewPCG(1, 2)))
	for _, l := range r.LRPs {
		if l.CellID != "g" {
			t.Fatalf("%+v: want cell g", l)
		}
	}
	// Best fit per device: 300 + 300 + 300 on device 0 (100 left), device 1 idle.
	c := s.Compute("g")
	if c.MilliCPUFree != 5000 || !slices.Equal(c.GPUFree, []int{100, 1000}) {
		t.Fatalf("after three shares: %+v", c)
	}
	// A driver adds a fourth instance (a cell rejoining with its containers).
	if err := s.AddLRPCompute("g", "inf", model.Resource{MemoryMB: 10}, shr, false); err != nil {
		t.Fatal(err)
	}
	if c := s.Compute("g"); !slices.Equal(c.GPUFree, []int{100, 700}) || c.MilliCPUFree != 4000 {
		t.Fatalf("after AddLRPCompute: %+v", c)
	}
	// Too much for the cell: an error naming the cell, and nothing changes.
	err := s.AddLRPCompute("g", "inf", model.Resource{MemoryMB: 10}, &model.Compute{GPUs: 2}, false)
	if err == nil || !strings.Contains(err.Error(), "cell g cannot take") {
		t.Fatalf("AddLRPCompute of 2 devices: %v, want an error naming cell g", err)
	}
	if c := s.Compute("g"); !slices.Equal(c.GPUFree, []int{100, 700}) || s.InstancesOf("g", "inf") != 4 {
		t.Fatalf("a refused add changed the cell: %+v, %d instances", c, s.InstancesOf("g", "inf"))
	}
	ref, _ := s.Ref("g")
	for i := 0; i < 4; i++ {
		if err := s.RemoveLRPRef(ref, "inf", model.Resource{MemoryMB: 10}, i < 3); err != nil {
			t.Fatal(err)
		}
	}
	if c := s.Compute("g"); c.MilliCPUFree != 8000 || !slices.Equal(c.GPUFree, []int{1000, 1000}) {
		t.Fatalf("after removing every instance: %+v", c)
	}
	if rec := s.byID["g"]; len(rec.side.lrps) != 0 || len(rec.side.affinity) != 0 {
		t.Fatalf("side table not empty: %+v", rec.side)
	}
	// Tasks added by a driver give theirs back through RemoveTask.
	if err := s.AddTaskCompute("g", "train", model.Resource{MemoryMB: 10}, &model.Compute{MilliCPU: 2000, GPUs: 2}, false); err != nil {
		t.Fatal(err)
	}
	if tot := s.ComputeTotals(); tot.IdleGPUs != 0 || tot.MilliCPUFree != 6000 {
		t.Fatalf("totals with the task: %+v", tot)
	}
	if err := s.RemoveTask("g", "train", model.Resource{MemoryMB: 10}, false); err != nil {
		t.Fatal(err)
	}
	if tot := s.ComputeTotals(); tot != (ComputeTotals{MilliCPU: 8000, MilliCPUFree: 8000, GPUs: 2, MilliGPUFree: 2000, IdleGPUs: 2}) {
		t.Fatalf("totals after the task: %+v", tot)
	}
}

// TestComputeTotalsArithmetic: fragmentation counts the free milli-GPU of partly
// allocated devices only.
func TestComputeTotalsArithmetic(t *testing.T) {
	var tot ComputeTotals
	tot.Add(&model.CellCompute{MilliCPU: 1000, MilliCPUFree: 400, GPUModel: "T4", GPUFree: []int{1000, 250, 0, 600}})
	tot.Add(nil)
	tot.Add(&model.CellCompute{MilliCPU: 500, MilliCPUFree: 500})
	// free 1000 + 250 + 0 + 600 = 1850; idle 1; fragmented 250 + 600 = 850.
	want := ComputeTotals{MilliCPU: 1500, MilliCPUFree: 900, GPUs: 4, MilliGPUFree: 1850, IdleGPUs: 1, FragmentedMilliGPU: 850}
	if tot != want {
		t.Fatalf("%+v, want %+v", tot, want)
	}
}
