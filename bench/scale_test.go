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
