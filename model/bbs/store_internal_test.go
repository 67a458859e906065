package bbs

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
)

// TestCellListInvariants puts, moves and deletes random rows (inserted before, between
// and after a guid's other rows, so slots shift) and after every step checks each cell's
// index against the rows: every row with a cell is referenced at its cellPos by {proc,
// slot}; every other entry is free, and the free list visits each free entry exactly
// once; live counts the rows. Cells reach 40+ rows and then drain, so both the reuse of
// freed entries and the release of a drained list (more than 16 entries) happen.
func TestCellListInvariants(t *testing.T) {
	guids := []string{"g0", "g1", "g2", "g3", "g4"}
	cellIDs := []string{"", "c0", "c1", "c2"}
	for seed := range uint64(6) {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 11))
			m := NewMemStore()
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

func checkCellLists(t *testing.T, step int, m *MemStore, guids []string) {
	t.Helper()
	rows := make([]int32, len(m.byCell)) // rows per cell id, from the procs
	for _, g := range guids {
		p := m.proc(g)
		if p == nil {
			continue
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
