package auction

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
)

// errString renders an error with its type, so that two errors compare equal only when
// both the text and the typed error callers match on agree.
func errString(err error) string {
	var nf *model.NotFoundError
	var ve *model.ValidationError
	switch {
	case err == nil:
		return "<nil>"
	case errors.As(err, &nf):
		return fmt.Sprintf("NotFoundError{%s %s}: %v", nf.Kind, nf.Key, err)
	case errors.As(err, &ve):
		return fmt.Sprintf("ValidationError{%s}: %v", ve.Field, err)
	}
	return fmt.Sprintf("%T: %v", err, err)
}

// TestRefMatchesString drives two States through the same random operations (AddCell,
// including ids removed earlier; RemoveCell; diego batches; RemoveLRP of placed
// instances and of wrong ones; Started), one through the id versions and one through
// RemoveLRPRef and StartedRef with refs kept across the operations: every error (text
// and type) and, after every operation, every cell's figures and the in-flight count
// are the same; so are the next batch's placements, which read the trees the ref
// versions wrote. A removed id that was not added again is used through its stale ref.
func TestRefMatchesString(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			byID, byRef := NewState(DefaultSettings()), NewState(DefaultSettings())
			refs := map[string]CellRef{} // the latest ref of every id ever added
			var ids []string             // every id ever added, in order
			live := map[string]bool{}
			type placed struct {
				cell, guid string
				res        model.Resource
				starting   bool
			}
			var work []placed
			addCell := func(id string) {
				tot := model.Resources{MemoryMB: 1024 * (1 + r.IntN(4)), DiskMB: 4096, Containers: 2 + r.IntN(8)}
				c := model.Cell{ID: id, Zone: fmt.Sprintf("z%d", r.IntN(2)), Total: tot, Available: tot,
					RootFSProviders: []string{"preloaded:cflinuxfs4"}}
				e1, e2 := byID.AddCell(c), byRef.AddCell(c)
				if e1 != nil || e2 != nil {
					t.Fatalf("AddCell %s: %v / %v", id, e1, e2)
				}
				ref, ok := byRef.Ref(id)
				if !ok || ref.ID() != id {
					t.Fatalf("Ref(%s) = %v, %v after AddCell", id, ref.ID(), ok)
				}
				if _, known := refs[id]; !known {
					ids = append(ids, id)
				}
				refs[id], live[id] = ref, true
			}
			for i := 0; i < 6; i++ {
				addCell(fmt.Sprintf("c%d", i))
			}
			staleUsed, removed, started := 0, 0, 0
			for op := 0; op < 400; op++ {
				what := ""
				switch k := r.IntN(20); {
				case k == 0: // a new cell, or a removed id back
					id := fmt.Sprintf("c%d", len(ids))
					if r.IntN(2) == 0 {
						for _, old := range ids {
							if !live[old] {
								id = old
								break
							}
						}
					}
					if live[id] {
						continue
					}
					addCell(id)
					what = "add " + id
				case k == 1: // a cell leaves, its work with it
					id := ids[r.IntN(len(ids))]
					if !live[id] || len(live) < 3 {
						continue
					}
					g1, g2 := byID.RemoveCell(id), byRef.RemoveCell(id)
					if !g1 || !g2 {
						t.Fatalf("RemoveCell %s: %v / %v", id, g1, g2)
					}
					if _, ok := byRef.Ref(id); ok {
						t.Fatalf("Ref(%s) still given after RemoveCell", id)
					}
					delete(live, id)
					work = slices.DeleteFunc(work, func(p placed) bool { return p.cell == id })
					what = "remove " + id
				case k < 6: // a batch
					var b Batch
					for i := r.IntN(4); i >= 0; i-- {
						b.LRPs = append(b.LRPs, lrp(fmt.Sprintf("g%d", r.IntN(8)), r.IntN(3), 128*(1+r.IntN(4)), 256))
					}
					res := byID.Schedule(b, Diego{}, nil)
					o1, o2 := outcomesString(res), outcomesString(byRef.Schedule(b, Diego{}, nil))
					if o1 != o2 {
						t.Fatalf("op %d: placements differ:\n--- ids\n%s--- refs\n%s", op, o1, o2)
					}
					for _, l := range res.LRPs {
						if l.CellID != "" {
							work = append(work, placed{l.CellID, l.ProcessGUID, l.Resource, true})
						}
					}
					what = "batch"
				case k < 12: // an instance leaves (sometimes a wrong one)
					p := placed{cell: ids[r.IntN(len(ids))], guid: "g0", res: model.Resource{MemoryMB: 128, DiskMB: 256}, starting: r.IntN(2) == 0}
					if len(work) > 0 && r.IntN(5) != 0 {
						i := r.IntN(len(work))
						p = work[i]
						switch r.IntN(8) {
						case 0:
							p.guid = "never-seen"
						case 1:
							p.res.MemoryMB = -1 // invalid
						case 2:
							p.starting = !p.starting
						default:
							work = slices.Delete(work, i, i+1)
						}
					}
					if !live[p.cell] {
						staleUsed++
					}
					e1 := byID.RemoveLRP(p.cell, p.guid, p.res, p.starting)
					e2 := byRef.RemoveLRPRef(refs[p.cell], p.guid, p.res, p.starting)
					if errString(e1) != errString(e2) {
						t.Fatalf("op %d: RemoveLRP(%+v): %s, by ref: %s", op, p, errString(e1), errString(e2))
					}
					if e1 == nil {
						removed++
					}
					what = fmt.Sprintf("remove lrp %+v: %v", p, e1)
				default: // a container starts
					id := ids[r.IntN(len(ids))]
					if !live[id] {
						staleUsed++
					}
					e1, e2 := byID.Started(id), byRef.StartedRef(refs[id])
					if errString(e1) != errString(e2) {
						t.Fatalf("op %d: Started(%s): %s, by ref: %s", op, id, errString(e1), errString(e2))
					}
					for i := range work {
						if e1 == nil && work[i].cell == id && work[i].starting {
							work[i].starting = false
							break
						}
					}
					if e1 == nil {
						started++
					}
					what = fmt.Sprintf("started %s: %v", id, e1)
				}
				if d := cmp.Diff(byID.Cells(), byRef.Cells()); d != "" {
					t.Fatalf("op %d (%s): cells differ (-ids +refs):\n%s", op, what, d)
				}
				if byID.InFlight() != byRef.InFlight() {
					t.Fatalf("op %d (%s): in flight %d, by ref %d", op, what, byID.InFlight(), byRef.InFlight())
				}
			}
			if staleUsed == 0 || removed == 0 || started == 0 {
				t.Errorf("stale refs used %d times, %d instances removed, %d started: the sequence misses a case", staleUsed, removed, started)
			}
		})
	}
}

// TestStaleRef: a ref to a cell RemoveCell forgot, also once a cell with the same id is
// back, and the zero ref and another State's ref give the NotFoundError the id
// versions give for an unknown cell, and change nothing; the new cell needs (and has)
// a new ref.
func TestStaleRef(t *testing.T) {
	s := NewState(DefaultSettings())
	c := cell("c1", "z1", 0, 1024, 1024, 4)
	if err := s.AddCell(c); err != nil {
		t.Fatal(err)
	}
	res := model.Resource{MemoryMB: 128, DiskMB: 128}
	if err := s.AddLRP("c1", "app", res, true); err != nil {
		t.Fatal(err)
	}
	old, ok := s.Ref("c1")
	if !ok {
		t.Fatal("no ref for c1")
	}
	if _, ok := s.Ref("c2"); ok {
		t.Fatal("a ref for an unknown id")
	}
	s.RemoveCell("c1")
	if err := s.AddCell(c); err != nil { // the same id again, a new cell
		t.Fatal(err)
	}
	if err := s.AddLRP("c1", "app", res, true); err != nil {
		t.Fatal(err)
	}
	other := NewState(DefaultSettings())
	if err := other.AddCell(c); err != nil {
		t.Fatal(err)
	}
	foreign, _ := other.Ref("c1")
	// what the id versions say for an id the State does not know
	unknown := errString(s.Started("c9"))
	for _, tc := range []struct {
		name string
		ref  CellRef
		want string
	}{
		{"removed, its id back", old, "NotFoundError{cell c1}: cell c1 not found"},
		{"zero", CellRef{}, "NotFoundError{cell }: cell  not found"},
		{"of another State", foreign, "NotFoundError{cell c1}: cell c1 not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, inflight := s.Cells(), s.InFlight()
			for _, err := range []error{s.StartedRef(tc.ref), s.RemoveLRPRef(tc.ref, "app", res, true)} {
				if got := errString(err); got != tc.want {
					t.Errorf("got %s, want %s", got, tc.want)
				}
				if !errors.Is(err, model.ErrNotFound) {
					t.Errorf("%v is not ErrNotFound", err)
				}
			}
			if d := cmp.Diff(before, s.Cells()); d != "" || s.InFlight() != inflight {
				t.Errorf("a stale ref changed the State (-before +after):\n%s", d)
			}
		})
	}
	if want := "NotFoundError{cell c9}: cell c9 not found"; unknown != want {
		t.Fatalf("the id version says %s for an unknown id, want %s", unknown, want)
	}
	if got := other.Cells()[0]; got.Available != c.Available || got.StartingContainers != 0 {
		t.Errorf("a foreign ref changed the other State: %+v", got)
	}
	// the new cell's ref works: it has one starting instance of app (128 MB)
	ref, _ := s.Ref("c1")
	if err := s.StartedRef(ref); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveLRPRef(ref, "app", res, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Cell("c1"); got.Available != c.Available || got.StartingContainers != 0 {
		t.Errorf("after StartedRef and RemoveLRPRef c1 is %+v, want all of %+v free", got.Available, c.Available)
	}
}
