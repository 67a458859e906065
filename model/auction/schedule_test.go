package auction

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/diegolab/diegolab/model"
)

// cell builds a test cell: zone, index, total (mem, disk, containers) = available unless
// avail is given.
func cell(id, zone string, index, mem, disk, containers int) model.Cell {
	tot := model.Resources{MemoryMB: mem, DiskMB: disk, Containers: containers}
	return model.Cell{ID: id, Zone: zone, Index: index, Total: tot, Available: tot,
		RootFSProviders: []string{"preloaded:cflinuxfs4", "docker"}}
}

func withAvail(c model.Cell, mem, disk, containers int) model.Cell {
	c.Available = model.Resources{MemoryMB: mem, DiskMB: disk, Containers: containers}
	return c
}

func withStarting(c model.Cell, n int) model.Cell { c.StartingContainers = n; return c }

func lrp(guid string, index, mem, disk int) LRP {
	return LRP{ProcessGUID: guid, Index: index, LRPSpec: &LRPSpec{Domain: "cf-apps", Resource: model.Resource{MemoryMB: mem, DiskMB: disk}, PlacementConstraint: model.PlacementConstraint{RootFS: "preloaded:cflinuxfs4"}}}
}

func task(guid string, mem, disk int) Task {
	return Task{GUID: guid, Domain: "cf-tasks", Resource: model.Resource{MemoryMB: mem, DiskMB: disk},
		PlacementConstraint: model.PlacementConstraint{RootFS: "docker:///busybox"}}
}

type listed struct{ cell, guid string }

func buildState(t *testing.T, set Settings, cells []model.Cell, lrps, tasks []listed) *State {
	t.Helper()
	s := NewState(set)
	for _, c := range cells {
		if err := s.AddCell(c); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range lrps {
		if err := s.addListedLRP(l.cell, l.guid); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range tasks {
		if err := s.addListedTask(l.cell, l.guid); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// outcome is "cell-id" or "!error text" per item, LRPs then tasks, in input order.
func outcomes(res Results) []string {
	var out []string
	for _, l := range res.LRPs {
		if l.Error != "" {
			out = append(out, "!"+l.Error)
		} else {
			out = append(out, l.CellID)
		}
	}
	for _, tr := range res.Tasks {
		if tr.Error != "" {
			out = append(out, "!"+tr.Error)
		} else {
			out = append(out, tr.CellID)
		}
	}
	return out
}

func TestScheduleTable(t *testing.T) {
	def := DefaultSettings()
	tagged := func(c model.Cell, req, opt []string) model.Cell {
		c.PlacementTags, c.OptionalPlacementTags = req, opt
		return c
	}
	withDrivers := func(c model.Cell, d ...string) model.Cell { c.VolumeDrivers = d; return c }
	withTags := func(l LRP, tags ...string) LRP { l.PlacementTags = tags; return l }
	withRootFS := func(l LRP, r string) LRP { l.RootFS = r; return l }
	withVol := func(l LRP, d ...string) LRP { l.VolumeDrivers = d; return l }
	maxPer := func(l LRP, n int) LRP { l.MaxPerCell = n; return l }
	evac := func(c model.Cell) model.Cell { c.Evacuating = true; return c }

	tests := []struct {
		name  string
		set   Settings
		cells []model.Cell
		lrps  []listed
		tasks []listed
		batch Batch
		want  []string
	}{
		{name: "rootfs: no cell has the stack", set: def,
			cells: []model.Cell{cell("c1", "z1", 0, 1024, 1024, 10)},
			batch: Batch{LRPs: []LRP{withRootFS(lrp("a", 0, 64, 64), "preloaded:windows")}},
			want:  []string{"!found no compatible cell for required rootfs"}},
		{name: "rootfs: docker is matched by scheme", set: def,
			cells: []model.Cell{cell("c1", "z1", 0, 1024, 1024, 10)},
			batch: Batch{LRPs: []LRP{withRootFS(lrp("a", 0, 64, 64), "docker:///nginx")}},
			want:  []string{"c1"}},
		{name: "volume drivers", set: def,
			cells: []model.Cell{withDrivers(cell("c1", "z1", 0, 1024, 1024, 10), "nfs")},
			batch: Batch{LRPs: []LRP{withVol(lrp("a", 0, 64, 64), "nfs", "smb")}},
			want:  []string{"!found no compatible cell with required volume drivers"}},
		{name: "untagged work never lands on a cell with required tags", set: def,
			cells: []model.Cell{tagged(cell("c1", "z1", 0, 1024, 1024, 10), []string{"gpu"}, nil)},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 64, 64)}},
			want:  []string{"!found no compatible cell with no placement tags"}},
		{name: "one tag", set: def,
			cells: []model.Cell{cell("c1", "z1", 0, 1024, 1024, 10)},
			batch: Batch{LRPs: []LRP{withTags(lrp("a", 0, 64, 64), "gpu")}},
			want:  []string{`!found no compatible cell with placement tag "gpu"`}},
		{name: "three tags, in request order", set: def,
			cells: []model.Cell{tagged(cell("c1", "z1", 0, 1024, 1024, 10), []string{"a"}, []string{"b"})},
			batch: Batch{LRPs: []LRP{withTags(lrp("x", 0, 64, 64), "c", "a", "b")}},
			want:  []string{`!found no compatible cell with placement tags "c", "a" and "b"`}},
		{name: "required ⊆ desired ⊆ required ∪ optional", set: def,
			cells: []model.Cell{tagged(cell("c1", "z1", 0, 1024, 1024, 10), []string{"a"}, []string{"b"})},
			batch: Batch{LRPs: []LRP{withTags(lrp("x", 0, 64, 64), "b", "a")}},
			want:  []string{"c1"}},
		{name: "precedence: the most advanced error over all cells wins", set: def,
			// c1 (z1) fails rootfs, c2 (z2) passes rootfs+drivers and fails tags.
			cells: []model.Cell{func() model.Cell { c := cell("c1", "z1", 0, 1024, 1024, 10); c.RootFSProviders = nil; return c }(),
				tagged(cell("c2", "z2", 0, 1024, 1024, 10), []string{"gpu"}, nil)},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 64, 64)}},
			want:  []string{"!found no compatible cell with no placement tags"}},
		{name: "no cells at all", set: def,
			batch: Batch{LRPs: []LRP{lrp("a", 0, 64, 64)}, Tasks: []Task{task("t", 1, 1)}},
			want:  []string{"!unable to communicate to compatible cells", "!unable to communicate to compatible cells"}},
		{name: "evacuating cells do not take part", set: def,
			cells: []model.Cell{evac(cell("c1", "z1", 0, 1024, 1024, 10))},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 64, 64)}},
			want:  []string{"!unable to communicate to compatible cells"}},
		{name: "insufficient: only the shared problems", set: def,
			// c1 lacks memory (100 < 200); c2 lacks memory (150 < 200) and disk (10 < 20):
			// shared = {memory}.
			cells: []model.Cell{withAvail(cell("c1", "z1", 0, 1024, 1024, 10), 100, 1000, 5),
				withAvail(cell("c2", "z1", 1, 1024, 1024, 10), 150, 10, 5)},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 200, 20)}},
			want:  []string{"!insufficient resources: memory"}},
		{name: "insufficient: disjoint problems leave an empty list", set: def,
			// c1 lacks memory only, c2 lacks containers only: intersection {}.
			cells: []model.Cell{withAvail(cell("c1", "z1", 0, 1024, 1024, 10), 100, 1000, 5),
				withAvail(cell("c2", "z1", 1, 1024, 1024, 10), 1000, 1000, 0)},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 200, 20)}},
			want:  []string{"!insufficient resources"}},
		{name: "insufficient: all three", set: def,
			cells: []model.Cell{withAvail(cell("c1", "z1", 0, 1024, 1024, 10), 10, 10, 0)},
			batch: Batch{Tasks: []Task{task("t", 20, 20)}},
			want:  []string{"!insufficient resources: containers, disk, memory"}},
		{name: "tie goes to the first cell in cell order", set: def,
			// identical empty cells, identical scores: c2 is listed first.
			cells: []model.Cell{cell("c2", "z1", 0, 1024, 1024, 10), cell("c1", "z1", 1, 1024, 1024, 10)},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 64, 64)}},
			want:  []string{"c2"}},
		{name: "lowest score wins: mean used fraction", set: def,
			// c1: mem (1-(512-64)/1024)=0.5625, disk (1-(1024-64)/1024)=0.0625, cont (1-9/10)=0.1 -> 0.2417
			// c2: mem (1-(1024-64)/1024)=0.0625, disk 0.0625, cont 0.1 -> 0.075: c2.
			cells: []model.Cell{withAvail(cell("c1", "z1", 0, 1024, 1024, 10), 512, 1024, 10), cell("c2", "z1", 1, 1024, 1024, 10)},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 64, 64)}},
			want:  []string{"c2"}},
		{name: "starting containers weigh 0.25 each", set: def,
			// c1 as c2 above but 1 starting: 0.075+0.25=0.325; c2 with 512 free: 0.2417: c2.
			cells: []model.Cell{withStarting(cell("c1", "z1", 0, 1024, 1024, 10), 1), withAvail(cell("c2", "z1", 1, 1024, 1024, 10), 512, 1024, 10)},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 64, 64)}},
			want:  []string{"c2"}},
		{name: "locality: +1000 per instance of the same guid", set: def,
			// c1 empty but holds a/1: 0.075+1000; c2 nearly full: mem 1-(128-64)/1024=0.9375,
			// disk 0.0625, cont 0.1 -> 0.3667: c2.
			cells: []model.Cell{cell("c1", "z1", 0, 1024, 1024, 10), withAvail(cell("c2", "z1", 1, 1024, 1024, 10), 128, 1024, 10)},
			lrps:  []listed{{"c1", "a"}},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 64, 64)}},
			want:  []string{"c2"}},
		{name: "zone tier beats load", set: def,
			// z1 holds one instance of a (on c1), z2 none: c3 in z2 wins although it is
			// nearly full (score 0.37 vs c2's 0.075).
			cells: []model.Cell{cell("c1", "z1", 0, 1024, 1024, 10), cell("c2", "z1", 1, 1024, 1024, 10),
				withAvail(cell("c3", "z2", 0, 1024, 1024, 10), 128, 1024, 10)},
			lrps:  []listed{{"c1", "a"}},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 64, 64)}},
			want:  []string{"c3"}},
		{name: "zone tier falls through when nothing fits", set: def,
			// z2 (0 instances) cannot fit 256 MB (128 free): next tier z1, c2 (no locality).
			cells: []model.Cell{cell("c1", "z1", 0, 1024, 1024, 10), cell("c2", "z1", 1, 1024, 1024, 10),
				withAvail(cell("c3", "z2", 0, 1024, 1024, 10), 128, 1024, 10)},
			lrps:  []listed{{"c1", "a"}},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 256, 64)}},
			want:  []string{"c2"}},
		{name: "zones with equal counts are pooled", set: def,
			// z1 and z2 both hold 1 instance of a: one tier; c2 (z1, empty, 0.075) beats c3
			// (z2, 512 free, 0.24).
			cells: []model.Cell{cell("c1", "z1", 0, 1024, 1024, 10), cell("c2", "z1", 1, 1024, 1024, 10),
				withAvail(cell("c3", "z2", 0, 1024, 1024, 10), 512, 1024, 10), cell("c4", "z2", 1, 1024, 1024, 10)},
			lrps:  []listed{{"c1", "a"}, {"c4", "a"}},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 64, 64)}},
			want:  []string{"c2"}},
		{name: "tasks: +1000 per task on the cell, no zones", set: def,
			// c1 holds a task: 1000.07; c2 (other zone, 512 free): 0.24: c2.
			cells: []model.Cell{cell("c1", "z1", 0, 1024, 1024, 10), withAvail(cell("c2", "z2", 0, 1024, 1024, 10), 512, 1024, 10)},
			tasks: []listed{{"c1", "old"}},
			batch: Batch{Tasks: []Task{task("t", 64, 64)}},
			want:  []string{"c2"}},
		{name: "in-flight limit", set: Settings{StartingContainerWeight: 0.25, MaxStartingContainers: 2},
			// 1 starting already; a/0 makes it 2; then b/0 and the task hit the limit.
			cells: []model.Cell{withStarting(cell("c1", "z1", 0, 1024, 1024, 10), 1)},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 64, 64), lrp("b", 0, 32, 64)}, Tasks: []Task{task("t", 1, 1)}},
			want: []string{"c1", "!waiting to start instance: reached in-flight start limit",
				"!waiting to start instance: reached in-flight start limit"}},
		{name: "proxy memory counts for the fit of LRPs, not tasks", set: Settings{StartingContainerWeight: 0.25, ProxyMemoryMB: 32},
			// 100 free: LRP 80+32=112 > 100 fails; task 80 fits.
			cells: []model.Cell{withAvail(cell("c1", "z1", 0, 1024, 1024, 10), 100, 1024, 10)},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 80, 64)}, Tasks: []Task{task("t", 80, 64)}},
			want:  []string{"!insufficient resources: memory", "c1"}},
		{name: "proxy memory: reservation subtracts plain memory", set: Settings{StartingContainerWeight: 0.25, ProxyMemoryMB: 32},
			// 100 free: a/0 needs 50+32=82 fits, reserves 50 -> 50 free; b/0 needs 18+32=50 fits.
			cells: []model.Cell{withAvail(cell("c1", "z1", 0, 1024, 1024, 10), 100, 1024, 10)},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 50, 1), lrp("b", 0, 18, 1)}},
			want:  []string{"c1", "c1"}},
		{name: "proxy memory shifts the score", set: Settings{StartingContainerWeight: 0, ProxyMemoryMB: 512},
			// c1 (total 1024) vs c2 (total 4096), both with 1024 free: with 512 proxy,
			// c1 mem used 1-(1024-576)/1024=0.5625, c2 1-(1024-576)/4096=0.89; disk and
			// containers equal: c1.
			cells: []model.Cell{cell("c1", "z1", 0, 1024, 1024, 10), withAvail(cell("c2", "z1", 1, 4096, 1024, 10), 1024, 1024, 10)},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 64, 64)}},
			want:  []string{"c1"}},
		{name: "bin-pack first-fit: lowest index in the zone", set: Settings{StartingContainerWeight: 0.25, BinPackFirstFitWeight: 0.5},
			// c1 has Index 7 (rank 1), c2 Index 3 (rank 0): equal resource scores, c2 wins
			// by 0.5.
			cells: []model.Cell{cell("c1", "z1", 7, 1024, 1024, 10), cell("c2", "z1", 3, 1024, 1024, 10)},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 64, 64)}},
			want:  []string{"c2"}},
		{name: "bin-pack: ranks are per zone", set: Settings{StartingContainerWeight: 0.25, BinPackFirstFitWeight: 0.5},
			// z1: c1 (Index 0) rank 0, c2 (Index 1) rank 1; z2: c3 (Index 5) rank 0.
			// a1: c1 and c3 tie at 0.075 (rank 0), c1 is first. a2: c1 = 0.15 + 0.25
			// starting = 0.4, c2 = 0.075 + 0.5 = 0.575, c3 = 0.075: c3.
			cells: []model.Cell{cell("c1", "z1", 0, 1024, 1024, 10), cell("c2", "z1", 1, 1024, 1024, 10), cell("c3", "z2", 5, 1024, 1024, 10)},
			batch: Batch{LRPs: []LRP{lrp("a1", 0, 64, 64), lrp("a2", 0, 64, 64)}},
			want:  []string{"c1", "c3"}},
		{name: "bin-pack weight can outweigh locality", set: Settings{BinPackFirstFitWeight: 2000},
			// rank 1 costs 2000 > 1000 locality: a/1 goes back to c1 (rank 0).
			cells: []model.Cell{cell("c1", "z1", 0, 1024, 1024, 10), cell("c2", "z1", 1, 1024, 1024, 10)},
			lrps:  []listed{{"c1", "a"}},
			batch: Batch{LRPs: []LRP{lrp("a", 1, 64, 64)}},
			want:  []string{"c1"}},
		{name: "max per cell", set: def,
			// c1 holds 1 instance of a, cap 1: c1 excluded; c2 full on memory.
			cells: []model.Cell{cell("c1", "z1", 0, 1024, 1024, 10), withAvail(cell("c2", "z1", 1, 1024, 1024, 10), 10, 1024, 10)},
			lrps:  []listed{{"c1", "a"}},
			batch: Batch{LRPs: []LRP{maxPer(lrp("a", 1, 64, 64), 1)}},
			want:  []string{"!insufficient resources"}},
		{name: "max per cell everywhere", set: def,
			cells: []model.Cell{cell("c1", "z1", 0, 1024, 1024, 10)},
			lrps:  []listed{{"c1", "a"}},
			batch: Batch{LRPs: []LRP{maxPer(lrp("a", 1, 64, 64), 1)}},
			want:  []string{"!insufficient resources: max_per_cell"}},
		{name: "order: index-0 LRPs, then tasks, then index>=1, larger first", set: def,
			// 300 MB free: a/0 (200) first, then task t (90, fits: 100 left), then b/1 (20
			// fits, 10 left) before c/2 (20 fails).
			cells: []model.Cell{withAvail(cell("c1", "z1", 0, 1024, 1024, 10), 300, 1024, 10)},
			batch: Batch{LRPs: []LRP{lrp("c", 2, 20, 1), lrp("b", 1, 10, 1), lrp("a", 0, 200, 1)}, Tasks: []Task{task("t", 90, 1)}},
			want:  []string{"!insufficient resources: memory", "c1", "c1", "c1"}},
		{name: "dedupe keeps the first occurrence", set: def,
			// the second a/0 (100 MB) is dropped; the first (10 MB) is placed.
			cells: []model.Cell{withAvail(cell("c1", "z1", 0, 1024, 1024, 10), 50, 1024, 10)},
			batch: Batch{LRPs: []LRP{lrp("a", 0, 10, 1), lrp("a", 0, 100, 1)}, Tasks: []Task{task("t", 1, 1), task("t", 1000, 1)}},
			want:  []string{"c1", "c1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := buildState(t, tc.set, tc.cells, tc.lrps, tc.tasks)
			got := outcomes(s.Schedule(tc.batch, Diego{}, nil))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			// The plain reference agrees on every case.
			ref := &refState{set: tc.set}
			for _, c := range tc.cells {
				rc := &refCell{Cell: c, lrps: map[string]int{}}
				for _, l := range tc.lrps {
					if l.cell == c.ID {
						rc.lrps[l.guid]++
					}
				}
				for _, l := range tc.tasks {
					if l.cell == c.ID {
						rc.tasks++
					}
				}
				ref.cells = append(ref.cells, rc)
			}
			if r := outcomes(ref.schedule(tc.batch)); fmt.Sprint(r) != fmt.Sprint(tc.want) {
				t.Errorf("reference got %q, want %q", r, tc.want)
			}
		})
	}
}

// TestAddCellRejects: cells the index cannot represent are refused with the field named.
func TestAddCellRejects(t *testing.T) {
	ok := model.Cell{ID: "c", Zone: "z", Total: model.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: 10}}
	ok.Available = ok.Total
	for _, tc := range []struct {
		name  string
		edit  func(*model.Cell)
		field string
	}{
		{"no memory", func(c *model.Cell) { c.Total.MemoryMB, c.Available.MemoryMB = 0, 0 }, "total.memory_mb"},
		{"no containers", func(c *model.Cell) { c.Total.Containers, c.Available.Containers = 0, 0 }, "total.containers"},
		{"memory beyond int32", func(c *model.Cell) { c.Total.MemoryMB, c.Available.MemoryMB = 1<<31, 1<<31 }, "total"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := NewState(DefaultSettings()).AddCell(c)
			var ve *model.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("AddCell = %v, want a ValidationError on %q", err, tc.field)
			}
		})
	}
	if err := NewState(DefaultSettings()).AddCell(ok); err != nil {
		t.Fatalf("valid cell refused: %v", err)
	}
}

// TestDiegoTieClassWithDifferentFigures: two cells whose figures differ but whose index
// keys are bitwise equal (memory and disk swapped, equal totals) can still score
// differently after rounding, so the search may dismiss a subtree of exact ties of the
// best cell only when every cell of its tie class has the best cell's very figures.
// Cells: C (the best cell's figures, first), X (worse), A (C's figures), B (A's
// memory and disk swapped, scoring lower by rounding); B must win.
func TestDiegoTieClassWithDifferentFigures(t *testing.T) {
	const tot = 1000
	score := func(m, d, mp, disk int) float64 {
		return ResourceScore(model.Resources{MemoryMB: m, DiskMB: d, Containers: 10},
			model.Resources{MemoryMB: tot, DiskMB: tot, Containers: 10}, mp, disk, 0, 0)
	}
	var x, y, mp, disk int
	found := false
	for x = 300; x < 700 && !found; x++ {
		for y = x + 1; y < x+40 && !found; y++ {
			for mp = 1; mp < 100 && !found; mp++ {
				disk = 2 * mp
				found = score(y, x, mp, disk) < score(x, y, mp, disk)
			}
		}
	}
	if !found {
		t.Skip("no rounding inversion in the searched range") // never expected: the search finds one
	}
	x, y, mp = x-1, y-1, mp-1 // the loops advanced once past the hit
	disk = 2 * mp
	got, errText := placeAmongTies(t, tot, tot, [2]int{x, y}, [2]int{y, x}, mp, disk)
	if got != "B" {
		t.Fatalf("winner %q (error %q), want B: scores C/A %v, B %v", got, errText, score(x, y, mp, disk), score(y, x, mp, disk))
	}
}

// TestDiegoTieClassNearKeys: a subtree whose tie class is the best cell's figures
// (later in cell order) may still hold a cell with a slightly higher key that scores
// lower after rounding; the search must look at it (the k2 check), not dismiss the
// subtree with its tie class.
func TestDiegoTieClassNearKeys(t *testing.T) {
	const totM, totD = 999, 999
	mk := func(id string, idx, m, d int) model.Cell { return tieCell(id, idx, totM, totD, m, d) }
	// The index keys of a grid of figures, sorted: neighbours with nearly equal keys.
	// Equal totals make the real-valued keys of figures with the same m + d equal;
	// their float keys then differ by an ulp or so, and so may their scores.
	type fig struct {
		m, d int
		k    float64
	}
	probe := NewState(DefaultSettings())
	var figs []fig
	for m := 300; m < 360; m++ {
		for d := 300; d < 360; d++ {
			id := fmt.Sprint(m, "/", d)
			if err := probe.AddCell(mk(id, len(figs), m, d)); err != nil {
				t.Fatal(err)
			}
			rec := probe.byID[id]
			figs = append(figs, fig{m, d, rec.grp.t.nodes[rec.grp.t.size+rec.leaf].kL})
		}
	}
	slices.SortFunc(figs, func(x, y fig) int { return cmp.Compare(x.k, y.k) })
	score := func(f fig, mp, disk int) float64 {
		return ResourceScore(model.Resources{MemoryMB: f.m, DiskMB: f.d, Containers: 10},
			model.Resources{MemoryMB: totM, DiskMB: totD, Containers: 10}, mp, disk, 0, 0)
	}
	var a, b fig
	mp, disk := 0, 0
	found := false
search:
	for i := 1; i < len(figs); i++ {
		a, b = figs[i-1], figs[i]
		if !(b.k > a.k) || b.k-a.k > 1e-12 {
			continue
		}
		for mp = 1; mp <= 40; mp++ {
			for disk = 1; disk <= 40; disk++ {
				if score(b, mp, disk) < score(a, mp, disk) {
					found = true
					break search
				}
			}
		}
	}
	if !found {
		t.Fatal("no rounding inversion in the searched grid: widen it")
	}
	got, errText := placeAmongTies(t, totM, totD, [2]int{a.m, a.d}, [2]int{b.m, b.d}, mp, disk)
	if got != "B" {
		t.Fatalf("winner %q (error %q), want B: keys %v < %v, scores %v > %v", got, errText,
			a.k, b.k, score(a, mp, disk), score(b, mp, disk))
	}
}

// tieCell is a cell of the tie tests: zone z, 10 containers, the given figures.
func tieCell(id string, idx, totM, totD, m, d int) model.Cell {
	c := model.Cell{ID: id, Zone: "z", Index: idx, RootFSProviders: []string{"preloaded:cflinuxfs4"},
		Total: model.Resources{MemoryMB: totM, DiskMB: totD, Containers: 10}}
	c.Available = model.Resources{MemoryMB: m, DiskMB: d, Containers: 10}
	return c
}

// placeAmongTies places one new LRP (mp, disk) on cells C (figures a, first), X (worse),
// A (figures a) and B (figures b), in that cell order, and returns the winner.
func placeAmongTies(t *testing.T, totM, totD int, a, b [2]int, mp, disk int) (string, string) {
	t.Helper()
	s := NewState(DefaultSettings())
	for _, c := range []model.Cell{tieCell("C", 0, totM, totD, a[0], a[1]), tieCell("X", 1, totM, totD, 100, 100),
		tieCell("A", 2, totM, totD, a[0], a[1]), tieCell("B", 3, totM, totD, b[0], b[1])} {
		if err := s.AddCell(c); err != nil {
			t.Fatal(err)
		}
	}
	res := s.Schedule(Batch{LRPs: []LRP{{ProcessGUID: "new", Index: 0, LRPSpec: &LRPSpec{Domain: "d", Resource: model.Resource{MemoryMB: mp, DiskMB: disk}, PlacementConstraint: model.PlacementConstraint{RootFS: "preloaded:cflinuxfs4"}}}}}, nil, nil)
	return res.LRPs[0].CellID, res.LRPs[0].Error
}
