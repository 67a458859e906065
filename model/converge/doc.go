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
// due costs about the size of the cell list. The stale-unclaimed and crashed-restart
// lists, the ones that are long in a steady state, read no row at all: the queues hold
// exactly the rows those predicates accept by their since (see below), and the desired
// instances are in the guid's record. They are sorted by an integer window of each guid
// past the prefix the list's guids share, strings compared only on ties (sortKeys),
// which gives the order of compareKey exactly. The differential tests in model/bbs
// check Tracker.Plan == Compute on random histories.
//
// The tracker's write path is built for millions of rows: every process guid is interned
// to a small id (the run's shared model.GUIDs id when the BBS hands the tracker that
// table, UseGUIDs: a block guid is then found from its address, and the tracker keeps no
// map of millions of strings; else an id of its own map) whose one record (guidTable)
// holds the desired instances, the ORDINARY and
// SUSPECT counts, the membership bits of the mismatch/orphan sets and, per instance
// index, the key's positions in the unclaimed and crashed queues (index 0's inside the
// record, so a single-instance app's queue moves read nothing else). A write therefore costs
// one guid lookup (plus one cell lookup when a row enters or leaves a cell), and none when
// the caller passes the GUIDHint it keeps for the guid (ActualChangedHint, or
// ActualChangedHints with the CellHints of the old and new rows' cells: the BBS keeps them
// in the MemStore's proc and cell index, so an operation probes no map of the tracker;
// the tracker checks a hint against the name, so a stale one only costs the lookup). A
// start (ORDINARY CLAIMED -> RUNNING on one cell) reads no record at all while no SUSPECT
// row runs anywhere (Tracker.neutral). Queue items are pointer-free (guid id, index,
// due). UNCLAIMED keys, due at their since, which the BBS sets to the write's time, are
// kept in a sorted array with holes (dueQueue): appending one and taking one out write
// its own position only, where a heap would sift and rewrite the positions of the keys
// it moves (a miss on another record per level). CRASHED keys, due at since + the
// restart delay, are kept the same way in one such queue per delay (delayQueues), each
// in due order as the BBS writes it. Cells are interned the same way (cellTable) with
// their presence, per-kind counts and hot bits.
//
// Invariants:
//   - a guid record lives exactly while something refers to it (a desired LRP, a row
//     count, a suspect key or a queue item); a cell record while the cell is present or
//     counts rows or tasks. Freed ids are reused (with shared ids a guid keeps its id
//     and its record's slot), so the
//     tables stay within the store's high-water mark, and a queue's array shrinks once
//     it has stayed under a quarter full over as many operations as it has entries, at
//     most 16,384 (a queue that empties and refills between passes keeps its array);
//   - a record's flag bits equal its membership of the mismatch/orphan/orphanSuspects
//     sets, and a key's recorded queue position is where its item sits, in the one
//     queue that holds it (TestDueQueue, TestDelayQueues);
//   - every list in a Plan is sorted (actual keys by process guid then index, tasks and
//     cells by id), so plans compare with ==-style deep equality and are deterministic;
//   - Compute and Tracker share the per-row predicates (staleUnclaimed, restartDue, ...);
//     only the way rows are found differs. The unclaimed queue holds exactly the
//     ORDINARY UNCLAIMED keys, due at the row's since, and the crashed queues exactly the
//     ORDINARY CRASHED keys with a restart delay, due at since + delay, so "due by
//     now-StaleUnclaimed-1" is staleSince and "due by now" is model.ShouldRestartCrash;
//     with wantsIndex on the record's desired instances that is the whole predicate;
//   - nothing here mutates its input, reads a clock or ranges over a map unsorted;
//     PrefetchGUID, PrefetchID and PrefetchCell, and Plan's prefetches of the records and
//     guids a few keys ahead, only hint the CPU (internal/prefetch).
package converge
