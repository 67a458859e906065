package scenario_test

import (
	"testing"

	"github.com/diegolab/diegolab/record"
)

// TestAddCellsLive runs testdata/addcells.toml live and in the simulator: the two
// added cells come up at 10 s with the scenario's ids and zones and nothing runs on
// them before; the scale-up after places instances on them; every cell ends within
// one instance of the simulator's.
func TestAddCellsLive(t *testing.T) {
	requireHost(t)
	b := simThenLive(t, "testdata/addcells.toml")
	simDir, out := b.simDir, b.liveDir
	type cellView struct {
		up      float64
		zone    string
		first   float64 // first claim on the cell
		running map[string]bool
	}
	read := func(dir string) map[string]*cellView {
		m := map[string]*cellView{}
		get := func(id string) *cellView {
			if m[id] == nil {
				m[id] = &cellView{up: -1, first: -1, running: map[string]bool{}}
			}
			return m[id]
		}
		if err := record.ReadEvents(dir, func(e *record.Event) error {
			switch {
			case e.Type == record.TypeCell && e.State == record.CellUp:
				c := get(e.CellID)
				if c.up < 0 {
					c.up, c.zone = e.T, e.Zone
				}
			case e.Type == record.TypeActualLRP && e.Presence == "ORDINARY":
				key := e.ProcessGUID + "/" + e.InstanceGUID
				for _, c := range m {
					delete(c.running, key)
				}
				if e.CellID == "" {
					return nil
				}
				c := get(e.CellID)
				if c.first < 0 && e.State == "CLAIMED" {
					c.first = e.T
				}
				if e.State == "RUNNING" {
					c.running[key] = true
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	live, simulated := read(out), read(simDir)
	for _, w := range []struct{ id, zone string }{{"cell-2", "z1"}, {"cell-3", "z2"}} {
		c := live[w.id]
		switch {
		case c == nil || c.up < 0:
			t.Errorf("%s: no up event live", w.id)
		case c.up < 10 || c.up > 12 || c.zone != w.zone:
			t.Errorf("%s up at %.2fs in zone %q, want 10-12s in %s", w.id, c.up, c.zone, w.zone)
		case c.first >= 0 && c.first < c.up:
			t.Errorf("%s: a claim at %.2fs, before the cell was added at %.2fs", w.id, c.first, c.up)
		}
	}
	placed := 0
	for id, s := range simulated {
		l := live[id]
		n := 0
		if l != nil {
			n = len(l.running)
		}
		if d := n - len(s.running); d < -1 || d > 1 {
			t.Errorf("%s: %d running live at the end, %d simulated", id, n, len(s.running))
		}
		if id == "cell-2" || id == "cell-3" {
			placed += n
		}
	}
	if placed == 0 {
		t.Error("no instance runs on the added cells live")
	}
}
