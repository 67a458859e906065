package main

import (
	"time"

	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/record"
)

// processStart is (about) when the process started: package variables are set before
// main runs, after the runtime's own start-up of a millisecond or so.
var processStart = time.Now()

// completePerf adds to dir/perf.json what only the command knows: the scenario's load
// time, the report's write time, the whole process's wall time so far and its peak
// RSS after the report, and rewrites it.
func completePerf(dir string, load, report time.Duration) error {
	p, err := record.ReadPerf(dir)
	if err != nil {
		return err
	}
	if p.Phases == nil {
		p.Phases = &record.Phases{}
	}
	p.Phases.LoadSeconds = load.Seconds()
	p.Phases.ReportSeconds = report.Seconds()
	p.PeakRSSBytes = max(p.PeakRSSBytes, sim.PeakRSS())
	p.Phases.ProcessSeconds = time.Since(processStart).Seconds()
	return record.WriteJSON(dir, record.PerfFile, p)
}
