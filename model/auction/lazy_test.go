package auction

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/diegolab/diegolab/model"
)

// checkTrees fails unless every inner node of every group's tree is, bit for bit, what
// combine and combineTie give from its children: the value an update of every
// ancestor after each leaf write (the eager tree) would hold. It also checks that the
// leaves are current (a fresh refresh changes nothing).
func checkTrees(t *testing.T, s *State, when string) {
	t.Helper()
	s.flush() // both parts wait for a search that reads them
	s.flushCold()
	for gi, g := range s.grpList {
		if g.dirty || len(g.t.pend) != 0 || g.dirtyC || len(g.t.pendCold) != 0 || g.t.coldAll {
			t.Fatalf("%s: group %d still has pending leaves after a flush", when, gi)
		}
		for lo := g.t.size / fan; lo >= 1; lo /= fan {
			for i := lo; i < 2*lo; i++ {
				n, tv := g.t.eval(i)
				cn := g.t.evalCold(i)
				if !sameNode(&n, &g.t.nodes[i]) || !sameTie(&tv, &g.t.ties[i]) || !sameCold(&cn, &g.t.cold[i]) {
					t.Fatalf("%s: group %d node %d = %+v %+v %+v, recomputed %+v %+v %+v", when, gi, i, g.t.nodes[i], g.t.ties[i], g.t.cold[i], n, tv, cn)
				}
			}
		}
	}
	for _, rec := range s.cells {
		old, oldTie := rec.grp.t.nodes[rec.grp.t.size+rec.leaf], rec.grp.t.ties[rec.grp.t.size+rec.leaf]
		s.refresh(rec)
		if len(s.dirty) != 0 || len(s.dirtyCold) != 0 {
			t.Fatalf("%s: leaf of %s was stale: %+v %+v", when, rec.cell.ID, old, oldTie)
		}
	}
}

// TestLazyTreesMatchEager drives States through random sequences of every operation
// that writes leaves (AddCell, RemoveCell, SetEvacuating, AddLRP, RemoveLRP, AddTask,
// RemoveTask, Started, Schedule's reservations) and checks, after every flush, that the
// trees hold exactly what eager updates would (checkTrees).
func TestLazyTreesMatchEager(t *testing.T) {
	for _, tc := range []struct {
		name  string
		seed  uint64
		cells int
		ops   int
	}{
		{"few cells", 1, 5, 3000},
		{"one group grows", 2, 40, 3000},
		{"many cells", 3, 300, 3000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(tc.seed, 11))
			s := NewState(DefaultSettings())
			next := 0
			addCell := func() {
				tot := model.Resources{MemoryMB: 1024 << r.IntN(2), DiskMB: 4096, Containers: 8 + r.IntN(2)*8}
				c := model.Cell{ID: fmt.Sprintf("c%04d", next), Zone: fmt.Sprintf("z%d", r.IntN(3)), Index: r.IntN(50),
					Total: tot, Available: tot, RootFSProviders: []string{"preloaded:cflinuxfs4"}}
				next++
				if err := s.AddCell(c); err != nil {
					t.Fatal(err)
				}
			}
			for range tc.cells {
				addCell()
			}
			type inst struct {
				cell, guid string
				res        model.Resource
				starting   bool
				task       bool
			}
			var live []inst
			for op := 0; op < tc.ops; op++ {
				ids := s.Cells()
				switch k := r.IntN(100); {
				case k < 3:
					addCell()
				case k < 5 && len(ids) > 1:
					id := ids[r.IntN(len(ids))].ID
					s.RemoveCell(id)
					live = deleteCell(live, func(x inst) bool { return x.cell == id })
				case k < 10 && len(ids) > 0:
					c := ids[r.IntN(len(ids))]
					s.SetEvacuating(c.ID, !c.Evacuating)
				case k < 30 && len(ids) > 0:
					c := ids[r.IntN(len(ids))]
					res := model.Resource{MemoryMB: 16 * (1 + r.IntN(8)), DiskMB: 64}
					guid, task := fmt.Sprintf("g%d", r.IntN(20)), r.IntN(4) == 0
					starting := r.IntN(2) == 0
					var err error
					if task {
						guid = fmt.Sprintf("t%d", op)
						err = s.AddTask(c.ID, guid, res, starting)
					} else {
						err = s.AddLRP(c.ID, guid, res, starting)
					}
					if err == nil {
						live = append(live, inst{c.ID, guid, res, starting, task})
					}
				case k < 55 && len(live) > 0:
					j := r.IntN(len(live))
					x := live[j]
					var err error
					if x.task {
						err = s.RemoveTask(x.cell, x.guid, x.res, x.starting)
					} else {
						err = s.RemoveLRP(x.cell, x.guid, x.res, x.starting)
					}
					if err != nil {
						t.Fatalf("op %d: remove %+v: %v", op, x, err)
					}
					live = append(live[:j], live[j+1:]...)
				case k < 75 && len(live) > 0:
					j := r.IntN(len(live))
					if live[j].starting {
						if err := s.Started(live[j].cell); err != nil {
							t.Fatalf("op %d: started %+v: %v", op, live[j], err)
						}
						live[j].starting = false
					}
				default:
					var b Batch
					for i := r.IntN(6); i > 0; i-- {
						b.LRPs = append(b.LRPs, LRP{ProcessGUID: fmt.Sprintf("g%d", r.IntN(20)), Index: r.IntN(3), LRPSpec: &LRPSpec{Resource: model.Resource{MemoryMB: 16 * (1 + r.IntN(8)), DiskMB: 64}, PlacementConstraint: model.PlacementConstraint{RootFS: "preloaded:cflinuxfs4"}}})
					}
					if r.IntN(3) == 0 {
						b.Tasks = append(b.Tasks, Task{GUID: fmt.Sprintf("t%d", op),
							Resource:            model.Resource{MemoryMB: 32, DiskMB: 64},
							PlacementConstraint: model.PlacementConstraint{RootFS: "preloaded:cflinuxfs4"}})
					}
					res := s.Schedule(b, Diego{}, nil)
					for _, l := range res.LRPs {
						if l.CellID != "" {
							live = append(live, inst{l.CellID, l.ProcessGUID, l.Resource, true, false})
						}
					}
					for _, tr := range res.Tasks {
						if tr.CellID != "" {
							live = append(live, inst{tr.CellID, tr.GUID, tr.Resource, true, true})
						}
					}
					checkTrees(t, s, fmt.Sprintf("op %d (after Schedule)", op))
					continue
				}
				if r.IntN(10) == 0 {
					s.flush()
					checkTrees(t, s, fmt.Sprintf("op %d", op))
				}
			}
		})
	}
}

func deleteCell[T any](xs []T, del func(T) bool) []T {
	out := xs[:0]
	for _, x := range xs {
		if !del(x) {
			out = append(out, x)
		}
	}
	return out
}
