package bench

import (
	"testing"
	"time"
)

// TestScaleProgressETA: the wall time left at the pace so far.
func TestScaleProgressETA(t *testing.T) {
	for _, tc := range []struct {
		p    ScaleProgress
		want time.Duration
	}{
		// 1 h of 4 h in 10 min: 3 h more at 10 min per hour
		{ScaleProgress{Simulated: time.Hour, Duration: 4 * time.Hour, Wall: 10 * time.Minute}, 30 * time.Minute},
		{ScaleProgress{Simulated: 4 * time.Hour, Duration: 4 * time.Hour, Wall: time.Minute}, 0},
		{ScaleProgress{Simulated: 0, Duration: time.Hour, Wall: time.Second}, 0}, // no pace yet
	} {
		if got := tc.p.ETA(); got != tc.want {
			t.Errorf("%+v: ETA %v, want %v", tc.p, got, tc.want)
		}
	}
}

// TestSteadyPerSimHour: wall seconds per simulated hour after the first (Warmup) hour.
func TestSteadyPerSimHour(t *testing.T) {
	for _, tc := range []struct {
		r    ScaleRow
		want float64
	}{
		// 3 h simulated in 100 s, the first hour in 40 s: 60 s for 2 h = 30 s per hour
		{ScaleRow{SimSeconds: 3 * 3600, Wall: 100 * time.Second, WarmupWall: 40 * time.Second}, 30},
		// a run no longer than the warm-up has no steady state
		{ScaleRow{SimSeconds: 3600, Wall: 50 * time.Second, WarmupWall: 50 * time.Second}, 0},
		{ScaleRow{SimSeconds: 600, Wall: 5 * time.Second, WarmupWall: 5 * time.Second}, 0},
	} {
		if got := tc.r.SteadyPerSimHour(); got != tc.want {
			t.Errorf("%+v: %v s per simulated hour, want %v", tc.r, got, tc.want)
		}
	}
}
