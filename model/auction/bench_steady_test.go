package auction

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/diegolab/diegolab/model"
)

// steadyCells is the 10,000-cell cluster of `bench scale --cells 10000`: 32,768 MB
// memory, 65,536 MB disk, 256 containers per cell.
func steadyCells(n int) []model.Cell {
	return uniformCells(n, model.Resources{MemoryMB: 32768, DiskMB: 65536, Containers: 256})
}

// steadyMix is one batch of 20 apps of Diego's 250k mix (scenarios/diego-250k-mix.toml):
// 1 app x4 @32 MB / 128 MB disk, 9 x1 @32/128, 1 x3 @128/256, 6 x1 @128/256,
// 1 x1 @1024/1024 and 2 crashing apps x1 @128/256 (the last two): 25 instances.
var steadyMix = []struct{ n, inst, mem, disk int }{
	{1, 4, 32, 128}, {9, 1, 32, 128}, {1, 3, 128, 256}, {6, 1, 128, 256}, {1, 1, 1024, 1024}, {2, 1, 128, 256},
}

func steadyLRP(guid string, index, mem, disk int) LRP {
	return LRP{ProcessGUID: guid, Index: index, LRPSpec: &LRPSpec{Domain: "cf-apps", Resource: model.Resource{MemoryMB: mem, DiskMB: disk}, PlacementConstraint: model.PlacementConstraint{RootFS: "preloaded:cflinuxfs4"}}}
}

// steadyFill builds the steady state: the cells, then batches x 20 apps of steadyMix
// placed through Schedule (diego) as the first auction does it, in Schedule calls of
// up to 250,000 instances, every container started after each call. It returns the
// State, the crashing apps' guids and the cell of each. With names, the State takes
// its process ids from names (UseGUIDs) and the guids are laid out by names.Block
// first, as the simulator does: the guids returned and placed are the block's.
func steadyFill(tb testing.TB, cells []model.Cell, batches int, names *model.GUIDs) (*State, []string, []string) {
	const chunk = 10_000 // mix batches per Schedule call
	s := newBigState(tb, cells)
	var block []string // the guids of the apps in order, from names.Block
	if names != nil {
		s.UseGUIDs(names)
		var all []string
		for app := 0; app < batches*20; app++ {
			all = append(all, fmt.Sprintf("app-%07d", app))
		}
		block = names.Block(all)
	}
	var crashGUID, crashCell []string
	app := 0
	for b0 := 0; b0 < batches; b0 += chunk {
		var b Batch
		var crashing []int // positions in b.LRPs
		for bi := b0; bi < min(b0+chunk, batches); bi++ {
			for k, m := range steadyMix {
				for a := 0; a < m.n; a++ {
					guid := fmt.Sprintf("app-%07d", app)
					if block != nil {
						guid = block[app]
					}
					app++
					for i := 0; i < m.inst; i++ {
						if k == len(steadyMix)-1 {
							crashing = append(crashing, len(b.LRPs))
						}
						b.LRPs = append(b.LRPs, steadyLRP(guid, i, m.mem, m.disk))
					}
				}
			}
		}
		res := s.Schedule(b, Diego{}, nil)
		for _, l := range res.LRPs {
			if l.CellID == "" {
				tb.Fatalf("fill: %s/%d not placed: %s", l.ProcessGUID, l.Index, l.Error)
			}
			if err := s.Started(l.CellID); err != nil {
				tb.Fatal(err)
			}
		}
		for _, i := range crashing {
			crashGUID = append(crashGUID, res.LRPs[i].ProcessGUID)
			crashCell = append(crashCell, res.LRPs[i].CellID)
		}
	}
	return s, crashGUID, crashCell
}

// BenchmarkSteadyCrashCycle is the auction's share of the 10,000-cell steady state
// (`bench scale --cells 10000`): 10,000 cells in 3 zones filled with Diego's 250k mix
// x10 (2,000,000 apps, 2,500,000 instances, 200,000 crashing) through Schedule, all
// started; then one op is one crash cycle of ~20 instances: 20 distinct random crashing
// instances leave their cells (RemoveLRP, starting=false), are scheduled back as one
// batch with diego, and each placed one is Started. Setup is built once, untimed.
// ns/placed is the time per crash cycle of one instance. The State keeps its own guid
// map (each RemoveLRP probes it, 2,000,000 keys); BenchmarkSteadyCrashCycleSim is the
// simulator's way.
func BenchmarkSteadyCrashCycle(b *testing.B) {
	s, guids, where := steadyFill(b, steadyCells(10000), *steadyBatches, nil)
	steadyCycles(b, s, guids, where, false)
}

// BenchmarkSteadyCrashCycleSim is BenchmarkSteadyCrashCycle as engine/sim drives the
// State: the guids laid out by model.GUIDs.Block and shared through UseGUIDs (a guid is
// found from its address, no hashing). cells=id calls RemoveLRP and Started with cell
// ids (each probes the State's id map); cells=ref with CellRefs (RemoveLRPRef,
// StartedRef): the crashing instance's cell is kept as a ref, and a placed cell's ref is
// found from Schedule's CellID through a map built once, the probe the driver makes
// anyway to find its own cell record. Both run on one State built once.
func BenchmarkSteadyCrashCycleSim(b *testing.B) {
	s, guids, where := steadyFill(b, steadyCells(10000), *steadyBatches, model.NewGUIDs())
	b.Run("cells=id", func(b *testing.B) { steadyCycles(b, s, guids, where, false) })
	b.Run("cells=ref", func(b *testing.B) { steadyCycles(b, s, guids, where, true) })
}

// steadyCycles runs b.N crash cycles of 20 instances (BenchmarkSteadyCrashCycle) on s,
// whose crashing instances are guids[j] on cell where[j] (kept up to date), by cell id
// or by CellRef.
func steadyCycles(b *testing.B, s *State, guids, where []string, byRef bool) {
	const perOp = 20
	r := rand.New(rand.NewPCG(7, 7))
	pick := make([]int, 0, perOp)
	picked := make(map[int]bool, perOp)
	batch := Batch{LRPs: make([]LRP, 0, perOp)}
	res := model.Resource{MemoryMB: 128, DiskMB: 256}
	var refOf map[string]CellRef // the driver's cell table
	var whereRef []CellRef
	if byRef {
		refOf = make(map[string]CellRef, s.Len())
		for _, c := range s.Cells() {
			refOf[c.ID], _ = s.Ref(c.ID)
		}
		whereRef = make([]CellRef, len(where))
		for j, id := range where {
			whereRef[j] = refOf[id]
		}
	}
	placed := 0
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		pick, batch.LRPs = pick[:0], batch.LRPs[:0]
		clear(picked)
		for len(pick) < perOp {
			j := r.IntN(len(guids))
			if !picked[j] {
				picked[j] = true
				pick = append(pick, j)
			}
		}
		for _, j := range pick {
			var err error
			if byRef {
				err = s.RemoveLRPRef(whereRef[j], guids[j], res, false)
			} else {
				err = s.RemoveLRP(where[j], guids[j], res, false)
			}
			if err != nil {
				b.Fatal(err)
			}
			batch.LRPs = append(batch.LRPs, steadyLRP(guids[j], 0, res.MemoryMB, res.DiskMB))
		}
		out := s.Schedule(batch, Diego{}, nil)
		for k, l := range out.LRPs {
			if l.CellID == "" {
				b.Fatalf("%s not placed: %s", l.ProcessGUID, l.Error)
			}
			where[pick[k]] = l.CellID
			var err error
			if byRef {
				ref := refOf[l.CellID]
				whereRef[pick[k]] = ref
				err = s.StartedRef(ref)
			} else {
				err = s.Started(l.CellID)
			}
			if err != nil {
				b.Fatal(err)
			}
			placed++
		}
	}
	cpu := cpuTime() - c0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(placed, 1)), "ns/placed")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(max(placed, 1)), "cpu-ns/placed")
}

var steadyBatches = flag.Int("steady-batches", 100_000, "BenchmarkSteadyCrashCycle: batches of 20 apps in the fill (100,000 = the 250k mix x10)")
