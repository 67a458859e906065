package auction

import (
	"math/rand/v2"
	"strconv"
	"testing"

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
func BenchmarkGPUPolicies(b *testing.B) {
	for _, name := range []string{"fgd", "gpu-best-fit", "random", "diego"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			placed := 0
			for b.Loop() {
				b.StopTimer()
				s, batch := gpuCluster(b, 10000, 1000)
				alg, _ := New(name)
				b.StartTimer()
				res := s.Schedule(batch, alg, rand.New(rand.NewPCG(3, 4)))
				for _, t := range res.Tasks {
					if t.Error == "" {
						placed++
					}
				}
			}
			b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}
