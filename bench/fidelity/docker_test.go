package fidelity

import (
	"testing"

	"github.com/diegolab/diegolab/record"
)

// The docker metrics read the summary's staging part alike in both modes, and their
// verdicts follow their tolerances: counts identical, bytes within 10 %, mixed
// seconds within max(10 %, 3 s); a push-image fault is keyed without its digest.
func TestDockerMetrics(t *testing.T) {
	sum := func(digests map[string]int, mixed float64, public int64, creds int) *record.Summary {
		return &record.Summary{Staging: &record.StagingSummary{
			Apps:           []record.AppStaging{{ProcessGUID: "web-0", Lifecycle: "docker", DigestsAtEnd: digests, MixedSeconds: mixed}},
			BytesPulled:    map[string]int64{"public": public, "cell_cache": 48e6},
			CredentialUses: creds,
			Pushes:         record.PushSummary{Started: 1, Completed: 1, StagingSeconds: record.PercentilesOf([]float64{0.2})},
		}}
	}
	measure := func(s *record.Summary) *Run {
		v := map[string]float64{}
		measureDocker(s, v)
		return &Run{Values: v, Derived: &record.Derived{}}
	}
	sim := []*Run{measure(sum(map[string]int{"a": 2, "b": 3}, 33, 80e6, 0)), measure(sum(map[string]int{"a": 2, "b": 3}, 35, 80e6, 0))}
	real := []*Run{measure(sum(map[string]int{"x": 5, "y": 0}, 30, 91e6, 1))}
	if got := sim[0].Values["docker.digests_at_end.web-0"]; got != 2 {
		t.Errorf("digests at end: %v, want 2", got)
	}
	if got := real[0].Values["docker.digests_at_end.web-0"]; got != 1 {
		t.Errorf("digests at end with a count of 0: %v, want 1", got)
	}
	rep := Compare("x", 60, sim, real)
	want := map[string]string{
		"docker.digests_at_end.web-0": "off", // 2 vs 1
		"docker.mixed_seconds.web-0":  "off", // 34 vs 30: beyond 3 s
		"docker.mb_pulled.public":     "off", // 80 vs 91: beyond 9.1
		"docker.mb_pulled.cell_cache": "ok",
		"docker.credential_uses":      "off",
		"docker.staging_seconds_p50":  "ok",
		"docker.pushes_failed":        "ok",
	}
	for _, row := range rep.Rows {
		if w, ok := want[row.Metric]; ok {
			if row.Verdict != w {
				t.Errorf("%s: %s, want %s (sim %v real %v allowed %v)", row.Metric, row.Verdict, w, row.SimMean, row.RealMean, row.Allowed)
			}
			delete(want, row.Metric)
		}
	}
	for m := range want {
		t.Errorf("no row %s", m)
	}
	k := faultKey(0, record.DerivedFault{Action: "push-image", Target: "acme/web:latest -> sha256:abc"})
	if k != "recovery_seconds.0 push-image acme/web:latest" {
		t.Errorf("push-image fault key %q", k)
	}
}
