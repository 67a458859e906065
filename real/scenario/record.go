package scenario

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/diegolab/diegolab/real/live"
	"github.com/diegolab/diegolab/record"
)

// version matches the live cluster's process guid of a pushed app: NAME-vN.
var version = regexp.MustCompile(`^(.+)-v[0-9]+$`)

// writeRecord fetches the BBS's run record and writes the scenario's into o.Out: every
// time shifted to t0 (what happened before it, the pushes and their staging tasks, is
// left out), apps named by their scenario process guids (NAME, not NAME-vN), the
// driver's cell and timeline events merged in, and a summary with mode "real", the
// scenario's name and seed, and the figures derived from the events (record.Derive).
func (d *driver) writeRecord(ctx context.Context) (*record.Summary, error) {
	raw := filepath.Join(d.dir, "raw-record")
	if err := live.Record(ctx, d.dir, raw); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.o.Out, 0o755); err != nil {
		return nil, err
	}
	name := func(g string) string {
		if m := version.FindStringSubmatch(g); m != nil {
			return m[1]
		}
		return g
	}
	var evs []record.Event
	err := record.ReadEvents(raw, func(e *record.Event) error {
		if e.T < d.t0 {
			return nil // before the scenario
		}
		c := *e
		if e.Type == record.TypeTask {
			g, ok := d.scenarioTask(e.TaskGUID)
			if !ok {
				return nil // a staging task
			}
			c.TaskGUID = g
		}
		c.T = record.Round6(c.T - d.t0) // microseconds: no float noise from the shift
		c.ProcessGUID = name(c.ProcessGUID)
		evs = append(evs, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The driver's events go before the BBS's events of the same instant or later.
	d.mu.Lock()
	mine := slices.Clone(d.events)
	d.mu.Unlock()
	slices.SortStableFunc(mine, func(a, b record.Event) int { return cmpF(a.T, b.T) })
	merged := make([]record.Event, 0, len(evs)+len(mine))
	i := 0
	for _, e := range evs {
		for i < len(mine) && mine[i].T <= e.T {
			merged = append(merged, mine[i])
			i++
		}
		merged = append(merged, e)
	}
	merged = append(merged, mine[i:]...)
	w, err := record.CreateEventWriter(d.o.Out)
	if err != nil {
		return nil, err
	}
	for i := range merged {
		writeEvent(w, &merged[i])
	}
	if err := w.Close(); err != nil {
		return nil, err
	}

	f := record.Files{}
	if f.Summary, err = record.ReadSummary(raw); err != nil {
		return nil, err
	}
	if f.Cells, err = record.ReadCSV[record.CellRow](raw, record.CellsFile); err != nil {
		return nil, err
	}
	if f.Placements, err = record.ReadCSV[record.PlacementRow](raw, record.PlacementsFile); err != nil {
		return nil, err
	}
	for i := range f.Placements {
		f.Placements[i].ProcessGUID = name(f.Placements[i].ProcessGUID)
	}
	samples, err := record.ReadCSV[record.Sample](raw, record.TimeseriesFile)
	if err != nil {
		return nil, err
	}
	for _, s := range samples {
		if s.T >= d.t0 && s.T-d.t0 <= d.sc.Duration.Seconds()+1 {
			s.T = record.Round6(s.T - d.t0)
			f.Timeseries = append(f.Timeseries, s)
		}
	}
	der, err := record.Derive(d.o.Out, d.sc.Duration.Seconds())
	if err != nil {
		return nil, err
	}
	s := f.Summary
	s.Scenario, s.Mode, s.Seed, s.Algorithm = d.sc.Name, "real", d.sc.Seed, d.sc.Algorithm
	s.SimSeconds = d.sc.Duration.Seconds()
	s.Health.InstanceSecondsMissing = der.InstanceSecondsMissing
	s.Health.RestartsByCrashCount, s.Health.GivenUp, s.Health.Crashes = der.RestartsByCrashCount, der.GivenUp, der.Crashes
	s.Faults = make([]record.Fault, len(der.Faults))
	for i, f := range der.Faults {
		s.Faults[i] = record.Fault{At: record.Round6(f.At), Action: f.Action, Target: f.Target, RecoverySeconds: f.RecoverySeconds}
	}
	zones := map[string]bool{}
	for _, z := range d.zones {
		zones[z] = true
	}
	s.Cells, s.Zones = len(d.ids), len(zones)
	if s.Settings == nil {
		s.Settings = map[string]any{}
	}
	s.Settings["t0_cluster_seconds"] = record.Round6(d.t0)
	if d.o.Scale > 1 {
		s.Settings["scale"] = d.o.Scale
	}
	// The BBS's task tally also holds the pushes' staging tasks: the scenario's tasks
	// are counted from their events. The auction's counts are the scenario's batches
	// (the events since t0; the BBS's tally also holds the staging tasks' batches).
	s.Tasks = taskSummary(merged)
	a := record.AuctionSummary{WaitSeconds: s.Auction.WaitSeconds}
	var sizes []float64
	for _, e := range merged {
		if e.Type == record.TypeAuction {
			a.Batches++
			a.LRPsAuctioned += e.LRPs
			a.LRPsPlaced += e.LRPsPlaced
			a.LRPsFailed += e.LRPsFailed
			sizes = append(sizes, float64(e.LRPs+e.Tasks))
		}
	}
	a.BatchSize = record.PercentilesOf(sizes)
	s.Auction = a
	if s.Staging, err = d.stagingSummary(raw); err != nil {
		return nil, err
	}
	if err := record.WriteFiles(d.o.Out, &f); err != nil {
		return nil, err
	}
	return s, nil
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// writeEvent writes e through the record's writer (the one format both modes share).
func writeEvent(w *record.EventWriter, e *record.Event) {
	t := time.Duration(math.Round(e.T * float64(time.Second)))
	switch e.Type {
	case record.TypeActualLRP:
		w.WriteActualLRP(t, e.Change, record.ActualLRP{ProcessGUID: e.ProcessGUID, InstanceGUID: e.InstanceGUID, CellID: e.CellID,
			Index: e.Index, CrashCount: e.CrashCount, State: e.State, Presence: e.Presence, CrashReason: e.CrashReason,
			PlacementError: e.PlacementError})
	case record.TypeDesiredLRP:
		w.WriteDesiredLRP(t, e.Change, e.ProcessGUID, e.Instances)
	case record.TypeCell:
		w.WriteCell(t, e.CellID, e.Zone, e.State)
	case record.TypeAuction:
		w.WriteAuction(t, record.Auction{LRPs: e.LRPs, Tasks: e.Tasks, LRPsPlaced: e.LRPsPlaced, LRPsFailed: e.LRPsFailed,
			TasksPlaced: e.TasksPlaced, TasksFailed: e.TasksFailed, MeanWait: e.MeanWait})
	case record.TypeTimeline:
		w.WriteTimeline(t, e.Action, e.Target)
	case record.TypeTask:
		w.WriteTask(t, e.Change, record.Task{TaskGUID: e.TaskGUID, State: e.State, CellID: e.CellID,
			FailureReason: e.FailureReason, Failed: e.Failed, RejectionCount: e.RejectionCount})
	case record.TypeVersion:
		w.WriteVersion(t, e.ProcessGUID, e.Digest, e.Instances)
	}
	// Other types (none today) are not the scenario's.
}
