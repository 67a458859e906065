package memstore

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/diegolab/diegolab/model"
)

// TestCellListInvariants puts, moves and deletes random rows (inserted before, between
// and after a guid's other rows, so slots shift; odd seeds with the procs in the arena of
// shared ids) and after every step checks each cell's index against the rows: every row
// with a cell is referenced at its cellPos by {proc, slot}; every other entry is free,
// and the free list visits each free entry exactly once; live counts the rows. Cells
// reach 40+ rows and then drain, so both the reuse of freed entries and the release of
// a drained list (more than 16 entries) happen.
func TestCellListInvariants(t *testing.T) {
	guids := []string{"g0", "g1", "g2", "g3", "g4"}
	cellIDs := []string{"", "c0", "c1", "c2"}
	for seed := range uint64(6) {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 11))
			m := New()
			guids := guids
			if seed%2 == 1 { // procs in the arena of shared ids, released and taken again
				names := model.NewGUIDs()
				m.UseGUIDs(names)
				guids = names.Block(guids)
			}
			for step := range 3000 {
				key := model.ActualLRPKey{ProcessGUID: guids[rng.IntN(len(guids))], Index: rng.IntN(8)}
				pr := model.Presence(rng.IntN(3))
				// phases of 500 steps: fill (mostly puts), then drain (mostly deletes).
				if put := rng.IntN(100) < 75; (step/500)%2 == 0 == put {
					a := model.ActualLRP{ActualLRPKey: key, Domain: "d", Presence: pr, State: model.Running, Since: time.Duration(step)}
					if c := cellIDs[rng.IntN(len(cellIDs))]; c != "" {
						a.InstanceKey = model.InstanceKey{InstanceGUID: "i", CellID: c}
					} else {
						a.State = model.Unclaimed
					}
					if err := m.PutActualLRP(a); err != nil {
						t.Fatal(err)
					}
				} else if err := m.DeleteActualLRP(key, pr); err != nil {
					t.Fatal(err)
				}
				checkCellLists(t, step, m, guids)
			}
		})
	}
}

func checkCellLists(t *testing.T, step int, m *Store, guids []string) {
	t.Helper()
	rows := make([]int32, len(m.byCell)) // rows per cell id, from the procs
	for _, g := range guids {
		p := m.proc(g)
		if p == nil {
			continue
		}
		if (cap(p.rows) == 1) != p.onInline() { // find relies on it
			t.Fatalf("step %d: %s has rows of capacity %d, on its inline row: %v", step, g, cap(p.rows), p.onInline())
		}
		for s := range p.rows {
			r := &p.rows[s]
			if r.cell == 0 {
				continue
			}
			rows[r.cell]++
			l := &m.byCell[r.cell]
			if int(r.cellPos) >= len(l.refs) || l.refs[r.cellPos] != (cellRef{p: p, slot: int32(s)}) {
				t.Fatalf("step %d: row %s/%d on cell %d at %d is not referenced there", step, g, r.index, r.cell, r.cellPos)
			}
		}
	}
	for id := range m.byCell {
		l := &m.byCell[id]
		if l.live != rows[id] {
			t.Fatalf("step %d: cell %d counts %d rows, has %d", step, id, l.live, rows[id])
		}
		used := 0
		for _, c := range l.refs {
			if c.p != nil {
				used++
			}
		}
		if used != int(rows[id]) {
			t.Fatalf("step %d: cell %d has %d used entries for %d rows", step, id, used, rows[id])
		}
		seen := map[int32]bool{}
		for f := l.free; f != 0; f = l.refs[f-1].slot {
			if seen[f] || l.refs[f-1].p != nil {
				t.Fatalf("step %d: cell %d free list revisits or holds a used entry at %d", step, id, f-1)
			}
			seen[f] = true
		}
		if len(seen) != len(l.refs)-used {
			t.Fatalf("step %d: cell %d free list has %d entries, %d are free", step, id, len(seen), len(l.refs)-used)
		}
		if l.live == 0 && cap(l.refs) > 16 {
			t.Fatalf("step %d: drained cell %d keeps %d entries", step, id, cap(l.refs))
		}
	}
}

// TestStrTableByAddr interns names given as the interned strings themselves and as
// copies with other addresses, in a random order and many more than the address cache
// has slots (so slots are overwritten), and checks every id against a map that numbers
// the names in first-seen order; only the very interned strings are cached.
func TestStrTableByAddr(t *testing.T) {
	const distinct = 3 * addrSlots
	rng := rand.New(rand.NewPCG(5, 6))
	tab := strTable{byAddr: make([]addrEntry, addrSlots)}
	orig := make([]string, distinct)
	for i := range orig {
		orig[i] = "cell-" + strconv.Itoa(i)
	}
	want := map[string]uint32{}
	for step := range 20 * distinct {
		s := orig[rng.IntN(distinct)]
		if rng.IntN(3) == 0 {
			s = strings.Clone(s) // same name, other bytes
		}
		id, ok := want[s]
		if !ok {
			id = uint32(len(want) + 1)
			want[s] = id
		}
		if got := tab.id(s); got != id {
			t.Fatalf("step %d: id(%q) = %d, want %d", step, s, got, id)
		}
		if tab.names[id] != s {
			t.Fatalf("step %d: name(%d) = %q, want %q", step, id, tab.names[id], s)
		}
	}
	for slot, e := range tab.byAddr {
		if e.id == 0 {
			continue
		}
		n := tab.names[e.id]
		if uintptr(unsafe.Pointer(unsafe.StringData(n))) != e.addr || uint32(len(n)) != e.n || addrSlot(e.addr) != slot {
			t.Fatalf("slot %d caches %d at %#x (%d bytes), not the bytes of its name %q", slot, e.id, e.addr, e.n, n)
		}
	}
}

// TestSharedExt: rows whose rarely set strings are equal share one rowExt (the crash
// reason of 500 crashed rows costs one value), and each row still reads back its own
// strings when other strings (unique placement errors, a reason with equal bytes at
// another address) take the cache's slots in between.
func TestSharedExt(t *testing.T) {
	m := New()
	key := func(i int) model.ActualLRPKey { return model.ActualLRPKey{ProcessGUID: "g" + strconv.Itoa(i)} }
	put := func(i int, reason, placementError string) {
		t.Helper()
		a := model.ActualLRP{ActualLRPKey: key(i), Domain: "d", State: model.Crashed, CrashReason: reason,
			PlacementError: placementError, CrashCount: 3}
		if err := m.PutActualLRP(a); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 500 {
		put(i, "exited with status 1", "")
	}
	first := m.proc("g0").rows[0].ext
	for i := range 500 {
		if e := m.proc(key(i).ProcessGUID).rows[0].ext; e != first {
			t.Fatalf("row %d has ext %p, row 0 %p: one reason, one value", i, e, first)
		}
	}
	reasons := []string{"exited with status 1", "failed to start", strings.Clone("exited with status 1")}
	placementError := func(i int) string {
		if i%7 == 0 {
			return "insufficient resources: memory " + strconv.Itoa(i)
		}
		return ""
	}
	for i := 500; i < 1500; i++ {
		put(i, reasons[i%len(reasons)], placementError(i))
	}
	for i := range 1500 {
		got, ok, _ := m.GetActualLRP(key(i), model.Ordinary)
		reason, pe := "exited with status 1", ""
		if i >= 500 {
			reason, pe = reasons[i%len(reasons)], placementError(i)
		}
		if !ok || got.CrashReason != reason || got.PlacementError != pe || got.Address != "" {
			t.Fatalf("row %d: reason %q, placement error %q, address %q; want %q, %q, \"\"", i, got.CrashReason, got.PlacementError, got.Address, reason, pe)
		}
	}
}

// TestSlotConfirmsEntry: with shared ids, a string found at the start of a block entry
// (model.GUIDs.EntryID) names the proc there only when it is the proc's very guid
// string. A prefix of a block guid (another guid, starting at the same address), a
// longer string running past the entry, and a copy of a block guid (its own address)
// each reach their own proc, or none, whatever proc sits at the entry they start at.
func TestSlotConfirmsEntry(t *testing.T) {
	m := New()
	names := model.NewGUIDs()
	m.UseGUIDs(names)
	block := names.Block([]string{"app-1", "app-22", "app-333"}) // stride 7
	full := unsafe.String(unsafe.StringData(block[0]), 3*7)      // the whole block
	prefix := block[1][:5]                                       // "app-2": at entry 1, shorter
	longer := full[7 : 7+7]                                      // "app-22\x00": at entry 1, longer
	clone := strings.Clone(block[2])                             // "app-333", other bytes
	put := func(guid string, index int) {
		t.Helper()
		if err := m.PutActualLRP(model.ActualLRP{ActualLRPKey: model.ActualLRPKey{ProcessGUID: guid, Index: index}, Domain: "d", State: model.Unclaimed}); err != nil {
			t.Fatal(err)
		}
	}
	// want[i] is the index of the only row of the proc that guid i names (-1: no proc).
	check := func(step string, guids []string, want []int) {
		t.Helper()
		for i, g := range guids {
			m.last, m.lastGUID = nil, "" // no memo: the lookup itself
			p := m.proc(g)
			switch {
			case want[i] < 0 && p != nil:
				t.Fatalf("%s: proc(%q) = the proc of %q, want none", step, g, p.guid)
			case want[i] >= 0 && (p == nil || p.guid != g || len(p.rows) != 1 || p.rows[0].index != want[i]):
				t.Fatalf("%s: proc(%q) = %+v, want the proc of %q with its row %d", step, g, p, g, want[i])
			}
		}
	}
	guids := []string{block[0], block[1], block[2], prefix, longer, clone}
	check("empty", guids, []int{-1, -1, -1, -1, -1, -1})
	put(block[1], 1) // entry 1 in use, by its own string
	put(prefix, 3)   // a loose id for "app-2"
	put(longer, 4)   // and one for "app-22\x00"
	check("entry 1 and the strings starting there", guids, []int{-1, 1, -1, 3, 4, -1})
	put(clone, 2) // entry 2's proc, created through a copy: its guid is not the block's string
	check("entry 2 by a copy", guids, []int{-1, 1, 2, 3, 4, 2})
	if err := m.DeleteActualLRP(model.ActualLRPKey{ProcessGUID: block[1], Index: 1}, model.Ordinary); err != nil {
		t.Fatal(err)
	}
	check("entry 1 released", guids, []int{-1, -1, 2, 3, 4, 2})
}

// TestProcLayout checks the proc's size: two whole cache lines (see proc).
func TestProcLayout(t *testing.T) {
	if n := unsafe.Sizeof(proc{}); n != 128 {
		t.Fatalf("proc is %d bytes, want 128", n)
	}
	if off := unsafe.Offsetof(proc{}.hint) + unsafe.Sizeof(proc{}.hint); off > 92 {
		t.Fatalf("the first row and hint end at byte %d, want <= 92", off)
	}
}

// TestDesiredShared checks that a group's apps share one desired row, that a change of
// one app's row leaves the others' alone, and that a row with slices is never shared.
func TestDesiredShared(t *testing.T) {
	for _, shared := range []bool{false, true} {
		m := New()
		if shared {
			m.UseGUIDs(model.NewGUIDs())
		}
		d := model.DesiredLRP{Domain: "d", Instances: 1, MemoryMB: 64, DiskMB: 128, RootFS: "preloaded:cflinuxfs4"}
		if n, _ := m.InsertDesiredLRPs(d, []string{"a", "b", "c"}); n != 3 {
			t.Fatalf("stored %d rows, want 3", n)
		}
		if m.proc("a").desired != m.proc("c").desired {
			t.Errorf("shared=%v: the group's rows are not shared", shared)
		}
		b := d
		b.ProcessGUID, b.Instances = "b", 5
		if err := m.PutDesiredLRP(b); err != nil {
			t.Fatal(err)
		}
		for g, want := range map[string]int{"a": 1, "b": 5, "c": 1} {
			got, ok, _ := m.GetDesiredLRP(g)
			if !ok || got.Instances != want || got.ProcessGUID != g || got.MemoryMB != 64 || got.RootFS != d.RootFS {
				t.Errorf("shared=%v: GetDesiredLRP(%q) = %+v, %v; want instances %d", shared, g, got, ok, want)
			}
		}
		tagged := d
		tagged.PlacementTags = []string{"x"}
		if n, _ := m.InsertDesiredLRPs(tagged, []string{"t1", "t2"}); n != 2 {
			t.Fatalf("stored %d rows, want 2", n)
		}
		if m.proc("t1").desired == m.proc("t2").desired {
			t.Errorf("shared=%v: rows with slices are shared", shared)
		}
		got, _, _ := m.GetDesiredLRP("t1")
		got.PlacementTags[0] = "changed"
		if other, _, _ := m.GetDesiredLRP("t2"); other.PlacementTags[0] != "x" {
			t.Errorf("shared=%v: a change of t1's tags reached t2: %v", shared, other.PlacementTags)
		}
		if err := m.DeleteDesiredLRP("a"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := m.GetDesiredLRP("a"); ok {
			t.Errorf("shared=%v: a deleted row is still there", shared)
		}
		if got, ok, _ := m.GetDesiredLRP("c"); !ok || got.Instances != 1 {
			t.Errorf("shared=%v: deleting a took c's row: %+v, %v", shared, got, ok)
		}
	}
}
