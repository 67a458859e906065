// Package converge is Diego's convergence (DIEGO.md §4) as a pure function and as an
// incremental tracker that produce the same plan.
//
// Compute(now, Input) scans a full snapshot (desired LRPs, actual LRPs, tasks, present
// cells, domains) and returns a Plan: plain data listing, step by step in the order of
// DIEGO.md §4, what the BBS must do. It is the reference: simple, O(everything).
//
// Tracker is the scalable version. The BBS notifies it of every write (ActualChanged,
// DesiredChanged, TaskChanged) and it keeps small indexes: unclaimed ORDINARY actuals by
// since, CRASHED ones by restart-due time, per-cell counts of the rows convergence looks
// at, process guids whose ORDINARY count differs from the desired instances or that have
// no desired LRP, and tasks by state. Plan(now, cells, src) derives the plan from those
// indexes and reads only the rows they point at through Source; a pass where nothing is
// due costs about the size of the cell list. The differential tests in model/bbs check
// Tracker.Plan == Compute on random histories.
//
// Invariants:
//   - every list in a Plan is sorted (actual keys by process guid then index, tasks and
//     cells by id), so plans compare with ==-style deep equality and are deterministic;
//   - Compute and Tracker share the per-row predicates (staleUnclaimed, restartDue, ...);
//     only the way rows are found differs;
//   - nothing here mutates its input, reads a clock or ranges over a map unsorted.
package converge
