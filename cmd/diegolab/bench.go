package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/diegolab/diegolab/bench"
	"github.com/diegolab/diegolab/scenarios"
)

func init() { register(newBenchCmd) }

type benchFlags struct {
	out     string
	workers int
	quiet   bool
	seeds   string
	cpuProf string
	memProf string
	shard   string // I/N: one part of the matrix (bench_dist.go)
	queue   string // PostgreSQL URL: enqueue instead of run (bench_dist.go)
	records bool   // with queue: keep every run's record
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench [SPEC.toml]",
		Short: "Run a benchmark matrix of placement algorithms with confidence intervals",
		Long: `bench runs a benchmark spec (a TOML file, or the name of a shipped spec; default
quick): scenarios x algorithms x settings grid x seeds, one simulation per core, and
writes into --out (default out/bench/<spec name>):

  results.csv   one row per run (deterministic metrics and the trace hash)
  perf.csv      wall-clock figures per run (machine-dependent)
  summary.csv   per scenario x algorithm x setting: mean and 95 % CI over seeds
  summary.md    the same as markdown tables
  compare.html  HTML comparison of one run per algorithm x setting (runs/)

A rerun skips the runs already in results.csv; Ctrl-C stops after the runs in flight
and keeps every finished row. The spec format and the metrics are in docs/bench.md.

Beyond one machine (docs/distributed.md): --shard I/N runs run i of the matrix when
i mod N = I, and 'bench merge' joins the shards; --queue postgres://... enqueues every
run in a PostgreSQL work queue that 'bench worker' processes on any number of machines
execute, 'bench status' follows and 'bench collect' turns into the same files.

Shipped specs: ` + strings.Join(bench.Shipped(), ", ") + `

'diegolab bench scale' runs the scale experiment (docs/performance.md).`,
		Args: cobra.MaximumNArgs(1),
		Example: `  diegolab bench
  diegolab bench algorithms-1000 --out /tmp/a1000
  diegolab bench my-spec.toml --seeds 1-3 -q
  diegolab bench my-spec.toml --shard 0/4 --out out/shard-0
  diegolab bench my-spec.toml --queue postgres://bench@db/sweeps`,
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := "quick"
			if len(args) == 1 {
				arg = args[0]
			}
			return runBench(cmd, arg, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "", "output directory (default out/bench/<spec name>)")
	fl.IntVarP(&f.workers, "workers", "j", 0, "parallel simulations (default: all cores, GOMAXPROCS)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar and no summary on stdout")
	fl.StringVar(&f.seeds, "seeds", "", `seeds to run instead of the spec's, e.g. "1-3,7"`)
	fl.StringVar(&f.cpuProf, "cpuprofile", "", "write a CPU profile of the whole matrix into this directory")
	fl.StringVar(&f.memProf, "memprofile", "", "write a heap profile at the end into this directory")
	fl.StringVar(&f.shard, "shard", "", "run only shard I of N of the matrix (I/N, I from 0; docs/distributed.md)")
	fl.StringVar(&f.queue, "queue", "", "enqueue the runs in this PostgreSQL work queue (postgres://...) instead of running them")
	fl.BoolVar(&f.records, "records", false, "with --queue: store every run's record in the database (collect puts them in records/)")
	cmd.AddCommand(newBenchScaleCmd(), newBenchAuctionStateCmd())
	addDistCommands(cmd)
	return cmd
}

func runBench(cmd *cobra.Command, arg string, f benchFlags) error {
	if f.shard != "" || f.queue != "" || f.records {
		return runBenchDist(cmd, arg, f)
	}
	spec, err := bench.ResolveSpec(arg)
	if err != nil {
		return usageError{err}
	}
	if f.seeds != "" {
		if spec.Seeds, err = bench.ParseSeeds(f.seeds); err != nil {
			return usagef("--seeds: %v", err)
		}
	}
	if f.workers < 0 {
		return usagef("--workers must be >= 0, got %d", f.workers)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills the process
	}()
	o := bench.Options{Out: f.out, Workers: f.workers, Log: cmd.ErrOrStderr()}
	if !f.quiet && term.IsTerminal(int(os.Stderr.Fd())) {
		o.Progress = os.Stderr
	}
	if f.quiet {
		o.Log = nil
	}
	stopProf := startProfile(f.cpuProf, f.memProf)
	rep, err := bench.Execute(ctx, spec, o)
	stopProf()
	if err != nil {
		if rep == nil {
			return usageError{err}
		}
		return err
	}
	if rep.Interrupted {
		return fmt.Errorf("interrupted after %d of %d runs; rerun to resume", rep.Skipped+rep.Done, rep.Total)
	}
	if f.quiet {
		return nil
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "bench %s: %d runs (%d new, %d already done) in %s -> %s\n", spec.Name, rep.Total, rep.Done, rep.Skipped, rep.Wall.Round(1e6), rep.Out)
	md, err := os.ReadFile(rep.Out + "/" + bench.SummaryMD)
	if err == nil {
		fmt.Fprint(w, string(md))
	}
	return nil
}

type scaleFlags struct {
	cells    []int
	perCell  int
	duration string
	out      string
	cloudsim bool
	cpuProf  string
	memProf  string
	// hugePages: ask for transparent huge pages on the heap (bench.ScaleOptions).
	hugePages bool
	// profileFrom: start the profile at this simulated time instead of at the start.
	profileFrom string
	quiet       bool
}

func newBenchScaleCmd() *cobra.Command {
	var f scaleFlags
	cmd := &cobra.Command{
		Use:   "scale",
		Short: "Measure wall time, events/s and memory per instance from 100 to 10,000 cells",
		Long: `scale simulates Diego's 250k-test mix (scenarios/diego-250k-mix.toml) scaled to each
--cells size at --per-cell instances per cell (250: 100 cells = 25,000 instances,
10,000 cells = 2,500,000), one size at a time, and reports wall time, events/s, the
simulated-to-wall ratio and the peak live heap (runtime/metrics, sampled
every 100 ms) per instance and per cell, plus bytes allocated (TotalAlloc). With
--cloudsim it runs bench/cloudsimplus-equivalent.toml instead. Results go to stdout
and, with --out, to a CSV file. "warm-up" is the wall time of the first simulated hour
(every instance placed and started, the crashing apps' first crashes); "s/sim-h" the
wall seconds per simulated hour after it.

On Linux the heap is backed by transparent huge pages where the system allows it: a
multi-gigabyte run reads its heap at random and 4 KiB pages make most cache misses TLB
misses too. Before a size starts, about 1 KB per instance of fresh heap is advised
(madvise(MADV_HUGEPAGE)) before anything touches it; every 10 s of wall time the heap's
newer mappings are advised and collapsed (MADV_COLLAPSE). --hugepages=false measures
without. Results do not depend on it.`,
		Args: cobra.NoArgs,
		Example: `  diegolab bench scale --cells 100,1000 --duration 1h
  diegolab bench scale --cells 10000 --duration 24h --cpuprofile /tmp/prof
  diegolab bench scale --cells 10000 --duration 3h --cpuprofile /tmp/prof --profile-from 1h
  diegolab bench scale --cloudsim --duration 24h`,
		RunE: func(cmd *cobra.Command, args []string) error { return runScale(cmd, f) },
	}
	fl := cmd.Flags()
	fl.IntSliceVar(&f.cells, "cells", []int{100, 1000, 10000}, "cell counts to measure")
	fl.IntVar(&f.perCell, "per-cell", 250, "app instances per cell (the 250k mix has 250)")
	fl.StringVar(&f.duration, "duration", "1h", "simulated time per size (the goal is 24h)")
	fl.StringVarP(&f.out, "out", "o", "", "also write the rows to this CSV file")
	fl.BoolVar(&f.cloudsim, "cloudsim", false, "measure the CloudSim Plus equivalent scenario instead")
	fl.StringVar(&f.cpuProf, "cpuprofile", "", "write a CPU profile into this directory")
	fl.StringVar(&f.memProf, "memprofile", "", "write a heap profile into this directory")
	fl.BoolVar(&f.hugePages, "hugepages", true, "back the heap with transparent huge pages (Linux)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress line on stderr (there is none when stderr is not a terminal)")
	fl.StringVar(&f.profileFrom, "profile-from", "", "start --cpuprofile/--memprofile when the first size's simulated clock reaches this time (1h: the steady state only)")
	return cmd
}

func runScale(cmd *cobra.Command, f scaleFlags) error {
	var from time.Duration
	if f.profileFrom != "" {
		d, err := time.ParseDuration(f.profileFrom)
		if err != nil || d < 0 {
			return usageError{fmt.Errorf("--profile-from %q: want a simulated time such as 1h or 30m", f.profileFrom)}
		}
		if f.cpuProf == "" && f.memProf == "" {
			return usageError{fmt.Errorf("--profile-from needs --cpuprofile or --memprofile")}
		}
		from = d
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	var scs []*scenarios.Scenario
	if f.cloudsim {
		sc, err := bench.CloudSimEquivalent("run.duration=" + strconv.Quote(f.duration))
		if err != nil {
			return usageError{err}
		}
		scs = append(scs, sc)
	} else {
		for _, n := range f.cells {
			ov, err := bench.DiegoMixOverrides(n, f.perCell, f.duration)
			if err != nil {
				return usageError{err}
			}
			ov = append(ov, "run.name="+strconv.Quote(fmt.Sprintf("diego-mix-%d", n)))
			sc, err := scenarios.LoadShipped("diego-250k-mix", ov...)
			if err != nil {
				return usageError{err}
			}
			scs = append(scs, sc)
		}
	}
	w := cmd.OutOrStdout()
	const rowFmt = "%-18s %7s %10s %10s %9s %11s %11s %9s %9s %12s %11s %9s %9s %13s %9s %9s\n"
	fmt.Fprintf(w, rowFmt, "scenario", "cells", "instances", "running", "sim", "wall", "events", "events/s", "sim/wall", "live heap MB", "B/instance", "KB/cell", "alloc GB", "end B/inst", "warm-up", "s/sim-h")
	var rows []bench.ScaleRow
	var at func()
	stopProf := func() {}
	if f.profileFrom == "" {
		stopProf = startProfile(f.cpuProf, f.memProf)
	} else {
		at = func() { stopProf = startProfile(f.cpuProf, f.memProf) }
	}
	defer func() { stopProf() }()
	for _, sc := range scs {
		prog := newSimProgress(sc.Name, sc.Duration, f.quiet)
		opts := bench.ScaleOptions{HugePages: f.hugePages, At: at, AtSim: from}
		if prog != nil {
			prog.building(scenarioSize(sc))
			opts.ProgressEvery = progressRedraw
			opts.Progress = func(p bench.ScaleProgress) {
				if p.Simulated == 0 {
					return // still building: the line says so
				}
				if prog.start.IsZero() {
					prog.begin()
				}
				prog.update(p.Simulated)
			}
		}
		r, err := bench.MeasureScale(ctx, sc, opts)
		prog.done()
		if err != nil {
			return err
		}
		rows = append(rows, r)
		at = nil // the profile started in the first size (or never)
		fmt.Fprintf(w, rowFmt, r.Scenario, strconv.Itoa(r.Cells), strconv.Itoa(r.Instances), strconv.Itoa(r.Running),
			time.Duration(r.SimSeconds*float64(time.Second)).String(), r.Wall.Round(time.Millisecond).String(), strconv.FormatUint(r.Events, 10),
			fmt.Sprintf("%.3g", r.EventsPerSecond()), fmt.Sprintf("%.0f", r.SimToWall()), fmt.Sprintf("%.0f", float64(r.PeakLiveHeap)/(1<<20)),
			fmt.Sprintf("%.0f", r.BytesPerInstance()), fmt.Sprintf("%.1f", r.BytesPerCell()/1024), fmt.Sprintf("%.2f", float64(r.TotalAlloc)/(1<<30)),
			fmt.Sprintf("%.0f", r.EndLivePerInstance()), r.WarmupWall.Round(100*time.Millisecond).String(), fmt.Sprintf("%.2f", r.SteadyPerSimHour()))
	}
	if f.out != "" {
		return bench.WriteScaleCSV(f.out, rows)
	}
	return nil
}
