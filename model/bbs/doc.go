// Package bbs is Diego's BBS (DIEGO.md §3, §4, §5, §6.3-§6.5) as a pure state machine.
//
// Every operation takes now, validates, applies Diego's rule to the Store and appends its
// consequences to an outbox that the driver drains with Ready() (the etcd-raft Ready
// pattern): auction requests (LRPStarts, TaskStarts), rep requests (StopLRPs,
// CancelTasks), completion callbacks to deliver, and every state change as an Event, in
// the order it happened. No goroutines, no clock, no map iteration without sorting.
//
// Invariants:
//   - a refused operation returns a typed error (model.TransitionError, NotFoundError,
//     ExistsError, ValidationError; errors.Is against the model sentinels), is counted
//     in Stats().Refused, and leaves the store unchanged (all checks precede the first
//     write); requests Diego drops silently (claims and starts from SUSPECT instances)
//     are counted in Stats().Ignored;
//   - every row written satisfies model.ActualLRP.Validate;
//   - the convergence Tracker is told of every write, so Converge's incremental plan
//     equals converge.Compute on a snapshot (TestIncrementalEqualsFull);
//   - instance guids come from the caller (rep/auctioneer side).
//
// Store: the BBS works over any Store (the SQL store of real mode passes the same
// bbstest suite) and runs the same operations over each. A Store may also offer
// optional capabilities (store.go), found by New or where used: rowStore reads the three
// presences of an index at once and hands back, with each write, the convergence
// tracker's hints kept beside its rows (converge.Hints), so an operation looks its guid
// and cells up once, in the store, not also in the tracker, and writes a group's desired
// rows in one call (DesireLRPs, the bulk path of a driver's set-up: exactly the outcome
// of a DesireLRP per app); prefetchStore takes hints for the CPU; sharedDomains hands
// convergence the store's own sorted domain list (the same slice until a domain changes)
// instead of a copy per pass. A Store without them gets the plain Store calls
// (plainRows), no prefetching and a domain list per pass. The
// in-memory MemStore (model/bbs/internal/memstore), laid out for millions of rows, has
// all three: one entry per process guid holding its desired row and compact actual rows,
// interned cell ids, a per-cell slice index, and with the run's shared process ids
// (MemStore.UseGUIDs, before New) guid lookups without hashing, the tracker keying its
// records by the same ids. Everything of that layout (guid tables, address caches,
// unsafe, prefetching) stays in that package. Reads go into caller-provided buffers,
// and the events' row copies and Ready's Events and LRPStarts are carved from shared
// chunks (one allocation per 64-256 of them), so a steady-state operation allocates
// almost nothing of its own.
//
// Recycling (opt-in): an owner that reads each Ready's events at once and keeps none
// (the simulation driver) calls ReleaseReady once it is done with them; the BBS then
// reuses the Events and LRPStarts arrays and the events' row and desired copies for the next
// batches, so a steady-state operation allocates nothing. Without that call every
// batch and row copy stays valid for as long as it is kept (real mode, tests).
//
// Cache misses: at millions of rows most of an operation's time is memory. A crash,
// before it reads its rows, and a claim tell the store (prefetchStore.PrefetchLeave,
// PrefetchEnter) what they are about to touch, and Converge the guids a few keys ahead
// of the one it restarts or starts; the in-memory store then asks the CPU for those
// cache lines so the misses overlap instead of following one another
// (internal/prefetch: hints, no effect on results).
//
// Domains: extra and orphaned instances are retired only while their domain is fresh.
// UpsertDomain(now, name, ttl) refreshes one (ttl 0 = never expires). DesireLRP creates
// its domain, never expiring, when it has no row yet, so a scenario that never upserts
// domains still retires extras; the sim driver upserts "cf-apps" with no expiry.
//
// Choices where Diego leaves room (documented in docs/convergence.md): convergence steps
// are applied in the order of DIEGO.md §4 and the pass's LRP starts are sent as one
// batch at the end, deduplicated by key; stale-unclaimed and crashed restarts require
// the desired LRP to still want the index; when an EVACUATING row is deleted because
// the replacement started, the rep learns it from its next EvacuateRunningActualLRP
// (keep=false), as in Diego.
package bbs
