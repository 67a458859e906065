package auction

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/model"
)

// gpuCand is a candidate with only compute figures.
func gpuCand(id string, cpuTotal, cpuFree int, gpuModel string, free ...int) Candidate {
	return Candidate{ID: id, Compute: &model.CellCompute{MilliCPU: cpuTotal, MilliCPUFree: cpuFree, GPUModel: gpuModel, GPUFree: free}}
}

func share(cpu, milli int) *model.Compute {
	return &model.Compute{MilliCPU: cpu, GPUs: 1, GPUMilli: milli}
}

func TestGPUBestFitArithmetic(t *testing.T) {
	req := Request{Compute: share(8000, 500)}
	a := gpuCand("a", 96000, 64000, "T4", 1000, 1000)
	b := gpuCand("b", 96000, 16000, "T4", 600)
	// a: left cpu 56000, gpu 1500: 1 - (56000/128000 x 0.5 + 1500/8000 x 0.5) = 1 - 0.3125 -> 68
	// b: left cpu 8000, gpu 100:   1 - (0.03125 + 0.00625) = 0.9625 -> 96
	if got := gpuBestFitScore(req, &a); got != 68 {
		t.Errorf("a: %d, want 68", got)
	}
	if got := gpuBestFitScore(req, &b); got != 96 {
		t.Errorf("b: %d, want 96", got)
	}
	if i := (GPUBestFit{}).Choose(req, []Candidate{a, b}, Settings{}, nil); i != 1 {
		t.Errorf("chose %d, want 1 (b)", i)
	}
}

func TestGPUDotProductArithmetic(t *testing.T) {
	req := Request{Compute: share(8000, 500)}
	a := gpuCand("a", 96000, 64000, "T4", 1000, 1000)
	b := gpuCand("b", 96000, 16000, "T4", 600)
	// a: dot = 0.5 x 0.0625 + 0.25 x 0.0625 = 0.046875; 100 x (1 - 0.0234375) -> 97
	// b: dot = 0.125 x 0.0625 + 0.075 x 0.0625 = 0.0125;  100 x (1 - 0.00625)   -> 99
	if got := gpuDotProductScore(req, &a); got != 97 {
		t.Errorf("a: %d, want 97", got)
	}
	if got := gpuDotProductScore(req, &b); got != 99 {
		t.Errorf("b: %d, want 99", got)
	}
	if i := (GPUDotProduct{}).Choose(req, []Candidate{a, b}, Settings{}, nil); i != 1 {
		t.Errorf("chose %d, want 1 (b): the paper's DotProd packs", i)
	}
}

func TestGPUPackingArithmetic(t *testing.T) {
	req := share(0, 500)
	for _, tc := range []struct {
		free []int
		want int64
	}{
		{[]int{1000, 1000}, 31}, // idle cell: max(33 - 2, 2)
		{[]int{600, 1000}, 94},  // shared device: 100 - (600 x 100 / 1000) / 10
		{[]int{300, 1000}, 49},  // idle device of a used cell: max(50 - 1, 33)
	} {
		c := &model.CellCompute{GPUFree: tc.free}
		if got := gpuPackingScore(req, c); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.free, got, tc.want)
		}
	}
	if got := gpuPackingScore(&model.Compute{MilliCPU: 1000}, &model.CellCompute{GPUFree: []int{600}}); got != 0 {
		t.Errorf("no GPU asked: %d, want 0", got)
	}
}

func TestGPUClusteringArithmetic(t *testing.T) {
	tag := GPUAffinity(share(0, 500))
	if tag != "share-gpu" || GPUAffinity(&model.Compute{GPUs: 2}) != "2-gpu" || GPUAffinity(nil) != "" {
		t.Fatalf("GPUAffinity: %q", tag)
	}
	a := gpuCand("a", 0, 0, "T4", 1000, 1000) // no GPU work: 25 x 6000/8000 = 18 + 25
	b := gpuCand("b", 0, 0, "T4", 600)        // share only: 25 x 7400/8000 = 23 + 75
	b.GPUPods = map[string]int{"share-gpu": 2}
	c := gpuCand("c", 0, 0, "T4", 1000) // share and 1-gpu: 25 x 7000/8000 = 21 + 50
	c.GPUPods = map[string]int{"share-gpu": 1, "1-gpu": 1}
	d := gpuCand("d", 0, 0, "T4", 1000) // other kind only: 21
	d.GPUPods = map[string]int{"2-gpu": 1}
	for _, tc := range []struct {
		c    *Candidate
		want int64
	}{{&a, 43}, {&b, 98}, {&c, 71}, {&d, 21}} {
		if got := gpuClusteringScore(tag, tc.c); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.c.ID, got, tc.want)
		}
	}
}

// fgdExample: the workload is half shares of 500, half one whole GPU; no CPU.
func fgdExample() *FGD {
	return NewFGD([]WorkloadShare{{Compute: *share(0, 500), Share: 1}, {Compute: model.Compute{GPUs: 1}, Share: 1}})
}

func TestFGDArithmetic(t *testing.T) {
	f := fgdExample()
	req := share(0, 500)
	// A [1000 1000]: F = 0; after [500 1000]: the whole GPU still fits, 500 stranded for
	// it: F = 0.5 x 500 = 250; sigmoid(-0.25) = 0.4378 -> 43.
	// B [500 1000]: F = 250; after on device 0 [0 1000]: F = 0; sigmoid(0.25) = 0.5622
	// -> 56 (device 1 would give [500 500]: no whole GPU, F = 0.5 x 1000 = 500 -> 43).
	// C [700]: F = 0.5 x 700 (no whole GPU) = 350; after [200]: nothing fits, F = 200;
	// sigmoid(0.15) = 0.5374 -> 53.
	for _, tc := range []struct {
		free    []int
		want    int64
		wantDev int
	}{{[]int{1000, 1000}, 43, 0}, {[]int{500, 1000}, 56, 0}, {[]int{700}, 53, 0}} {
		s, d := f.score(req, &model.CellCompute{GPUModel: "T4", GPUFree: tc.free})
		if s != tc.want || d != tc.wantDev {
			t.Errorf("%v: score %d device %d, want %d device %d", tc.free, s, d, tc.want, tc.wantDev)
		}
	}
	if n := toNode(&model.CellCompute{GPUFree: []int{500, 1000}}); f.frag(&n) != 250 {
		t.Errorf("F([500 1000]) = %v, want 250", f.frag(&n))
	}
}

func TestTypicalWorkload(t *testing.T) {
	var reqs []model.Compute
	for range 6 {
		reqs = append(reqs, *share(1000, 500))
	}
	for range 3 {
		reqs = append(reqs, model.Compute{MilliCPU: 2000, GPUs: 1})
	}
	reqs = append(reqs, model.Compute{MilliCPU: 4000})
	// 60 % then 90 %: at 0.9 the third kind (10 %) is left out; shares 6/9 and 3/9.
	w := TypicalWorkload(reqs, 0.9)
	if len(w) != 2 || w[0].Compute.GPUMilli != 500 || w[0].Share != 6.0/9 || w[1].Share != 3.0/9 {
		t.Fatalf("TypicalWorkload = %+v", w)
	}
}

// TestStateGPUPlacement places GPU tasks through Schedule: fit on every declared
// resource, the chooser's device, the errors, and RemoveTask giving devices back.
func TestStateGPUPlacement(t *testing.T) {
	s := NewState(DefaultSettings())
	add := func(id string, cc *model.CellCompute) {
		t.Helper()
		res := model.Resources{MemoryMB: 1 << 20, DiskMB: 1 << 20, Containers: 100}
		if err := s.AddCell(model.Cell{ID: id, Total: res, Available: res, RootFSProviders: []string{"docker"}, Compute: cc}); err != nil {
			t.Fatal(err)
		}
	}
	a := model.NewCellCompute(96000, 2, "T4")
	b := model.NewCellCompute(96000, 2, "T4")
	b.GPUFree[0] = 500
	add("a", a)
	add("b", b)
	add("cpu", model.NewCellCompute(32000, 0, ""))
	task := func(guid string, c *model.Compute) Task {
		return Task{GUID: guid, Resource: model.Resource{MemoryMB: 10}, PlacementConstraint: model.PlacementConstraint{RootFS: "docker:///x"}, Compute: c}
	}
	res := s.Schedule(Batch{Tasks: []Task{task("t1", share(1000, 500))}}, fgdExample(), rand.New(rand.NewPCG(1, 2)))
	if got := res.Tasks[0]; got.CellID != "b" || got.Error != "" {
		t.Fatalf("t1: %+v, want cell b", got)
	}
	if c := s.Compute("b"); c.GPUFree[0] != 0 || c.GPUFree[1] != 1000 || c.MilliCPUFree != 95000 {
		t.Fatalf("b after t1: %+v", c)
	}
	for _, tc := range []struct {
		c    *model.Compute
		want string
	}{
		{&model.Compute{GPUs: 3}, "insufficient resources: gpu"},
		{&model.Compute{MilliCPU: 100000}, "insufficient resources: cpu"},
		{&model.Compute{GPUs: 1, GPUModels: []string{"A100"}}, "insufficient resources: gpu"},
		{&model.Compute{GPUs: 1, GPUMilli: 500}, "invalid task: compute.gpu_milli"},
	} {
		for _, alg := range []string{"diego", "fgd", "gpu-packing", "random"} {
			al, _ := New(alg)
			r := s.Schedule(Batch{Tasks: []Task{task("x", tc.c)}}, al, rand.New(rand.NewPCG(1, 2)))
			if tc.c.GPUMilli == 500 {
				tc.c.GPUs = 2 // a share of two devices: invalid
				r = s.Schedule(Batch{Tasks: []Task{task("x", tc.c)}}, al, nil)
				tc.c.GPUs = 1
			}
			if got := r.Tasks[0].Error; !strings.HasPrefix(got, tc.want) {
				t.Errorf("%s %+v: %q, want %q", alg, tc.c, got, tc.want)
			}
		}
	}
	// Diego with a CPU-only request: its own rule among the cells with the CPU.
	r := s.Schedule(Batch{Tasks: []Task{task("t2", &model.Compute{MilliCPU: 95500})}}, nil, nil)
	if r.Tasks[0].CellID != "a" {
		t.Fatalf("t2: %+v, want a (b has 95000 free)", r.Tasks[0])
	}
	if err := s.RemoveTask("b", "t1", model.Resource{MemoryMB: 10}, true); err != nil {
		t.Fatal(err)
	}
	if c := s.Compute("b"); c.GPUFree[0] != 500 || c.MilliCPUFree != 96000 {
		t.Fatalf("b after removing t1: %+v", c)
	}
}

func TestDecodeInputCompute(t *testing.T) {
	cell := func(compute string) string {
		return `{"cells": [{"id": "a", "zone": "z", "index": 0, "total": {"memory_mb": 10, "disk_mb": 10, "containers": 1},
		"available": {"memory_mb": 10, "disk_mb": 10, "containers": 1}, "compute": ` + compute + `}]}`
	}
	in, err := DecodeInput([]byte(cell(`{"cpu_milli": 8000, "gpu_model": "T4", "gpu_milli_free": [500, 1000]}`)))
	if err != nil {
		t.Fatal(err)
	}
	if c := in.State.Compute("a"); c.MilliCPUFree != 8000 || c.GPUs() != 2 || c.GPUFree[0] != 500 {
		t.Fatalf("compute %+v", c)
	}
	for compute, want := range map[string]string{
		`{"gpus": 2, "gpu_milli_free": [1000]}`:   "cells[0].compute.gpu_milli_free: lists 1 devices, gpus says 2",
		`{"cpu_milli": 10, "cpu_milli_free": 20}`: "cells[0].compute.cpu_milli_free: must be in [0, cpu_milli = 10], got 20",
		`{"gpu_milli_free": [1200]}`:              "cells[0].compute.gpu_milli_free[0]: must be in [0, 1000], got 1200",
		`{"gpus": 100000}`:                        "cells[0].compute.gpus: must be <= 64, got 100000",
	} {
		if _, err := DecodeInput([]byte(cell(compute))); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", compute, err, want)
		}
	}
	_, err = DecodeInput([]byte(`{"cells": [], "tasks": [{"task_guid": "t", "memory_mb": 1, "disk_mb": 1, "rootfs": "docker:///x",
		"compute": {"num_gpu": 2, "gpu_milli": 300}}]}`))
	if err == nil || !strings.Contains(err.Error(), "tasks[0].compute.gpu_milli: a share of a device (300 < 1000) needs num_gpu = 1, got 2") {
		t.Errorf("bad task compute: %v", err)
	}
}
