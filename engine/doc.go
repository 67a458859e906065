// Package engine is diegolab's deterministic discrete-event simulation kernel: a virtual
// clock, a queue of cancellable events ordered by (time, sequence), a running trace hash,
// and seeded random streams. The simulation driver (engine/sim) builds the simulated world
// on top of it; the control plane under model/ never sees it, only the `now` and the
// *rand.Rand it hands in.
//
// # Use
//
//	k := engine.New(seed)
//	k.Schedule(5*time.Second, handler, engine.Payload{Kind: cellCrash, A: cellIndex})
//	k.RunUntil(10 * time.Minute)
//	fmt.Println(k.Processed(), k.HashHex())
//
// A Handler receives the kernel and the event's Payload; it may schedule and cancel events
// and call Stop, but not Step or RunUntil (that panics: the kernel is not reentrant).
// Payload is a small fixed-size value (Kind plus two int64 indexes into the driver's own
// tables), so scheduling copies it without allocating. A handler may also implement the
// optional Prefetcher interface: the kernel then tells it of its next events a step ahead,
// so it can prefetch what they will touch (a speed-up only; the run is the same).
//
// # Invariants
//
//   - The clock is monotone. Now() starts at 0 and only moves forward: to the time of each
//     event run, and to t at the end of RunUntil(t). Scheduling before Now() (or After with
//     a negative delay) is a driver bug and panics with the times involved.
//   - Events run in (time, sequence) order. The sequence number is the order of Schedule
//     calls, so events at the same time run first-in first-out, including events a handler
//     schedules for the current instant (they run after those already queued for it).
//   - Cancelled events never run, do not count in Processed, and are not hashed. A Handle
//     names its slot and the slot's generation, so the handle of an event that ran or was
//     cancelled never cancels a later event that reuses the slot. The zero Handle is never
//     valid. An event's own handle is already stale while its handler runs.
//   - No goroutines, no wall clock, no global randomness, no map iteration: the same
//     schedule calls and the same seed give the same run, event for event.
//   - The trace hash is FNV-64a over, in order, every event run (time in nanoseconds as 8
//     bytes, Kind as 4, A and B as 8 each, all little-endian) and every value the driver
//     mixes in with Mix (8 bytes) or MixString (length as 8 bytes, then the bytes). Two runs
//     with equal hashes ran the same events at the same times with the same decisions.
//   - Random streams are derived from (run seed, stream name) only: Stream("a") draws the
//     same numbers whether or not stream "b" exists or has been drawn from, so adding a
//     stream never perturbs the others. Streams are cached per kernel; NewStream gives a
//     fresh one from the same derivation (SplitMix64 over the seed and FNV-64a of the name,
//     feeding math/rand/v2's PCG).
//
// # Cost
//
// Events live in a slot pool with a free list. The queue is a timing wheel behind a
// sorted run (queue.go, run.go): 16-byte entries (time, sequence<<27 | slot) of the next
// events, sorted by a radix sort when their bucket is reached and popped from the front in
// O(1), with a small 4-ary heap beside it for events scheduled into a bucket already
// reached; unsorted buckets hold the later ones: 4,096 fine buckets (2^16 ns, ~66 µs,
// each) the rest of the current quarter second when it is dense, a ring of 4,096 coarse
// buckets (2^28 ns) the next ~18 minutes, and a binary heap the rest. Schedule appends to
// a bucket in O(1); buckets are sorted into the run as the clock reaches them, in time
// linear in their size, and the kernel prefetches the slots of the events a few places
// ahead in the run while the current one runs. Cancel swaps an entry out of its bucket,
// marks it dead in the run, or removes it from the heap (with the position index per
// slot) in O(1) / O(log n). Events keep their sequence numbers across tiers, so the order
// is exactly (time, sequence) whichever tier an event waited in.
// Nothing allocates per event once the tables have grown to the run's peak (Reserve
// pre-sizes the slot tables; emptied big buckets are kept as spares).
// Comparisons are branch-free because the order of random times is unpredictable. Up to
// 2^27 events may be pending at once; after 2^37 Schedule calls the pending events are
// renumbered in place, preserving their order. See engine_bench_test.go for the measured
// throughput (BenchmarkEngineTimers is a large simulation's timer mix).
//
// The kernel is not safe for concurrent use. Parameter sweeps run one kernel per goroutine.
package engine
