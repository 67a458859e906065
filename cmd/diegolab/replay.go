package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/diegolab/diegolab/bench"
	"github.com/diegolab/diegolab/reports"
)

func init() { register(newReplayCmd) }

type replayFlags struct {
	out      string
	workers  int
	quiet    bool
	seeds    string
	policies string
	traces   string
}

func newReplayCmd() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay SPEC.toml",
		Short: "Replay trace pods through the auction, once each (the FGD paper's experiment)",
		Long: `replay runs a reproduction spec (docs/fgd.md): openb pod lists x policies x seeds
on the trace's nodes. Each run inflates the pods to tune x the cluster's GPUs
(sampling with replacement), shuffles them per seed and places them one at a time
through the auction; a pod that does not fit fails and is not retried. Trace paths
are relative to the working directory: run from the repository root. Writes into
--out (default out/replay/<spec name>):

  results.csv   one row per run: allocation ratios at 100 % arrived load (deterministic)
  curve.csv     one row per run and percent of arrived load: allocation per resource
  perf.csv      wall time and pods per second per run (machine-dependent)
  summary.md    GPU allocation at 100 % per trace and policy, beside the paper's
  curves.html   the allocation curves, one chart per trace`,
		Args: cobra.ExactArgs(1),
		Example: `  diegolab replay bench/fgd-reproduction.toml
  diegolab replay bench/fgd-reproduction.toml --traces default --seeds 42-44`,
		RunE: func(cmd *cobra.Command, args []string) error { return runReplay(cmd, args[0], f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "", "output directory (default out/replay/<spec name>)")
	fl.IntVarP(&f.workers, "workers", "j", 0, "parallel runs (default: all cores, GOMAXPROCS)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress and no summary on stdout")
	fl.StringVar(&f.seeds, "seeds", "", `seeds to run instead of the spec's, e.g. "42-44"`)
	fl.StringVar(&f.policies, "policies", "", "comma-separated subset of the spec's policies")
	fl.StringVar(&f.traces, "traces", "", "comma-separated subset of the spec's traces")
	return cmd
}

func runReplay(cmd *cobra.Command, path string, f replayFlags) error {
	spec, err := bench.LoadReproSpec(path)
	if err != nil {
		return usageError{err}
	}
	if f.seeds != "" {
		if spec.Seeds, err = bench.ParseSeeds(f.seeds); err != nil {
			return usagef("--seeds: %v", err)
		}
	}
	if f.policies != "" {
		if spec.Policies, err = subset("--policies", f.policies, spec.Policies); err != nil {
			return err
		}
	}
	if f.traces != "" {
		var names []string
		for _, t := range spec.Traces {
			names = append(names, t.Name)
		}
		keep, err := subset("--traces", f.traces, names)
		if err != nil {
			return err
		}
		var ts []bench.ReproTrace
		for _, t := range spec.Traces {
			for _, k := range keep {
				if t.Name == k {
					ts = append(ts, t)
				}
			}
		}
		spec.Traces = ts
	}
	out := f.out
	if out == "" {
		out = filepath.Join("out", "replay", spec.Name)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	total := len(spec.Traces) * len(spec.Policies) * len(spec.Seeds)
	n := 0
	start := time.Now()
	runs, err := bench.RunRepro(ctx, spec, f.workers, func(r bench.ReproRun) {
		n++
		if !f.quiet {
			p, _ := r.Result.At(100)
			fmt.Fprintf(cmd.ErrOrStderr(), "[%d/%d] %s %s seed %d: GPU %.2f %% at 100 %% arrived (%.1f s)\n", n, total, r.Trace, r.Policy, r.Seed, 100*p.GPU, r.Wall.Seconds())
		}
	})
	if err != nil {
		return err
	}
	wall := time.Since(start)
	cells := bench.SummarizeRepro(spec, runs)
	if err := bench.WriteRepro(out, spec, runs, cells); err != nil {
		return err
	}
	if err := writeCurves(filepath.Join(out, "curves.html"), spec, cells); err != nil {
		return err
	}
	if !f.quiet {
		fmt.Fprint(cmd.OutOrStdout(), bench.ReproMarkdown(spec, cells))
		fmt.Fprintf(cmd.OutOrStdout(), "\n%d runs in %s; results in %s\n", len(runs), wall.Round(time.Second), out)
	}
	return nil
}

func subset(flag, list string, all []string) ([]string, error) {
	var out []string
	for _, x := range strings.Split(list, ",") {
		x = strings.TrimSpace(x)
		found := false
		for _, a := range all {
			if a == x {
				found = true
			}
		}
		if !found {
			return nil, usagef("%s: %q is not in the spec (%s)", flag, x, strings.Join(all, ", "))
		}
		out = append(out, x)
	}
	return out, nil
}

func writeCurves(path string, spec *bench.ReproSpec, cells []bench.ReproCell) error {
	asset, err := reports.FindAsset()
	if err != nil {
		return err
	}
	var charts []reports.CurveChart
	for _, t := range spec.Traces {
		ch := reports.CurveChart{Title: t.Name, Subtitle: "GPU allocation ratio vs arrived GPU load, mean over seeds"}
		for _, c := range cells {
			if c.Trace == t.Name {
				ch.Series = append(ch.Series, reports.CurveSeries{Name: c.Policy, Y: c.CurveGPU})
			}
		}
		charts = append(charts, ch)
	}
	w, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := reports.RenderCurves(w, spec.Name, charts, asset); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
