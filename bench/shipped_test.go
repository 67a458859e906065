package bench

import (
	"testing"
	"time"
)

// TestShippedSpecsExpand loads every shipped spec and expands its matrix (each
// scenario is loaded once), and checks the advertised sizes.
func TestShippedSpecsExpand(t *testing.T) {
	want := map[string]int{
		"quick":           3 * 2 * 2 * 5, // scenarios x algorithms x weights x seeds
		"algorithms-1000": 8 * 5 * 25,
		"inflation":       2 * 5 * 10,
	}
	if len(Shipped()) != len(want) {
		t.Errorf("shipped specs %v, want %d", Shipped(), len(want))
	}
	for _, name := range Shipped() {
		t.Run(name, func(t *testing.T) {
			s, err := ResolveSpec(name)
			if err != nil {
				t.Fatal(err)
			}
			runs, err := s.Expand()
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != want[name] {
				t.Errorf("%d runs, want %d", len(runs), want[name])
			}
		})
	}
}

func TestCloudSimEquivalentMapping(t *testing.T) {
	sc, err := CloudSimEquivalent()
	if err != nil {
		t.Fatal(err)
	}
	cells, inst, tasks := 0, 0, 0
	for _, g := range sc.Cells {
		cells += g.Count
	}
	for _, g := range sc.Apps {
		inst += g.Count * g.Instances
	}
	for _, g := range sc.Tasks {
		tasks += g.Count
	}
	// 3.86 months x 30.4375 days x 24 h = 2819.7 h, written as 2820 h.
	if cells != 50000 || inst != 100000 || tasks != 100000 || sc.Duration != 2820*time.Hour {
		t.Errorf("cells %d, instances %d, tasks %d, duration %s", cells, inst, tasks, sc.Duration)
	}
}
