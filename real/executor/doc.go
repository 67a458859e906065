// Package executor is real mode's container executor: Diego's three Garden
// verbs ("make me a container, put this in it, now go run this") on runc.
//
// An Executor drives the runc binary through github.com/containerd/go-runc
// with its own runc root (StateDir/runc) and writes each container's
// config.json from the OCI runtime-spec Go types. A container is:
//
//   - new mount, PID, IPC, UTS and network namespaces; the network namespace
//     has only lo (runc brings it up), so there is no route off the container;
//   - a root file system made of the read-only stack (package real/stack) and
//     a writable layer: overlayfs, or a copy of the stack when the overlay
//     mount fails (RootfsMode says which one was used);
//   - the droplet directory bind-mounted read-only at /home/vcap/app;
//   - a process running as vcap (uid/gid 2000) with no capabilities and
//     NoNewPrivileges, RLIMIT_NOFILE 1024, in a cgroup with memory limit =
//     MemoryMB (no swap beyond it), a pids limit, and cpu shares derived from
//     Diego's cpu_weight = 100 × clamp(memoryMB, 128, 8192) / 8192;
//   - PID 1 is a small busybox-ash init that runs the start command through
//     /bin/sh -c, forwards SIGTERM to it, reaps orphans and exits with the
//     command's status.
//
// Lifecycle: Create runs `runc create` (namespaces, cgroups, mounts ready;
// the init waits), Start runs `runc start`, the Exited channel / Wait report
// the Exit (code, OOM-killed, stopped), Stop sends SIGTERM then SIGKILL after
// a grace period, Destroy deletes everything. Output is delivered line by
// line, tagged OUT or ERR, to the ContainerSpec's Log function.
//
// Ports: each container port is mapped to a free port on 127.0.0.1 of the
// host by a small TCP proxy; every accepted connection is dialled inside the
// container's network namespace by a goroutine locked to an OS thread that
// joins the namespace with setns and rejoins the host's before it is
// released. No other address is ever used.
//
// Invariants:
//   - Everything an executor creates lives under its StateDir, its runc root
//     and its cgroup parent /diegolab/<hash of StateDir>; Cleanup removes all
//     of it, including what a previous process left, and Leftovers proves it.
//   - The process using an Executor is a child subreaper: the containers'
//     init processes are its children, and their exit statuses are collected
//     by waiting for those pids only (never wait(-1)), so os/exec keeps
//     working for everything else.
//   - An Exit is OOMKilled exactly when the container cgroup's oom_kill
//     counter (memory.oom_control on cgroup v1, memory.events on v2) is
//     non-zero when the init has exited; the cgroup lives until Destroy.
package executor
