package sim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// TestCellListHoles checks the cell's container list: removal leaves a hole that the next
// placement fills, positions stay right, and ids/count/sortedIDs skip the holes.
func TestCellListHoles(t *testing.T) {
	s := &Sim{}
	c := &cell{}
	ids := make([]int32, 6)
	for i := range ids {
		ids[i] = s.containers.alloc()
		s.place(c, ids[i])
	}
	s.unplace(c, ids[1])
	s.unplace(c, ids[4])
	if got := c.count(); got != 4 {
		t.Fatalf("count after two removals = %d, want 4", got)
	}
	if got, want := c.ids(), []int32{ids[0], ids[2], ids[3], ids[5]}; !slices.Equal(got, want) {
		t.Fatalf("ids = %v, want %v", got, want)
	}
	// The next placement fills the last hole (position 4), then the one before (1).
	a, b := s.containers.alloc(), s.containers.alloc()
	s.place(c, a)
	s.place(c, b)
	if pa, pb := s.containers.items[a].cellPos, s.containers.items[b].cellPos; pa != 4 || pb != 1 {
		t.Fatalf("positions of the new containers = %d, %d, want 4, 1", pa, pb)
	}
	if len(c.containers) != 6 || c.count() != 6 {
		t.Fatalf("list length %d, count %d, want 6 and 6 (holes filled, no growth)", len(c.containers), c.count())
	}
	for pos, id := range c.containers {
		if s.containers.items[id].cellPos != int32(pos) {
			t.Fatalf("container %d at position %d says it is at %d", id, pos, s.containers.items[id].cellPos)
		}
	}
	want := []int32{ids[0], ids[2], ids[3], ids[5], a, b}
	slices.Sort(want)
	if got := c.sortedIDs(); !slices.Equal(got, want) {
		t.Fatalf("sortedIDs = %v, want %v", got, want)
	}
	for _, id := range c.ids() {
		s.unplace(c, id)
	}
	if c.count() != 0 || len(c.ids()) != 0 {
		t.Fatalf("after removing all: count %d, ids %v", c.count(), c.ids())
	}
}

// TestCellIndexCache: a cell's own id string is cached by address; an equal string at
// another address is answered by the map and never cached; unknown ids are not found.
func TestCellIndexCache(t *testing.T) {
	s := &Sim{cellByID: map[string]int{}}
	s.sizeCellCache(3)
	for i, id := range []string{"cell-a", "cell-b", "cell-c"} {
		s.cellByID[id] = i
		s.cells = append(s.cells, &cell{})
		s.cells[i].ID = id
	}
	own := s.cells[1].ID
	other := string([]byte("cell-b")) // same bytes, another address
	for range 2 {
		if ci, ok := s.cellIndex(own); !ok || ci != 1 {
			t.Fatalf("cellIndex(own cell-b) = %d, %v; want 1, true", ci, ok)
		}
		if ci, ok := s.cellIndex(other); !ok || ci != 1 {
			t.Fatalf("cellIndex(copy of cell-b) = %d, %v; want 1, true", ci, ok)
		}
	}
	cached := 0
	for _, e := range s.cellCache {
		if e.p != 0 {
			cached++
			if e.p != uintptr(unsafe.Pointer(unsafe.StringData(own))) || e.ci != 1 {
				t.Errorf("cache entry %+v: want only the own string of cell-b, index 1", e)
			}
		}
	}
	if cached != 1 {
		t.Errorf("%d cache entries filled, want 1 (the copy must not be cached)", cached)
	}
	if _, ok := s.cellIndex("cell-z"); ok {
		t.Errorf("an unknown id was found")
	}
}

// TestCellIndexCacheProbes: cells whose id addresses hash to the same entry all get
// cached (linear probing), up to cellProbes of them; a lookup beyond that still answers,
// from the map.
func TestCellIndexCacheProbes(t *testing.T) {
	s := &Sim{cellByID: map[string]int{}}
	s.sizeCellCache(3) // 64 entries
	// Distinct 4-byte ids at every 4th byte of one buffer; keep those whose address
	// hashes to entry 0.
	var b strings.Builder
	for k := range 1 << 14 {
		fmt.Fprintf(&b, "%04x", k)
	}
	buf := b.String()
	for off := 0; off+4 <= len(buf) && len(s.cells) < cellProbes+2; off += 4 {
		id := buf[off : off+4]
		if (uint64(uintptr(unsafe.Pointer(unsafe.StringData(id))))*0x9E3779B97F4A7C15)>>s.cellShift == 0 {
			s.cellByID[id] = len(s.cells)
			s.cells = append(s.cells, &cell{})
			s.cells[len(s.cells)-1].ID = id
		}
	}
	if len(s.cells) < cellProbes+2 {
		t.Fatalf("found %d ids hashing to one entry, want %d", len(s.cells), cellProbes+2)
	}
	for range 2 {
		for i, c := range s.cells {
			if ci, ok := s.cellIndex(c.ID); !ok || ci != i {
				t.Fatalf("cellIndex(%s) = %d, %v; want %d, true", c.ID, ci, ok, i)
			}
		}
	}
	cached := 0
	for i, e := range s.cellCache {
		if e.p == 0 {
			continue
		}
		cached++
		if i >= cellProbes || e.ci != int32(i) {
			t.Errorf("entry %d holds cell %d; want cells 0..%d in entries 0..%d", i, e.ci, cellProbes-1, cellProbes-1)
		}
	}
	if cached != cellProbes || cached < 2 {
		t.Errorf("%d entries cached, want %d (one per probe; two colliding cells both cached)", cached, cellProbes)
	}
}
