package sim

import (
	"runtime/debug"
	"testing"
)

// TestRelaxGC: a build raises GOGC to buildGCPercent and puts the previous value back;
// overlapping builds (bench's workers) share one raise and the last one restores it; a
// GOGC already higher, or off, is left alone.
func TestRelaxGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	gogc := func() int { v := debug.SetGCPercent(-1); debug.SetGCPercent(v); return v }

	end := relaxGC()
	if got := gogc(); got != buildGCPercent {
		t.Fatalf("GOGC during a build: %d, want %d", got, buildGCPercent)
	}
	end2 := relaxGC() // a second build starts
	end()             // the first ends: the second still builds
	if got := gogc(); got != buildGCPercent {
		t.Fatalf("GOGC while the second build runs: %d, want %d", got, buildGCPercent)
	}
	end2()
	if got := gogc(); got != 100 {
		t.Fatalf("GOGC after the builds: %d, want 100", got)
	}

	for _, user := range []int{buildGCPercent * 2, -1} {
		debug.SetGCPercent(user)
		end := relaxGC()
		if got := gogc(); got != user {
			t.Fatalf("GOGC %d during a build: %d, want it kept", user, got)
		}
		end()
		if got := gogc(); got != user {
			t.Fatalf("GOGC %d after a build: %d", user, got)
		}
	}
}
