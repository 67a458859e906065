package auction

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
)

// bigCells is a homogeneous cluster: n cells of 64 GB memory, 256 GB disk, 249
// containers (see uniformCells).
func bigCells(n int) []model.Cell {
	return uniformCells(n, model.Resources{MemoryMB: 64 * 1024, DiskMB: 256 * 1024, Containers: model.DefaultContainers})
}

// uniformCells is n cells of totals tot, round-robin over 3 zones, with cflinuxfs4 and
// docker.
func uniformCells(n int, tot model.Resources) []model.Cell {
	cells := make([]model.Cell, n)
	for i := range cells {
		cells[i] = model.Cell{ID: fmt.Sprintf("cell-%05d", i), Zone: fmt.Sprintf("z%d", i%3), Index: i / 3,
			Total: tot, Available: tot, RootFSProviders: []string{"preloaded:cflinuxfs4", "docker"}}
	}
	return cells
}

// bigBatch is apps x perApp LRP instances; each app has one size from 64 MB to 4 GB
// (64 << k, k weighted towards small: mean about 390 MB), disk = memory.
func bigBatch(apps, perApp int, seed uint64) Batch {
	r := rand.New(rand.NewPCG(seed, 1))
	weights := []float64{0.30, 0.25, 0.20, 0.12, 0.08, 0.03, 0.02}
	b := Batch{LRPs: make([]LRP, 0, apps*perApp)}
	for a := 0; a < apps; a++ {
		x, k := r.Float64(), 0
		for ; k < len(weights)-1 && x >= weights[k]; k++ {
			x -= weights[k]
		}
		mem := 64 << k
		for i := 0; i < perApp; i++ {
			b.LRPs = append(b.LRPs, LRP{ProcessGUID: fmt.Sprintf("app-%05d", a), Index: i, LRPSpec: &LRPSpec{Domain: "cf-apps", Resource: model.Resource{MemoryMB: mem, DiskMB: mem}, PlacementConstraint: model.PlacementConstraint{RootFS: "preloaded:cflinuxfs4"}}})
		}
	}
	return b
}

func newBigState(tb testing.TB, cells []model.Cell) *State {
	s := NewState(DefaultSettings())
	for _, c := range cells {
		if err := s.AddCell(c); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

func countPlaced(res Results) int {
	n := 0
	for _, l := range res.LRPs {
		if l.CellID != "" {
			n++
		}
	}
	for _, t := range res.Tasks {
		if t.CellID != "" {
			n++
		}
	}
	return n
}

// BenchmarkDiegoOneBatch1M: 10,000 apps x 100 instances onto 10,000 cells in 3 zones,
// one batch, exact diego algorithm. Setup (cells, batch) is not timed.
func BenchmarkDiegoOneBatch1M(b *testing.B) {
	cells := bigCells(10000)
	batch := bigBatch(10000, 100, 1)
	b.ReportAllocs()
	b.ResetTimer()
	placed := 0
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newBigState(b, cells)
		b.StartTimer()
		c0 := cpuTime()
		placed = countPlaced(s.Schedule(batch, Diego{}, nil))
		cpu += cpuTime() - c0
	}
	b.ReportMetric(float64(placed), "placed")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(len(batch.LRPs))*float64(b.N)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkSmallBatchesLargeState: 10,000 cells pre-filled with 500,000 instances, then
// batches of 10 new instances (one op = one batch), with containers finishing starting.
func BenchmarkSmallBatchesLargeState(b *testing.B) {
	s := newBigState(b, bigCells(10000))
	s.Schedule(bigBatch(5000, 100, 2), Diego{}, nil)
	for _, c := range s.Cells() {
		for k := c.StartingContainers; k > 0; k-- {
			_ = s.Started(c.ID)
		}
	}
	batches := make([]Batch, 1000)
	for i := range batches {
		batches[i] = bigBatch(1, 10, uint64(100+i))
		for j := range batches[i].LRPs {
			batches[i].LRPs[j].ProcessGUID = fmt.Sprintf("new-%d", i)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := s.Schedule(batches[i%len(batches)], Diego{}, nil)
		b.StopTimer()
		for _, l := range res.LRPs { // keep the state stationary: undo the batch
			if l.CellID != "" {
				_ = s.RemoveLRP(l.CellID, l.ProcessGUID, l.Resource, true)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(10*float64(b.N)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkScaling: every algorithm over cells {100, 1,000, 10,000} x instances {1,000,
// 10,000, 100,000, 1,000,000} in one batch (100 instances per app; the small clusters
// fill up, so the large batches also measure the failure path). Every built-in runs on
// the index; viaChoose=balanced is balanced through the candidate scan a user's
// algorithm takes, O(cells) per instance: its runs with cells x instances > 1e8 are
// skipped unless -scaling-all is given.
func BenchmarkScaling(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		cells := bigCells(n)
		for _, inst := range []int{1000, 10000, 100000, 1000000} {
			batch := bigBatch(inst/100, 100, 3)
			for _, name := range append(slices.Clone(builtins), "viaChoose=balanced") {
				base, scan := strings.CutPrefix(name, "viaChoose=")
				if scan && n*inst > 100_000_000 && !*scalingAll {
					continue
				}
				b.Run(fmt.Sprintf("cells=%d/instances=%d/alg=%s", n, inst, name), func(b *testing.B) {
					alg, err := New(base)
					if err != nil {
						b.Fatal(err)
					}
					if scan {
						alg = viaChoose{alg}
					}
					b.ReportAllocs()
					placed := 0
					var cpu time.Duration
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						s := newBigState(b, cells)
						r := rand.New(rand.NewPCG(uint64(i), 9))
						b.StartTimer()
						c0 := cpuTime()
						placed = countPlaced(s.Schedule(batch, alg, r))
						cpu += cpuTime() - c0
					}
					b.ReportMetric(float64(placed), "placed")
					b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
					b.ReportMetric(float64(inst)*float64(b.N)/b.Elapsed().Seconds(), "placements/s")
				})
			}
		}
	}
}

// builtins are the shipped algorithms (the test binary also registers the example's).
var builtins = []string{"diego", "balanced", "best-fit", "dot-product", "first-fit", "power-of-two", "random", "worst-fit"}

// cpuTime is the process's user+system CPU time: on a shared machine it shows the work
// done when the wall clock (ns/op) also counts waiting for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
