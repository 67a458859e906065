package converge

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIDSetMatchesMap puts random ids in and out of an idSet and a map side by side:
// the same members, count and increasing order, also across a growth of the bitmap.
func TestIDSetMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s idSet
	m := map[uint32]bool{}
	for step := 0; step < 20000; step++ {
		id := uint32(r.IntN(64 * (1 + step/1000)))
		on := r.IntN(3) > 0
		s.put(id, on)
		if on {
			m[id] = true
		} else {
			delete(m, id)
		}
		if s.n != len(m) {
			t.Fatalf("step %d: %d members, want %d", step, s.n, len(m))
		}
		if step%997 != 0 {
			continue
		}
		var got []uint32
		s.each(func(id uint32) { got = append(got, id) })
		want := make([]uint32, 0, len(m))
		for id := range m {
			want = append(want, id)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: members %v, want %v", step, got, want)
		}
	}
}
