package bbs_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
)

// BenchmarkConvergePlanRestarts measures the plan of a convergence pass whose crashed
// restarts are the long list, as in the steady state of the 10x Diego mix (~7,500
// back-off restarts per 30 s pass): 200,000 single-instance apps in one block of shared
// ids ("crashing-0" .. "crashing-199999", as the simulation names a group's apps) on
// 1,000 cells, all running, then 7,500 of them (every 26th) crashed three times in a
// row, so each is CRASHED with crash count 3 (a 30 s back-off, DIEGO.md §5), due at
// 30 s. ConvergePlan only reads, so every iteration plans the same 7,500 restarts.
func BenchmarkConvergePlanRestarts(b *testing.B) {
	const apps, ncells, crashed = 200_000, 1_000, 7_500
	store, names := bbs.NewMemStore(), model.NewGUIDs()
	store.UseGUIDs(names)
	x := bbs.New(store, bbs.DefaultConfig())
	guids := make([]string, apps)
	for i := range guids {
		guids[i] = "crashing-" + strconv.Itoa(i)
	}
	x.ExpectDesired(apps)
	guids = names.Block(guids)
	cells := make([]string, ncells)
	for i := range cells {
		cells[i] = "cell-" + strconv.Itoa(i)
	}
	for i, g := range guids {
		if err := x.DesireLRP(0, benchDesired(g, 1)); err != nil {
			b.Fatal(err)
		}
		key := model.ActualLRPKey{ProcessGUID: g}
		ik := model.InstanceKey{InstanceGUID: "i-" + strconv.Itoa(i), CellID: cells[i%ncells]}
		if err := x.StartActualLRP(0, key, ik, ""); err != nil {
			b.Fatal(err)
		}
		x.Ready()
	}
	for n := range crashed {
		key := model.ActualLRPKey{ProcessGUID: guids[n*26]}
		for c := range 3 { // crash counts 1 and 2 restart at once; 3 waits 30 s
			ik := model.InstanceKey{InstanceGUID: "r-" + strconv.Itoa(n) + "-" + strconv.Itoa(c), CellID: cells[n%ncells]}
			if c > 0 {
				if err := x.ClaimActualLRP(0, key, ik); err != nil {
					b.Fatal(err)
				}
			} else {
				ik = model.InstanceKey{InstanceGUID: "i-" + strconv.Itoa(n*26), CellID: cells[(n*26)%ncells]}
			}
			if err := x.CrashActualLRP(0, key, ik, "exited"); err != nil {
				b.Fatal(err)
			}
		}
		x.Ready()
	}
	if got := x.Counts(model.Ordinary, model.Crashed); got != crashed {
		b.Fatalf("%d CRASHED rows, want %d", got, crashed)
	}
	now := 30 * time.Second
	if p := x.ConvergePlan(now, cells); len(p.RestartCrashed) != crashed {
		b.Fatalf("plan restarts %d, want %d", len(p.RestartCrashed), crashed)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		x.ConvergePlan(now, cells)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/crashed, "ns/restart")
}
