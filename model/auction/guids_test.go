package auction

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/diegolab/diegolab/model"
)

// TestUseGUIDsSameOutcomes: a State that takes its process ids from a shared
// model.GUIDs (guids laid out in a block, found by address) decides exactly as one with
// its own map, for every algorithm, over rounds of cell changes, batches and removals.
func TestUseGUIDsSameOutcomes(t *testing.T) {
	for _, name := range Names() {
		for seed := uint64(1); seed <= 15; seed++ {
			var got [2]string
			for v := range got {
				r := rand.New(rand.NewPCG(seed, 7))
				st := NewState(randomSettings(r))
				names := model.NewGUIDs()
				canon := map[string]string{}
				if v == 1 {
					st.UseGUIDs(names)
					names.ID("taken-first") // ids of the State need not start at 0
					in := []string{"g0", "g1", "g2", "g3", "g4", "g5", "g6"}
					for i, g := range names.Block(in) {
						canon[in[i]] = g
					}
				}
				alg, _ := New(name)
				rng := rand.New(rand.NewPCG(seed, 8))
				out := ""
				for round := 0; round < 6; round++ {
					mutate(t, st, r, round)
					b := randomBatch(r, round, 30, 0)
					for i := range b.LRPs {
						if g, ok := canon[b.LRPs[i].ProcessGUID]; ok {
							b.LRPs[i].ProcessGUID = g // the block's bytes: the address path
						}
					}
					res := st.Schedule(b, alg, rng)
					out += outcomesString(res)
					for i, l := range res.LRPs {
						if l.Error != "" || r.IntN(3) != 0 {
							continue
						}
						err := st.RemoveLRP(l.CellID, b.LRPs[i].ProcessGUID, l.Resource, true)
						out += fmt.Sprintf("remove %s from %s: %v; left %d\n", l.ProcessGUID, l.CellID, err, st.InstancesOf(l.CellID, l.ProcessGUID))
					}
					if cs := st.Cells(); len(cs) > 0 {
						out += fmt.Sprintf("unknown: %v\n", st.RemoveLRP(cs[0].ID, "never-seen", model.Resource{}, false))
					}
				}
				got[v] = out
			}
			if got[0] != got[1] {
				t.Fatalf("%s seed %d: outcomes differ with shared GUIDs:\n--- own map\n%s--- shared\n%s", name, seed, got[0], got[1])
			}
		}
	}
}
