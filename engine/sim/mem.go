package sim

import (
	rtmetrics "runtime/metrics"
	"syscall"
)

// liveHeap reads the live heap as of the last completed GC cycle: cheap (no
// stop-the-world), and unlike HeapInuse it excludes garbage not yet reclaimed.
func liveHeap() uint64 {
	s := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() != rtmetrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// peakRSS is the process's maximum resident set size in bytes (0 where unknown).
func peakRSS() uint64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return uint64(ru.Maxrss) * 1024 // Linux reports kilobytes
}
