//go:build linux

package engine

import (
	"syscall"
	"time"
)

// threadCPU is the CPU time consumed so far by the calling OS thread (user + system).
// Benchmarks lock their goroutine to its thread and divide work by this, which gives a
// throughput figure that does not depend on how many other processes share the machine.
func threadCPU() (time.Duration, bool) {
	const rusageThread = 1 // RUSAGE_THREAD, Linux only
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
