// Package importer turns public cluster traces (../shared/traces, see its README) into
// diegolab scenario files: Alibaba DLRM 2025 (apps scaled over time, with a per-app
// max instances per cell), Alibaba openb 2023 (node capacities and a pod stream under
// workload inflation) and Azure v1 vmtable (tenant batches as apps with lifetimes).
//
// Invariants:
//   - Readers stream: one CSV record or text line at a time; per-app state is numbers,
//     never the raw rows.
//   - A malformed row is skipped and counted under its reason (Stats); it never stops
//     an import unless nothing usable remains.
//   - Output is deterministic: apps in first-appearance order, events sorted by time
//     then app, and the same inputs and options give byte-identical TOML.
//   - The written scenario loads with scenarios.Load (File.WriteFile checks it).
package importer
