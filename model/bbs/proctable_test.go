package bbs

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestProcTableAgainstMap adds and removes random guids from a universe of 300 (so the
// table grows from 16 slots through several doublings and shrinks back to nearly empty,
// with runs that wrap around the end of the slot array), and after every operation
// checks it against a map: every guid is found iff it is in the map (as the very proc
// added), the count matches, the load stays <= 7/8, and each proc sits in the run from
// its home slot (no empty slot between its home and itself), which is what lets a
// lookup stop at the first empty slot.
func TestProcTableAgainstMap(t *testing.T) {
	for seed := range uint64(4) {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			tab := newProcTable()
			ref := map[string]*proc{}
			guids := make([]string, 300)
			for i := range guids {
				guids[i] = "g-" + strconv.Itoa(i)
			}
			for step := range 20_000 {
				g := guids[rng.IntN(len(guids))]
				// grow for the first half, then mostly remove.
				add := rng.IntN(100) < 60 || (step > 10_000 && rng.IntN(100) < 20)
				if step > 10_000 {
					add = rng.IntN(100) < 35
				}
				if p := ref[g]; p == nil && add {
					p = newProc(g)
					tab.add(p)
					ref[g] = p
				} else if p != nil && !add {
					tab.remove(p)
					delete(ref, g)
				}
				if tab.len() != len(ref) {
					t.Fatalf("step %d: len %d, want %d", step, tab.len(), len(ref))
				}
				if tab.n*8 > len(tab.slots)*7 {
					t.Fatalf("step %d: %d procs in %d slots", step, tab.n, len(tab.slots))
				}
				for _, g := range guids {
					if got, want := tab.get(g), ref[g]; got != want {
						t.Fatalf("step %d: get(%q) = %p, want %p", step, g, got, want)
					}
				}
				mask := uint64(len(tab.slots) - 1)
				n := 0
				for i, s := range tab.slots {
					if s.p == nil {
						continue
					}
					n++
					for j := s.h & mask; j != uint64(i); j = (j + 1) & mask {
						if tab.slots[j].p == nil {
							t.Fatalf("step %d: %q at slot %d, empty slot %d after its home %d", step, s.p.guid, i, j, s.h&mask)
						}
					}
				}
				if n != len(ref) {
					t.Fatalf("step %d: %d occupied slots, want %d", step, n, len(ref))
				}
			}
			tab.remove(newProc("absent")) // removing a proc that is not there is a no-op
			if tab.len() != len(ref) {
				t.Fatalf("remove of an absent proc changed len to %d", tab.len())
			}
		})
	}
}
