package scenario

import (
	"strings"
	"testing"

	"github.com/diegolab/diegolab/scenarios"
)

const big = `
[run]
duration = "1m"
[[cells]]
count = 20
zones = ["z1", "z2"]
memory_mb = 4096
disk_mb = 8192
[[apps]]
name = "web"
count = 40
instances = 3
memory_mb = 128
disk_mb = 64
[[tasks]]
name = "batch"
count = 10
memory_mb = 64
disk_mb = 64
duration = "5s"
`

// --scale auto shrinks a scenario 2.5 times too big for the machine's 8 cells to the
// least factor that fits (cells, apps and tasks by the same factor) and Check accepts
// the result; a factor given by hand shrinks by it; a scenario whose zones alone need
// more cells than the machine runs is refused with the limit.
func TestScale(t *testing.T) {
	load := func(src string) func(extra []string) (*scenarios.Scenario, error) {
		return func(extra []string) (*scenarios.Scenario, error) {
			return scenarios.Parse("big.toml", []byte(src), extra...)
		}
	}
	sc, err := load(big)(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(sc, DefaultLimits()); err == nil {
		t.Fatal("the unscaled scenario fits")
	}
	f, err := AutoScale(sc, DefaultLimits(), load(big))
	if err != nil {
		t.Fatal(err)
	}
	if f != 2.5 {
		t.Errorf("auto factor %v, want 2.5 (20 cells over 8)", f)
	}
	sets := ScaleOverrides(sc, f)
	want := []string{"cells.cell.count=8", "apps.web.count=16", "tasks.batch.count=4"}
	if strings.Join(sets, " ") != strings.Join(want, " ") {
		t.Errorf("overrides %v, want %v", sets, want)
	}
	small, err := load(big)(sets)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(small, DefaultLimits()); err != nil {
		t.Errorf("scaled by %v, still refused: %v", f, err)
	}
	if got := ScaleOverrides(sc, 4); strings.Join(got, " ") != "cells.cell.count=5 apps.web.count=10 tasks.batch.count=3" {
		t.Errorf("--scale 4: %v", got)
	}
	if ScaleOverrides(sc, 1) != nil {
		t.Error("--scale 1 changes the scenario")
	}
	zones := strings.Replace(big, `zones = ["z1", "z2"]`, `zones = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]`, 1)
	sz, err := load(zones)(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AutoScale(sz, DefaultLimits(), load(zones)); err == nil || !strings.Contains(err.Error(), "10 cells (--max-cells 8)") {
		t.Errorf("ten zones on 8 cells: %v, want a refusal naming --max-cells 8", err)
	}
	for _, bad := range []string{"0.5", "x", "2000", "NaN"} {
		if _, err := ParseScale(bad); err == nil {
			t.Errorf("--scale %s accepted", bad)
		}
	}
	if f, err := ParseScale("auto"); err != nil || f != 0 {
		t.Errorf("auto: %v %v", f, err)
	}
}
