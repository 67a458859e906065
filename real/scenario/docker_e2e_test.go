package scenario_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/bench/fidelity"
	"github.com/diegolab/diegolab/real/scenario"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// TestDockerFidelity runs the CI Docker scenario (docker-unpredictable-scaling in CI
// time: a tag moved between push and scale-up) live with the private registry cache
// off and on, simulates seeds 1-10 of each (calibrated from the live run), and fails
// when a metric with a goal leaves its tolerance (docs/fidelity.md), or when the claim
// does not show: two digests at the end without the cache, one with it.
func TestDockerFidelity(t *testing.T) {
	requireHost(t)
	bin, workload := buildBinaries(t)
	for _, cache := range []bool{false, true} {
		t.Run("docker_cache="+strconv.FormatBool(cache), func(t *testing.T) {
			sc, err := scenarios.Load("testdata/ci-docker.toml", "docker_cache="+strconv.FormatBool(cache))
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			dur := sc.Duration.Seconds()
			realDir := filepath.Join(out, "real")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			begin := time.Now()
			if _, err := scenario.Run(ctx, sc, scenario.Options{Out: realDir, Binary: bin, Workload: workload, Log: testWriter{t}}); err != nil {
				t.Fatal(err)
			}
			t.Logf("live run: %v wall", time.Since(begin).Round(time.Second))
			r, err := fidelity.Measure(realDir, dur)
			if err != nil {
				t.Fatal(err)
			}
			want := 2.0
			if cache {
				want = 1
			}
			if got := r.Values["docker.digests_at_end.web-0"]; got != want {
				t.Errorf("live: %v digests at the end, want %v", got, want)
			}
			if got := r.Values["docker.mixed_seconds.web-0"]; (got > 0) == cache {
				t.Errorf("live: mixed for %v s with docker_cache=%v", got, cache)
			}
			cal, rep := compareCalibrated(t, sc, realDir, out, r)
			// On a failure, what the calibration made of the live run: the figures to
			// look at when the simulated scale-up is off (see docs/fidelity.md).
			defer func() {
				if t.Failed() {
					t.Logf("calibration from the live run:\n%s", cal.TOML(sc.Name))
				}
			}()
			docker := 0
			for _, row := range rep.Rows {
				if row.Verdict == "info" {
					continue
				}
				if strings.HasPrefix(row.Metric, "docker.") {
					docker++
				}
				t.Logf("%-4s %-40s sim %v real %v allowed %v", row.Verdict, row.Metric, float64(row.SimMean), float64(row.RealMean), float64(row.Allowed))
				if row.Verdict == "off" {
					t.Errorf("%s: simulated %v, real %v: off by more than %v (%s)", row.Metric, float64(row.SimMean), float64(row.RealMean), float64(row.Allowed), row.Why)
				}
			}
			if docker < 9 {
				t.Errorf("only %d docker metrics with a goal compared", docker)
			}
			if _, err := record.ReadSummary(realDir); err != nil {
				t.Error(err)
			}
		})
	}
}
