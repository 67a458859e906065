package sim

import (
	"fmt"
	"testing"

	"github.com/diegolab/diegolab/model"
)

// The apps' slots, placed side by side in shared chunks, keep each app's values apart
// and across moves: a model of per-app slices, driven by random desires and touches of
// any index (small apps, apps beyond a shared chunk's share, indices past the desired
// count), holds exactly what the table holds.
func TestAppTableSlots(t *testing.T) {
	var tab appTable
	tab.init(model.NewGUIDs())
	want := map[int32][]instSlot{}
	var ids []int32
	seed := uint32(1)
	next := func(n int) int { // a small deterministic generator
		seed = seed*1664525 + 1013904223
		return int(seed>>8) % n
	}
	for step := range 20000 {
		switch {
		case step%7 == 0 || len(ids) == 0: // desire a new app
			n := []int{1, 1, 3, 4, 200, slotChunk/8 + 1, 5000}[next(7)]
			tab.reserve(1)
			id := tab.id(fmt.Sprintf("app-%d", len(ids)))
			tab.setDesired(tab.guid(id), n)
			ids = append(ids, id)
			want[id] = make([]instSlot, n)
		default: // touch one slot, maybe past the app's slots
			id := ids[next(len(ids))]
			index := next(len(want[id]) + 3)
			for index >= len(want[id]) {
				want[id] = append(want[id], instSlot{})
			}
			v := instSlot{running: uint8(step), first: int32(step)}
			*tab.slot(id, index) = v
			want[id][index] = v
		}
	}
	for _, id := range ids {
		got := tab.slots(id)
		if len(got) != len(want[id]) {
			t.Fatalf("app %d: %d slots, want %d", id, len(got), len(want[id]))
		}
		for i := range got {
			if got[i] != want[id][i] {
				t.Fatalf("app %d slot %d: %+v, want %+v", id, i, got[i], want[id][i])
			}
		}
	}
	if len(tab.chunks) < 3 {
		t.Fatalf("%d chunks: the test did not fill a shared chunk", len(tab.chunks))
	}
}

// An app scaled up one index at a time moves its slots a logarithmic number of times,
// and keeps no outgrown chunk of its own: the slots' memory stays within twice what
// the app uses.
func TestAppTableGrowthDoubles(t *testing.T) {
	var tab appTable
	tab.init(model.NewGUIDs())
	tab.reserve(1)
	id := tab.id("scaled")
	tab.setDesired("scaled", 1)
	const n = 100_000
	for i := 1; i < n; i++ {
		tab.slot(id, i).first = int32(i)
	}
	if len(tab.chunks) > 20 {
		t.Fatalf("%d chunks for one app grown to %d slots: want a doubling (<= 20)", len(tab.chunks), n)
	}
	held := 0
	for _, c := range tab.chunks {
		held += len(c)
	}
	if held > 2*n+slotChunk {
		t.Fatalf("%d slots held for an app of %d", held, n)
	}
	got := tab.slots(id)
	if len(got) != n {
		t.Fatalf("%d slots, want %d", len(got), n)
	}
	for i := 1; i < n; i++ {
		if got[i].first != int32(i) {
			t.Fatalf("slot %d: first %d", i, got[i].first)
		}
	}
}
