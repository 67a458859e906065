package sim

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestRelaxGC: a build sets GOGC to buildGCPercent (off) with a memory limit of the
// memory in use plus its headroom (at least as much again), and puts the previous values back; overlapping
// builds (bench's workers) share one relaxation, each adding its headroom to the
// limit, and the last one restores both; a GOGC already off, or a lower memory limit,
// is left alone.
func TestRelaxGC(t *testing.T) {
	if buildGCPercent >= 0 {
		t.Skipf("DIEGOLAB_BUILD_GOGC=%d: this test checks the default, off", buildGCPercent)
	}
	origGC := debug.SetGCPercent(100)
	origLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(origGC); debug.SetMemoryLimit(origLimit) })
	gogc := func() int { v := debug.SetGCPercent(-1); debug.SetGCPercent(v); return v }
	limit := func() int64 { return debug.SetMemoryLimit(-1) }

	const n = 1_000_000
	before := memoryInUse()
	end := relaxGC(n)
	l1 := limit()
	if got := gogc(); got != buildGCPercent {
		t.Fatalf("GOGC during a build: %d, want %d", got, buildGCPercent)
	}
	if l1 < before+n*buildHeadroom || l1 > memoryInUse()+n*buildHeadroom {
		t.Fatalf("memory limit during a build: %d, want the memory in use (%d) + %d", l1, before, n*buildHeadroom)
	}
	end2 := relaxGC(n) // a second build starts
	if got := limit(); got != l1+n*buildHeadroom {
		t.Fatalf("memory limit with two builds: %d, want %d", got, l1+n*buildHeadroom)
	}
	end() // the first ends: the second still builds
	if got := gogc(); got != buildGCPercent {
		t.Fatalf("GOGC while the second build runs: %d, want %d", got, buildGCPercent)
	}
	end2()
	if got, l := gogc(), limit(); got != 100 || l != math.MaxInt64 {
		t.Fatalf("after the builds: GOGC %d, memory limit %d; want 100, %d", got, l, int64(math.MaxInt64))
	}

	// A small build's headroom is less than the memory in use: the limit is twice that.
	before = memoryInUse()
	end = relaxGC(1)
	if l := limit(); l < 2*before || l > 2*memoryInUse() {
		t.Fatalf("memory limit during a one-instance build: %d, want twice the memory in use (%d)", l, before)
	}
	end()

	// A GOGC already off is the user's: neither it nor the limit changes.
	debug.SetGCPercent(-1)
	end = relaxGC(n)
	if got, l := gogc(), limit(); got != -1 || l != math.MaxInt64 {
		t.Fatalf("GOGC off during a build: GOGC %d, limit %d; want both kept", got, l)
	}
	end()
	if got := gogc(); got != -1 {
		t.Fatalf("GOGC off after a build: %d", got)
	}

	// A memory limit lower than the build's is kept, and so is GOGC's restoration.
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(1 << 20)
	end = relaxGC(n)
	if got, l := gogc(), limit(); got != buildGCPercent || l != 1<<20 {
		t.Fatalf("a low memory limit during a build: GOGC %d, limit %d; want %d, %d", got, l, buildGCPercent, 1<<20)
	}
	end()
	if got, l := gogc(), limit(); got != 100 || l != 1<<20 {
		t.Fatalf("after a build under a low memory limit: GOGC %d, limit %d; want 100, %d", got, l, 1<<20)
	}
}
