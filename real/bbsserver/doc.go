// Package bbsserver is real mode's BBS: the control plane (model/control) behind an
// HTTP/JSON API on 127.0.0.1, persisted in SQLite (real/sqlstore), driving live reps.
//
// It is the real-mode driver of the same Plane the simulator drives (engine/sim):
//
//   - one mutex owns the Plane and the store; every API call, rep report and timer
//     tick takes it, opens a store transaction, calls the Plane, drains Ready() (events
//     to events.jsonl, completion callbacks resolved, staging results turned into
//     desired LRPs) and commits: every multi-row change is one transaction;
//   - network effects of Ready() run after the commit, outside the lock: an auction
//     round fetches GET /state from every present rep in parallel (with a timeout;
//     a rep that does not answer is left out, as Diego's auctioneer does), builds an
//     auction.State, calls RunAuction and POSTs /work to the winners; StopLRPs become
//     POST /stop and CancelTasks POST /cancel to the rep of the cell;
//   - time is wall-clock time since the cluster started; the start (epoch) is stored
//     in SQLite, so a restarted BBS continues the same clock, and the plane is reopened
//     with control.Open over the stored rows (and the persisted instance-guid counter);
//   - after a restart the BBS does not run Tick (presence expiry, convergence) for one
//     presence TTL, so that the reps' heartbeats re-establish their presences first
//     (Locket keeps presences across a BBS restart; ours live in memory);
//   - reps heartbeat POST /v1/presence (cell description and rep URL) -> Plane.Heartbeat;
//   - around the containers (around.go): LRP events are published after each commit
//     to followers of GET /v1/events, GET /v1/routes is the routing table (both for
//     the router token only), the log service (real/logs) takes POST /v1/logs (rep
//     token: APP, STG, CELL, HEALTH; router token: RTR) and serves
//     GET /v1/apps/NAME/logs[/stats] to clients, and GET /metrics serves the
//     Prometheus metrics (real/metrics) to clients.
//
// A failed commit or a store error inside an operation leaves the in-memory plane
// ahead of the database: the server stops with the error (Serve returns it) and a
// restart rebuilds the plane from SQLite.
package bbsserver
