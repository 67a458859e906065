package record_test

import (
	"maps"
	"math"
	"testing"

	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// Derived from events alone, the figures agree with what the simulator counted from
// its own world: instance-seconds missing and each fault's recovery.
func TestDeriveAgreesWithTheSimulator(t *testing.T) {
	for _, name := range []string{"cell-crash", "crashing-apps", "rolling-upgrade", "az-outage"} {
		t.Run(name, func(t *testing.T) {
			sc, err := scenarios.LoadShipped(name)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			s, err := sim.New(sc, sim.Options{OutDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			sum, err := s.Run()
			if err != nil {
				t.Fatal(err)
			}
			d, err := record.Derive(dir, sc.Duration.Seconds())
			if err != nil {
				t.Fatal(err)
			}
			if got, want := d.InstanceSecondsMissing, sum.Health.InstanceSecondsMissing; math.Abs(got-want) > 1e-3*max(1, want) {
				t.Errorf("instance-seconds missing: derived %v, simulator %v", got, want)
			}
			if len(d.Faults) != len(sum.Faults) {
				t.Fatalf("%d faults derived, %d in the summary", len(d.Faults), len(sum.Faults))
			}
			for i, f := range sum.Faults {
				g := d.Faults[i]
				switch {
				case (f.RecoverySeconds == nil) != (g.RecoverySeconds == nil):
					t.Errorf("fault %d %s: recovery derived %v, simulator %v", i, f.Action, g.RecoverySeconds, f.RecoverySeconds)
				case f.RecoverySeconds != nil && math.Abs(*f.RecoverySeconds-*g.RecoverySeconds) > 1e-3:
					t.Errorf("fault %d %s: recovery derived %v s, simulator %v s", i, f.Action, *g.RecoverySeconds, *f.RecoverySeconds)
				}
			}
			if !maps.Equal(d.RestartsByCrashCount, sum.Health.RestartsByCrashCount) || d.GivenUp != sum.Health.GivenUp {
				t.Errorf("restarts derived %v given up %d, simulator %v and %d", d.RestartsByCrashCount, d.GivenUp, sum.Health.RestartsByCrashCount, sum.Health.GivenUp)
			}
			if n := len(d.Timeline); n == 0 || d.Timeline[n-1].Running != sum.RunningInstances || d.Timeline[n-1].Desired != sum.DesiredInstances {
				t.Errorf("timeline ends at %+v, summary running %d desired %d", d.Timeline[len(d.Timeline)-1], sum.RunningInstances, sum.DesiredInstances)
			}
		})
	}
}
