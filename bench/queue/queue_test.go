package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/diegolab/diegolab/bench"
	"github.com/diegolab/diegolab/bench/sweep"
	"github.com/diegolab/diegolab/internal/benchtest"
	"github.com/diegolab/diegolab/internal/pgtest"
)

const tinySpec = `name = "qtest"
seeds = "1-3"
algorithms = ["diego", "best-fit"]
[settings]
"auction.bin_pack_first_fit_weight" = [0, 0.5]
[[scenarios]]
file = "tiny.toml"
`

// writeSpec writes tinySpec (12 runs of benchtest.TinyScenario) into a fresh
// directory and returns the spec's path.
func writeSpec(t *testing.T) string {
	t.Helper()
	_, p := benchtest.WriteSpec(t, benchtest.TinyScenario, tinySpec)
	return p
}

var pg pgtest.Shared

// dbRuns numbers the databases of this test binary: a test run again on the same
// server (go test -count=N) gets a database of its own, not "already exists".
var dbRuns atomic.Int64

// createDB creates a database named after name on the package's server.
func createDB(t *testing.T, name string) string {
	t.Helper()
	return pg.Get(t).CreateDB(t, fmt.Sprintf("%s_%d", name, dbRuns.Add(1)))
}

// openQueue opens a queue in a database of its own on the package's server.
func openQueue(t *testing.T, db string) *Queue {
	t.Helper()
	q, err := Open(context.Background(), createDB(t, db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

// enqueued opens a queue in database db and enqueues tinySpec into it for diegolab
// "v1", with the seeds given ("": the spec's own).
func enqueued(t *testing.T, db, seeds string) (*Queue, *sweep.Bundle, *bench.Spec, *EnqueueReport) {
	t.Helper()
	q := openQueue(t, db)
	b, spec, err := sweep.NewBundle(writeSpec(t), seeds)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := q.Enqueue(context.Background(), b, spec, "v1")
	if err != nil {
		t.Fatal(err)
	}
	return q, b, spec, rep
}

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pg.Stop(); err != nil {
		println("pgtest:", err.Error())
	}
	os.Exit(code)
}

// TestEnqueueTwiceAddsNothing: the second enqueue of the same spec adds no job, and once
// runs are done, enqueueing counts them as done instead.
func TestEnqueueTwiceAddsNothing(t *testing.T) {
	q, b, spec, first := enqueued(t, "enqueue_twice", "")
	ctx := context.Background()
	if first.Total != 12 || first.Added != 12 || first.Queued != 0 {
		t.Fatalf("first enqueue: %+v, want 12 added", first)
	}
	second, err := q.Enqueue(ctx, b, spec, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if second.Sweep != first.Sweep || second.Added != 0 || second.Queued != 12 {
		t.Fatalf("second enqueue: %+v, want the same sweep, 0 added, 12 already queued", second)
	}
	var jobs int
	if err := q.pool.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = $1", Kind).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 12 {
		t.Errorf("%d jobs in river_job, want 12", jobs)
	}
	if _, err := q.Work(ctx, WorkerOptions{Version: "v1", Workers: 2}); err != nil {
		t.Fatal(err)
	}
	third, err := q.Enqueue(ctx, b, spec, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if third.Added != 0 || third.Done != 12 {
		t.Errorf("enqueue after the work: %+v, want 0 added, 12 done", third)
	}
	// Another version of the binary is another sweep with its own runs.
	other, err := q.Enqueue(ctx, b, spec, "v2")
	if err != nil {
		t.Fatal(err)
	}
	if other.Sweep == first.Sweep || other.Added != 12 {
		t.Errorf("enqueue by v2: %+v, want a new sweep with 12 runs", other)
	}
}

// TestWorkerOfAnotherVersionIsRefused: runs enqueued by v1 are not taken by a v2
// worker, which says why; a v1 worker then does them.
func TestWorkerOfAnotherVersionIsRefused(t *testing.T) {
	q, _, _, rep := enqueued(t, "version_refused", "1")
	ctx := context.Background()
	_, err := q.Work(ctx, WorkerOptions{Version: "v2"})
	var ve *VersionError
	if !errors.As(err, &ve) {
		t.Fatalf("v2 worker: %v, want a VersionError", err)
	}
	for _, want := range []string{rep.Sweep, "enqueued by diegolab v1", "this is diegolab v2", "use a diegolab built from v1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := q.Collect(ctx, "", t.TempDir(), "v2", nil); !errors.As(err, &ve) {
		t.Errorf("collect by v2: %v, want a VersionError", err)
	}
	st, err := q.Status(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].Waiting != 4 || st[0].Done != 0 {
		t.Fatalf("status after the refusal: %+v, want 4 waiting", st)
	}
	wr, err := q.Work(ctx, WorkerOptions{Version: "v1", Workers: 2})
	if err != nil || wr.Done != 4 {
		t.Fatalf("v1 worker: %+v, %v; want 4 done", wr, err)
	}
}

// TestCollectEqualsLocal: a sweep worked through the queue and collected gives the
// results.csv, summary.csv and summary.md of a local run with -j 1, byte for byte, and
// the representative run records for compare.html.
func TestCollectEqualsLocal(t *testing.T) {
	q := openQueue(t, "collect_local")
	ctx := context.Background()
	specPath := writeSpec(t)
	b, spec, err := sweep.NewBundle(specPath, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Collect(ctx, "", t.TempDir(), "v1", nil); err == nil || !strings.Contains(err.Error(), "no sweep") {
		t.Errorf("collect of an empty queue: %v", err)
	}
	if _, err := q.Enqueue(ctx, b, spec, "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Collect(ctx, "", t.TempDir(), "v1", nil); err == nil || !strings.Contains(err.Error(), "not finished") {
		t.Errorf("collect before the work: %v, want not finished", err)
	}
	var log bytes.Buffer
	wr, err := q.Work(ctx, WorkerOptions{Version: "v1", Workers: 2, Log: &log})
	if err != nil || wr.Done != 12 || wr.Failed != 0 {
		t.Fatalf("work: %+v, %v\n%s", wr, err, log.String())
	}
	st, err := q.Status(ctx, "qtest")
	if err != nil || len(st) != 1 || st[0].Done != 12 || st[0].Running+st[0].Waiting+st[0].Failed != 0 {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if !strings.Contains(st[0].String(), "12 of 12 runs done (100.0 %)") {
		t.Errorf("status text:\n%s", st[0].String())
	}
	out := t.TempDir()
	if _, err := q.Collect(ctx, "qtest", out, "v1", nil); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	lspec, err := bench.LoadSpec(specPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bench.Execute(ctx, lspec, bench.Options{Out: local, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{bench.ResultsFile, bench.SummaryCSV, bench.SummaryMD} {
		a, errA := os.ReadFile(filepath.Join(local, f))
		c, errC := os.ReadFile(filepath.Join(out, f))
		if errA != nil || errC != nil || !bytes.Equal(a, c) {
			t.Errorf("%s differs between the local run and the collected sweep (%v, %v)\nlocal:\n%s\ncollected:\n%s", f, errA, errC, a, c)
		}
	}
	for _, f := range []string{bench.CompareHTML, bench.PerfFile, filepath.Join(bench.RunsDir, "tiny__best-fit__auction.bin_pack_first_fit_weight=0.5", "summary.json")} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("collected %s missing or empty: %v", f, err)
		}
	}
}

// TestRecordsOfEveryRun: a sweep enqueued with Records keeps every run's record, and
// collect unpacks them into records/; it is another sweep than the same spec without.
func TestRecordsOfEveryRun(t *testing.T) {
	q := openQueue(t, "records")
	ctx := context.Background()
	b, spec, err := sweep.NewBundle(writeSpec(t), "1-2")
	if err != nil {
		t.Fatal(err)
	}
	plain := sweep.ID(b, "v1")
	b.Records = true
	if sweep.ID(b, "v1") == plain {
		t.Errorf("records do not change the sweep ID")
	}
	if _, err := q.Enqueue(ctx, b, spec, "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Work(ctx, WorkerOptions{Version: "v1", Workers: 2}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := q.Collect(ctx, "", out, "v1", nil); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(out, RecordsDir))
	if err != nil || len(entries) != 8 {
		t.Fatalf("records/: %d entries, %v; want 8", len(entries), err)
	}
	for _, e := range entries {
		if st, err := os.Stat(filepath.Join(out, RecordsDir, e.Name(), "summary.json")); err != nil || st.Size() == 0 {
			t.Errorf("%s: no summary.json (%v)", e.Name(), err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, RecordsDir, "tiny__diego__auction.bin_pack_first_fit_weight=0__seed-2", "cells.csv")); err != nil {
		t.Errorf("the record of seed 2 has no cells.csv: %v", err)
	}
}

// TestResultWrittenOnce: a run whose result is already in the database (written by an
// earlier attempt) is completed without being run or written again.
func TestResultWrittenOnce(t *testing.T) {
	q, _, spec, rep := enqueued(t, "written_once", "1")
	ctx := context.Background()
	runs, _ := spec.Expand()
	row := append([]string{runs[0].Scenario, runs[0].Algorithm, runs[0].Settings, "1", "first-attempt"}, make([]string, len(bench.ResultsHeader(spec.Metrics))-5)...)
	perf := make([]string, len(bench.PerfHeader()))
	if _, err := q.pool.Exec(ctx, `INSERT INTO diegolab_result (sweep, idx, label, row, perf, worker, job_id, attempt)
		VALUES ($1, 0, 'x', $2, $3, 'earlier', 0, 1)`, rep.Sweep, row, perf); err != nil {
		t.Fatal(err)
	}
	// The earlier attempt was rescued: the job's next fetch is its second attempt
	// (only a later attempt looks for a written result before running).
	if tag, err := q.pool.Exec(ctx, `UPDATE river_job SET attempt = 1 WHERE kind = $1 AND (args->>'index')::int = 0`, Kind); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("mark run 0 as once attempted: %v, %v", tag, err)
	}
	var log bytes.Buffer
	wr, err := q.Work(ctx, WorkerOptions{Version: "v1", Log: &log})
	if err != nil || wr.Done != 3 {
		t.Fatalf("work: %+v, %v", wr, err)
	}
	if !strings.Contains(log.String(), "result already written, nothing to do") {
		t.Errorf("worker log does not say the run was skipped:\n%s", log.String())
	}
	var hash, worker string
	if err := q.pool.QueryRow(ctx, "SELECT row[5], worker FROM diegolab_result WHERE sweep = $1 AND idx = 0", rep.Sweep).Scan(&hash, &worker); err != nil {
		t.Fatal(err)
	}
	if hash != "first-attempt" || worker != "earlier" {
		t.Errorf("result of run 0 was overwritten: %s by %s", hash, worker)
	}
	var left int
	if err := q.pool.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE state <> 'completed'").Scan(&left); err != nil || left != 0 {
		t.Errorf("%d jobs not completed (%v)", left, err)
	}
}

// TestReadyAfterSetup: a fresh database is not ready (Open must create the tables
// under the lock); after one Open it is, so the next workers skip the lock. A database
// with diegolab's tables but River's migrations rolled back one step is not ready.
func TestReadyAfterSetup(t *testing.T) {
	url := createDB(t, "ready")
	ctx := context.Background()
	bare, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if ok, err := (&Queue{pool: bare}).ready(ctx); err != nil || ok {
		t.Fatalf("fresh database: ready = %v, %v; want false, nil", ok, err)
	}
	q, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if ok, err := q.ready(ctx); err != nil || !ok {
		t.Fatalf("after Open: ready = %v, %v; want true, nil", ok, err)
	}
	m, err := q.migrator()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{MaxSteps: 1}); err != nil {
		t.Fatal(err)
	}
	if ok, err := q.ready(ctx); err != nil || ok {
		t.Fatalf("one River migration unapplied: ready = %v, %v; want false, nil", ok, err)
	}
	q2, err := Open(ctx, url) // migrates up again under the lock
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	if ok, err := q2.ready(ctx); err != nil || !ok {
		t.Fatalf("after the second Open: ready = %v, %v; want true, nil", ok, err)
	}
}

// cancelOnWriter cancels a context when a line containing what is written to it.
type cancelOnWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	what   string
	cancel context.CancelFunc
}

func (c *cancelOnWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.Contains(string(p), c.what) {
		c.cancel()
	}
	return c.buf.Write(p)
}

// TestStopReturnsPrefetchedRun: a worker at -j 1 with a prefetch of 2 holds up to 3
// runs; stopped during its first run, it finishes that one, runs none of the others
// and leaves no job running: the prefetched ones are waiting in the queue again, not
// counted as attempts, and a second worker does them.
func TestStopReturnsPrefetchedRun(t *testing.T) {
	q, _, _, _ := enqueued(t, "stop_prefetched", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logw := &cancelOnWriter{what: ": start ", cancel: cancel}
	wr, err := q.Work(ctx, WorkerOptions{Version: "v1", Workers: 1, Prefetch: 2, Log: logw})
	if err != nil {
		t.Fatal(err)
	}
	if wr.Done != 1 {
		t.Errorf("stopped worker: %+v, want 1 run done (the one in flight)\n%s", wr, logw.buf.String())
	}
	if n := strings.Count(logw.buf.String(), ": start "); n != 1 {
		t.Errorf("stopped worker started %d runs, want 1:\n%s", n, logw.buf.String())
	}
	ctx2 := context.Background()
	var running, waiting, attempted, returned int
	if err := q.pool.QueryRow(ctx2, `SELECT count(*) FILTER (WHERE state = 'running'), count(*) FILTER (WHERE state = 'available'),
		count(*) FILTER (WHERE attempt > 0 AND state <> 'completed'), count(*) FILTER (WHERE metadata ? 'snoozes')
		FROM river_job WHERE kind = $1`, Kind).Scan(&running, &waiting, &attempted, &returned); err != nil {
		t.Fatal(err)
	}
	// River's first fetch claims 3 runs, the 2 prefetched ones went back (and maybe one
	// more that River claimed in the slot the first run freed before the worker stopped).
	if running != 0 || waiting != 11 || attempted != 0 || returned < 2 {
		t.Errorf("after the stop: %d running, %d available, %d unfinished with an attempt counted, %d given back; want 0, 11, 0, at least 2",
			running, waiting, attempted, returned)
	}
	wr, err = q.Work(ctx2, WorkerOptions{Version: "v1", Workers: 2})
	if err != nil || wr.Done != 11 {
		t.Fatalf("second worker: %+v, %v; want 11 done", wr, err)
	}
}
