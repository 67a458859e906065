// Package queue runs benchmark sweeps on any number of machines through a work queue
// in PostgreSQL, with River (riverqueue/river, pgx driver): Enqueue records a sweep (its
// spec bundle, see package sweep) and inserts one job per run of its matrix; Work
// executes jobs and stores each run's result row, perf row and, for the representative
// runs, the run record as a tar.gz; Status reports progress and time left; Collect
// writes what a local `diegolab bench` writes.
//
// Tables: River's own (river_job and friends, by rivermigrate), diegolab_sweep (one row
// per sweep: ID, spec name and hash, diegolab version, bundle, run count) and
// diegolab_result (one row per finished run, keyed by sweep and matrix index).
//
// Invariants:
//   - A run's identity is (sweep, matrix index), and the sweep ID hashes the spec
//     bundle and the binary's version: a changed spec or another build is another sweep.
//   - A worker takes jobs only from its own version's River queue (QueueName), and
//     refuses (VersionError) when only other versions' runs are waiting.
//   - The result of a run is written once: the row is inserted with ON CONFLICT DO
//     NOTHING in the transaction that completes the job (river.JobCompleteTx).
//   - A worker that dies mid-run loses nothing: its job stays running until River's
//     rescuer (on the elected leader among live workers) makes it retryable after
//     WorkerOptions.RescueAfter, and another worker runs it again; runs are
//     deterministic, so the retry gives the row the first attempt would have.
//   - A run whose simulation fails is cancelled, not retried; enqueueing the spec again
//     queues it again.
package queue
