// Package scenario drives a live cluster (real/live) from a scenario file, as
// engine/sim drives the simulated world: `diegolab run SCENARIO --real`.
//
// Run starts a cluster whose cells are the scenario's [[cells]] (ids, zones, memory,
// disk, containers) with the scenario's timers and auction, pushes every app of every
// [[apps]] group as the workload program (cmd/workload, binary buildpack) with no
// instances, then plays the scenario in wall time from t0: each group is scaled to its
// instances at its start_at, and each timeline event becomes a real fault (crash-cell:
// SIGKILL of the rep and its containers; partition-cell: SIGSTOP of the rep, SIGCONT at
// its end; drain-cell: evacuation; restore-cell: the rep again; scale; stop-app;
// crash-instances: SIGKILL of the chosen workload processes). At the end it writes the
// run record (the BBS's, times shifted to t0, apps named by their scenario process
// guids, the driver's cell and timeline events merged in) with mode "real", and takes
// the cluster down, also on error or cancellation.
//
// Groups with a lifecycle are pushed at their start_at instead (docker.go): a
// docker_image app from the scenario's image, which the driver builds from the busybox
// stack, the workload program and generated layers of the scenario's sizes (image.go)
// and pushes to the cluster's upstream registry; a buildpack app as the workload with
// the binary buildpack. push-image pushes the image's next version under its tag,
// registry-outage switches a registry off and on again.
//
// Check refuses what real mode cannot run (tasks, add-cells, placement tags, cells of
// different sizes, more cells or instances than this machine holds), naming each
// problem and the limit; CheckImages refuses images too large to build.
package scenario
