package scenario

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/diegolab/diegolab/scenarios"
)

// A scale factor F runs a scenario bigger than this machine: every cell group, app
// group and task group keeps 1/F of its count (rounded, at least one cell per zone and
// one app or task per group), each cell keeps its size and each app its instances, so
// the cluster is F times smaller with the same load per cell. The shrunk scenario is
// the file plus `--set GROUP.count=N` overrides (ScaleOverrides): the simulated side
// of `diegolab fidelity` runs the very same one. Event counts (crash-cell count,
// add-cells count, crash-instances count) and events naming one cell or app are not
// scaled: a name the shrunk scenario no longer has is refused when it is loaded.

// MaxScale bounds a scale factor.
const MaxScale = 1000

// ParseScale reads a --scale value: a factor >= 1 or "auto" (0 is returned for auto).
func ParseScale(s string) (float64, error) {
	if s == "auto" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 1 || f > MaxScale {
		return 0, fmt.Errorf("want a factor from 1 to %d, or auto; got %q", MaxScale, s)
	}
	return f, nil
}

// ScaleOverrides returns the overrides that shrink sc by f (none for f <= 1).
func ScaleOverrides(sc *scenarios.Scenario, f float64) []string {
	if f <= 1 {
		return nil
	}
	shrink := func(n, least int) int { return max(least, min(n, int(math.Round(float64(n)/f)))) }
	var out []string
	for _, g := range sc.Cells {
		if n := shrink(g.Count, max(1, len(g.Zones))); n != g.Count {
			out = append(out, fmt.Sprintf("cells.%s.count=%d", g.Name, n))
		}
	}
	for _, g := range sc.Apps {
		if n := shrink(g.Count, 1); n != g.Count {
			out = append(out, fmt.Sprintf("apps.%s.count=%d", g.Name, n))
		}
	}
	for _, g := range sc.Tasks {
		if n := shrink(g.Count, 1); n != g.Count {
			out = append(out, fmt.Sprintf("tasks.%s.count=%d", g.Name, n))
		}
	}
	return out
}

// demand is what sc needs of this machine, which Check bounds and --scale shrinks:
// cells (added ones too), apps, and containers at once (instances after every scale,
// plus every task).
func demand(sc *scenarios.Scenario) (cells, apps, peak int) {
	desired := map[string]int{}
	for _, g := range sc.Cells {
		cells += g.Count
	}
	for _, g := range sc.Apps {
		apps += g.Count
		for _, guid := range g.ProcessGUIDs() {
			desired[guid] = g.Instances
		}
		peak += g.Count * g.Instances
	}
	for _, ev := range sc.Events {
		if ev.Action == scenarios.ActionAddCells && ev.Cells != nil {
			cells += ev.Cells.Count
		}
		if ev.Action != scenarios.ActionScale {
			continue
		}
		for _, g := range sc.MatchApps(ev.App) {
			desired[g] = ev.Instances
		}
		n := 0
		for _, v := range desired {
			n += v
		}
		peak = max(peak, n)
	}
	for _, g := range sc.Tasks {
		peak += g.Count
	}
	return cells, apps, peak
}

// AutoScale returns the smallest factor (to 0.01) that brings sc within l's cells and
// containers and the live BBS's apps, 1 when it fits already, and an error naming
// the limit when no factor can (a group's least count alone is beyond it). load
// resolves the scenario with overrides (the file's own, plus the scale's).
func AutoScale(sc *scenarios.Scenario, l Limits, load func(extra []string) (*scenarios.Scenario, error)) (float64, error) {
	fits := func(s *scenarios.Scenario) (bool, string) {
		cells, apps, peak := demand(s)
		var over []string
		if cells > l.Cells {
			over = append(over, fmt.Sprintf("%d cells (--max-cells %d)", cells, l.Cells))
		}
		if apps > maxApps {
			over = append(over, fmt.Sprintf("%d apps (the live BBS's limit %d)", apps, maxApps))
		}
		if peak > l.Instances {
			over = append(over, fmt.Sprintf("%d containers at once (--max-instances %d)", peak, l.Instances))
		}
		return len(over) == 0, strings.Join(over, ", ")
	}
	if ok, _ := fits(sc); ok {
		return 1, nil
	}
	cells, apps, peak := demand(sc)
	f := math.Max(float64(cells)/float64(l.Cells), math.Max(float64(apps)/maxApps, float64(peak)/float64(l.Instances)))
	f = math.Ceil(math.Max(f, 1)*100) / 100
	for ; f <= MaxScale; f = math.Ceil(f*1.05*100) / 100 {
		s, err := load(ScaleOverrides(sc, f))
		if err != nil {
			return 0, fmt.Errorf("scale %.2f: %w", f, err)
		}
		ok, why := fits(s)
		if ok {
			return f, nil
		}
		if atLeast(s) {
			return 0, fmt.Errorf("scenario %s cannot fit this machine even scaled down (a cell per zone, an app per group): %s", sc.Name, why)
		}
	}
	_, why := fits(sc)
	return 0, fmt.Errorf("scenario %s needs a scale factor beyond %d to fit this machine: %s", sc.Name, MaxScale, why)
}

// atLeast reports whether every group of s is at its least count (a cell per zone, an
// app or task per group): scaling further changes nothing.
func atLeast(s *scenarios.Scenario) bool {
	for _, g := range s.Cells {
		if g.Count > max(1, len(g.Zones)) {
			return false
		}
	}
	for _, g := range s.Apps {
		if g.Count > 1 {
			return false
		}
	}
	for _, g := range s.Tasks {
		if g.Count > 1 {
			return false
		}
	}
	return true
}
