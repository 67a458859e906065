// Package rep is a cell's rep as a pure state machine: what Diego's rep and executor
// decide for each container they hold, written once for both drivers (ARCHITECTURE.md,
// "The rep, once"). The simulator feeds it simulated container events; real mode feeds
// it runc's. Neither driver decides anything the machine decides: a driver only carries
// out the steps it returns and hands back the answers.
//
// The machine has three parts:
//
//   - Container: one container's life (DIEGO.md §3.2): an LRP is RESERVED while its claim
//     is in flight, INITIALIZING once claimed and being created, CREATED while its
//     process starts, RUNNING once healthy and reported, COMPLETED when it stopped,
//     crashed or was given up. A task is RESERVED until the BBS agrees to start it,
//     RUNNING until its process exits, then COMPLETED. Every input is defined in every
//     phase: a stop before, during or after creation; a crash during a stop; an
//     evacuation reply after the container died.
//   - Cell: evacuation (DIEGO.md §6.5): a draining rep takes no work, reports each
//     container to the BBS every EvacuationPollInterval, and ends when it holds nothing
//     or the evacuation timeout passes.
//   - Harmonize: the bulk sync's harmonizing table (DIEGO.md §3.2, §6.4).
//
// Each input returns a Step: at most one executor command (Exec) and at most one BBS
// call (Report), carried out in that order. Reports that expect an answer (a claim, a
// start, an evacuation, a task start) are answered with Container.Reply, which returns
// the next step; a driver runs the loop
//
//	for st.Any() { exec(st.Exec); reply := report(st); st = c.Reply(st.Report, reply) }
//
// Like the rest of model/ the package is pure: it reads no clock (time is passed in),
// starts no goroutine and does no I/O. A Container is four bytes of flags that a
// driver embeds in its own container record (the simulator keeps millions of them).
package rep
