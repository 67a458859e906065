package record

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDistExactThenHistogram: below exactCap a Dist reports the exact percentiles;
// above it the percentiles stay within the histogram's 0.1 % and count, mean and max
// stay exact.
func TestDistExactThenHistogram(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var d Dist
	var all []float64
	for i := 0; i < 1000; i++ {
		v := r.ExpFloat64() * 0.05
		d.Add(v)
		all = append(all, v)
	}
	if got, want := d.Summary(), PercentilesOf(all); got != want {
		t.Fatalf("below the cap: %+v, want the exact %+v", got, want)
	}
	for len(all) < exactCap+50_000 {
		v := r.ExpFloat64() * 0.05
		d.Add(v)
		all = append(all, v)
	}
	got, exact := d.Summary(), PercentilesOf(all)
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
