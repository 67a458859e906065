package auction

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGidCountsMatchesMap applies random adds and removals to a gidCounts and to a Go
// map side by side and compares every count, the length and the sorted ids after each
// step. Small key ranges force long probe runs, wrap-around and backward shifts.
func TestGidCountsMatchesMap(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys int32 // guid ids drawn from [0, keys)
		ops  int
	}{
		{"dense 12 keys", 12, 5000},
		{"200 keys (a cell)", 200, 20000},
		{"sparse 1e6 keys", 1_000_000, 20000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.keys), 5))
			var c gidCounts
			want := map[int32]int32{}
			for op := 0; op < tc.ops; op++ {
				gid := r.Int32N(tc.keys)
				if len(want) > 0 && r.IntN(2) == 0 {
					// remove from a present key
					ks := slices.Sorted(maps.Keys(want))
					gid = ks[r.IntN(len(ks))]
					d := -1 - r.Int32N(want[gid])
					if got, w := c.add(gid, d), want[gid]+d; got != w {
						t.Fatalf("op %d: add(%d, %d) = %d, want %d", op, gid, d, got, w)
					}
					if want[gid] += d; want[gid] == 0 {
						delete(want, gid)
					}
				} else {
					d := 1 + r.Int32N(3)
					if got, w := c.add(gid, d), want[gid]+d; got != w {
						t.Fatalf("op %d: add(%d, %d) = %d, want %d", op, gid, d, got, w)
					}
					want[gid] += d
				}
				if c.len() != len(want) {
					t.Fatalf("op %d: len %d, want %d", op, c.len(), len(want))
				}
				if op%50 == 0 || tc.keys < 100 {
					for k := int32(0); k < min(tc.keys, 300); k++ {
						if c.get(k) != want[k] {
							t.Fatalf("op %d: get(%d) = %d, want %d", op, k, c.get(k), want[k])
						}
					}
					for k := range want {
						if c.get(k) != want[k] {
							t.Fatalf("op %d: get(%d) = %d, want %d", op, k, c.get(k), want[k])
						}
					}
					if got, w := c.ids(), slices.Sorted(maps.Keys(want)); !slices.Equal(got, w) {
						t.Fatalf("op %d: ids %v, want %v", op, got, w)
					}
				}
			}
		})
	}
}
