package bbs_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/converge"
)

// TestConvergesToDesired: with enough capacity, applying convergence plans plus
// simulated auctions (any cell), claims and starts brings RUNNING to desired, after
// random early faults (crashes, a lost cell, scale changes) stop.
func TestConvergesToDesired(t *testing.T) {
	for seed := range 20 {
		r := rand.New(rand.NewPCG(uint64(seed), 1))
		b := bbs.New(bbs.NewMemStore(), bbs.DefaultConfig())
		cells := []string{"c0", "c1", "c2", "c3"}
		want := map[string]int{}
		for i := range 5 {
			g := fmt.Sprint("app", i)
			want[g] = r.IntN(6)
			if err := b.DesireLRP(0, model.DesiredLRP{ProcessGUID: g, Domain: "cf-apps", Instances: want[g], MemoryMB: 1, RootFS: "preloaded:x"}); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		var now time.Duration
		for round := range 80 { // 80 x 30s = 40 minutes; faults only in the first 10 rounds
			faults := round < 10
			live := cells
			if faults && r.IntN(3) == 0 {
				live = cells[1:] // c0's presence lapses this round
			}
			rd := b.Ready()
			for _, st := range rd.LRPStarts {
				n++
				ik := model.InstanceKey{InstanceGUID: fmt.Sprint("i", n), CellID: live[r.IntN(len(live))]}
				if b.ClaimActualLRP(now+time.Second, st.Key, ik) != nil {
					continue
				}
				_ = b.StartActualLRP(now+2*time.Second, st.Key, ik, "addr")
			}
			for _, sp := range rd.StopLRPs {
				_ = b.RemoveActualLRP(now+time.Second, sp.Key, sp.InstanceKey)
			}
			if faults {
				for g := range want {
					for _, a := range b.ActualLRPs(g) {
						if a.State == model.Running && a.Presence == model.Ordinary && r.IntN(4) == 0 {
							_ = b.CrashActualLRP(now+3*time.Second, a.ActualLRPKey, a.InstanceKey, "crash")
						}
					}
				}
				if r.IntN(4) == 0 {
					g := fmt.Sprint("app", r.IntN(5))
					want[g] = r.IntN(6)
					_ = b.UpdateDesiredLRP(now, g, want[g])
				}
			}
			now += 30 * time.Second
			b.Converge(now, live)
		}
		for g, n := range want {
			running := 0
			for _, a := range b.ActualLRPs(g) {
				if a.Presence != model.Ordinary || a.State != model.Running || a.Index >= n {
					t.Errorf("seed %d: %s has a leftover row %+v", seed, g, a)
					continue
				}
				running++
			}
			if running != n {
				t.Errorf("seed %d: %s runs %d instances, want %d", seed, g, running, n)
			}
		}
	}
}

// bigBBS builds 1,000,000 RUNNING instances (100,000 desired LRPs x 10) on 10,000 cells.
func bigBBS(b *testing.B, apps, perApp, ncells int) (*bbs.BBS, []string) {
	b.Helper()
	cells := make([]string, ncells)
	for i := range cells {
		cells[i] = fmt.Sprintf("cell-%05d", i)
	}
	x := bbs.New(bbs.NewMemStore(), bbs.DefaultConfig())
	n := 0
	for i := range apps {
		g := fmt.Sprintf("app-%06d", i)
		if err := x.DesireLRP(0, model.DesiredLRP{ProcessGUID: g, Domain: "cf-apps", Instances: perApp, MemoryMB: 128, RootFS: "preloaded:x"}); err != nil {
			b.Fatal(err)
		}
		for j := range perApp {
			n++
			ik := model.InstanceKey{InstanceGUID: fmt.Sprint(n), CellID: cells[n%ncells]}
			if err := x.StartActualLRP(time.Second, model.ActualLRPKey{ProcessGUID: g, Index: j}, ik, ""); err != nil {
				b.Fatal(err)
			}
		}
		x.Ready()
	}
	x.Converge(30*time.Second, cells)
	x.Ready()
	return x, cells
}

// BenchmarkConvergeSteadyState: a pass over 1,000,000 instances on 10,000 cells when
// nothing changed (the incremental tracker).
func BenchmarkConvergeSteadyState(b *testing.B) {
	x, cells := bigBBS(b, 100_000, 10, 10_000)
	b.ReportAllocs()
	b.ResetTimer()
	now := 60 * time.Second
	for b.Loop() {
		now += 30 * time.Second
		if rep := x.Converge(now, cells); rep.LRPStarts != 0 {
			b.Fatalf("steady state started %d", rep.LRPStarts)
		}
	}
	b.ReportMetric(1_000_000, "instances")
}

// BenchmarkConvergeFull: the same state through snapshot + converge.Compute (a full scan).
func BenchmarkConvergeFull(b *testing.B) {
	x, cells := bigBBS(b, 100_000, 10, 10_000)
	b.ReportAllocs()
	b.ResetTimer()
	now := 60 * time.Second
	for b.Loop() {
		now += 30 * time.Second
		in, err := x.Snapshot(cells)
		if err != nil {
			b.Fatal(err)
		}
		if p := converge.Compute(now, in); !p.Empty() {
			b.Fatal("steady state plan not empty")
		}
	}
	b.ReportMetric(1_000_000, "instances")
}
