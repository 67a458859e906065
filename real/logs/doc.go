// Package logs is real mode's log service (Loggregator's part for diegolab): it keeps,
// per app, a bounded buffer of log lines (app output "APP", staging "STG", cell
// messages "CELL", health checks "HEALTH", router access lines "RTR"), serves them
// recent or followed, and forwards them to syslog drains.
//
// It runs inside the BBS process (real/bbsserver wires its handlers behind the
// component tokens: reps may post APP, STG, CELL and HEALTH lines, the router only
// RTR lines, clients only read).
//
// Invariants:
//   - every accepted line gets the next sequence number of its app (1, 2, ...);
//   - a buffer holds at most Bound lines; when full, the oldest line is dropped and
//     counted: Received = Dropped + Buffered, always;
//   - a follower reads by sequence number from the buffer itself, so it loses
//     nothing unless it falls more than Bound lines behind, and then it sees the
//     gap as a jump in Seq;
//   - a drain has its own bounded queue: a slow or dead drain never blocks Append;
//     lines it cannot take or deliver are counted as drain errors;
//   - drains, like everything in real mode, only reach 127.0.0.1.
package logs
