// Package sim is the simulation driver: a simulated world of cells, containers and app
// behaviour, run on the discrete-event kernel (package engine), around the same control
// plane (model/control) that real mode drives.
//
// The driver owns what Diego does not decide: time (the kernel's virtual clock),
// container start and run durations, crashes drawn from the scenario's distributions,
// faults from its timeline, and the run record. Every decision (where work goes, what
// convergence repairs, how a crash is restarted) is the control plane's; the driver
// carries out the plane's Ready() outputs on the simulated cells, as reps would.
//
// Cells here are the reps: on Perform they create a container and claim the instance,
// start it after a sampled start time, report it RUNNING, crash it when its sampled
// lifetime ends, stop it when told, evacuate it when drained. A crashed cell stops
// heartbeating and loses its containers; a partitioned cell stops heartbeating and keeps
// them, and bulk-syncs when it returns.
//
// Randomness comes from named streams of the kernel ("start", "crash", "tasks",
// "faults", "auction", "latency", "staging"), so adding a stream never changes another's
// draws.
//
// Apps with a lifecycle (buildpack or docker_image) are pushed rather than desired:
// upload, a staging task, then the DesiredLRP; their instances resolve and pull images
// over a bandwidth model with per-cell layer caches (staging.go, push.go, network.go,
// registry.go; docs/staging.md). Scenarios without such apps never build that world.
package sim
