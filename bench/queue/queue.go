package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/diegolab/diegolab/bench"
	"github.com/diegolab/diegolab/bench/sweep"
)

// Kind is the River job kind of a benchmark run.
const Kind = "diegolab_bench_run"

// runArgs are a job's arguments: the sweep and the run's index in its matrix. River's
// uniqueness covers both, so a run is queued at most once while it is waiting, running
// or done (a failed run may be queued again).
type runArgs struct {
	Sweep string `json:"sweep" river:"unique"`
	Index int    `json:"index" river:"unique"`
	Label string `json:"label"` // for people reading river_job
}

func (runArgs) Kind() string { return Kind }

// QueueName is the River queue of a diegolab version: a worker takes jobs only from
// its own version's queue, so runs enqueued by another build wait for workers of that
// build instead of being computed by different code.
func QueueName(version string) string {
	h := sha256.Sum256([]byte(version))
	return "diegolab_" + hex.EncodeToString(h[:6])
}

// setupLock is the advisory lock key that serialises schema set-up between processes.
const setupLock = 0x64696567 // "dieg"

const schema = `
CREATE TABLE IF NOT EXISTS diegolab_sweep (
	id         text PRIMARY KEY,
	name       text NOT NULL,
	spec_hash  text NOT NULL,
	version    text NOT NULL,
	bundle     bytea NOT NULL,
	runs       integer NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS diegolab_result (
	sweep       text NOT NULL REFERENCES diegolab_sweep (id) ON DELETE CASCADE,
	idx         integer NOT NULL,
	label       text NOT NULL,
	row         text[] NOT NULL,
	perf        text[] NOT NULL,
	record      bytea,
	worker      text NOT NULL,
	job_id      bigint NOT NULL,
	attempt     integer NOT NULL,
	finished_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (sweep, idx)
);
CREATE INDEX IF NOT EXISTS diegolab_result_finished ON diegolab_result (sweep, finished_at);
`

// Queue is a connection to the work queue's database.
type Queue struct {
	pool *pgxpool.Pool
}

// Open connects to the PostgreSQL database at url and creates River's tables and
// diegolab's (diegolab_sweep, diegolab_result) when missing, under an advisory lock so
// that many workers starting at once do it once.
func Open(ctx context.Context, url string) (*Queue, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("queue URL: %w (want postgres://user@host/db or a key=value string)", err)
	}
	cfg.MaxConns = max(cfg.MaxConns, 8)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	q := &Queue{pool: pool}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := q.setup(cctx); err != nil {
		pool.Close()
		return nil, err
	}
	return q, nil
}

func (q *Queue) setup(ctx context.Context) error {
	// Every worker opens the queue when it starts; once the tables exist it need not
	// queue behind the others for the set-up lock (on this machine that wait was
	// 80-250 ms per process, one process after another).
	if ok, err := q.ready(ctx); err != nil {
		return err
	} else if ok {
		return nil
	}
	// A session lock on a connection of its own: River's migrations each run in their
	// own transaction (one adds an enum value that the next statements use).
	conn, err := q.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("queue: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", setupLock); err != nil {
		return fmt.Errorf("queue: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", setupLock)
	m, err := q.migrator()
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("queue: River's tables: %w", err)
	}
	if _, err := conn.Exec(ctx, schema); err != nil {
		return fmt.Errorf("queue: diegolab's tables: %w", err)
	}
	return nil
}

// ready says whether River's migrations are all applied and diegolab's tables (the
// last object the schema creates) exist, without taking the set-up lock.
func (q *Queue) ready(ctx context.Context) (bool, error) {
	var tables bool
	if err := q.pool.QueryRow(ctx, "SELECT to_regclass('diegolab_result_finished') IS NOT NULL").Scan(&tables); err != nil {
		return false, fmt.Errorf("queue: connect: %w", err)
	}
	if !tables {
		return false, nil
	}
	m, err := q.migrator()
	if err != nil {
		return false, err
	}
	v, err := m.Validate(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("queue: River's tables: %w", err)
	}
	return v.OK, nil
}

func (q *Queue) migrator() (*rivermigrate.Migrator[pgx.Tx], error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil)) // Validate logs what is unapplied at info
	return rivermigrate.New(riverpgxv5.New(q.pool), &rivermigrate.Config{Logger: quiet})
}

// Close closes the connections.
func (q *Queue) Close() { q.pool.Close() }

// EnqueueReport says what Enqueue did.
type EnqueueReport struct {
	Sweep   string // sweep ID
	Name    string
	Total   int // runs in the matrix
	Added   int // jobs inserted now
	Queued  int // already waiting or running
	Done    int // already have a result
	Version string
}

// Enqueue records the sweep (the bundle, under sweep.ID(b, version)) and inserts one
// job per run of spec's matrix that has no result yet. It is idempotent: River's
// unique jobs skip runs already waiting or running, so enqueueing again adds only the
// runs that are missing (never done, or failed).
func (q *Queue) Enqueue(ctx context.Context, b *sweep.Bundle, spec *bench.Spec, version string) (*EnqueueReport, error) {
	runs, err := spec.Expand()
	if err != nil {
		return nil, err
	}
	data, err := b.Marshal()
	if err != nil {
		return nil, err
	}
	id := sweep.ID(b, version)
	rep := &EnqueueReport{Sweep: id, Name: spec.Name, Total: len(runs), Version: version}
	client, err := river.NewClient(riverpgxv5.New(q.pool), &river.Config{})
	if err != nil {
		return nil, err
	}
	err = pgx.BeginFunc(ctx, q.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO diegolab_sweep (id, name, spec_hash, version, bundle, runs)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`, id, spec.Name, b.Hash(), version, data, len(runs)); err != nil {
			return fmt.Errorf("queue: sweep: %w", err)
		}
		done := map[int]bool{}
		rows, err := tx.Query(ctx, "SELECT idx FROM diegolab_result WHERE sweep = $1", id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var i int
			if err := rows.Scan(&i); err != nil {
				return err
			}
			done[i] = true
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rep.Done = len(done)
		opts := &river.InsertOpts{Queue: QueueName(version), MaxAttempts: maxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
		var batch []river.InsertManyParams
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			res, err := client.InsertManyTx(ctx, tx, batch)
			if err != nil {
				return fmt.Errorf("queue: insert jobs: %w", err)
			}
			for _, r := range res {
				if r.UniqueSkippedAsDuplicate {
					rep.Queued++
				} else {
					rep.Added++
				}
			}
			batch = batch[:0]
			return nil
		}
		for i, r := range runs {
			if done[i] {
				continue
			}
			batch = append(batch, river.InsertManyParams{Args: runArgs{Sweep: id, Index: i, Label: r.Label()}, InsertOpts: opts})
			if len(batch) == 1000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// maxAttempts bounds how often a run is tried: a worker killed mid-run (machine lost,
// out of memory) costs an attempt; after this many the job is discarded and `bench
// status` reports it. A run whose simulation fails is cancelled at once (it would fail
// the same way again).
const maxAttempts = 5

// Sweep is a row of diegolab_sweep.
type Sweep struct {
	ID, Name, SpecHash, Version string
	Runs                        int
	Created                     time.Time
	bundle                      []byte
	records                     bool // every run's record is kept (Bundle.Records)
}

// Sweeps lists the sweeps in the database, oldest first.
func (q *Queue) Sweeps(ctx context.Context) ([]Sweep, error) {
	rows, err := q.pool.Query(ctx, "SELECT id, name, spec_hash, version, runs, created_at FROM diegolab_sweep ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Sweep, error) {
		var s Sweep
		err := r.Scan(&s.ID, &s.Name, &s.SpecHash, &s.Version, &s.Runs, &s.Created)
		return s, err
	})
}

// Find returns the sweep that sel names: an ID, a prefix of one, or a spec name; with
// sel empty, the only sweep. Several matches, or none, are an error that lists them.
func (q *Queue) Find(ctx context.Context, sel string) (*Sweep, error) {
	all, err := q.Sweeps(ctx)
	if err != nil {
		return nil, err
	}
	var match []Sweep
	for _, s := range all {
		if sel == "" || s.Name == sel || s.ID == sel || (len(sel) >= 4 && len(sel) < len(s.ID) && s.ID[:len(sel)] == sel) {
			match = append(match, s)
		}
	}
	list := func(ss []Sweep) string {
		out := ""
		for _, s := range ss {
			out += fmt.Sprintf("\n  %s  %s (%d runs, diegolab %s, enqueued %s)", s.ID, s.Name, s.Runs, s.Version, s.Created.UTC().Format(time.RFC3339))
		}
		return out
	}
	switch {
	case len(all) == 0:
		return nil, errors.New("the queue holds no sweep: enqueue one with diegolab bench SPEC --queue URL")
	case len(match) == 0:
		return nil, fmt.Errorf("no sweep is named %q; the queue holds:%s", sel, list(all))
	case len(match) > 1:
		return nil, fmt.Errorf("%d sweeps match %q: name one by its ID:%s", len(match), sel, list(match))
	}
	s := match[0]
	if err := q.pool.QueryRow(ctx, "SELECT bundle FROM diegolab_sweep WHERE id = $1", s.ID).Scan(&s.bundle); err != nil {
		return nil, err
	}
	return &s, nil
}

// load materialises the sweep's bundle in dir and expands its matrix, checking that it
// still has the number of runs it was enqueued with.
func (s *Sweep) load(ctx context.Context, q *Queue, dir string) (*bench.Spec, []bench.Run, error) {
	if s.bundle == nil {
		if err := q.pool.QueryRow(ctx, "SELECT bundle FROM diegolab_sweep WHERE id = $1", s.ID).Scan(&s.bundle); err != nil {
			return nil, nil, fmt.Errorf("sweep %s: %w", s.ID, err)
		}
	}
	b, err := sweep.UnmarshalBundle(s.bundle)
	if err != nil {
		return nil, nil, fmt.Errorf("sweep %s: %w", s.ID, err)
	}
	if b.Hash() != s.SpecHash {
		return nil, nil, fmt.Errorf("sweep %s: its bundle hashes to %.12s, not %.12s", s.ID, b.Hash(), s.SpecHash)
	}
	spec, err := b.Load(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("sweep %s: %w", s.ID, err)
	}
	s.records = b.Records
	runs, err := spec.Expand()
	if err != nil {
		return nil, nil, fmt.Errorf("sweep %s: %w", s.ID, err)
	}
	if len(runs) != s.Runs {
		return nil, nil, fmt.Errorf("sweep %s: the spec expands to %d runs here, %d when it was enqueued", s.ID, len(runs), s.Runs)
	}
	return spec, runs, nil
}

// VersionError is a sweep enqueued by another diegolab build than the one asked to work
// on it or collect it.
type VersionError struct {
	Sweep, Name, SweepVersion, Version string
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("sweep %s (%s) was enqueued by diegolab %s, and this is diegolab %s: its run keys include the binary's version so that results of different code never mix; use a diegolab built from %s, or enqueue the spec again with this one",
		e.Sweep, e.Name, e.SweepVersion, e.Version, e.SweepVersion)
}
