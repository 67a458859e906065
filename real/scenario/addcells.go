package scenario

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/live"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// add-cells live: the cluster starts with a rep for every cell the run will have,
// the added ones included (live.Up takes the cell ids and zones), and the added ones
// are parked before the pushes: crashed and held down (live.CrashCell), and waited
// for until the BBS no longer counts them present. At the event each of its cells is
// released (live.RestoreCell): a new rep with the scenario's cell id and zone joins
// the running cluster, as the simulator's added cell does. Cells the scenario never
// adds before its end are parked for the whole run.

// cellNotAdded is the state of a cell whose add-cells event has not come yet: no rep
// runs, and no fault or restore applies to it.
const cellNotAdded = cellDown + 1

// addedCells appends the cells of the scenario's add-cells events to the driver's
// cells, in the order the simulator adds them (events in time order, each event's
// cells in its group's order), and returns, per event index, its cells' positions.
func (d *driver) addedCells() map[int][]int {
	byEvent := map[int][]int{}
	for _, i := range timeOrder(d.sc.Events) {
		ev := &d.sc.Events[i]
		if ev.Action != scenarios.ActionAddCells || ev.Cells == nil {
			continue
		}
		for _, c := range ev.Cells.Cells(ev.Cells.First) {
			byEvent[i] = append(byEvent[i], len(d.ids))
			d.ids = append(d.ids, c.ID)
			d.zones = append(d.zones, c.Zone)
			d.state = append(d.state, cellNotAdded)
		}
	}
	return byEvent
}

// timeOrder is the events' indices by time, ties in file order (as the simulator
// plays them).
func timeOrder(evs []scenarios.Event) []int {
	order := make([]int, len(evs))
	for i := range order {
		order[i] = i
	}
	for i := 1; i < len(order); i++ { // insertion sort: stable, and the lists are short
		for j := i; j > 0 && evs[order[j]].At < evs[order[j-1]].At; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	return order
}

// parkAdded crashes and holds the reps of the cells not added yet, then waits until
// the BBS no longer counts any of them present (their presence lapses after the TTL).
func (d *driver) parkAdded(ctx context.Context) error {
	var parked []string
	for ci, s := range d.state {
		if s != cellNotAdded {
			continue
		}
		if err := live.CrashCell(ctx, d.dir, d.ids[ci]); err != nil {
			return fmt.Errorf("parking %s until its add-cells: %w", d.ids[ci], err)
		}
		parked = append(parked, d.ids[ci])
	}
	if len(parked) == 0 {
		return nil
	}
	d.logf("parked %v until their add-cells; waiting for their presence to lapse", parked)
	deadline := time.Now().Add(d.sc.Timers.PresenceTTL + 30*time.Second)
	for {
		var cells []api.CellInfo
		if err := d.cl.Do(ctx, http.MethodGet, "/v1/cells", nil, &cells); err != nil {
			return err
		}
		present := 0
		for _, c := range cells {
			for _, id := range parked {
				if c.CellID == id && c.Present {
					present++
				}
			}
		}
		if present == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("parked cells %v still present after %v", parked, d.sc.Timers.PresenceTTL+30*time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// addCells starts the reps of event i's cells, and returns the timeline's target.
func (d *driver) addCells(ctx context.Context, i int) (string, error) {
	cells := d.added[i]
	for _, ci := range cells {
		if err := live.RestoreCell(ctx, d.dir, d.ids[ci], 30*time.Second); err != nil {
			return "", fmt.Errorf("add-cells %s: %w", d.ids[ci], err)
		}
		d.state[ci] = cellUp
		d.cellEvent(ci, record.CellUp)
	}
	return strconv.Itoa(len(cells)) + " cells", nil
}

// checkAddCells reports what keeps an add-cells event from running live (demand counts
// the cells it adds).
func checkAddCells(sc *scenarios.Scenario, ev *scenarios.Event, key string, bad func(line int, key, format string, args ...any)) {
	g := ev.Cells
	if g == nil {
		return
	}
	if g0 := sc.Cells[0]; g.MemoryMB != g0.MemoryMB || g.DiskMB != g0.DiskMB || g.Containers != g0.Containers {
		bad(ev.Line, key, "real mode starts every cell with one size; the added cells differ from cells[0] (memory_mb, disk_mb, containers)")
	}
	if len(g.PlacementTags)+len(g.OptionalPlacementTags)+len(g.VolumeDrivers) > 0 {
		bad(ev.Line, key, "placement tags and volume drivers are not supported by real mode")
	}
}
