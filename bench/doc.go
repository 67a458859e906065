// Package bench runs benchmark matrices of placement algorithms: scenarios (files, or
// generated families such as workload inflation) x algorithms x a settings grid x seeds,
// one deterministic simulation per worker goroutine, and reduces them to per-run metrics
// (results.csv), wall-clock figures (perf.csv) and per-cell means with Student-t 95 %
// confidence intervals (summary.csv, summary.md), plus an HTML comparison of one
// representative run per cell.
//
// Invariants:
//   - A run in a matrix is the same simulation as `diegolab run` with the same scenario,
//     overrides, algorithm and seed: Run.Args gives those, and results.csv carries the
//     trace hash to check it.
//   - results.csv holds only deterministic figures; anything measured with a clock goes
//     to perf.csv.
//   - results.csv is appended and flushed one row per finished run, so an interrupted
//     matrix keeps its rows and a rerun skips them (keyed by scenario, algorithm,
//     settings, seed).
//   - Rows appear in completion order; summaries are computed in matrix order, so they
//     do not depend on the number of workers.
//
// Replays (replay.go, reproduction.go) are the other kind of matrix: the FGD paper's
// experiment, trace pods placed once each through the auction with no simulation
// around it (RunReplay; `diegolab replay`, docs/fgd.md). Their results.csv is written
// once the matrix is complete, and is deterministic like a simulation's.
//
// The metrics are defined in docs/bench.md; sub-package importer turns public traces
// into scenario files.
package bench
