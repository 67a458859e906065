package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/diegolab/diegolab/bench"
	"github.com/diegolab/diegolab/bench/queue"
	"github.com/diegolab/diegolab/bench/sweep"
)

// queueEnv names the environment variable that gives worker, status and collect their
// queue URL when --queue is not set (convenient in a batch script or a Pod spec).
const queueEnv = "DIEGOLAB_QUEUE"

// addDistCommands adds the subcommands that take a sweep beyond one machine
// (docs/distributed.md): worker, status, collect (the PostgreSQL queue) and merge
// (shards).
func addDistCommands(bench *cobra.Command) {
	bench.AddCommand(newBenchWorkerCmd(), newBenchStatusCmd(), newBenchCollectCmd(), newBenchMergeCmd())
}

// runBenchDist is `diegolab bench SPEC` with --shard or --queue.
func runBenchDist(cmd *cobra.Command, arg string, f benchFlags) error {
	if f.shard != "" && f.queue != "" {
		return usagef("--shard and --queue exclude each other: a shard runs its part here, --queue only enqueues")
	}
	if f.workers < 0 {
		return usagef("--workers must be >= 0, got %d", f.workers)
	}
	if f.records && f.queue == "" {
		return usagef("--records goes with --queue (a local run or a shard keeps the representative records in runs/)")
	}
	b, spec, err := sweep.NewBundle(arg, f.seeds)
	if err != nil {
		return usageError{err}
	}
	b.Records = f.records
	if f.queue != "" {
		return runEnqueue(cmd, b, spec, f.queue)
	}
	sh, err := sweep.ParseShard(f.shard)
	if err != nil {
		return usagef("--shard: %v", err)
	}
	if f.out == "" {
		f.out = filepath.Join("out", "bench", fmt.Sprintf("%s-shard-%d-of-%d", spec.Name, sh.I, sh.N))
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	o := bench.Options{Out: f.out, Workers: f.workers, Log: cmd.ErrOrStderr()}
	if !f.quiet && term.IsTerminal(int(os.Stderr.Fd())) {
		o.Progress = os.Stderr
	}
	if f.quiet {
		o.Log = nil
	}
	rep, err := sweep.RunShard(ctx, b, spec, sh, version, o)
	if err != nil {
		if rep == nil {
			return usageError{err}
		}
		return err
	}
	if rep.Interrupted {
		return fmt.Errorf("interrupted after %d of %d runs of shard %s; rerun to resume", rep.Skipped+rep.Done, rep.Total, sh)
	}
	if !f.quiet {
		fmt.Fprintf(cmd.OutOrStdout(), "bench %s shard %s: %d runs (%d new, %d already done) in %s -> %s\n",
			spec.Name, sh, rep.Total, rep.Done, rep.Skipped, rep.Wall.Round(time.Millisecond), rep.Out)
	}
	return nil
}

func runEnqueue(cmd *cobra.Command, b *sweep.Bundle, spec *bench.Spec, url string) error {
	ctx := cmd.Context()
	q, err := queue.Open(ctx, url)
	if err != nil {
		return err
	}
	defer q.Close()
	rep, err := q.Enqueue(ctx, b, spec, version)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "sweep %s: %s, %d runs (diegolab %s): %d enqueued now, %d already queued, %d already done\n",
		rep.Sweep, rep.Name, rep.Total, rep.Version, rep.Added, rep.Queued, rep.Done)
	return nil
}

func queueURL(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if env := os.Getenv(queueEnv); env != "" {
		return env, nil
	}
	return "", usagef("no queue: give --queue postgres://... or set %s", queueEnv)
}

func newBenchWorkerCmd() *cobra.Command {
	var (
		url         string
		workers     int
		rescueAfter time.Duration
		wait        bool
		id          string
		cpuProf     string
		prefetch    int
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Execute runs from a PostgreSQL work queue (any number of workers, on any machines)",
		Long: `worker takes runs enqueued by 'diegolab bench SPEC --queue URL' and executes them, -j at
a time, storing each run's result row (and the representative runs' records) in the
database. It exits when no run of its diegolab version is waiting or running (--wait:
it keeps waiting for more). Ctrl-C or SIGTERM stops taking runs and lets those in flight
finish; a second one kills the worker.

A worker killed mid-run loses nothing: River's rescuer hands the run to another worker
after --rescue-after (which must exceed the longest run, or slow runs are run twice;
their result is still written once). Runs enqueued by another diegolab build are not
taken: the run key includes the binary's version.

A worker claims --prefetch runs beyond -j, so that the next run starts the moment one
ends rather than after a round trip to the database; a claimed run waits for a slot
(count that wait in --rescue-after) and goes back to the queue if the worker is stopped.`,
		Args: cobra.NoArgs,
		Example: `  diegolab bench worker --queue postgres://bench@db/sweeps -j 8
  DIEGOLAB_QUEUE=postgres://bench@db/sweeps diegolab bench worker`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := queueURL(url)
			if err != nil {
				return err
			}
			if workers < 0 || workers > 4096 {
				return usagef("--workers must be 0..4096, got %d", workers)
			}
			if prefetch < 0 || prefetch > 4096 {
				return usagef("--prefetch must be 0..4096, got %d", prefetch)
			}
			if rescueAfter < time.Second {
				return usagef("--rescue-after must be at least 1s, got %s", rescueAfter)
			}
			// SIGTERM too: what Slurm and Kubernetes send before they kill.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				stop() // a second signal kills the process
			}()
			q, err := queue.Open(ctx, u)
			if err != nil {
				return err
			}
			defer q.Close()
			if workers == 0 {
				workers = defaultWorkers()
			}
			stopProf := startProfile(cpuProf, "")
			defer stopProf()
			o := queue.WorkerOptions{Version: version, Workers: workers, Prefetch: prefetch, RescueAfter: rescueAfter, Wait: wait, ID: id, Log: cmd.ErrOrStderr()}
			if prefetch == 0 {
				o.Prefetch = -1 // none
			}
			rep, err := q.Work(ctx, o)
			var ve *queue.VersionError
			if errors.As(err, &ve) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "worker: %d runs done, %d failed, %d duplicate attempts in %s\n", rep.Done, rep.Failed, rep.Duplicate, rep.Wall.Round(time.Millisecond))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&url, "queue", "", "PostgreSQL URL of the queue (default $"+queueEnv+")")
	fl.IntVarP(&workers, "workers", "j", 0, "runs at once (default: all cores, GOMAXPROCS)")
	fl.DurationVar(&rescueAfter, "rescue-after", time.Hour, "hand a run to another worker after it has been running this long (longer than the longest run)")
	fl.IntVar(&prefetch, "prefetch", 1, "runs claimed beyond -j, so that the next run starts as soon as one ends (0: none)")
	fl.BoolVar(&wait, "wait", false, "keep waiting for new runs when the queue is empty")
	fl.StringVar(&id, "id", "", "worker name stored with its results (default host-pid)")
	fl.StringVar(&cpuProf, "cpuprofile", "", "write a CPU profile of the worker (its runs and its queue work, to its exit) into this directory")
	return cmd
}

func newBenchStatusCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "status [SWEEP]",
		Short: "Show the progress and time left of the sweeps in a PostgreSQL work queue",
		Long: `status shows, per sweep (or for the one named by ID, ID prefix or spec name), the runs
done, running, waiting and failed, the rate of the last 10 minutes and the time left at
that rate, and the errors of failed runs.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := queueURL(url)
			if err != nil {
				return err
			}
			q, err := queue.Open(cmd.Context(), u)
			if err != nil {
				return err
			}
			defer q.Close()
			sel := ""
			if len(args) == 1 {
				sel = args[0]
			}
			sts, err := q.Status(cmd.Context(), sel)
			if err != nil {
				return usageError{err}
			}
			if len(sts) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "the queue holds no sweep")
			}
			for _, st := range sts {
				fmt.Fprint(cmd.OutOrStdout(), st.String())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "queue", "", "PostgreSQL URL of the queue (default $"+queueEnv+")")
	return cmd
}

func newBenchCollectCmd() *cobra.Command {
	var url, out string
	cmd := &cobra.Command{
		Use:   "collect [SWEEP] -o DIR",
		Short: "Write a finished queued sweep's results.csv, summaries and compare.html",
		Long: `collect writes a finished sweep (named by ID, ID prefix or spec name; optional when the
queue holds one sweep) into DIR exactly as a local 'diegolab bench SPEC -j 1' does:
results.csv and perf.csv in matrix order, runs/, summary.csv, summary.md, compare.html.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := queueURL(url)
			if err != nil {
				return err
			}
			if out == "" {
				return usagef("collect needs -o DIR")
			}
			q, err := queue.Open(cmd.Context(), u)
			if err != nil {
				return err
			}
			defer q.Close()
			sel := ""
			if len(args) == 1 {
				sel = args[0]
			}
			rep, err := q.Collect(cmd.Context(), sel, out, version, cmd.ErrOrStderr())
			if rep == nil && err != nil {
				return usageError{err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sweep %s: %s, %d runs -> %s\n", rep.Sweep, rep.Name, rep.Runs, rep.Out)
			return err
		},
	}
	cmd.Flags().StringVar(&url, "queue", "", "PostgreSQL URL of the queue (default $"+queueEnv+")")
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory")
	return cmd
}

func newBenchMergeCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "merge SHARD_DIR... -o DIR",
		Short: "Merge the shard directories of 'bench SPEC --shard I/N' into one bench directory",
		Long: `merge joins every shard of one spec (each written by 'diegolab bench SPEC --shard I/N
--out DIR', by the same diegolab build) into DIR: results.csv and perf.csv in matrix
order, runs/, summary.csv, summary.md and compare.html, the same files as one machine
running the whole spec with -j 1. A missing shard or run is an error naming it.`,
		Args:    cobra.MinimumNArgs(1),
		Example: `  diegolab bench merge out/shard-* -o out/merged`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("merge needs -o DIR")
			}
			var dirs []string
			for _, a := range args {
				if strings.TrimSpace(a) != "" {
					dirs = append(dirs, a)
				}
			}
			rep, err := sweep.Merge(dirs, out, cmd.ErrOrStderr())
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "bench %s: %d shards, %d runs -> %s\n", rep.Spec, rep.Shards, rep.Runs, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory")
	return cmd
}

// defaultWorkers is the number of runs a worker executes at once without -j.
func defaultWorkers() int { return max(1, runtime.GOMAXPROCS(0)) }
