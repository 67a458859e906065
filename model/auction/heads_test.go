package auction

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/diegolab/diegolab/model"
)

// TestHeadsTrackTables: through AddCell, AddLRP (tables growing), RemoveLRP, Schedule,
// RemoveCell and cells added again, every live cell's entry in heads names its
// gidCounts table (first slot and shift), so that PrefetchLRP's slot for (ref, id) is
// the very slot gidCounts.get reads; removed cells' entries are empty or reused.
func TestHeadsTrackTables(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	s := NewState(DefaultSettings())
	names := model.NewGUIDs()
	s.UseGUIDs(names)
	tot := model.Resources{MemoryMB: 1 << 20, DiskMB: 1 << 20, Containers: 5000}
	live := map[string]bool{}
	nextCell := 0
	addCell := func() {
		id := fmt.Sprintf("cell-%d", nextCell)
		nextCell++
		if err := s.AddCell(model.Cell{ID: id, Zone: "z", Total: tot, Available: tot, RootFSProviders: []string{"preloaded:cflinuxfs4"}}); err != nil {
			t.Fatal(err)
		}
		live[id] = true
	}
	for range 8 {
		addCell()
	}
	check := func(step int) {
		t.Helper()
		used := map[int32]string{}
		for _, c := range s.Cells() {
			ref, _ := s.Ref(c.ID)
			rec := ref.rec
			if other, dup := used[ref.head]; dup {
				t.Fatalf("step %d: cells %s and %s share head %d", step, other, c.ID, ref.head)
			}
			used[ref.head] = c.ID
			h := s.heads[ref.head]
			if len(rec.guids.slots) == 0 {
				if h.slots != nil {
					t.Fatalf("step %d: cell %s has no table but a head", step, c.ID)
				}
				continue
			}
			if h.slots != &rec.guids.slots[0] || h.shift != rec.guids.shift {
				t.Fatalf("step %d: cell %s: head %p/%d, table %p/%d", step, c.ID, h.slots, h.shift, &rec.guids.slots[0], rec.guids.shift)
			}
			for id := int32(0); id < 50; id++ { // PrefetchLRP's slot is get's home slot
				i := uintptr((uint32(id+1) * 0x9E3779B9) >> h.shift)
				got := unsafe.Add(unsafe.Pointer(h.slots), i*unsafe.Sizeof(gidSlot{}))
				if want := unsafe.Pointer(&rec.guids.slots[rec.guids.home(id+1)]); got != want {
					t.Fatalf("step %d: cell %s id %d: prefetch slot %p, home slot %p", step, c.ID, id, got, want)
				}
			}
		}
		for h, e := range s.heads {
			if _, ok := used[int32(h)]; !ok && e.slots != nil {
				t.Fatalf("step %d: head %d of no live cell is not empty", step, h)
			}
		}
	}
	type inst struct{ cell, guid string }
	var placed []inst
	res := model.Resource{MemoryMB: 1, DiskMB: 1}
	for step := 0; step < 3000; step++ {
		switch k := r.IntN(20); {
		case k < 10: // an instance of one of 200 guids (tables grow past 8, 16, ... slots)
			ids := make([]string, 0, len(live))
			for _, c := range s.Cells() {
				ids = append(ids, c.ID)
			}
			cell, guid := ids[r.IntN(len(ids))], fmt.Sprintf("g%d", r.IntN(200))
			if err := s.AddLRP(cell, guid, res, false); err != nil {
				t.Fatal(err)
			}
			placed = append(placed, inst{cell, guid})
		case k < 15 && len(placed) > 0:
			j := r.IntN(len(placed))
			p := placed[j]
			placed[j] = placed[len(placed)-1]
			placed = placed[:len(placed)-1]
			if !live[p.cell] {
				continue
			}
			if err := s.RemoveLRP(p.cell, p.guid, res, false); err != nil {
				t.Fatal(err)
			}
		case k < 17:
			out := s.Schedule(Batch{LRPs: []LRP{{ProcessGUID: fmt.Sprintf("g%d", r.IntN(200)), LRPSpec: &LRPSpec{Resource: res, PlacementConstraint: model.PlacementConstraint{RootFS: "preloaded:cflinuxfs4"}}}}}, nil, nil)
			if l := out.LRPs[0]; l.CellID != "" {
				placed = append(placed, inst{l.CellID, l.ProcessGUID})
			}
		case k == 17 && len(live) > 2: // a cell is lost; its head is freed
			cs := s.Cells()
			id := cs[r.IntN(len(cs))].ID
			s.RemoveCell(id)
			delete(live, id)
		default:
			addCell()
		}
		check(step)
	}
	if len(s.heads) >= nextCell {
		t.Fatalf("%d heads for %d cells ever added: freed heads were not reused", len(s.heads), nextCell)
	}
}
