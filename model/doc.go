// Package model is Diego's vocabulary: resources, cells, desired and actual LRPs, tasks,
// their states and the transition rules between them (../shared/DIEGO.md §3).
//
// Everything under model/ is the pure control plane shared by the simulation driver
// (engine/sim) and the real-mode driver (real/). Its rules:
//
//   - time is passed in as a time.Duration since the run started ("now");
//   - no clock, no sleep, no goroutine, no I/O;
//   - randomness only from a *rand.Rand that the caller hands in;
//   - maps are iterated in sorted order, and every tie is broken by a documented key.
//
// GUIDs gives a run's process guids dense ids that every layer can share (the driver's
// app table and the auction State do); guids laid out by GUIDs.Block are found by their
// address, without hashing, which matters at millions of processes.
//
// Subpackages: auction (batch placement), bbs (store and transitions), converge
// (desired vs actual repair), cell (cell-side bookkeeping), control (composition root).
package model
