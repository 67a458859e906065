// Package control is the composition root of diegolab's control plane: the BBS (store,
// transitions, convergence), the auctioneer (batching, placement) and the presence table
// (Locket), behind the one object a driver talks to.
//
// It follows the etcd-raft pattern: a driver feeds it inputs (API calls, cell reports,
// Tick(now)) and drains its outputs with Ready(): work to perform on cells, instances to
// stop, tasks to cancel, presence changes, and every state change as an event. The plane
// never reads a clock, never sleeps, starts no goroutine and does no I/O; the simulation
// driver (engine/sim) and the real-mode driver (real/) run the same code.
//
// Timing follows Diego: convergence every ConvergenceInterval (30 s); a cell is present
// while its heartbeats (every 5 s) keep its presence within PresenceTTL (15 s); work that
// arrives while an auction runs waits for the next batch, and only one auction runs at a
// time. An auction round is two steps, because fetching cell states takes time in both
// worlds: Ready().StartAuction asks the driver to fetch states, and the driver calls
// RunAuction(now, cells) when it has them.
//
// What Ready and TakeEvents return is the driver's: the plane never writes to those
// slices and maps again. The Works of a round share arrays (one of LRPWork, one of
// tasks), each Work's slices capped at their length, so that appending to one cannot
// reach another; each LRPWork points at its item in the auction queue, whose elements
// are written once (a batch's chunk goes on serving later batches only past its end).
// Allocation per steady-state round is a handful of arrays, not one per item.
package control
