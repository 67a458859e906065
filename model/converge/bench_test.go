package converge

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
)

// nullSource is a store with no rows: ActualChanged only reads through Source for keys
// with a SUSPECT RUNNING row, which the benchmark never creates.
type nullSource struct{}

func (nullSource) DesiredLRP(string) (model.DesiredLRP, bool) { return model.DesiredLRP{}, false }
func (nullSource) ActualLRP(model.ActualLRPKey, model.Presence) (model.ActualLRP, bool) {
	return model.ActualLRP{}, false
}
func (nullSource) ActualLRPsByProcess(string) []model.ActualLRP { return nil }
func (nullSource) ActualLRPsOnCell(string) []model.ActualLRP    { return nil }
func (nullSource) Task(string) (model.Task, bool)               { return model.Task{}, false }
func (nullSource) Domains() []Domain                            { return nil }

// lifecycle is the ORDINARY state cycle the benchmark replays per instance, as the BBS
// writes it: an auction claims the UNCLAIMED row, the rep starts it, it crashes, and
// convergence unclaims it for a restart.
var lifecycle = [...]model.ActualLRPState{model.Unclaimed, model.Claimed, model.Running, model.Crashed}

// BenchmarkTrackerActualChanged measures one ActualChanged call of a realistic write mix:
// guids desired guids with one instance each spread over 1,000 present cells, every
// instance created UNCLAIMED, then each op moves a random instance (seeded, so
// consecutive writes touch different guids as in a large simulation and the instances'
// phases spread out) one step along UNCLAIMED -> CLAIMED -> RUNNING -> CRASHED ->
// UNCLAIMED. tracker-B/guid is the live heap
// the tracker holds per guid after the set-up (every row UNCLAIMED: the unclaimed heap is
// at its largest). ids=own is a tracker with its own guid map; ids=shared one keyed by
// the run's shared ids (UseGUIDs), the guids laid out in a block as the simulation does.
func BenchmarkTrackerActualChanged(b *testing.B) {
	for _, mode := range []string{"own", "shared"} {
		guids := 200_000
		b.Run(fmt.Sprintf("guids=%d/ids=%s", guids, mode), func(b *testing.B) {
			const ncells = 1000
			cells := make([]string, ncells)
			for i := range cells {
				cells[i] = fmt.Sprintf("cell-%04d", i)
			}
			// rows and guid strings belong to the store in the real BBS: made before the
			// heap is measured.
			rows := make([]model.ActualLRP, guids)
			names := model.NewGUIDs()
			gs := make([]string, guids)
			for i := range gs {
				gs[i] = fmt.Sprintf("process-%07d", i)
			}
			if mode == "shared" {
				gs = names.Block(gs)
			}
			for i := range rows {
				rows[i] = model.ActualLRP{ActualLRPKey: model.ActualLRPKey{ProcessGUID: gs[i]}, Domain: "cf-apps", State: model.Unclaimed}
			}
			phase := make([]uint8, guids)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			tr := NewTracker(DefaultConfig(), nullSource{})
			if mode == "shared" {
				tr.UseGUIDs(names)
			}
			tr.Plan(0, cells)
			for i := range rows {
				d := model.DesiredLRP{ProcessGUID: rows[i].ProcessGUID, Domain: "cf-apps", Instances: 1}
				tr.DesiredChanged(nil, &d)
				tr.ActualChanged(nil, &rows[i])
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perGuid := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(guids)

			b.ReportAllocs()
			b.ResetTimer()
			rng := rand.New(rand.NewPCG(1, 2))
			now := time.Duration(0)
			for n := 0; n < b.N; n++ {
				i := rng.IntN(guids)
				if n%guids == 0 {
					now += time.Second
				}
				old := rows[i]
				a := old
				phase[i] = (phase[i] + 1) % uint8(len(lifecycle))
				a.State = lifecycle[phase[i]]
				a.Since = now
				switch a.State {
				case model.Unclaimed:
					a.InstanceKey = model.InstanceKey{}
				case model.Claimed:
					a.InstanceKey = model.InstanceKey{InstanceGUID: "i", CellID: cells[i%ncells]}
				case model.Crashed:
					a.InstanceKey = model.InstanceKey{}
					a.CrashCount++
				}
				rows[i] = a
				tr.ActualChanged(&old, &rows[i])
			}
			b.StopTimer()
			b.ReportMetric(perGuid, "tracker-B/guid")
			runtime.KeepAlive(tr)
		})
	}
}
