package scenario_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/diegolab/diegolab/bench/fidelity"
	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/real/scenario"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// compareCalibrated calibrates the simulator from the live record in realDir (as
// `fidelity --calibrate` does), simulates seeds 1-10 with it under out/sim, compares
// them with the live run and writes fidelity.json and .html to out.
func compareCalibrated(t *testing.T, sc *scenarios.Scenario, realDir, out string, live *fidelity.Run) (*fidelity.Calibration, *fidelity.Report) {
	t.Helper()
	dur := sc.Duration.Seconds()
	cal, err := fidelity.Calibrate(sc, []string{realDir})
	if err != nil {
		t.Fatal(err)
	}
	var simRuns []*fidelity.Run
	for seed := uint64(1); seed <= 10; seed++ {
		s := *sc
		s.Seed = seed
		cal.Apply(&s)
		dir := filepath.Join(out, "sim", strconv.FormatUint(seed, 10))
		sm, err := sim.New(&s, sim.Options{OutDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sm.Run(); err != nil {
			t.Fatal(err)
		}
		r, err := fidelity.Measure(dir, dur)
		if err != nil {
			t.Fatal(err)
		}
		simRuns = append(simRuns, r)
	}
	rep := fidelity.Compare(sc.Name, dur, simRuns, []*fidelity.Run{live})
	if err := fidelity.Write(out, rep); err != nil {
		t.Fatal(err)
	}
	return cal, rep
}

// both is a scenario run in the simulator and live: each one's record directory and
// summary.
type both struct {
	sc              *scenarios.Scenario
	simDir, liveDir string
	simSum, liveSum *record.Summary
}

// simThenLive loads the scenario at path, checks that real mode takes it, and runs it
// in the simulator and then live (within 5 minutes).
func simThenLive(t *testing.T, path string) both {
	t.Helper()
	bin, workload := buildBinaries(t)
	sc, err := scenarios.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := scenario.Check(sc, scenario.DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	b := both{sc: sc, simDir: t.TempDir(), liveDir: t.TempDir()}
	sm, err := sim.New(sc, sim.Options{OutDir: b.simDir})
	if err != nil {
		t.Fatal(err)
	}
	if b.simSum, err = sm.Run(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if b.liveSum, err = scenario.Run(ctx, sc, scenario.Options{Out: b.liveDir, Binary: bin, Workload: workload, Log: testWriter{t}}); err != nil {
		t.Fatal(err)
	}
	return b
}
