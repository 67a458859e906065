package sim

import (
	"os"
	"runtime/debug"
	"strconv"
	"sync"
)

// buildGCPercent is the collector's GOGC while a world is built (Start: the instant-0
// desires). A set-up only adds: what it allocates stays live (rows, the auction queue,
// the tracker's records) but for a few batches of events, so marking the growing heap
// at every doubling (GOGC=100: about twice the final heap marked in all) is work that
// frees nothing. At 800 the heap is marked when it has grown ninefold since the last
// cycle.
var buildGCPercent = 800

// buildGCMinInstances is the smallest build (instances desired at instant 0) that
// raises GOGC: a small world builds in milliseconds either way, and bench runs many
// of them side by side with other runs' simulations, whose heaps the raise would let
// grow too.
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
	// DIEGOLAB_BUILD_GOGC overrides it for measurements (an integer; anything else is
	// ignored and the default kept).
	if v, err := strconv.Atoi(os.Getenv("DIEGOLAB_BUILD_GOGC")); err == nil {
		buildGCPercent = v
	}
}

// buildGC counts the builds in progress in the process (bench runs several worlds
// side by side): the first raises GOGC and the last puts the previous value back, so
// overlapping builds never leave it raised.
var buildGC struct {
	sync.Mutex
	n    int
	prev int
	set  bool
}

// relaxGC raises GOGC for a build and returns the function that ends it. A GOGC the
// user set higher (or off) is left alone. The collector's pace changes no result.
func relaxGC() (restore func()) {
	buildGC.Lock()
	defer buildGC.Unlock()
	if buildGC.n == 0 {
		buildGC.prev = debug.SetGCPercent(buildGCPercent)
		buildGC.set = true
		if higherGC(buildGC.prev, buildGCPercent) {
			debug.SetGCPercent(buildGC.prev)
			buildGC.set = false
		}
	}
	buildGC.n++
	return func() {
		buildGC.Lock()
		defer buildGC.Unlock()
		buildGC.n--
		if buildGC.n == 0 && buildGC.set {
			debug.SetGCPercent(buildGC.prev)
			buildGC.set = false
		}
	}
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
