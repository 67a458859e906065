// Package sweep splits a benchmark matrix over machines without a shared store: a
// Bundle carries a spec with the scenario files it reads, so any process loads the
// identical matrix, and its Hash and ID name it; a Shard is a deterministic 1/N of the
// matrix for a batch system's array job (Slurm job arrays, Kubernetes Indexed Jobs);
// Merge joins the shards' directories into what one machine would have written.
//
// Invariants:
//   - Run i of the matrix (Spec.Expand order, from 0) belongs to shard i mod N.
//   - Merged results.csv and perf.csv are in matrix order, which is what a local run
//     with -j 1 writes; summaries are computed by bench.Finish from the same rows, so
//     a merge's summary.csv and summary.md are byte-identical to a local run's.
//   - Shards of different specs (bundle hash) or binaries (version) never merge.
//
// Package queue (bench/queue) uses Bundle for its PostgreSQL work queue.
package sweep
