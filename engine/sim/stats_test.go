package sim

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// TestDistExactThenHistogram: below exactCap a dist reports the exact percentiles;
// above it the percentiles stay within the histogram's 0.1 % and count, mean and max
// stay exact.
func TestDistExactThenHistogram(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var d dist
	var all []float64
	for i := 0; i < 1000; i++ {
		v := r.ExpFloat64() * 0.05
		d.add(v)
		all = append(all, v)
	}
	if got, want := d.summary(), percentiles(all); got != want {
		t.Fatalf("below the cap: %+v, want the exact %+v", got, want)
	}
	for len(all) < exactCap+50_000 {
		v := r.ExpFloat64() * 0.05
		d.add(v)
		all = append(all, v)
	}
	got, exact := d.summary(), percentiles(all)
	if !got.Approximate || exact.Approximate {
		t.Fatalf("approximate flags: got %v, exact %v", got.Approximate, exact.Approximate)
	}
	if got.Count != exact.Count || got.Max != exact.Max || math.Abs(got.Mean-exact.Mean) > 1e-6 {
		t.Errorf("count/mean/max %d/%v/%v, want %d/%v/%v", got.Count, got.Mean, got.Max, exact.Count, exact.Mean, exact.Max)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"p50", got.P50, exact.P50}, {"p90", got.P90, exact.P90}, {"p99", got.P99, exact.P99}} {
		// 3 significant digits: within 0.1 % (+ the 1e-6 rounding of both figures)
		if math.Abs(c.got-c.want) > 1e-3*c.want+2e-6 {
			t.Errorf("%s = %v, exact %v: beyond 0.1 %%", c.name, c.got, c.want)
		}
	}
	if len(d.vals) != 0 {
		t.Errorf("values still kept after the switch: %d", len(d.vals))
	}
}

// TestProgressDoesNotChangeTheRun: Options.Progress sees the simulated time advance and
// the run's outcome is the same with or without it.
func TestProgressDoesNotChangeTheRun(t *testing.T) {
	run := func(progress func(time.Duration)) *record.Summary {
		// 24 simulated hours of the quickstart: ~14,000 events, three progress calls.
		sc, err := scenarios.LoadShipped("quickstart", "run.duration=24h")
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(sc, Options{Progress: progress})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := s.Run()
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	var seen []time.Duration
	with := run(func(now time.Duration) { seen = append(seen, now) })
	without := run(nil)
	if len(seen) == 0 {
		t.Fatal("Progress never called")
	}
	if !slices.IsSorted(seen) || seen[len(seen)-1] <= 0 {
		t.Errorf("progress times not advancing: %v", seen)
	}
	a, _ := json.Marshal(with)
	b, _ := json.Marshal(without)
	if !bytes.Equal(a, b) {
		t.Error("the summary differs with Progress set")
	}
}
