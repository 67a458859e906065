package auction

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// No algorithm ever puts a cell over capacity, and every placement respects the hard
// constraints, on random states.
func TestPropertyNeverOverCapacity(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			for seed := uint64(0); seed < 200; seed++ {
				r := rand.New(rand.NewPCG(seed, 3))
				w := newRandomWorld(t, r, randomSettings(r), 1+r.IntN(20))
				alg, err := New(name)
				if err != nil {
					t.Fatal(err)
				}
				b := randomBatch(r, 0, r.IntN(80), r.IntN(20))
				res := w.st.Schedule(b, alg, rand.New(rand.NewPCG(seed, 4)))
				for _, c := range w.st.Cells() {
					a := c.Available
					if a.MemoryMB < 0 || a.DiskMB < 0 || a.Containers < 0 {
						t.Fatalf("seed %d: cell %s over capacity: %+v", seed, c.ID, a)
					}
				}
				for _, l := range res.LRPs {
					if (l.CellID == "") == (l.Error == "") {
						t.Fatalf("seed %d: %+v has neither or both of cell and error", seed, l)
					}
					if l.CellID != "" {
						c := w.ref.find(l.CellID)
						if refStage(c, l.PlacementConstraint) != 3 || c.Evacuating {
							t.Fatalf("seed %d: %s/%d on incompatible cell %s", seed, l.ProcessGUID, l.Index, l.CellID)
						}
					}
				}
			}
		})
	}
}

// An LRP never lands in a more-populated zone tier while a less-populated tier has a
// fitting cell: each instance is auctioned alone and checked against the state before.
func TestPropertyZoneTiers(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 5))
		set := randomSettings(r)
		set.MaxStartingContainers = 0
		w := newRandomWorld(t, r, set, 2+r.IntN(20))
		for _, l := range randomBatch(r, 0, 40, 0).LRPs {
			sp := *l.LRPSpec
			sp.MaxPerCell = 0
			l.LRPSpec = &sp
			zoneCount := map[string]int{}
			for _, c := range w.st.Cells() {
				if !c.Evacuating {
					zoneCount[c.Zone] += w.st.InstancesOf(c.ID, l.ProcessGUID)
				}
			}
			minFit := -1 // lowest zone count among zones with a fitting compatible cell
			for _, c := range w.st.Cells() {
				rc := w.ref.find(c.ID)
				mem := l.MemoryMB + w.ref.proxy(rc)
				if c.Evacuating || refStage(rc, l.PlacementConstraint) != 3 ||
					c.Available.MemoryMB < mem || c.Available.DiskMB < l.DiskMB || c.Available.Containers < 1 {
					continue
				}
				if n := zoneCount[c.Zone]; minFit < 0 || n < minFit {
					minFit = n
				}
			}
			res := w.st.Schedule(Batch{LRPs: []LRP{l}}, Diego{}, nil).LRPs[0]
			if minFit < 0 {
				if res.CellID != "" {
					t.Fatalf("seed %d: placed %s with no fitting cell", seed, res.CellID)
				}
				continue
			}
			c, _ := w.st.Cell(res.CellID)
			if res.CellID == "" || zoneCount[c.Zone] != minFit {
				t.Fatalf("seed %d: %s/%d went to %q (zone count %d), a zone with %d had room",
					seed, l.ProcessGUID, l.Index, res.CellID, zoneCount[c.Zone], minFit)
			}
			rc := w.ref.find(res.CellID) // keep the reference in step for later checks
			rc.Available = rc.Available.Sub(l.Resource)
		}
	}
}

// Schedule is deterministic: same state, batch and seed give the same results for
// every algorithm.
func TestDeterministic(t *testing.T) {
	for _, name := range Names() {
		var first Results
		for run := 0; run < 2; run++ {
			r := rand.New(rand.NewPCG(11, 12))
			w := newRandomWorld(t, r, randomSettings(r), 25)
			alg, _ := New(name)
			res := w.st.Schedule(randomBatch(r, 0, 60, 10), alg, rand.New(rand.NewPCG(1, 2)))
			if run == 0 {
				first = res
			} else if outcomesString(first) != outcomesString(res) {
				t.Errorf("%s: two runs differ", name)
			}
		}
	}
}

func outcomesString(res Results) string {
	s := ""
	for _, o := range outcomes(res) {
		s += o + "\n"
	}
	return s
}

// The 1M benchmark in small: the optimised diego and the reference agree on a
// homogeneous cluster filled by one big batch (30 cells, 3 zones, 3,000 instances).
func TestDiegoMatchesReferenceBigBatch(t *testing.T) {
	cells := bigCells(30)
	for i := range cells { // smaller cells so the cluster fills and some items fail
		cells[i].Total.MemoryMB, cells[i].Available.MemoryMB = 30*1024, 30*1024
	}
	b := bigBatch(30, 100, 5)
	s := newBigState(t, cells)
	ref := &refState{set: DefaultSettings()}
	for _, c := range cells {
		ref.cells = append(ref.cells, &refCell{Cell: c, lrps: map[string]int{}})
	}
	got, want := s.Schedule(b, Diego{}, nil), ref.schedule(b)
	if outcomesString(got) != outcomesString(want) {
		t.Fatal("diego differs from the reference on the big batch")
	}
	if n := countPlaced(got); n == 0 || n == len(b.LRPs) {
		t.Fatalf("placed %d of %d: the case should mix winners and losers", n, len(b.LRPs))
	}
}

func TestRegistry(t *testing.T) {
	want := []string{"balanced", "best-fit", "diego", "dot-product", "first-fit", "power-of-two", "random", "worst-fit"}
	if got := Names(); len(got) < len(want) {
		t.Fatalf("Names() = %v", got)
	}
	for _, n := range want {
		a, err := New(n)
		if err != nil || a.Name() != n {
			t.Errorf("New(%q) = %v, %v", n, a, err)
		}
	}
	if _, err := New("nope"); err == nil || !containsAll(err.Error(), want) {
		t.Errorf("New(nope) error %v should list the known names", err)
	}
}

func containsAll(s string, subs []string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
