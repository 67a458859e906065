package auction

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
)

// gpuCluster builds n cells shaped like the openb trace's node types (8 x G2, 2 x T4,
// 4 x V100M32, CPU-only), and a batch of pods shaped like its requests: shares of a
// device, one, two and eight whole devices, CPU only.
func gpuCluster(b *testing.B, n, pods int) (*State, Batch) {
	b.Helper()
	kinds := []struct {
		cpu, mem, gpus int
		model          string
	}{{96000, 786432, 8, "G2"}, {104000, 524288, 2, "T4"}, {64000, 262144, 4, "V100M32"}, {32000, 262144, 0, ""}}
	s := NewState(DefaultSettings())
	for i := range n {
		k := kinds[i%len(kinds)]
		res := model.Resources{MemoryMB: k.mem, DiskMB: 1, Containers: pods + 1}
		if err := s.AddCell(model.Cell{ID: "c" + strconv.Itoa(i), Total: res, Available: res, RootFSProviders: []string{"docker"},
			Compute: model.NewCellCompute(k.cpu, k.gpus, k.model)}); err != nil {
			b.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	reqs := []model.Compute{{MilliCPU: 3152, GPUs: 1, GPUMilli: 810}, {MilliCPU: 11300, GPUs: 1}, {MilliCPU: 11908, GPUs: 1, GPUMilli: 470},
		{MilliCPU: 12500}, {MilliCPU: 8000, GPUs: 2}, {MilliCPU: 32000, GPUs: 8}, {MilliCPU: 4000, GPUs: 1, GPUMilli: 320}}
	var batch Batch
	for i := range pods {
		c := reqs[r.IntN(len(reqs))]
		batch.Tasks = append(batch.Tasks, Task{GUID: "t" + strconv.Itoa(i), Resource: model.Resource{MemoryMB: 16384},
			PlacementConstraint: model.PlacementConstraint{RootFS: "docker:///x"}, Compute: &c})
	}
	return s, batch
}

// BenchmarkGPUPolicies places 1,000 pods of the openb request mix in one batch on
// 10,000 cells shaped like the openb nodes and reports placements per second (the
// first thousand pods of an empty cluster: every cell is feasible, the enumeration's
// worst case).
//
// fgd-plain is fgd without the compute index (compute_index.go), every feasible cell
// scored as the other policies do. cpu-placements/s counts the process's CPU time
// instead of wall time: on a shared machine wall time includes other processes' load.
func BenchmarkGPUPolicies(b *testing.B) {
	for _, name := range []string{"fgd", "fgd-plain", "gpu-best-fit", "random", "diego"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			placed := 0
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				s, batch := gpuCluster(b, 10000, 1000)
				alg, _ := New(strings.TrimSuffix(name, "-plain"))
				s.noComputeIndex = strings.HasSuffix(name, "-plain")
				c0 := cpuTime()
				b.StartTimer()
				res := s.Schedule(batch, alg, rand.New(rand.NewPCG(3, 4)))
				b.StopTimer()
				cpu += cpuTime() - c0
				b.StartTimer()
				for _, t := range res.Tasks {
					if t.Error == "" {
						placed++
					}
				}
			}
			b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
			b.ReportMetric(float64(placed)/cpu.Seconds(), "cpu-placements/s")
		})
	}
}

// BenchmarkFGDLoaded is fgd at 10,000 cells on a cluster already holding 15,000 pods
// of the openb mix (placed by fgd first, in batches of 1,000), where the cells' CPU
// and GPU states have spread into many classes: one batch of 1,000 more.
func BenchmarkFGDLoaded(b *testing.B) {
	for _, plain := range []bool{false, true} {
		name := "indexed"
		if plain {
			name = "plain"
		}
		b.Run(name, func(b *testing.B) {
			placed := 0
			var cpu time.Duration
			classes := 0
			for b.Loop() {
				b.StopTimer()
				s, batch := gpuCluster(b, 10000, 16000)
				alg := NewFGD(nil)
				r := rand.New(rand.NewPCG(3, 4))
				for i := 0; i < 15; i++ {
					s.Schedule(Batch{Tasks: batch.Tasks[i*1000 : (i+1)*1000]}, alg, r)
				}
				classes = len(s.cidx.classes)
				s.noComputeIndex = plain
				c0 := cpuTime()
				b.StartTimer()
				res := s.Schedule(Batch{Tasks: batch.Tasks[15000:]}, alg, r)
				b.StopTimer()
				cpu += cpuTime() - c0
				b.StartTimer()
				for _, t := range res.Tasks {
					if t.Error == "" {
						placed++
					}
				}
			}
			b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
			b.ReportMetric(float64(placed)/cpu.Seconds(), "cpu-placements/s")
			b.ReportMetric(float64(classes), "classes")
			b.ReportMetric(float64(placed)/float64(b.N), "placed/op")
		})
	}
}
