package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/diegolab/diegolab/bench"
)

// WorkerOptions control Work.
type WorkerOptions struct {
	Version string // this binary's version: only sweeps of this version are worked on
	Workers int    // runs at once (default 1)
	// Prefetch is how many runs the worker claims beyond Workers, so that when a run
	// ends the next one starts at once instead of after a round trip to the database:
	// 0 means the default, 1; negative means none. A claimed run waiting for a slot is
	// "running" in the queue like the others (River's rescue covers it if the worker
	// dies) and goes back to the queue at once when the worker is stopped.
	Prefetch int
	// RescueAfter is how long a run may stay running before River's rescuer (on the
	// elected leader among the workers) hands it to another worker: longer than the
	// longest run, or runs are done twice (the result is still written once). Default 1 h.
	RescueAfter time.Duration
	// Wait keeps the worker waiting for new runs when the queue is empty; without it
	// the worker returns once no run of its version is waiting or running anywhere.
	Wait bool
	ID   string    // River client ID (default host-pid); stored with each result
	Log  io.Writer // one line per run started and finished, and River's warnings; nil for none
}

// WorkReport says what Work did.
type WorkReport struct {
	Done, Failed, Duplicate int
	Wall                    time.Duration
}

// Work executes runs from the queue until it is empty (or, with Wait, until ctx is
// done). A run's result row, perf row and, for a representative run, its run record
// (tar.gz) are written in the same transaction that completes its job, once: a second
// attempt of a run already written (a rescue of a run that was only slow) writes
// nothing. When ctx is cancelled no new run starts and the runs in flight finish.
//
// Before it starts, Work checks what is queued: if nothing of its version waits but
// runs of other versions do, it returns a *VersionError naming them.
func (q *Queue) Work(ctx context.Context, o WorkerOptions) (*WorkReport, error) {
	start := time.Now()
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.RescueAfter <= 0 {
		o.RescueAfter = time.Hour
	}
	switch {
	case o.Prefetch == 0:
		o.Prefetch = 1
	case o.Prefetch < 0:
		o.Prefetch = 0
	}
	if o.ID == "" {
		host, _ := os.Hostname()
		o.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	queueName := QueueName(o.Version)
	pending, err := q.pendingByVersion(ctx)
	if err != nil {
		return nil, err
	}
	var others []error
	for _, p := range pending {
		if p.version != o.Version {
			others = append(others, &VersionError{Sweep: p.sweep, Name: p.name, SweepVersion: p.version, Version: o.Version})
		}
	}
	if len(others) > 0 && len(others) == len(pending) {
		return nil, errors.Join(others...)
	}
	for _, e := range others {
		fmt.Fprintf(logw, "worker %s: skipping: %v\n", o.ID, e)
	}
	if len(pending) == 0 && !o.Wait {
		fmt.Fprintf(logw, "worker %s: nothing queued for diegolab %s\n", o.ID, o.Version)
		return &WorkReport{Wall: time.Since(start)}, nil
	}

	tmp, err := os.MkdirTemp("", "diegolab-worker-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	w := &runWorker{q: q, o: o, tmp: tmp, log: logw, sweeps: map[string]*loadedSweep{},
		slots: make(chan struct{}, o.Workers), stop: ctx.Done()}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	client, err := river.NewClient(riverpgxv5.New(q.pool), &river.Config{
		ID: o.ID,
		// River claims a run per free slot of MaxWorkers; the Prefetch extra ones wait in
		// runWorker.Work for one of the o.Workers run slots.
		Queues:  map[string]river.QueueConfig{queueName: {MaxWorkers: o.Workers + o.Prefetch}},
		Workers: workers,
		// River's rescuer leaves alone a job whose timeout has not passed (or that has
		// none), so the timeout is the rescue horizon. A simulation does not watch its
		// context: a run past the timeout goes on, and the first of its attempts to
		// finish writes the result.
		JobTimeout:           o.RescueAfter,
		RescueStuckJobsAfter: o.RescueAfter,
		FetchCooldown:        5 * time.Millisecond,
		FetchPollInterval:    200 * time.Millisecond,
		MaxAttempts:          maxAttempts,
		Logger:               slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, err
	}
	// The client runs on its own context: cancelling ctx stops fetching (Stop) and
	// lets the runs in flight finish, rather than cancelling them.
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("queue: start worker: %w", err)
	}
	tick := time.NewTicker(emptyCheck)
	defer tick.Stop()
	var loopErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		// A worker with a run in hand has work: it asks the database only when idle.
		if o.Wait || w.active.Load() > 0 {
			continue
		}
		var left int
		if err := q.pool.QueryRow(ctx, leftQuery, queueName, Kind).Scan(&left); err != nil {
			if ctx.Err() == nil {
				loopErr = fmt.Errorf("queue: %w", err)
			}
			break
		}
		if left == 0 {
			break
		}
	}
	if err := client.Stop(context.WithoutCancel(ctx)); err != nil && loopErr == nil {
		loopErr = err
	}
	w.mu.Lock()
	rep := w.rep
	w.mu.Unlock()
	rep.Wall = time.Since(start)
	return &rep, loopErr
}

// leftQuery counts the runs of a queue that are still to be done: jobs not finalized
// whose result is not written. A job whose result is written but whose completion is
// still in River's completer (it batches them, up to 50 ms), or whose worker died
// between the two, has nothing left to do (a rescue of it only completes it). The
// states are listed (not "NOT IN the final ones") so that River's fetching index
// (state, queue, ...) finds the unfinished jobs without reading the finished ones: a
// sweep of 1,000 runs took 2.8 ms per check that way, 0.3 ms this way.
const leftQuery = `SELECT count(*) FROM river_job j
	WHERE j.state IN ('available', 'pending', 'retryable', 'running', 'scheduled') AND j.queue = $1 AND j.kind = $2
	AND NOT EXISTS (SELECT 1 FROM diegolab_result r WHERE r.sweep = j.args->>'sweep' AND r.idx = (j.args->>'index')::int)`

// emptyCheck is how often a worker asks whether the queue has emptied: a worker's last
// wait is up to one of these after the last run anywhere ends. At 250 ms that tail was
// a third of a 48-run sweep's wall time on 4 workers; the query is one index scan.
const emptyCheck = 50 * time.Millisecond

type pendingSweep struct {
	sweep, name, version string
}

// pendingByVersion lists the sweeps with runs waiting or running.
func (q *Queue) pendingByVersion(ctx context.Context) ([]pendingSweep, error) {
	rows, err := q.pool.Query(ctx, `SELECT s.id, s.name, s.version FROM diegolab_sweep s
		WHERE EXISTS (SELECT 1 FROM river_job j WHERE j.kind = $1 AND j.args @> jsonb_build_object('sweep', s.id)
			AND j.state NOT IN ('completed', 'cancelled', 'discarded'))
		ORDER BY s.created_at, s.id`, Kind)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pendingSweep, error) {
		var p pendingSweep
		return p, r.Scan(&p.sweep, &p.name, &p.version)
	})
}

// runWorker is the River worker of a run.
type runWorker struct {
	river.WorkerDefaults[runArgs]
	q   *Queue
	o   WorkerOptions
	tmp string
	log io.Writer

	// slots holds a token per run being simulated (capacity Workers): River hands
	// Work up to Workers + Prefetch jobs at once, and the extra ones wait here.
	slots  chan struct{}
	stop   <-chan struct{} // the worker is stopping: a job waiting for a slot goes back
	active atomic.Int32    // jobs in Work, waiting or running

	mu     sync.Mutex
	sweeps map[string]*loadedSweep
	rep    WorkReport
}

type loadedSweep struct {
	once    sync.Once
	spec    *bench.Spec
	runs    []bench.Run
	records bool // keep every run's record
	err     error
}

func (w *runWorker) sweep(ctx context.Context, id string) (*loadedSweep, error) {
	w.mu.Lock()
	ls := w.sweeps[id]
	if ls == nil {
		ls = &loadedSweep{}
		w.sweeps[id] = ls
	}
	w.mu.Unlock()
	ls.once.Do(func() {
		var s Sweep
		err := w.q.pool.QueryRow(ctx, "SELECT id, name, spec_hash, version, runs, created_at, bundle FROM diegolab_sweep WHERE id = $1", id).
			Scan(&s.ID, &s.Name, &s.SpecHash, &s.Version, &s.Runs, &s.Created, &s.bundle)
		if err != nil {
			ls.err = fmt.Errorf("sweep %s: %w", id, err)
			return
		}
		if s.Version != w.o.Version {
			ls.err = &VersionError{Sweep: s.ID, Name: s.Name, SweepVersion: s.Version, Version: w.o.Version}
			return
		}
		dir := filepath.Join(w.tmp, id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			ls.err = err
			return
		}
		ls.spec, ls.runs, ls.err = s.load(ctx, w.q, dir)
		ls.records = s.records
	})
	return ls, ls.err
}

func (w *runWorker) logf(format string, args ...any) {
	fmt.Fprintf(w.log, "worker %s: "+format+"\n", append([]any{w.o.ID}, args...)...)
}

// Work runs one job: the run at args.Index of the sweep's matrix.
func (w *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	w.active.Add(1)
	defer w.active.Add(-1)
	a := job.Args
	ls, err := w.sweep(ctx, a.Sweep)
	if err != nil {
		var ve *VersionError
		if errors.As(err, &ve) {
			return river.JobCancel(err) // cannot happen through QueueName; never compute it
		}
		return err
	}
	if a.Index < 0 || a.Index >= len(ls.runs) {
		return river.JobCancel(fmt.Errorf("run index %d outside the matrix of %d runs", a.Index, len(ls.runs)))
	}
	r := ls.runs[a.Index]
	// Only a later attempt (a rescue) can find its result written: a run with a result
	// is never enqueued, and River keeps a job unique while it waits or runs. A first
	// attempt skips the query (one round trip per run, a few percent of a short run);
	// the result's insert ignores a duplicate either way.
	var exists bool
	if job.Attempt > 1 {
		if err := w.q.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM diegolab_result WHERE sweep = $1 AND idx = $2)", a.Sweep, a.Index).Scan(&exists); err != nil {
			return err
		}
	}
	if exists {
		w.logf("%s: result already written, nothing to do (attempt %d)", r.Label(), job.Attempt)
		return nil // River's completer completes the job
	}
	// A prefetched job waits for a slot; when the worker stops first, it goes back to
	// the queue at once (a snooze: available again now, no attempt counted).
	select {
	case w.slots <- struct{}{}:
	case <-w.stop:
		return river.JobSnooze(0)
	}
	select {
	case <-w.stop: // both were ready: a stopped worker starts nothing new
		<-w.slots
		return river.JobSnooze(0)
	default:
	}
	// The slot is freed when the run ends (even by a panic, which River turns into a
	// failed attempt): the next run starts while this one's result is written.
	res, err := func() (*result, error) {
		defer func() { <-w.slots }()
		return w.run(r, ls, job.Attempt)
	}()
	if err != nil {
		return err
	}
	return w.write(ctx, job, res)
}

// run simulates r and packs its result (and its run record when kept).
func (w *runWorker) run(r bench.Run, ls *loadedSweep, attempt int) (*result, error) {
	w.logf("start %s (attempt %d)", r.Label(), attempt)
	t0 := time.Now()
	var recDir string
	var err error
	if ls.spec.Representative(r) || ls.records {
		if recDir, err = os.MkdirTemp(w.tmp, "record-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(recDir)
	}
	row, perf, err := bench.RunOne(r, ls.spec.Metrics, recDir)
	if err != nil {
		w.logf("failed %s: %v", r.Label(), err)
		w.mu.Lock()
		w.rep.Failed++
		w.mu.Unlock()
		return nil, river.JobCancel(fmt.Errorf("%s: %w", r.Label(), err)) // deterministic: it would fail again
	}
	res := &result{label: r.Label(), row: row, perf: perf, took: time.Since(t0)}
	if recDir != "" {
		if res.record, err = archiveDir(recDir); err != nil {
			return nil, fmt.Errorf("%s: archive run record: %w", r.Label(), err)
		}
	}
	return res, nil
}

type result struct {
	label     string
	row, perf []string
	record    []byte
	took      time.Duration
}

// write inserts res unless a result of the run is already written, in one statement
// (one round trip). The job is completed afterwards by River's completer, which
// batches completions (every 50 ms) when Work returns nil: a worker that dies between
// the two leaves a job running with its result written, and the attempt that River's
// rescue makes of it finds the result and only completes it. Either way the result is
// written once.
func (w *runWorker) write(ctx context.Context, job *river.Job[runArgs], res *result) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	tag, err := w.q.pool.Exec(ctx, `INSERT INTO diegolab_result (sweep, idx, label, row, perf, record, worker, job_id, attempt)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (sweep, idx) DO NOTHING`,
		job.Args.Sweep, job.Args.Index, res.label, res.row, res.perf, res.record, w.o.ID, job.ID, job.Attempt)
	if err != nil {
		return fmt.Errorf("%s: write result: %w", res.label, err)
	}
	w.mu.Lock()
	if tag.RowsAffected() == 1 {
		w.rep.Done++
	} else {
		w.rep.Duplicate++
	}
	w.mu.Unlock()
	if tag.RowsAffected() == 0 {
		w.logf("%s: another attempt wrote its result first; keeping that one", res.label)
		return nil
	}
	w.logf("done %s in %s (attempt %d)", res.label, res.took.Round(time.Millisecond), job.Attempt)
	return nil
}
