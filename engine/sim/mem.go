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

// heapGauge reads the live heap at each sample of a run, paying for the read only when
// it can have changed: the live heap is set when a GC cycle ends, in the same
// stop-the-world as the count of completed cycles, so while that count (a cheap metric)
// stands still the last value stands. Reading the live heap itself merges every P's
// heap statistics: at the CloudSim Plus equivalent's 169,000 samples, 8 % of its CPU.
type heapGauge struct {
	cycles, live uint64
	read         bool
	buf          [1]rtmetrics.Sample
}

// liveHeap returns liveHeap() as of now.
func (g *heapGauge) liveHeap() uint64 {
	g.buf[0].Name = "/gc/cycles/total:gc-cycles"
	rtmetrics.Read(g.buf[:])
	if g.buf[0].Value.Kind() != rtmetrics.KindUint64 {
		return liveHeap()
	}
	if n := g.buf[0].Value.Uint64(); !g.read || n != g.cycles {
		g.cycles, g.live, g.read = n, liveHeap(), true
	}
	return g.live
}

// peakRSS is the process's maximum resident set size in bytes (0 where unknown).
func peakRSS() uint64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return uint64(ru.Maxrss) * 1024 // Linux reports kilobytes
}

// PeakRSS is the process's maximum resident set size so far, in bytes (0 where
// unknown): the figure /usr/bin/time reports, for perf.json and bench's perf.csv.
func PeakRSS() uint64 { return peakRSS() }

// PeakLiveHeap is the largest live heap (as of a completed GC) the run has seen, at
// every gaugeStride-th timeseries sample and at its end: the process's, not the run's
// alone, when several runs share the process.
func (s *Sim) PeakLiveHeap() uint64 { return max(s.m.peakLive, liveHeap()) }
