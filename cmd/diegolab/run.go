package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/reports"
	"github.com/diegolab/diegolab/scenarios"
)

func init() { register(newRunCmd) }

type runFlags struct {
	seed      uint64
	seedSet   bool
	out       string
	quiet     bool
	algorithm string
	sets      []string
	noEvents  bool
	noReport  bool
	cpuProf   string
	memProf   string
	real      realFlags // --real (run_real.go)
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [SCENARIO]",
		Short: "Simulate a scenario and write its run record",
		Long: `Simulate a scenario (a TOML file, or the name of a shipped scenario; default
quickstart) and write the run record into --out (default out/<scenario name>):
summary.json, perf.json, events.jsonl, cells.csv, placements.csv, timeseries.csv
and report.html.

Shipped scenarios: ` + joinNames(scenarios.Shipped()),
		Args: cobra.MaximumNArgs(1),
		Example: `  diegolab run
  diegolab run scenarios/cell-crash.toml --seed 7
  diegolab run az-outage --set auction.bin_pack_first_fit_weight=0.5 --out /tmp/az`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.seedSet = cmd.Flags().Changed("seed")
			arg := "quickstart"
			if len(args) == 1 {
				arg = args[0]
			}
			if f.real.on {
				return runReal(cmd.OutOrStdout(), arg, f)
			}
			return runScenario(cmd.OutOrStdout(), arg, f)
		},
	}
	fl := cmd.Flags()
	fl.Uint64Var(&f.seed, "seed", 1, "run seed (overrides the scenario's run.seed)")
	fl.StringVarP(&f.out, "out", "o", "", "output directory (default out/<scenario name>)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print nothing on success")
	fl.StringVar(&f.algorithm, "algorithm", "", "placement algorithm (overrides the scenario's run.algorithm)")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario key, e.g. --set auction.bin_pack_first_fit_weight=0.5 (repeatable)")
	fl.BoolVar(&f.noEvents, "no-events", false, "do not write events.jsonl (large runs)")
	fl.BoolVar(&f.noReport, "no-report", false, "do not write report.html")
	fl.StringVar(&f.cpuProf, "cpuprofile", "", "write a CPU profile into this directory (go tool pprof)")
	fl.StringVar(&f.memProf, "memprofile", "", "write a heap profile into this directory at the end of the run")
	realFlagsOn(cmd, &f.real)
	return cmd
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}

// loadScenario resolves a scenario argument with the run flags' overrides.
func loadScenario(arg string, f runFlags) (*scenarios.Scenario, error) {
	overrides := slices.Clone(f.sets)
	if f.seedSet {
		overrides = append(overrides, "run.seed="+strconv.FormatUint(f.seed, 10))
	}
	if f.algorithm != "" {
		overrides = append(overrides, "run.algorithm="+strconv.Quote(f.algorithm))
	}
	sc, err := scenarios.Resolve(arg, overrides...)
	if err != nil {
		return nil, usageError{err}
	}
	return sc, nil
}

func runScenario(w io.Writer, arg string, f runFlags) error {
	t0 := time.Now()
	sc, err := loadScenario(arg, f)
	if err != nil {
		return err
	}
	load := time.Since(t0)
	out := f.out
	if out == "" {
		out = filepath.Join("out", sc.Name)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	prog := newSimProgress(sc.Name, sc.Duration, f.quiet)
	opts := sim.Options{OutDir: out, NoEvents: f.noEvents}
	if prog != nil {
		prog.building(scenarioSize(sc))
		opts.Progress = prog.update
	}
	s, err := sim.New(sc, opts)
	if err != nil {
		prog.done()
		return usageError{err}
	}
	stop := startProfile(f.cpuProf, f.memProf)
	start := time.Now()
	err = s.Start() // the instant 0: apps desired at the start
	prog.begin()
	var sum *record.Summary
	if err == nil {
		sum, err = s.Run()
	}
	if f.memProf != "" {
		runtime.GC() // a heap profile shows the heap as of the last GC: make it the end of the run
	}
	stop()
	prog.done()
	runtime.KeepAlive(s) // ... with the simulation still alive
	if err != nil {
		return fmt.Errorf("scenario %s (seed %d): %w", sc.Name, sc.Seed, err)
	}
	wall := time.Since(start)
	t0 = time.Now()
	if !f.noReport {
		if err := reports.WriteRunReport(out, ""); err != nil {
			return fmt.Errorf("report for %s: %w", out, err)
		}
	}
	if err := completePerf(out, load, time.Since(t0)); err != nil {
		return fmt.Errorf("perf.json in %s: %w", out, err)
	}
	if f.quiet {
		return nil
	}
	for _, warn := range sc.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
	printSummary(w, sum, wall, out)
	return nil
}

// printSummary prints the table a person reads after a run.
func printSummary(w io.Writer, s *record.Summary, wall time.Duration, dir string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "  %s\t%s\n", k, v) }
	fmt.Fprintf(tw, "scenario %s  seed %d  algorithm %s  trace %s\n", s.Scenario, s.Seed, s.Algorithm, s.TraceHash)
	row("cells", fmt.Sprintf("%d in %d zones", s.Cells, s.Zones))
	row("instances", fmt.Sprintf("%d desired, %d running (%d apps)", s.DesiredInstances, s.RunningInstances, s.Apps))
	if len(s.PlacementFailures) == 0 {
		row("placement failures", "none")
	} else {
		for _, k := range sortedByCount(s.PlacementFailures) {
			row("placement failures", fmt.Sprintf("%d x %s", s.PlacementFailures[k], k))
		}
	}
	u := s.Utilisation
	row("memory used", fmt.Sprintf("mean %.1f%%  stddev %.1f%%  cov %.3f", 100*u.Memory.Mean, 100*u.Memory.Stddev, u.Memory.CoV))
	row("disk used", fmt.Sprintf("mean %.1f%%  stddev %.1f%%  cov %.3f", 100*u.Disk.Mean, 100*u.Disk.Stddev, u.Disk.CoV))
	row("containers used", fmt.Sprintf("mean %.1f%%  stddev %.1f%%  cov %.3f", 100*u.Containers.Mean, 100*u.Containers.Stddev, u.Containers.CoV))
	row("tasks", fmt.Sprintf("%d desired, %d completed, %d failed, %d running, %d pending", s.Tasks.Desired, s.Tasks.Completed, s.Tasks.Failed, s.Tasks.RunningAtEnd, s.Tasks.PendingAtEnd))
	a := s.Auction
	row("auctions", fmt.Sprintf("%d batches, %d LRP + %d task placements, wait p50 %.2fs p99 %.2fs", a.Batches, a.LRPsPlaced, a.TasksPlaced, a.WaitSeconds.P50, a.WaitSeconds.P99))
	h := s.Health
	row("health", fmt.Sprintf("%d crashes, %.0f instance-seconds missing, %d cells lost, %d instances given up", h.Crashes, h.InstanceSecondsMissing, h.SuspectCells, h.GivenUp))
	if h.EvacuationsCompleted+h.EvacuationsTimedOut > 0 {
		row("evacuations", fmt.Sprintf("%d completed, %d timed out", h.EvacuationsCompleted, h.EvacuationsTimedOut))
	}
	const maxTimeline = 20 // a replayed trace can have tens of thousands
	for i, f := range s.Faults {
		if i == maxTimeline {
			row("timeline", fmt.Sprintf("... and %d more (every one is in summary.json \"faults\")", len(s.Faults)-maxTimeline))
			break
		}
		rec := "not recovered by the end"
		if f.RecoverySeconds != nil {
			rec = fmt.Sprintf("recovered in %.0fs", *f.RecoverySeconds)
		}
		row("timeline", fmt.Sprintf("%s at %s %s: %s", f.Action, time.Duration(f.At*float64(time.Second)), f.Target, rec))
	}
	simT := time.Duration(s.SimSeconds * float64(time.Second))
	rate := float64(s.Events) / wall.Seconds()
	row("events", fmt.Sprintf("%d in %s simulated, %s wall (%.2g events/s, %.0fx real time)", s.Events, simT, wall.Round(time.Millisecond), rate, s.SimSeconds/wall.Seconds()))
	row("run record", dir)
	tw.Flush()
}

func sortedByCount(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		if a < b {
			return -1
		}
		return 1
	})
	return keys
}
