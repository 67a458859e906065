package converge

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/diegolab/diegolab/model"
)

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
// the tracker (rows with and without a GUIDHint and CellHints, some hints scrambled), and
// checks that Plan equals Compute on the store at every step, and that
// once every row and desired LRP is gone the tracker holds no guid record, heap item or
// absent cell.
//
// The tracker keys its records by its own map, or by a shared model.GUIDs table
// (UseGUIDs) whose ids come from a block (found by address) or one by one (by the
// table's map), drawn per history.
func TestTrackerRandomRows(t *testing.T) {
	cells := []string{"c0", "c1", "c2"}
	indices := []int{0, 1, 2, denseIndexLimit + 3}
	states := []model.ActualLRPState{model.Unclaimed, model.Claimed, model.Running, model.Crashed}
	rapid.Check(t, func(rt *rapid.T) {
		guids := []string{"g0", "g1", "g2"}
		src := &memSource{desired: map[string]model.DesiredLRP{}, actual: map[model.ActualLRPKey]*[3]*model.ActualLRP{}}
		tr := NewTracker(DefaultConfig(), src)
		switch mode := rapid.SampledFrom([]string{"own", "block", "loose"}).Draw(rt, "ids"); mode {
		case "block", "loose":
			names := model.NewGUIDs()
			names.ID("other") // ids need not start at 0
			if !tr.UseGUIDs(names) {
				rt.Fatalf("UseGUIDs on a new tracker refused")
			}
			if mode == "block" {
				guids = names.Block(guids)
			}
		}
		hints := map[string]*GUIDHint{}
		for _, g := range guids {
			hints[g] = new(GUIDHint)
		}
		cellHints := map[string]*CellHint{}
		for _, c := range cells {
			cellHints[c] = new(CellHint)
		}
		// cellHint returns the kept hint of a's cell (nil when a has none), scrambled
		// (stale, or naming another cell's record) when scramble says so.
		cellHint := func(a *model.ActualLRP, scramble bool) *CellHint {
			if a == nil || a.CellID == "" {
				return nil
			}
			h := cellHints[a.CellID]
			if scramble {
				*h = CellHint(rapid.IntRange(0, 5).Draw(rt, "scrambled cell"))
			}
			return h
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
					// Cell hints likewise: kept, scrambled or none.
					// A neutral change (see Tracker.neutral) reads no record and leaves
					// the hint as it was.
					h := hints[g]
					skip := old != nil && a != nil && tr.neutral(old, a)
					switch rapid.IntRange(0, 4).Draw(rt, "hint") {
					case 0:
						tr.ActualChanged(old, a)
					case 1:
						*h = GUIDHint(rapid.IntRange(0, 8).Draw(rt, "scrambled"))
						fallthrough
					case 2:
						tr.ActualChangedHint(h, old, a)
						if id, ok := tr.guids.lookup(g); ok && !skip && *h != GUIDHint(id+1) {
							rt.Fatalf("hint of %s = %d, record id %d", g, *h, id)
						}
					default:
						scramble := rapid.Bool().Draw(rt, "scramble cells")
						oh, nh := cellHint(old, scramble), cellHint(a, scramble)
						tr.ActualChangedHints(Hints{GUID: h, OldCell: oh, NewCell: nh}, old, a)
						if id, ok := tr.guids.lookup(g); ok && !skip && *h != GUIDHint(id+1) {
							rt.Fatalf("hint of %s = %d, record id %d", g, *h, id)
						}
						// a row counted on a cell keeps its record alive: the hint names it,
						// unless the row stayed counted there (the tracker had nothing to do).
						stayed := old != nil && a != nil && rowCell(old) >= 0 && rowCell(old) == rowCell(a) && old.CellID == a.CellID
						if a != nil && a.CellID != "" && rowCell(a) >= 0 && !stayed && !skip {
							if id, ok := tr.cell.ids[a.CellID]; !ok || *nh != CellHint(id+1) {
								rt.Fatalf("hint of cell %s = %d, record id %d (%v)", a.CellID, *nh, id, ok)
							}
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
		if tr.guids.live() != 0 || len(tr.guids.ids) != 0 || len(tr.guids.sparse) != 0 || tr.unclaimed.Len()+tr.crashed.Len() != 0 ||
			len(tr.cell.ids) != 0 || tr.mismatch.n+tr.orphan.n+tr.orphanSuspects.n+len(tr.suspRunning)+len(tr.extraSuspects) != 0 {
			rt.Fatalf("empty store, tracker still holds: %d guids %v, sparse %v, heaps %d+%d, cells %v, sets %d %d %d %d %d",
				tr.guids.live(), tr.guids.ids, tr.guids.sparse, tr.unclaimed.Len(), tr.crashed.Len(), tr.cell.ids,
				tr.mismatch.n, tr.orphan.n, tr.orphanSuspects.n, len(tr.suspRunning), len(tr.extraSuspects))
		}
	})
}

// TestTrackerStartSkipsRecord: a start (an ORDINARY row CLAIMED -> RUNNING on the same
// cell) is the one change that reads no guid record (Tracker.neutral) unless some key
// has a SUSPECT RUNNING row. Each case writes rows through the tracker, starts g/0 and
// compares Plan with Compute; "suspect running" is the case where the start must make
// g/0 an extra suspect (its SUSPECT and ORDINARY rows both RUNNING), "other suspect"
// one where a SUSPECT RUNNING row of another key keeps the full path, and the hint
// tells whether the record was read (a neutral start leaves the scrambled hint alone).
func TestTrackerStartSkipsRecord(t *testing.T) {
	row := func(g string, p model.Presence, s model.ActualLRPState, cell string) *model.ActualLRP {
		return &model.ActualLRP{ActualLRPKey: model.ActualLRPKey{ProcessGUID: g}, Domain: "cf-apps", Presence: p,
			State: s, InstanceKey: model.InstanceKey{InstanceGUID: "i-" + cell, CellID: cell}}
	}
	tests := []struct {
		name      string
		suspect   *model.ActualLRP // written before the start, if set
		wantExtra []model.ActualLRPKey
		wantRead  bool
	}{
		{"no suspect", nil, nil, false},
		{"suspect running", row("g", model.Suspect, model.Running, "c1"), []model.ActualLRPKey{{ProcessGUID: "g"}}, true},
		{"other suspect", row("h", model.Suspect, model.Running, "c1"), nil, true},
		{"suspect claimed", row("g", model.Suspect, model.Claimed, "c1"), nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &memSource{desired: map[string]model.DesiredLRP{}, actual: map[model.ActualLRPKey]*[3]*model.ActualLRP{}}
			tr := NewTracker(DefaultConfig(), src)
			put := func(old, a *model.ActualLRP, h *GUIDHint) {
				r := src.actual[a.ActualLRPKey]
				if r == nil {
					r = &[3]*model.ActualLRP{}
					src.actual[a.ActualLRPKey] = r
				}
				r[a.Presence] = a
				tr.ActualChangedHint(h, old, a)
			}
			d := model.DesiredLRP{ProcessGUID: "g", Domain: "cf-apps", Instances: 1}
			src.desired["g"] = d
			tr.DesiredChanged(nil, &d)
			claimed := row("g", model.Ordinary, model.Claimed, "c0")
			put(nil, claimed, nil)
			if tc.suspect != nil {
				put(nil, tc.suspect, nil)
			}
			const scrambled = GUIDHint(77) // names no record
			h := scrambled
			put(claimed, row("g", model.Ordinary, model.Running, "c0"), &h)
			if read := h != scrambled; read != tc.wantRead {
				t.Errorf("record read = %v (hint %d), want %v", read, h, tc.wantRead)
			}
			cells := []string{"c0", "c1"}
			in := Input{Cells: cells, Domains: src.Domains(), Config: DefaultConfig(), Actual: src.all(), Desired: []model.DesiredLRP{d}}
			want, got := Compute(0, in), tr.Plan(0, cells)
			if w, g := fmt.Sprintf("%+v", want), fmt.Sprintf("%+v", got); w != g {
				t.Fatalf("Tracker.Plan = %s\nCompute      = %s", g, w)
			}
			if !slices.Equal(got.ExtraSuspects, tc.wantExtra) {
				t.Fatalf("ExtraSuspects = %v, want %v", got.ExtraSuspects, tc.wantExtra)
			}
		})
	}
}

// TestDueQueue drives a dueQueue with random Set/Remove calls, due times mostly in order
// (the BBS's case: appended) but also equal, earlier (inserted in place) and unchanged,
// and after each call checks the invariants: the keys from head on are sorted by due,
// the front is trimmed, holes counts the holes, every key's recorded position is where
// it sits, keys outside have none, each record counts its items, and Due returns
// exactly the keys due. Long runs make the queue slide down and compact.
func TestDueQueue(t *testing.T) {
	guids := []string{"g0", "g1", "g2", "g3"}
	indices := []int{0, 1, 2, 3, 9, denseIndexLimit, -1}
	rapid.Check(t, func(rt *rapid.T) {
		tab := newGuidTable()
		ids := make([]uint32, len(guids))
		for i, g := range guids {
			ids[i] = tab.intern(g)
		}
		q := newDueQueue(&tab, heapUnclaimed)
		type key struct {
			id    uint32
			index int
		}
		want := map[key]time.Duration{}
		now := time.Duration(0)
		for range rapid.IntRange(1, 600).Draw(rt, "ops") {
			k := key{ids[rapid.IntRange(0, len(ids)-1).Draw(rt, "guid")], rapid.SampledFrom(indices).Draw(rt, "index")}
			if rapid.IntRange(0, 2).Draw(rt, "remove") == 0 {
				q.Remove(k.id, k.index)
				delete(want, k)
			} else {
				due := now
				switch rapid.IntRange(0, 9).Draw(rt, "order") {
				case 0: // earlier than the last
					due = now - time.Duration(rapid.IntRange(1, 50).Draw(rt, "back"))
				case 1: // unchanged, when present
					if d, ok := want[k]; ok {
						due = d
					}
				default:
					now += time.Duration(rapid.IntRange(0, 3).Draw(rt, "step"))
					due = now
				}
				q.Set(k.id, k.index, due)
				want[k] = due
			}
			if q.head < len(q.items) && (q.items[q.head].id == holeID || q.items[len(q.items)-1].id == holeID) {
				rt.Fatalf("head %d, items %v: an end is a hole", q.head, q.items)
			}
			holes := 0
			for i := q.head; i < len(q.items); i++ {
				it := q.items[i]
				if i > q.head && q.items[i-1].due > it.due {
					rt.Fatalf("items %d and %d out of order: %v > %v", i-1, i, q.items[i-1].due, it.due)
				}
				if it.id == holeID {
					holes++
					continue
				}
				if p := tab.pos(it.id, it.index, heapUnclaimed); p != q.base+int32(i)+1 {
					rt.Fatalf("item %d (%d/%d) has position %d, want %d", i, it.id, it.index, p, q.base+int32(i)+1)
				}
				if d, ok := want[key{it.id, it.index}]; !ok || d != it.due {
					rt.Fatalf("item %d/%d due %v, want %v (present %v)", it.id, it.index, it.due, d, ok)
				}
			}
			if holes != q.holes || q.Len() != len(want) {
				rt.Fatalf("holes %d, counted %d; Len %d, want %d", q.holes, holes, q.Len(), len(want))
			}
			for _, id := range ids {
				n := 0
				for _, index := range indices {
					_, in := want[key{id, index}]
					if p := tab.pos(id, index, heapUnclaimed); (p != 0) != in {
						rt.Fatalf("key %d/%d: position %d, in queue %v", id, index, p, in)
					}
					if in {
						n++
					}
				}
				if tab.recs[id].inHeap != int32(n) {
					rt.Fatalf("record %d counts %d items, has %d", id, tab.recs[id].inHeap, n)
				}
			}
			limit := now - time.Duration(rapid.IntRange(0, 20).Draw(rt, "limit"))
			got := map[key]bool{}
			for _, it := range q.Due(limit, nil) {
				got[key{it.id, it.index}] = true
			}
			for k, d := range want {
				if got[k] != (d <= limit) {
					rt.Fatalf("key %d/%d due %v: in Due(%v) = %v", k.id, k.index, d, limit, got[k])
				}
			}
			if len(got) > len(want) {
				rt.Fatalf("Due(%v) returned %d keys, %d exist", limit, len(got), len(want))
			}
		}
	})
}

// TestDueQueueRenumbersAndShrinks: a queue whose base nears the int32 range renumbers
// its positions, and one that held 5,000 keys and keeps 10 gives back its array (at most
// 2 x minHeapCap entries) once it has stayed small for a while; the survivors keep
// correct positions.
func TestDueQueueRenumbersAndShrinks(t *testing.T) {
	tab := newGuidTable()
	g := tab.intern("g")
	q := newDueQueue(&tab, heapUnclaimed)
	q.base = math.MaxInt32/2 - 100 // as after ~10^9 keys went through
	for i := range 5000 {
		q.Set(g, i, time.Duration(i))
	}
	peak := cap(q.items)
	for i := range 4990 {
		q.Remove(g, i)
	}
	if q.base > math.MaxInt32/2 {
		t.Fatalf("base %d was not renumbered", q.base)
	}
	// The array is given back once it has stayed small over as many operations as its
	// size: keys come and go at the end meanwhile (each Set and Remove is one operation;
	// a cap c array halves after c of them, so 2 x peak pairs take peak -> <= minHeapCap).
	for i := range 2 * peak {
		q.Set(g, 5000+i%1000, time.Duration(5000+i))
		q.Remove(g, 5000+i%1000)
	}
	if c := cap(q.items); c >= peak || c > 2*minHeapCap {
		t.Fatalf("cap after removing 4,990 of 5,000 = %d (peak %d), want <= %d", c, peak, 2*minHeapCap)
	}
	for i := q.head; i < len(q.items); i++ {
		if it := q.items[i]; it.id != holeID && tab.pos(g, it.index, heapUnclaimed) != q.base+int32(i)+1 {
			t.Fatalf("item %d (index %d) has position %d", i, it.index, tab.pos(g, it.index, heapUnclaimed))
		}
	}
	// the survivors are indices 4990..4999, due at 4990..4999.
	if n, z := len(q.Due(4999, nil)), len(q.Due(4989, nil)); n != 10 || z != 0 || q.Len() != 10 {
		t.Fatalf("Due(4999) = %d keys, Due(4989) = %d, Len %d; want 10, 0, 10", n, z, q.Len())
	}
}

// TestPlanUnsortedCellsMemo checks the memo of Plan's sorted cell list: one RUNNING row
// on c1 is on a missing cell exactly when the present list lacks c1, whatever the order
// of the list and whether the same unsorted slice comes back after a different one.
func TestPlanUnsortedCellsMemo(t *testing.T) {
	src := &memSource{desired: map[string]model.DesiredLRP{}, actual: map[model.ActualLRPKey]*[3]*model.ActualLRP{}}
	tr := NewTracker(DefaultConfig(), src)
	d := model.DesiredLRP{ProcessGUID: "g", Domain: "cf-apps", Instances: 1}
	src.desired["g"] = d
	tr.DesiredChanged(nil, &d)
	a := &model.ActualLRP{ActualLRPKey: model.ActualLRPKey{ProcessGUID: "g"}, Domain: "cf-apps", State: model.Running,
		InstanceKey: model.InstanceKey{InstanceGUID: "i", CellID: "c1"}}
	src.actual[a.ActualLRPKey] = &[3]*model.ActualLRP{a}
	tr.ActualChanged(nil, a)
	with := []string{"c2", "c1", "c0"} // unsorted, holds c1
	without := []string{"c2", "c0"}    // unsorted, lacks c1
	sortedWith := []string{"c0", "c1"} // sorted, holds c1
	steps := []struct {
		name    string
		cells   []string
		missing bool
	}{
		{"unsorted with c1", with, false},
		{"same slice again", with, false},
		{"other unsorted without c1", without, true},
		{"first slice back", with, false},
		{"sorted with c1", sortedWith, false},
		{"unsorted without c1 after a sorted list", without, true},
		{"sorted slice back", sortedWith, false},
		{"unsorted slice back after the sorted one", without, true},
	}
	for _, s := range steps {
		got := len(tr.Plan(0, s.cells).MissingCells) > 0
		if got != s.missing {
			t.Fatalf("%s: a missing cell reported = %v, want %v", s.name, got, s.missing)
		}
	}
}

// TestDueQueueKeepsArrayAcrossRefills: a queue that fills with 5,000 keys and empties
// again, round after round (the crashed keys of one delay between convergence passes),
// keeps its array from the second round on instead of shrinking it when it empties and
// growing it back by doubling.
func TestDueQueueKeepsArrayAcrossRefills(t *testing.T) {
	tab := newGuidTable()
	g := tab.intern("g")
	q := newDueQueue(&tab, heapUnclaimed)
	var array *dueItem
	due := time.Duration(0)
	for round := range 6 {
		for i := range 5000 {
			due++
			q.Set(g, i, due)
		}
		if round > 0 && &q.items[:1][0] != array {
			t.Fatalf("round %d: the queue's array was replaced (cap now %d)", round, cap(q.items))
		}
		array = &q.items[:1][0]
		for i := range 5000 {
			q.Remove(g, i)
		}
		if q.Len() != 0 {
			t.Fatalf("round %d: %d keys left", round, q.Len())
		}
	}
}

// TestDueQueueBurstShrinks: the array of a one-off burst (100,000 keys, as the UNCLAIMED
// rows of a start-up) of which 10 stay is given back within a bounded number of
// operations: each halving waits shrinkAfter operations, so from ~128 K entries to at
// most 2 x minHeapCap = 2,048 takes 6 halvings, under the 4 x shrinkAfter Set/Remove
// pairs (8 x shrinkAfter operations) driven here.
func TestDueQueueBurstShrinks(t *testing.T) {
	tab := newGuidTable()
	g := tab.intern("g")
	q := newDueQueue(&tab, heapUnclaimed)
	for i := range 100_000 {
		q.Set(g, i, time.Duration(i))
	}
	for i := range 100_000 - 10 {
		q.Remove(g, i)
	}
	for i := range 4 * shrinkAfter {
		q.Set(g, 100_000+i%100, time.Duration(100_000+i))
		q.Remove(g, 100_000+i%100)
	}
	if c := cap(q.items); c > 2*minHeapCap {
		t.Fatalf("cap %d after the burst drained, want <= %d", c, 2*minHeapCap)
	}
	if q.Len() != 10 || len(q.Due(99_999, nil)) != 10 {
		t.Fatalf("Len %d, want the 10 survivors", q.Len())
	}
}

// TestGuidTableReserve: reserving keeps every live guid's id, forgets freed ones, and
// later interns take the freed ids first, as without the reserve.
func TestGuidTableReserve(t *testing.T) {
	g := newGuidTable()
	names := []string{"a", "b", "c", "d"}
	for _, n := range names {
		g.intern(n)
	}
	g.recs[g.intern("b")] = guidRec{guid: "b"} // nothing refers to it: release frees it
	g.release(g.intern("b"))
	g.reserve(1000)
	if g.room != 1003 {
		t.Fatalf("room %d after reserving 1000 with 3 live guids, want 1003", g.room)
	}
	for id, n := range map[uint32]string{0: "a", 2: "c", 3: "d"} {
		if got, ok := g.lookup(n); !ok || got != id {
			t.Errorf("lookup(%q) = %d, %v; want %d, true", n, got, ok, id)
		}
	}
	if _, ok := g.lookup("b"); ok {
		t.Errorf("the freed guid b is still in the map")
	}
	if id := g.intern("e"); id != 1 {
		t.Errorf("intern(e) = %d, want the freed id 1", id)
	}
	if id := g.intern("f"); id != 4 {
		t.Errorf("intern(f) = %d, want 4", id)
	}
	if cap(g.recs) < 1003 {
		t.Errorf("records capacity %d, want room for 1003", cap(g.recs))
	}
	g.reserve(1) // within room: nothing to do
	if g.room != 1003 {
		t.Errorf("room %d after a reserve within room, want 1003", g.room)
	}
}
