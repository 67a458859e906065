package converge

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/diegolab/diegolab/model"
)

func TestDueHeap(t *testing.T) {
	tab := newGuidTable()
	g := tab.intern("g")
	h := newDueHeap(&tab, heapUnclaimed)
	for i := range 100 {
		h.Set(g, i, time.Duration((i*37)%100))
	}
	h.Remove(g, 5)
	h.Set(g, 7, 1000)
	got := map[int]bool{}
	for _, k := range h.Due(20, nil) {
		if k.ProcessGUID != "g" {
			t.Fatalf("Due returned key %v of an unknown guid", k)
		}
		got[k.Index] = true
	}
	for i := range 100 {
		due := time.Duration((i * 37) % 100)
		want := due <= 20 && i != 5 && i != 7
		if got[i] != want {
			t.Fatalf("key %d (due %v): in Due(20) = %v, want %v", i, due, got[i], want)
		}
	}
	// 99 keys remain, all in one record: inHeap counts them.
	if n := tab.recs[g].inHeap; n != 99 || h.Len() != 99 {
		t.Fatalf("inHeap = %d, Len = %d; want 99, 99", n, h.Len())
	}
}

// TestDueHeapPositions drives two heaps sharing one guid table with random Set/Remove
// calls and checks after each call that the heap order holds, every item's recorded
// position is where it sits, keys outside the heap have no position, each record counts
// its items, and Due returns exactly the keys due. Indices include negative and beyond
// denseIndexLimit ones, which keep their positions in the sparse map.
func TestDueHeapPositions(t *testing.T) {
	guids := []string{"g0", "g1", "g2", "g3"}
	indices := []int{0, 1, 2, 3, 5, 9, 17, denseIndexLimit - 1, denseIndexLimit, 1 << 40, -1}
	rapid.Check(t, func(rt *rapid.T) {
		tab := newGuidTable()
		ids := make([]uint32, len(guids))
		for i, g := range guids {
			ids[i] = tab.intern(g)
		}
		heaps := [2]dueHeap{newDueHeap(&tab, heapUnclaimed), newDueHeap(&tab, heapCrashed)}
		type key struct {
			id    uint32
			index int
		}
		want := [2]map[key]time.Duration{{}, {}}
		check := func() {
			for w := range heaps {
				h := &heaps[w]
				if len(h.items) != len(want[w]) {
					rt.Fatalf("heap %d: %d items, want %d", w, len(h.items), len(want[w]))
				}
				for i, it := range h.items {
					if i > 0 && h.items[(i-1)/2].due > it.due {
						rt.Fatalf("heap %d: item %d (due %v) under a later parent (%v)", w, i, it.due, h.items[(i-1)/2].due)
					}
					if p := tab.pos(it.id, it.index, w); p != int32(i+1) {
						rt.Fatalf("heap %d: item %d (%s/%d) has position %d, want %d", w, i, tab.recs[it.id].guid, it.index, p-1, i)
					}
					if d, ok := want[w][key{it.id, it.index}]; !ok || d != it.due {
						rt.Fatalf("heap %d: item %s/%d due %v, want %v (present %v)", w, tab.recs[it.id].guid, it.index, it.due, d, ok)
					}
				}
				for _, id := range ids {
					for _, ix := range indices {
						if _, in := want[w][key{id, ix}]; !in && tab.pos(id, ix, w) != 0 {
							rt.Fatalf("heap %d: %s/%d not in the heap but has position %d", w, tab.recs[id].guid, ix, tab.pos(id, ix, w)-1)
						}
					}
				}
				limit := time.Duration(rapid.IntRange(-1, 101).Draw(rt, "limit"))
				var got, exp []string
				for _, k := range h.Due(limit, nil) {
					got = append(got, k.String())
				}
				for k, d := range want[w] {
					if d <= limit {
						exp = append(exp, tab.key(k.id, k.index).String())
					}
				}
				slices.Sort(got)
				slices.Sort(exp)
				if !slices.Equal(got, exp) {
					rt.Fatalf("heap %d: Due(%v) = %v, want %v", w, limit, got, exp)
				}
			}
			for _, id := range ids {
				n := 0
				for w := range want {
					for k := range want[w] {
						if k.id == id {
							n++
						}
					}
				}
				if tab.recs[id].inHeap != int32(n) {
					rt.Fatalf("%s: inHeap = %d, want %d", tab.recs[id].guid, tab.recs[id].inHeap, n)
				}
			}
			if len(tab.sparse) > 0 {
				for k, hp := range tab.sparse {
					if hp == (heapPos{}) {
						rt.Fatalf("sparse entry %v kept with no position", k)
					}
				}
			}
		}
		for range rapid.IntRange(1, 200).Draw(rt, "ops") {
			w := rapid.IntRange(0, 1).Draw(rt, "heap")
			k := key{ids[rapid.IntRange(0, len(ids)-1).Draw(rt, "guid")], rapid.SampledFrom(indices).Draw(rt, "index")}
			if rapid.IntRange(0, 2).Draw(rt, "remove") == 0 {
				heaps[w].Remove(k.id, k.index)
				delete(want[w], k)
			} else {
				due := time.Duration(rapid.IntRange(0, 100).Draw(rt, "due"))
				heaps[w].Set(k.id, k.index, due)
				want[w][k] = due
			}
			check()
		}
	})
}

// memSource is a map-backed Source for the differential test.
type memSource struct {
	desired map[string]model.DesiredLRP
	actual  map[model.ActualLRPKey]*[3]*model.ActualLRP
}

func (m *memSource) DesiredLRP(g string) (model.DesiredLRP, bool) {
	d, ok := m.desired[g]
	return d, ok
}
func (m *memSource) ActualLRP(k model.ActualLRPKey, p model.Presence) (model.ActualLRP, bool) {
	if r := m.actual[k]; r != nil && r[p] != nil {
		return *r[p], true
	}
	return model.ActualLRP{}, false
}

func (m *memSource) all() []model.ActualLRP {
	var out []model.ActualLRP
	for _, r := range m.actual {
		for _, a := range r {
			if a != nil {
				out = append(out, *a)
			}
		}
	}
	slices.SortFunc(out, compareActual)
	return out
}

func (m *memSource) ActualLRPsByProcess(g string) []model.ActualLRP {
	var out []model.ActualLRP
	for _, a := range m.all() {
		if a.ProcessGUID == g {
			out = append(out, a)
		}
	}
	return out
}

func (m *memSource) ActualLRPsOnCell(c string) []model.ActualLRP {
	var out []model.ActualLRP
	for _, a := range m.all() {
		if a.CellID == c {
			out = append(out, a)
		}
	}
	return out
}
func (m *memSource) Task(string) (model.Task, bool) { return model.Task{}, false }
func (m *memSource) Domains() []Domain              { return []Domain{{Name: "cf-apps"}} }

// TestTrackerRandomRows writes random actual rows (any state and presence, including
// indices outside the dense position array) and desired LRPs straight into a store and
// the tracker (rows with and without a GUIDHint, some hints scrambled), and checks that Plan equals Compute on the store at every step, and that
// once every row and desired LRP is gone the tracker holds no guid record, heap item or
// absent cell.
func TestTrackerRandomRows(t *testing.T) {
	guids := []string{"g0", "g1", "g2"}
	cells := []string{"c0", "c1", "c2"}
	indices := []int{0, 1, 2, denseIndexLimit + 3}
	states := []model.ActualLRPState{model.Unclaimed, model.Claimed, model.Running, model.Crashed}
	rapid.Check(t, func(rt *rapid.T) {
		src := &memSource{desired: map[string]model.DesiredLRP{}, actual: map[model.ActualLRPKey]*[3]*model.ActualLRP{}}
		tr := NewTracker(DefaultConfig(), src)
		hints := map[string]*GUIDHint{}
		for _, g := range guids {
			hints[g] = new(GUIDHint)
		}
		now := time.Duration(0)
		for range rapid.IntRange(1, 120).Draw(rt, "ops") {
			now += time.Duration(rapid.IntRange(0, 40).Draw(rt, "dt")) * time.Second
			g := rapid.SampledFrom(guids).Draw(rt, "guid")
			switch rapid.IntRange(0, 5).Draw(rt, "op") {
			case 0: // desire, update or remove
				old, had := src.desired[g]
				var oldp, newp *model.DesiredLRP
				if had {
					oldp = &old
				}
				if n := rapid.IntRange(-1, 4).Draw(rt, "instances"); n >= 0 {
					d := model.DesiredLRP{ProcessGUID: g, Domain: "cf-apps", Instances: n}
					src.desired[g] = d
					newp = &d
				} else {
					delete(src.desired, g)
				}
				if oldp != nil || newp != nil {
					tr.DesiredChanged(oldp, newp)
				}
			default: // put or delete one row
				k := model.ActualLRPKey{ProcessGUID: g, Index: rapid.SampledFrom(indices).Draw(rt, "index")}
				p := model.Presence(rapid.IntRange(0, 2).Draw(rt, "presence"))
				r := src.actual[k]
				if r == nil {
					r = &[3]*model.ActualLRP{}
					src.actual[k] = r
				}
				old := r[p]
				var a *model.ActualLRP
				if rapid.IntRange(0, 3).Draw(rt, "delete") != 0 {
					a = &model.ActualLRP{ActualLRPKey: k, Domain: "cf-apps", Presence: p, Since: now,
						State:      rapid.SampledFrom(states).Draw(rt, "state"),
						CrashCount: rapid.IntRange(0, 8).Draw(rt, "crashes")}
					if a.State == model.Claimed || a.State == model.Running {
						a.InstanceKey = model.InstanceKey{InstanceGUID: "i", CellID: rapid.SampledFrom(cells).Draw(rt, "cell")}
					}
				}
				r[p] = a
				if *r == ([3]*model.ActualLRP{}) {
					delete(src.actual, k)
				}
				if old != nil || a != nil {
					// through a kept hint, a scrambled one (stale or naming another
					// guid's record: the tracker must notice) or none at all.
					h := hints[g]
					switch rapid.IntRange(0, 3).Draw(rt, "hint") {
					case 0:
						tr.ActualChanged(old, a)
					case 1:
						*h = GUIDHint(rapid.IntRange(0, 8).Draw(rt, "scrambled"))
						fallthrough
					default:
						tr.ActualChangedHint(h, old, a)
						if id, ok := tr.guids.ids[g]; ok && *h != GUIDHint(id+1) {
							rt.Fatalf("hint of %s = %d, record id %d", g, *h, id)
						}
					}
				}
			}
			present := rapid.SliceOfDistinct(rapid.SampledFrom(cells), func(c string) string { return c }).Draw(rt, "cells")
			slices.Sort(present)
			in := Input{Cells: present, Domains: src.Domains(), Config: DefaultConfig(), Actual: src.all()}
			for _, d := range src.desired {
				in.Desired = append(in.Desired, d)
			}
			want := Compute(now, in)
			got := tr.Plan(now, present)
			if w, g := fmt.Sprintf("%+v", want), fmt.Sprintf("%+v", got); w != g {
				rt.Fatalf("at %v with cells %v:\nTracker.Plan = %s\nCompute      = %s", now, present, g, w)
			}
		}
		// delete everything: the tracker must forget every guid and every absent cell.
		for g, d := range src.desired {
			tr.DesiredChanged(&d, nil)
			delete(src.desired, g)
		}
		for k, r := range src.actual {
			for p, a := range r {
				if a != nil {
					r[p] = nil
					tr.ActualChanged(a, nil)
				}
			}
			delete(src.actual, k)
		}
		tr.Plan(now, nil)
		if len(tr.guids.ids) != 0 || len(tr.guids.sparse) != 0 || tr.unclaimed.Len()+tr.crashed.Len() != 0 ||
			len(tr.cell.ids) != 0 || len(tr.mismatch)+len(tr.orphan)+len(tr.orphanSuspects)+len(tr.suspRunning)+len(tr.extraSuspects) != 0 {
			rt.Fatalf("empty store, tracker still holds: guids %v, sparse %v, heaps %d+%d, cells %v, sets %d %d %d %d %d",
				tr.guids.ids, tr.guids.sparse, tr.unclaimed.Len(), tr.crashed.Len(), tr.cell.ids,
				len(tr.mismatch), len(tr.orphan), len(tr.orphanSuspects), len(tr.suspRunning), len(tr.extraSuspects))
		}
	})
}

// TestDueHeapShrinks fills a heap with 5,000 keys and removes all but 10: an array above
// minHeapCap (1,024) entries is halved whenever it drops below a quarter full, so with 10
// left its capacity is at most 2 * 1,024; the survivors keep correct positions.
func TestDueHeapShrinks(t *testing.T) {
	tab := newGuidTable()
	g := tab.intern("g")
	h := newDueHeap(&tab, heapCrashed)
	for i := range 5000 {
		h.Set(g, i, time.Duration(5000-i))
	}
	peak := cap(h.items)
	for i := range 4990 {
		h.Remove(g, i)
	}
	if c := cap(h.items); c >= peak || c > 2*minHeapCap {
		t.Fatalf("cap after removing 4,990 of 5,000 = %d (peak %d), want <= %d", c, peak, 2*minHeapCap)
	}
	for i, it := range h.items {
		if p := tab.pos(g, it.index, heapCrashed); p != int32(i+1) {
			t.Fatalf("item %d (index %d) has position %d", i, it.index, p-1)
		}
	}
	// the survivors are indices 4990..4999 with due 10..1: all due by 10, none by 0.
	if n, z := len(h.Due(10, nil)), len(h.Due(0, nil)); n != 10 || z != 0 {
		t.Fatalf("Due(10) = %d keys, Due(0) = %d; want 10, 0", n, z)
	}
}
