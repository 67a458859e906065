package auction

import (
	"fmt"
	"testing"

	"github.com/diegolab/diegolab/model"
)

// Diego's simulation scenarios (auction/simulation, DIEGO.md §2): cells of 100 MB, 100
// MB disk, 100 containers, 2 zones Z<i%2>, stack "linux", driver "my-driver".
func simCells(n int) []model.Cell {
	cells := make([]model.Cell, n)
	for i := range cells {
		tot := model.Resources{MemoryMB: 100, DiskMB: 100, Containers: 100}
		cells[i] = model.Cell{ID: fmt.Sprintf("REP-%d", i+1), Zone: fmt.Sprintf("Z%d", i%2), Index: i,
			Total: tot, Available: tot, RootFSProviders: []string{"preloaded:linux"}, VolumeDrivers: []string{"my-driver"}}
	}
	return cells
}

func simLRP(guid string, index, mem int) LRP {
	return LRP{ProcessGUID: guid, Index: index, LRPSpec: &LRPSpec{Domain: "auction", Resource: model.Resource{MemoryMB: mem, DiskMB: 1, MaxPids: 10}, PlacementConstraint: model.PlacementConstraint{RootFS: "preloaded:linux"}}}
}

func perCell(s *State) map[string]int {
	out := map[string]int{}
	for _, c := range s.Cells() {
		out[c.ID] = c.Total.Containers - c.Available.Containers
	}
	return out
}

func TestSimulationColdStartsEven(t *testing.T) {
	for _, tc := range []struct{ cells, apps int }{{4, 8}, {10, 40}, {20, 200}, {40, 800}} {
		t.Run(fmt.Sprintf("%d cells %d apps", tc.cells, tc.apps), func(t *testing.T) {
			s := buildState(t, DefaultSettings(), simCells(tc.cells), nil, nil)
			var b Batch
			for i := 0; i < tc.apps; i++ {
				b.LRPs = append(b.LRPs, simLRP(fmt.Sprintf("app-%d", i), 0, 1))
			}
			for _, r := range s.Schedule(b, Diego{}, nil).LRPs {
				if r.Error != "" {
					t.Fatalf("%s: %s", r.ProcessGUID, r.Error)
				}
			}
			mean := tc.apps / tc.cells // 2, 4, 10, 20: every cell within mean±1
			for id, n := range perCell(s) {
				if n < mean-1 || n > mean+1 {
					t.Errorf("%s has %d instances, want %d±1", id, n, mean)
				}
			}
		})
	}
}

func TestSimulationBinPackFirstFit(t *testing.T) {
	for _, w := range []float64{0.25, 0.5, 0.75} {
		for _, tc := range []struct{ cells, apps int }{{4, 8}, {10, 40}, {20, 200}, {40, 800}} {
			t.Run(fmt.Sprintf("w=%v/%d cells", w, tc.cells), func(t *testing.T) {
				set := Settings{StartingContainerWeight: 0.5, BinPackFirstFitWeight: w}
				s := buildState(t, set, simCells(tc.cells), nil, nil)
				var b Batch
				for i := 0; i < tc.apps; i++ {
					b.LRPs = append(b.LRPs, simLRP(fmt.Sprintf("app-%d", i), 0, 1))
				}
				s.Schedule(b, Diego{}, nil)
				counts := perCell(s)
				zone := map[string]int{}
				last := map[string]int{}
				for _, c := range s.Cells() { // cells are in Index order within each zone
					n := counts[c.ID]
					if prev, ok := last[c.Zone]; ok && n > prev {
						t.Errorf("zone %s: %s has %d instances, more than the previous cell (%d)", c.Zone, c.ID, n, prev)
					}
					last[c.Zone] = n
					zone[c.Zone] += n
				}
				if d := zone["Z0"] - zone["Z1"]; d < -1 || d > 1 {
					t.Errorf("zones %v not within ±1", zone)
				}
			})
		}
	}
}

// 3 cells, Z0 = {cell0, cell2}, Z1 = {cell1 preloaded with 50 LRPs}: 40 "red" split 20/20.
func TestSimulationAZDistribution(t *testing.T) {
	cells := simCells(3) // REP-1 Z0, REP-2 Z1, REP-3 Z0
	s := buildState(t, DefaultSettings(), cells, nil, nil)
	for i := 0; i < 50; i++ {
		if err := s.AddLRP("REP-2", fmt.Sprintf("pre-%d", i), model.Resource{MemoryMB: 1, DiskMB: 1}, false); err != nil {
			t.Fatal(err)
		}
	}
	var b Batch
	for i := 0; i < 40; i++ {
		b.LRPs = append(b.LRPs, simLRP("red", i, 1))
	}
	zone := map[string]int{}
	for _, r := range s.Schedule(b, Diego{}, nil).LRPs {
		c, _ := s.Cell(r.CellID)
		zone[c.Zone]++
	}
	if zone["Z0"] != 20 || zone["Z1"] != 20 {
		t.Errorf("red per zone = %v, want 20/20", zone)
	}
}

// One cell of 100 MB; 80 x 1 MB index-0 apps and red with 2 x 50 MB: red-0 (index 0, 50
// MB) goes first, then 50 of the 80 fit; red-1 (index 1) comes last and fails: 51
// winners, 31 losers.
func TestSimulationPackingWhenMemoryIsLow(t *testing.T) {
	s := buildState(t, DefaultSettings(), simCells(1), nil, nil)
	var b Batch
	for i := 0; i < 80; i++ {
		b.LRPs = append(b.LRPs, simLRP(fmt.Sprintf("small-%d", i), 0, 1))
	}
	b.LRPs = append(b.LRPs, simLRP("red", 0, 50), simLRP("red", 1, 50))
	won, lost := 0, 0
	res := s.Schedule(b, Diego{}, nil)
	for _, r := range res.LRPs {
		if r.CellID != "" {
			won++
		} else {
			lost++
		}
	}
	if won != 51 || lost != 31 {
		t.Errorf("won %d lost %d, want 51/31", won, lost)
	}
	if red0, red1 := res.LRPs[80], res.LRPs[81]; red0.CellID == "" || red1.Error != "insufficient resources: memory" {
		t.Errorf("red-0 %+v, red-1 %+v: want red-0 placed, red-1 out of memory", red0, red1)
	}
}
