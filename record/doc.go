// Package record defines diegolab's run record, the files every run leaves behind in its
// output directory whatever produced it (the simulator or a live cluster), and reads them
// back for reports, benchmarks and comparisons:
//
//	summary.json     the run's outcome (deterministic: no wall-clock figure)
//	perf.json        wall time, events per second, memory (not deterministic)
//	events.jsonl     one JSON object per state change, in order, "t" in seconds
//	cells.csv        each cell's final capacity and usage
//	placements.csv   final instances per (cell, process guid)
//	timeseries.csv   desired / running / crashed / ... sampled every 10 s of run time
//
// The schema is documented in docs/run-record.md. Writers format numbers with strconv
// (shortest round-trip form) and keep field order fixed, so the same run gives
// byte-identical files.
package record
