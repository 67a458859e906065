package sim

import (
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/control"
	"github.com/diegolab/diegolab/model/rep"
	"github.com/diegolab/diegolab/record"
)

type faultMark struct {
	at       time.Duration
	action   string
	target   string
	baseline int // instances missing just before the fault
	recovery time.Duration
	done     bool
}

// metrics accumulates what summary.json and timeseries.csv report.
type metrics struct {
	zones        map[string]struct{}
	suspectCells map[string]struct{}

	auctions record.AuctionTally

	tasksDesired  int
	tasks         record.TaskTally
	taskDurations dist
	cellsUp       int
	memUsed       int // memory of the containers on live cells

	crashes              int
	restarts             map[string]int
	givenUp              int
	evacuationsCompleted int
	evacuationsTimedOut  int
	convergencePasses    int

	lastT       time.Duration
	lastMissing int
	missingInt  float64 // instance-seconds
	faults      []faultMark

	samples  sampleLog
	peakLive uint64 // bytes; perf.json only
	heap     heapGauge
}

func (m *metrics) init() {
	m.zones = map[string]struct{}{}
	m.suspectCells = map[string]struct{}{}
	m.restarts = map[string]int{}
}

func (m *metrics) auction(a *control.AuctionRound) { m.auctions.Add(a) }

// restart counts an instance re-auctioned after its c-th crash.
func (m *metrics) restart(c int) {
	key := strconv.Itoa(c)
	if c >= 8 {
		key = "8+"
	}
	m.restarts[key]++
}

func (m *metrics) fault(now time.Duration, action, target string, baseline int) {
	m.faults = append(m.faults, faultMark{at: now, action: action, target: target, baseline: baseline})
}

// integrate advances the missing-instance integral and the faults' recovery clocks.
func (m *metrics) integrate(now time.Duration, missing int) {
	if now > m.lastT {
		m.missingInt += float64(m.lastMissing) * (now - m.lastT).Seconds()
		m.lastT = now
	}
	m.lastMissing = missing
	for i := range m.faults {
		f := &m.faults[i]
		if !f.done && missing <= f.baseline {
			f.done, f.recovery = true, now-f.at
		}
	}
}

// gaugeStride: the live heap is looked at every gaugeStride-th sample. Even the cheap
// look (has a GC cycle ended?) goes through runtime/metrics, 130 ns: at every one of
// the CloudSim Plus equivalent's million samples, 3 % of its CPU. The live heap changes
// only when a cycle ends; a look sees the last cycle's, so of cycles that end between
// two looks only the last counts (as of cycles that end within one event already):
// peak_live_heap_bytes is the largest of those and the live heap at the end.
const gaugeStride = 64

func (s *Sim) sample(now time.Duration) {
	a := &s.apps
	if s.opts.OutDir != "" && s.m.samples.len()%gaugeStride == 0 {
		s.m.peakLive = max(s.m.peakLive, s.m.heap.liveHeap())
	}
	s.m.samples.add(record.Sample{
		T: now.Seconds(), Desired: a.desiredTotal, Running: a.runningKeys,
		Claimed:      a.counts[model.Ordinary][model.Claimed],
		Unclaimed:    a.counts[model.Ordinary][model.Unclaimed],
		Crashed:      a.counts[model.Ordinary][model.Crashed],
		Suspect:      a.counts[model.Suspect][model.Running] + a.counts[model.Suspect][model.Claimed],
		Evacuating:   a.counts[model.Evacuating][model.Running],
		TasksPending: s.m.tasks.Pending(), TasksRunning: s.m.tasks.Running(),
		CellsUp: s.m.cellsUp, MemoryUsedMB: s.m.memUsed,
	})
	if s.cm != nil {
		s.sampleCompute()
	}
}

// finish closes the books at the end of the run.
func (s *Sim) finish(end time.Duration) {
	s.m.integrate(end, s.apps.missing())
}

func (s *Sim) summary() *record.Summary {
	sc := s.sc
	cells := s.view.List()
	var mem, disk, cont []float64
	for _, c := range cells {
		mem = append(mem, usedFraction(c.Total.MemoryMB, c.Available.MemoryMB))
		disk = append(disk, usedFraction(c.Total.DiskMB, c.Available.DiskMB))
		cont = append(cont, usedFraction(c.Total.Containers, c.Available.Containers))
	}
	apps := 0
	for _, g := range sc.Apps {
		apps += g.Count
	}
	sum := &record.Summary{
		Scenario:  sc.Name,
		Mode:      "sim",
		Seed:      sc.Seed,
		Algorithm: sc.Algorithm,
		Settings: map[string]any{
			"starting_container_weight": sc.Auction.StartingContainerWeight,
			"bin_pack_first_fit_weight": sc.Auction.BinPackFirstFitWeight,
			"max_starting_containers":   sc.Auction.MaxStartingContainers,
			"proxy_memory_mb":           sc.Auction.ProxyMemoryMB,
			"convergence_interval_s":    sc.Timers.ConvergenceInterval.Seconds(),
			"presence_ttl_s":            sc.Timers.PresenceTTL.Seconds(),
		},
		TraceHash:         s.k.HashHex(),
		Cells:             len(s.cells),
		Zones:             len(s.m.zones),
		Apps:              apps,
		DesiredInstances:  s.apps.desiredTotal,
		RunningInstances:  s.apps.runningKeys,
		PlacementFailures: s.m.auctions.Failures(),
		Utilisation: record.Utilisation{
			Memory: spread(mem), Disk: spread(disk), Containers: spread(cont),
		},
		Tasks:   s.m.tasks.Summary(),
		Auction: s.m.auctions.Summary(),
		Health: record.Health{
			InstanceSecondsMissing: math.Round(s.m.missingInt*1000) / 1000,
			Crashes:                s.m.crashes,
			RestartsByCrashCount:   s.m.restarts,
			GivenUp:                s.m.givenUp,
			SuspectCells:           len(s.m.suspectCells),
			EvacuationsCompleted:   s.m.evacuationsCompleted,
			EvacuationsTimedOut:    s.m.evacuationsTimedOut,
			ConvergencePasses:      s.m.convergencePasses,
			InvalidTransitions:     refused(s.plane.BBS().Stats().Refused),
		},
		Faults:     []record.Fault{},
		Events:     s.k.Processed(),
		SimSeconds: sc.Duration.Seconds(),
		Staging:    s.stagingSummary(sc.Duration),
	}
	sum.Tasks.Desired, sum.Tasks.DurationSeconds = s.m.tasksDesired, s.m.taskDurations.Summary()
	if s.stg != nil {
		// Runs of one scenario with the image cache on and off are not replications.
		sum.Settings["docker_cache"] = sc.DockerCache
	}
	if s.cm != nil {
		sum.Compute = s.computeSummary()
	}
	for _, f := range s.m.faults {
		rf := record.Fault{At: f.at.Seconds(), Action: f.action, Target: f.target}
		if f.done {
			r := f.recovery.Seconds()
			rf.RecoverySeconds = &r
		}
		sum.Faults = append(sum.Faults, rf)
	}
	return sum
}

func usedFraction(total, avail int) float64 {
	if total <= 0 {
		return 0
	}
	return float64(total-avail) / float64(total)
}

func (s *Sim) writeRecord(sum *record.Summary, wall time.Duration) error {
	dir := s.opts.OutDir
	start := time.Now() // perf.json only
	files := record.Files{Summary: sum, Cells: s.CellRows(), Placements: s.PlacementRows(), TimeseriesParts: s.m.samples.parts()}
	if s.cm != nil {
		files.CellsCompute = s.cellComputeRows(files.Cells)
	}
	if err := record.WriteFiles(dir, &files); err != nil {
		return err
	}
	s.phases.Write = time.Since(start)
	s.m.peakLive = max(s.m.peakLive, liveHeap())
	perf := record.Perf{
		WallSeconds: wall.Seconds(), GoVersion: runtime.Version(),
		PeakLiveHeapBytes: s.m.peakLive, PeakRSSBytes: peakRSS(),
		Phases: &record.Phases{
			BuildSeconds: s.phases.Build.Seconds(), SimulateSeconds: s.phases.Simulate.Seconds(),
			WriteSeconds: s.phases.Write.Seconds(),
		},
	}
	if wall > 0 {
		perf.EventsPerSecond = float64(s.k.Processed()) / wall.Seconds()
		perf.SimToWallRatio = s.sc.Duration.Seconds() / wall.Seconds()
	}
	if sum.DesiredInstances > 0 {
		perf.BytesPerInstance = float64(s.m.peakLive) / float64(sum.DesiredInstances)
	}
	if err := record.WriteJSON(dir, record.PerfFile, perf); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}

// CellRows is the cells.csv content: every cell's capacity and current usage, in cell
// order. Valid after Run (or at any point during it).
func (s *Sim) CellRows() []record.CellRow {
	rows := make([]record.CellRow, 0, len(s.cells))
	for _, c := range s.cells {
		row := record.CellRow{
			CellID: c.ID, Zone: c.Zone, MemoryMB: c.Total.MemoryMB, DiskMB: c.Total.DiskMB,
			Containers: c.Total.Containers, State: c.stateName(),
		}
		for _, id := range c.sortedIDs() {
			ct := &s.containers.items[id]
			row.MemoryUsedMB += int(ct.mem)
			row.DiskUsedMB += int(ct.disk)
			row.ContainersUsed++
			if ct.Kind() == rep.LRP {
				row.Instances++
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// PlacementRows is the placements.csv content: instances per (cell, process guid), in
// cell order then guid order.
func (s *Sim) PlacementRows() []record.PlacementRow {
	var pl []record.PlacementRow
	var guids []string // one cell's LRP instances' process guids, sorted (reused)
	for _, c := range s.cells {
		guids = guids[:0]
		for _, id := range c.containers {
			if id < 0 {
				continue // a hole
			}
			if ct := &s.containers.items[id]; ct.Kind() == rep.LRP {
				guids = append(guids, s.apps.guid(ct.app))
			}
		}
		slices.Sort(guids)
		for i := 0; i < len(guids); {
			j := i + 1
			for j < len(guids) && guids[j] == guids[i] {
				j++
			}
			pl = append(pl, record.PlacementRow{CellID: c.ID, ProcessGUID: guids[i], Instances: j - i})
			i = j
		}
	}
	return pl
}

// Samples is the timeseries.csv content so far.
func (s *Sim) Samples() []record.Sample { return s.m.samples.all() }

func (c *cell) stateName() string {
	switch c.state {
	case cellCrashed:
		return record.CellCrashed
	case cellPartitioned:
		return record.CellPartitioned
	case cellEvacuating:
		return record.CellEvacuating
	case cellDown:
		return record.CellDown
	}
	return record.CellUp
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// refused totals the operations the BBS refused, over every kind.
func refused(byKind map[string]int) int {
	n := 0
	for _, k := range sortedKeys(byKind) {
		n += byKind[k]
	}
	return n
}
