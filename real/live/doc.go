// Package live starts and stops a real-mode cluster on this machine: one BBS, N reps
// and the router (with its route emitter) as child processes of the diegolab binary, each in its own process group with
// its own state directory and log file, all on 127.0.0.1.
//
// Layout of DIR (default $DIEGOLAB_HOME or ./.diegolab):
//
//	config.json      client config: BBS URL, client token, router URL (mode 0600)
//	client.token     the client token (0600); rep.token, router.token: the components' (0600)
//	live.json        the processes (pid, process group, arguments) for status/down
//	stack/           the busybox stack (real/stack)
//	bbs/             bbs.db (SQLite, WAL), blobs/, events.jsonl, summary.json, log
//	cells/<id>/      a rep's executor state, droplets, log
//	router/          the router's addr and log
//
// Push uploads, stages (streaming the STG lines to its Progress writer) and waits for
// RUNNING; StreamLogs and LogStats read the log service.
//
// Down stops the router, the reps, then the BBS (SIGTERM to each process group, SIGKILL after a
// timeout), then runs executor.Cleanup on every rep's state directory (a rep killed
// with -9 leaves its containers running) and fails unless executor.Leftovers is empty
// and no process of the recorded process groups remains.
package live
