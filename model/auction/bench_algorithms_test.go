package auction

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// viaChoose hides an algorithm's index (an embedded interface promotes only Name and
// Choose), so Schedule enumerates candidates and calls Choose, as for a user's algorithm.
type viaChoose struct{ Algorithm }

// BenchmarkAlgorithms1000 is the auction part of `diegolab bench algorithms-1000` per
// algorithm: 1,000 cells (3 zones, 64 GB each) pre-filled by the algorithm itself with
// 25,000 instances (5,000 apps x 5, in batches of 500, every container started), then
// one op = one batch of 10 instances of a new app, as the simulator's small batches are.
// The batch is undone (timer stopped) so the state stays stationary. Reported:
// ns/op and allocs per batch, placements/s.
func BenchmarkAlgorithms1000(b *testing.B) {
	cells := bigCells(1000)
	fill := bigBatch(5000, 5, 21)
	batches := make([]Batch, 1000)
	for i := range batches {
		batches[i] = bigBatch(1, 10, uint64(1000+i))
		for j := range batches[i].LRPs {
			batches[i].LRPs[j].ProcessGUID = fmt.Sprintf("new-%d", i)
		}
	}
	// viaChoose=NAME is the built-in behind a wrapper that hides its index: the
	// candidate scan every user-registered algorithm takes (State.choose).
	names := append(slices.Clone(builtins), "viaChoose=balanced", "viaChoose=first-fit")
	for _, name := range names {
		b.Run("alg="+name, func(b *testing.B) {
			base, wrap := strings.CutPrefix(name, "viaChoose=")
			alg, err := New(base)
			if err != nil {
				b.Fatal(err)
			}
			if wrap {
				alg = viaChoose{alg}
			}
			s := newBigState(b, cells)
			r := rand.New(rand.NewPCG(1, 2))
			for lo := 0; lo < len(fill.LRPs); lo += 500 {
				s.Schedule(Batch{LRPs: fill.LRPs[lo : lo+500]}, alg, r)
			}
			for _, c := range s.Cells() {
				for k := c.StartingContainers; k > 0; k-- {
					_ = s.Started(c.ID)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			placed := 0
			for i := 0; i < b.N; i++ {
				res := s.Schedule(batches[i%len(batches)], alg, r)
				b.StopTimer()
				for _, l := range res.LRPs {
					if l.CellID != "" {
						placed++
						if err := s.RemoveLRP(l.CellID, l.ProcessGUID, l.Resource, true); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StartTimer()
			}
			if placed == 0 {
				b.Fatal("nothing placed")
			}
			b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}
