package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/real/scenario"
	"github.com/diegolab/diegolab/reports"
	"github.com/diegolab/diegolab/scenarios"
)

// realFlags are run's flags for a live run (`diegolab run SCENARIO --real`).
type realFlags struct {
	on            bool
	workload      string
	dir           string
	keep          bool
	limits        scenario.Limits
	startOverhead time.Duration
	scale         string
	imageScale    float64
}

func realFlagsOn(cmd *cobra.Command, r *realFlags) {
	fl := cmd.Flags()
	d := scenario.DefaultLimits()
	fl.BoolVar(&r.on, "real", false, "run the scenario on a live cluster (root, runc) instead of simulating it: real/scenario")
	fl.StringVar(&r.workload, "workload", "", "--real: the workload program (default: workload next to this binary; make workload)")
	fl.StringVar(&r.dir, "cluster-dir", "", "--real: the cluster's directory (default: a temporary one)")
	fl.BoolVar(&r.keep, "keep-cluster-dir", false, "--real: keep the cluster's directory (logs) after the run")
	fl.IntVar(&r.limits.Cells, "max-cells", d.Cells, "--real: the most cells (reps) this machine runs")
	fl.IntVar(&r.limits.Instances, "max-instances", d.Instances, "--real: the most instances (containers) this machine runs at once")
	fl.DurationVar(&r.limits.Duration, "max-duration", d.Duration, "--real: the longest scenario run live")
	fl.Float64Var(&r.imageScale, "image-scale", 1, "--real: the fraction of their sizes the scenario's Docker images are built at (0 < s <= 1)")
	fl.DurationVar(&r.startOverhead, "start-overhead", 0, "--real: taken off each drawn start time (the container's own create and start cost)")
	fl.StringVar(&r.scale, "scale", "1", "--real: shrink the scenario's cell, app and task counts by this factor (>= 1), or auto: the least that fits --max-cells and --max-instances (docs/fidelity.md)")
}

// scaled applies --scale to sc (loaded by load with extra overrides): the shrunk
// scenario, its factor, and the overrides that shrink it.
func (r *realFlags) scaled(sc *scenarios.Scenario, load func(extra []string) (*scenarios.Scenario, error)) (*scenarios.Scenario, float64, []string, error) {
	f, err := scenario.ParseScale(r.scale)
	if err != nil {
		return nil, 0, nil, usagef("--scale: %v", err)
	}
	if f == 0 {
		if f, err = scenario.AutoScale(sc, r.limits, load); err != nil {
			return nil, 0, nil, usageError{err}
		}
	}
	extra := scenario.ScaleOverrides(sc, f)
	if len(extra) == 0 {
		return sc, f, nil, nil
	}
	s, err := load(extra)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("--scale %g (%s): %w", f, strings.Join(extra, " "), err)
	}
	return s, f, extra, nil
}

func runReal(w io.Writer, arg string, f runFlags) error {
	if f.cpuProf != "" || f.memProf != "" || f.noEvents {
		return usagef("--real takes no --cpuprofile, --memprofile or --no-events")
	}
	sc, err := loadScenario(arg, f)
	if err != nil {
		return err
	}
	sc, factor, extra, err := f.real.scaled(sc, func(extra []string) (*scenarios.Scenario, error) {
		g := f
		g.sets = append(slices.Clone(f.sets), extra...)
		return loadScenario(arg, g)
	})
	if err != nil {
		return err
	}
	if factor > 1 && !f.quiet {
		fmt.Fprintf(w, "scale %g: %s\n", factor, strings.Join(extra, " "))
	}
	if err := errors.Join(scenario.Check(sc, f.real.limits), scenario.CheckImages(sc, f.real.imageScale)); err != nil {
		return usageError{fmt.Errorf("scenario %s cannot run live:\n%w", sc.Name, err)}
	}
	out := f.out
	if out == "" {
		out = filepath.Join("out", sc.Name+"-real")
	}
	ctx, cancel := signalContext() // Ctrl-C: the cluster is taken down before returning
	defer cancel()
	var log io.Writer
	if !f.quiet {
		log = w
	}
	start := time.Now()
	sum, err := scenario.Run(ctx, sc, scenario.Options{Out: out, Dir: f.real.dir, Keep: f.real.keep, Workload: f.real.workload,
		Limits: f.real.limits, ImageScale: f.real.imageScale, StartOverhead: f.real.startOverhead, Log: log, Scale: factor})
	if err != nil {
		return fmt.Errorf("scenario %s (seed %d, real): %w", sc.Name, sc.Seed, err)
	}
	if !f.noReport {
		if err := reports.WriteRunReport(out, ""); err != nil {
			return fmt.Errorf("report for %s: %w", out, err)
		}
	}
	if !f.quiet {
		printSummary(w, sum, time.Since(start), out)
	}
	return nil
}
