package bbsserver

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/record"
)

// The run record of a live cluster: the same files as a simulated run's (summary.json,
// events.jsonl, cells.csv, placements.csv, timeseries.csv), written by record's code, so
// that `diegolab report` and `compare` read both alike. events.jsonl is written as the
// plane drains; the rest comes from the store's rows and the cells' presences when
// asked (GET /v1/record, the BBS's shutdown), and timeseries.csv from a sample taken
// every SampleEvery of cluster time.

// rows is the store's state as the record needs it.
type rows struct {
	desired map[string]model.DesiredLRP
	actual  []model.ActualLRP
	tasks   []model.Task
}

func (s *Server) loadRows() (rows, error) {
	ds, err := s.store.ListDesiredLRPs()
	if err != nil {
		return rows{}, err
	}
	r := rows{desired: make(map[string]model.DesiredLRP, len(ds))}
	for _, d := range ds {
		r.desired[d.ProcessGUID] = d
	}
	if r.actual, err = s.store.ListActualLRPs(); err != nil {
		return rows{}, err
	}
	if r.tasks, err = s.store.ListTasks(); err != nil {
		return rows{}, err
	}
	return r, nil
}

// holds reports whether an instance row stands for a container on its cell.
func holds(a *model.ActualLRP) bool {
	return a.CellID != "" && (a.State == model.Claimed || a.State == model.Running)
}

// sample is one timeseries.csv line from the rows, with the figures the simulator
// reports: instances by state, running = desired indices with a running instance.
func (s *Server) sample(now time.Duration, r rows) record.Sample {
	smp := record.Sample{T: now.Seconds(), CellsUp: len(s.plane.PresentCells())}
	for _, d := range r.desired {
		smp.Desired += d.Instances
	}
	type key struct {
		guid  string
		index int
	}
	running := map[key]bool{}
	for i := range r.actual {
		a := &r.actual[i]
		switch a.Presence {
		case model.Ordinary:
			switch a.State {
			case model.Claimed:
				smp.Claimed++
			case model.Unclaimed:
				smp.Unclaimed++
			case model.Crashed:
				smp.Crashed++
			}
		case model.Suspect:
			if a.State == model.Running || a.State == model.Claimed {
				smp.Suspect++
			}
		case model.Evacuating:
			if a.State == model.Running {
				smp.Evacuating++
			}
		}
		if a.State == model.Running && a.Index < r.desired[a.ProcessGUID].Instances {
			running[key{a.ProcessGUID, a.Index}] = true
		}
		if holds(a) && s.plane.Present(a.CellID) {
			smp.MemoryUsedMB += r.desired[a.ProcessGUID].MemoryMB
		}
	}
	smp.Running = len(running)
	for i := range r.tasks {
		t := &r.tasks[i]
		switch t.State {
		case model.TaskPending:
			smp.TasksPending++
		case model.TaskRunning:
			smp.TasksRunning++
			if s.plane.Present(t.CellID) {
				smp.MemoryUsedMB += t.MemoryMB
			}
		}
	}
	return smp
}

// takeSample appends a timeseries sample when one is due. Called with mu held.
func (s *Server) takeSample(now time.Duration) error {
	if now < s.nextSample {
		return nil
	}
	r, err := s.loadRows()
	if err != nil {
		return err
	}
	s.samples = append(s.samples, s.sample(now, r))
	for s.nextSample <= now {
		s.nextSample += s.cfg.SampleEvery
	}
	return nil
}

// files builds the run record's summary and tables now. Called with mu held.
func (s *Server) files(now time.Duration) (*record.Files, error) {
	r, err := s.loadRows()
	if err != nil {
		return nil, err
	}
	ids := sortedCellIDs(s.cells)
	byCell := make(map[string]*record.CellRow, len(ids))
	cells := make([]record.CellRow, len(ids))
	zones := map[string]bool{}
	for i, id := range ids {
		c := s.cells[id]
		zones[c.Zone] = true
		cells[i] = record.CellRow{CellID: id, Zone: c.Zone, MemoryMB: c.Capacity.MemoryMB, DiskMB: c.Capacity.DiskMB,
			Containers: c.Capacity.Containers, State: record.CellDown}
		if s.plane.Present(id) {
			cells[i].State = record.CellUp
		}
		byCell[id] = &cells[i]
	}
	perApp := map[string]map[string]int{} // cell -> process guid -> instances
	for i := range r.actual {
		a := &r.actual[i]
		row, ok := byCell[a.CellID]
		if !ok || !holds(a) {
			continue
		}
		d := r.desired[a.ProcessGUID]
		row.MemoryUsedMB += d.MemoryMB
		row.DiskUsedMB += d.DiskMB
		row.ContainersUsed++
		row.Instances++
		if perApp[a.CellID] == nil {
			perApp[a.CellID] = map[string]int{}
		}
		perApp[a.CellID][a.ProcessGUID]++
	}
	for i := range r.tasks {
		t := &r.tasks[i]
		if row, ok := byCell[t.CellID]; ok && t.State == model.TaskRunning {
			row.MemoryUsedMB += t.MemoryMB
			row.DiskUsedMB += t.DiskMB
			row.ContainersUsed++
		}
	}
	var placements []record.PlacementRow
	for _, id := range ids {
		apps := perApp[id]
		for _, g := range slices.Sorted(maps.Keys(apps)) {
			placements = append(placements, record.PlacementRow{CellID: id, ProcessGUID: g, Instances: apps[g]})
		}
	}

	now0 := s.sample(now, r)
	sum := &record.Summary{Scenario: "live", Mode: "real", Algorithm: s.plane.Config().Algorithm,
		Settings: map[string]any{
			"convergence_interval_s": s.plane.Config().ConvergenceInterval.Seconds(),
			"presence_ttl_s":         s.plane.Config().PresenceTTL.Seconds(),
		},
		Cells: len(cells), Zones: len(zones), Apps: len(r.desired), DesiredInstances: now0.Desired,
		RunningInstances: now0.Running, PlacementFailures: maps.Clone(s.auctions.Failures()), Auction: s.auctions.Summary(),
		Faults: []record.Fault{}, SimSeconds: now.Seconds()}
	var mem, disk, cont []float64
	for _, c := range cells {
		mem = append(mem, used(c.MemoryMB, c.MemoryUsedMB))
		disk = append(disk, used(c.DiskMB, c.DiskUsedMB))
		cont = append(cont, used(c.Containers, c.ContainersUsed))
	}
	sum.Utilisation = record.Utilisation{Memory: record.SpreadOf(mem), Disk: record.SpreadOf(disk), Containers: record.SpreadOf(cont)}
	// Task outcomes since this BBS started; what is pending and running from the rows.
	sum.Tasks = s.tasks.Summary()
	sum.Tasks.Desired = s.tasks.Seen()
	sum.Tasks.PendingAtEnd, sum.Tasks.RunningAtEnd = now0.TasksPending, now0.TasksRunning
	sum.Health.ConvergencePasses = s.plane.BBS().Stats().ConvergePasses
	// The samples so far, and one for now: the timeline reaches the moment of the record.
	samples := slices.Clip(s.samples)
	if n := len(samples); n == 0 || samples[n-1].T < now0.T {
		samples = append(samples, now0)
	}
	return &record.Files{Summary: sum, Cells: cells, Placements: placements, Timeseries: samples}, nil
}

func used(total, used int) float64 {
	if total <= 0 {
		return 0
	}
	return float64(used) / float64(total)
}

// writeRecord writes the record files into the BBS's directory (beside events.jsonl).
// Called with mu held.
func (s *Server) writeRecord() error {
	f, err := s.files(s.now())
	if err != nil {
		return err
	}
	return record.WriteFiles(s.cfg.Dir, f)
}

// serveRecord answers GET /v1/record: the record's summary and tables as JSON
// (record.Files); with ?events=1, events.jsonl as written so far instead.
func (s *Server) serveRecord(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("events") != "" {
		s.serveEventsFile(w)
		return
	}
	var f *record.Files
	err := s.read(func(now time.Duration) error {
		var err error
		f, err = s.files(now)
		return err
	})
	if err != nil {
		reply(w, err, nil)
		return
	}
	reply(w, nil, f)
}

// serveEventsFile copies events.jsonl up to its size at the request: the drains append
// whole lines under mu, so that prefix ends at a line's end.
func (s *Server) serveEventsFile(w http.ResponseWriter) {
	s.mu.Lock()
	fi, err := s.events.Stat()
	s.mu.Unlock()
	if err != nil {
		reply(w, fmt.Errorf("events: %w", err), nil)
		return
	}
	f, err := os.Open(filepath.Join(s.cfg.Dir, record.EventsFile))
	if err != nil {
		reply(w, fmt.Errorf("events: %w", err), nil)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	_, _ = io.CopyN(w, f, fi.Size())
}
