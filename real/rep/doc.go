// Package rep is real mode's cell: Diego's rep over the runc executor
// (real/executor). It serves the rep API to the BBS (GET /state, POST /work, /stop,
// /cancel), keeps a presence by heartbeating the BBS, claims and runs the work it
// wins, reports RUNNING (with the instance's 127.0.0.1 address), crashes and task
// completions, and runs a bulk sync that harmonizes its containers with the BBS's
// actual LRPs and tasks for its cell (DIEGO.md §3.2 harmonizing table, §6.4).
//
// Containers: an LRP instance is RESERVED (won, not yet claimed) -> CREATED (claimed,
// container made and started) -> RUNNING (its first health check passed within the
// start timeout) -> COMPLETED. Health checks (health.go): port (default; a LISTEN
// socket on 8080 in the container's network namespace, read from
// /proc/<init>/net/tcp{,6}), process (alive) or http (a path answers 200); after
// RUNNING the check runs every interval and one failure is a crash ("Instance became
// unhealthy: ..."). An exit the rep did not ask for is a crash, reported with
// CrashActualLRP; the restart policy is the BBS's.
//
// Logs (logs.go): every container line goes to the BBS's log service through a
// logs.Shipper, tagged with the app (from the run info), the instance index and the
// source (APP, STG for staging), with CELL lines about container lifecycle and
// HEALTH lines about checks. GET /metrics serves the rep's Prometheus metrics.
//
// Restart choice: a rep that starts destroys every container a previous process left
// in its state directory (executor.Cleanup) instead of re-adopting them: their
// output pipes and exit statuses died with the previous process, so they could not be
// supervised. Its first bulk sync then removes the BBS's records of them and
// convergence starts replacements.
//
// Invariants:
//   - a container exists only for work this rep holds in its tables; the bulk sync
//     deletes containers the BBS no longer knows for this cell;
//   - every address reported is 127.0.0.1:PORT (the executor's loopback proxy).
package rep
