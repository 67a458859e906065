package auction

import (
	"fmt"
	"testing"

	"github.com/diegolab/diegolab/model"
)

// startupBatch is the first auction of `bench scale --cells 10000`: 2,000,000 apps of
// Diego's 250k mix x10 (steadyMix, 2,500,000 instances), guids laid out by names.Block.
func startupBatch(names *model.GUIDs) Batch {
	const batches = 100_000
	all := make([]string, 0, batches*20)
	for app := 0; app < batches*20; app++ {
		all = append(all, fmt.Sprintf("app-%07d", app))
	}
	block := names.Block(all)
	b := Batch{LRPs: make([]LRP, 0, batches*25)}
	app := 0
	for range batches {
		for _, m := range steadyMix {
			for range m.n {
				for i := 0; i < m.inst; i++ {
					b.LRPs = append(b.LRPs, steadyLRP(block[app], i, m.mem, m.disk))
				}
				app++
			}
		}
	}
	return b
}

// BenchmarkStartupOrder is Schedule's de-duplication and placement order of the first
// auction of the 10,000-cell day (startupBatch: 2,500,000 LRPs of 2,000,000 apps, 5
// memory figures), on a State sharing the guids' table, as engine/sim runs it. One op
// is one batch; ns/item per LRP.
func BenchmarkStartupOrder(b *testing.B) {
	names := model.NewGUIDs()
	batch := startupBatch(names)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := NewState(DefaultSettings())
		s.UseGUIDs(names)
		res := Results{}
		res.LRPs, _ = s.dedupe(&batch, nil)
		order := placementOrder(&res, nil)
		if len(order) != len(batch.LRPs) {
			b.Fatalf("%d items ordered of %d", len(order), len(batch.LRPs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.LRPs)), "ns/item")
}
