package sim

import (
	"math"
	"os"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strconv"
	"sync"
)

// buildGCPercent is the collector's GOGC while a world is built (Start: the reservation
// of the run's arrays and the instant-0 desires); -1 is off. A set-up only adds: what it
// allocates stays live (rows, the auction queue, the tracker's records) but for a few
// batches of events, so a cycle while building frees nothing. At GOGC=800 (session 10)
// a large build still had one cycle, started by the first big allocation while the heap
// was tiny, the reservation of the container pool and the kernel's slots: it scanned
// their unused capacity (1.2 GB of zeros at 10,000,000 instances, faulting each page in
// to read it), 1.2 CPU-s that freed nothing. With the collector off the build has no
// cycle at all; a memory limit (buildHeadroom) stands in for it, so that garbage made
// meanwhile by other worlds of the process (bench's workers) stays bounded.
var buildGCPercent = -1

// buildHeadroom is the memory a build may add, per instance it desires, before the
// memory limit it sets while the collector is off starts collecting: about ten times
// what a build uses (~450 bytes per instance with the reserved arrays), so the limit
// is a backstop that a build alone never reaches.
const buildHeadroom = 4 << 10

// buildGCMinInstances is the smallest build (instances desired at instant 0) that
// relaxes the collector: a small world builds in milliseconds either way, and bench
// runs many of them side by side with other runs' simulations, whose heaps the
// relaxation would let grow too.
const buildGCMinInstances = 100_000

// instantZeroInstances is the number of instances the scenario's app groups desire
// at instant 0.
func (s *Sim) instantZeroInstances() int {
	n := 0
	for i := range s.sc.Apps {
		if g := &s.sc.Apps[i]; g.StartAt == 0 {
			n += g.Count * g.Instances
		}
	}
	return n
}

func init() {
	// DIEGOLAB_BUILD_GOGC overrides it for measurements (an integer, negative = off;
	// anything else is ignored and the default kept).
	if v, err := strconv.Atoi(os.Getenv("DIEGOLAB_BUILD_GOGC")); err == nil {
		buildGCPercent = v
	}
}

// buildGC counts the builds in progress in the process (bench runs several worlds
// side by side): the first relaxes the collector and the last puts the previous
// settings back, so overlapping builds never leave it relaxed.
var buildGC struct {
	sync.Mutex
	n         int
	prev      int   // GOGC before the first build
	prevLimit int64 // the memory limit before the first build
	set       bool  // GOGC was changed
	limit     bool  // the memory limit was changed
}

// relaxGC relaxes the collector for a build of instances instances and returns the
// function that ends it: GOGC goes to buildGCPercent (a GOGC the user set higher, or
// off, is left alone) and, when that turns the collector off, the memory limit goes
// down to the memory in use plus buildHeadroom per instance, or twice the memory in
// use if that is more (a lower limit of the user's is left alone; each overlapping
// build raises it by its own headroom). The collector's pace changes no result.
func relaxGC(instances int) (restore func()) {
	buildGC.Lock()
	defer buildGC.Unlock()
	headroom := int64(min(instances, math.MaxInt64/buildHeadroom) * buildHeadroom)
	if buildGC.n == 0 {
		buildGC.prev = debug.SetGCPercent(buildGCPercent)
		buildGC.set = true
		if higherGC(buildGC.prev, buildGCPercent) {
			debug.SetGCPercent(buildGC.prev)
			buildGC.set = false
		}
		buildGC.prevLimit = debug.SetMemoryLimit(-1)
		buildGC.limit = false
		if buildGC.set && buildGCPercent < 0 {
			// At least the memory in use again: other worlds of the process (bench's
			// workers) are never collected more often than at GOGC=100 meanwhile.
			inUse := memoryInUse()
			if l := satAdd(inUse, max(headroom, inUse)); l < buildGC.prevLimit {
				debug.SetMemoryLimit(l)
				buildGC.limit = true
			}
		}
	} else if buildGC.limit {
		debug.SetMemoryLimit(min(satAdd(debug.SetMemoryLimit(-1), headroom), buildGC.prevLimit))
	}
	buildGC.n++
	return func() {
		buildGC.Lock()
		defer buildGC.Unlock()
		buildGC.n--
		if buildGC.n == 0 {
			if buildGC.set {
				debug.SetGCPercent(buildGC.prev)
				buildGC.set = false
			}
			if buildGC.limit {
				debug.SetMemoryLimit(buildGC.prevLimit)
				buildGC.limit = false
			}
		}
	}
}

// satAdd is a + b, saturated at the largest int64 (both are >= 0).
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// memoryInUse is the memory the Go runtime holds, as its memory limit counts it: all it
// mapped less what it released to the system.
func memoryInUse() int64 {
	ms := []rtmetrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	rtmetrics.Read(ms)
	if ms[0].Value.Kind() != rtmetrics.KindUint64 || ms[1].Value.Kind() != rtmetrics.KindUint64 {
		return 0
	}
	return int64(ms[0].Value.Uint64() - ms[1].Value.Uint64())
}

// higherGC reports whether GOGC a lets the heap grow at least as far as b (a negative
// GOGC is off: the highest).
func higherGC(a, b int) bool {
	switch {
	case a < 0:
		return true
	case b < 0:
		return false
	}
	return a >= b
}
