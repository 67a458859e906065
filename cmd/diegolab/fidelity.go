package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/bench"
	"github.com/diegolab/diegolab/bench/fidelity"
	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/real/scenario"
	"github.com/diegolab/diegolab/scenarios"
)

func init() { register(newFidelityCmd) }

type fidelityFlags struct {
	realRuns    int
	seeds       string
	out         string
	sets        []string
	realRecords []string
	real        realFlags
	strict      bool
	calibrate   bool
	startModel  string
}

func newFidelityCmd() *cobra.Command {
	var f fidelityFlags
	cmd := &cobra.Command{
		Use:   "fidelity SCENARIO",
		Short: "Run a scenario simulated (over seeds) and live, and compare them metric by metric",
		Long: `Simulate SCENARIO for every seed of --seeds, run it live --real-runs times
(root, runc; as 'diegolab run --real'), and write fidelity.json and fidelity.html
into --out: per metric the simulated mean and 95 % CI, the real mean and range, the
difference and a verdict against the metric's tolerance (docs/fidelity.md).
Live run i uses seed i of --seeds (cycling). --real-records compares existing live
records instead of running the cluster. --calibrate measures the live runs' start
overhead and auction wait, writes them as a [calibration] table (calibration.toml)
and simulates with it; --start-model says how the start cost is modelled (a per-cell
start queue, or first and later start distributions; auto: the closer fit). With --strict the command fails when a metric is off its
tolerance.`,
		Args: cobra.ExactArgs(1),
		Example: `  sudo diegolab fidelity scenarios/fidelity/cell-crash.toml --real-runs 2 --seeds 1-10 -o out/fidelity
  diegolab fidelity scenarios/fidelity/cell-crash.toml --real-records out/a,out/b --seeds 1-10`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFidelity(cmd.OutOrStdout(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.realRuns, "real-runs", 1, "live runs of the scenario")
	fl.StringVar(&f.seeds, "seeds", "1-10", "simulated seeds: a list and ranges, e.g. 1,5-9")
	fl.StringVarP(&f.out, "out", "o", "", "output directory (default out/fidelity-<scenario name>)")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario key (repeatable), in both modes")
	fl.StringSliceVar(&f.realRecords, "real-records", nil, "compare these live run records instead of running live")
	fl.BoolVar(&f.strict, "strict", false, "fail when a metric is off its tolerance")
	fl.BoolVar(&f.calibrate, "calibrate", false, "also measure the live runs' start overhead and auction wait and write calibration.toml (a [calibration] table)")
	fl.StringVar(&f.startModel, "start-model", fidelity.StartModelAuto, "with --calibrate, the start cost model: queue (per-cell start concurrency), overhead (first and later start distributions) or auto (the one closer to the live starts)")
	realFlagsOn(cmd, &f.real)
	_ = fl.MarkHidden("real") // fidelity always runs live (or reads --real-records)
	return cmd
}

// maxFidelitySeeds bounds --seeds (each seed is a simulation).
const maxFidelitySeeds = 1000

func runFidelity(w io.Writer, arg string, f fidelityFlags) error {
	if f.realRuns < 0 || f.realRuns > 20 {
		return usagef("--real-runs: want 0 to 20, got %d", f.realRuns)
	}
	seeds, err := bench.ParseSeeds(f.seeds)
	if err != nil {
		return usagef("--seeds: %v", err)
	}
	if len(seeds) == 0 || len(seeds) > maxFidelitySeeds {
		return usagef("--seeds: want 1 to %d seeds, got %d", maxFidelitySeeds, len(seeds))
	}
	var scaleSets []string // --scale's overrides, in both modes
	load := func(seed uint64) (*scenarios.Scenario, error) {
		sets := append(append(slices.Clone(f.sets), scaleSets...), "run.seed="+strconv.FormatUint(seed, 10))
		sc, err := scenarios.Resolve(arg, sets...)
		if err != nil {
			return nil, usageError{err}
		}
		return sc, nil
	}
	base, err := load(seeds[0])
	if err != nil {
		return err
	}
	base, factor, scaleSets, err := f.real.scaled(base, func(extra []string) (*scenarios.Scenario, error) {
		scaleSets = extra
		defer func() { scaleSets = nil }()
		return load(seeds[0])
	})
	if err != nil {
		return err
	}
	if factor > 1 {
		fmt.Fprintf(w, "scale %g in both modes: %s\n", factor, strings.Join(scaleSets, " "))
	}
	if len(f.realRecords) == 0 && f.realRuns > 0 {
		if err := errors.Join(scenario.Check(base, f.real.limits), scenario.CheckImages(base, f.real.imageScale)); err != nil {
			return usageError{fmt.Errorf("scenario %s cannot run live:\n%w", base.Name, err)}
		}
	}
	out := f.out
	if out == "" {
		out = filepath.Join("out", "fidelity-"+base.Name)
	}
	dur := base.Duration.Seconds()
	var simRuns, realRuns []*fidelity.Run
	dirs := f.realRecords
	if len(dirs) == 0 {
		sctx, cancel := signalContext()
		defer cancel()
		for i := range f.realRuns {
			seed := seeds[i%len(seeds)]
			sc, err := load(seed)
			if err != nil {
				return err
			}
			dir := filepath.Join(out, "real", "run-"+strconv.Itoa(i+1))
			fmt.Fprintf(w, "live run %d of %d (seed %d) -> %s\n", i+1, f.realRuns, seed, dir)
			if _, err := scenario.Run(sctx, sc, scenario.Options{Out: dir, Workload: f.real.workload, Limits: f.real.limits,
				ImageScale: f.real.imageScale, StartOverhead: f.real.startOverhead, Scale: factor}); err != nil {
				return fmt.Errorf("live run %d of %s: %w", i+1, sc.Name, err)
			}
			dirs = append(dirs, dir)
		}
	}
	for _, dir := range dirs {
		r, err := fidelity.Measure(dir, dur)
		if err != nil {
			return err
		}
		if r.Mode != "real" {
			return usagef("%s: mode %q, want a live run's record (mode real)", dir, r.Mode)
		}
		realRuns = append(realRuns, r)
	}
	var cal *fidelity.Calibration
	if f.calibrate && f.real.startOverhead > 0 {
		return usagef("--calibrate measures live runs without --start-overhead (the workload must wait its whole drawn start time)")
	}
	if f.calibrate {
		c, err := fidelity.Calibrate(base, dirs)
		if err != nil {
			return err
		}
		if err := c.ChooseStartModel(f.startModel); err != nil {
			return usagef("--start-model: %v", err)
		}
		cal = c
		t := c.TOML(arg)
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, "calibration.toml"), []byte(t), 0o644); err != nil {
			return err
		}
		fmt.Fprint(w, t)
	}
	for _, seed := range seeds {
		sc, err := load(seed)
		if err != nil {
			return err
		}
		if cal != nil {
			cal.Apply(sc)
		}
		dir := filepath.Join(out, "sim", "seed-"+strconv.FormatUint(seed, 10))
		s, err := sim.New(sc, sim.Options{OutDir: dir})
		if err != nil {
			return usageError{err}
		}
		if _, err := s.Run(); err != nil {
			return fmt.Errorf("scenario %s (seed %d): %w", sc.Name, seed, err)
		}
		r, err := fidelity.Measure(dir, dur)
		if err != nil {
			return err
		}
		simRuns = append(simRuns, r)
	}
	rep := fidelity.Compare(base.Name, dur, simRuns, realRuns)
	if cal != nil {
		rep.Calibration = cal
	}
	if err := fidelity.Write(out, rep); err != nil {
		return err
	}
	for _, r := range rep.Rows {
		if r.Verdict != "info" {
			fmt.Fprintf(w, "%-4s %-50s sim %-10s real %-10s allowed %s\n", r.Verdict, r.Metric, num(float64(r.SimMean)), num(float64(r.RealMean)), num(float64(r.Allowed)))
		}
	}
	fmt.Fprintf(w, "%d metric(s) off tolerance; %s, %s in %s\n", rep.Off, fidelity.JSONFile, fidelity.HTMLFile, out)
	if f.strict && rep.Off > 0 {
		return fmt.Errorf("fidelity %s: %d metric(s) off tolerance", base.Name, rep.Off)
	}
	return nil
}

func num(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }
