package scenarios

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

var testDists = []Dist{
	Const(5 * time.Second),
	{Kind: DistUniform, Min: time.Minute, Max: 5 * time.Minute},
	{Kind: DistExp, Mean: 10 * time.Minute},
	{Kind: DistLognormal, Median: 5 * time.Second, Sigma: 0.5},
	{Kind: DistNormal, Mean: time.Minute, Stddev: 10 * time.Second},
	// stddev as large as the mean: the clipping at 0 lifts the mean to 1.0833 * mean.
	{Kind: DistNormal, Mean: 10 * time.Second, Stddev: 10 * time.Second},
}

func TestDistSampleDeterministic(t *testing.T) {
	for _, d := range testDists {
		t.Run(d.String(), func(t *testing.T) {
			r1, r2 := newRand(42), newRand(42)
			for i := 0; i < 1000; i++ {
				if a, b := d.Sample(r1), d.Sample(r2); a != b {
					t.Fatalf("draw %d: %v != %v with the same seed", i, a, b)
				}
			}
		})
	}
}

func TestDistConstExact(t *testing.T) {
	r := newRand(1)
	d := Const(1234567 * time.Nanosecond)
	for i := 0; i < 100; i++ {
		if got := d.Sample(r); got != 1234567*time.Nanosecond {
			t.Fatalf("const sample = %v", got)
		}
	}
	if (Dist{}).Sample(r) != 0 {
		t.Error("zero Dist must sample 0")
	}
}

func TestDistUniformBounds(t *testing.T) {
	d := Dist{Kind: DistUniform, Min: time.Minute, Max: 5 * time.Minute}
	r := newRand(7)
	lo, hi := d.Max, d.Min
	for i := 0; i < 100_000; i++ {
		v := d.Sample(r)
		if v < d.Min || v > d.Max {
			t.Fatalf("sample %v outside [%v, %v]", v, d.Min, d.Max)
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	// 100k draws cover the range: the extremes come within 0.1% of it (4m * 0.001 = 240ms).
	if lo > d.Min+240*time.Millisecond || hi < d.Max-240*time.Millisecond {
		t.Errorf("samples span [%v, %v], want close to [%v, %v]", lo, hi, d.Min, d.Max)
	}
	if got := (Dist{Kind: DistUniform, Min: time.Second, Max: time.Second}).Sample(r); got != time.Second {
		t.Errorf("uniform with min == max sampled %v", got)
	}
}

// TestDistEmpiricalMean compares the mean of 100k draws with AnalyticMean. The
// standard error of the mean is sd/sqrt(n) = sd/316; the worst case here is exp
// (sd = mean) at 0.32% of the mean, and lognormal sigma 0.5 (sd = 0.53 * mean) at
// 0.17%, so a 2% tolerance is more than 6 standard errors.
func TestDistEmpiricalMean(t *testing.T) {
	const n = 100_000
	for _, d := range testDists {
		t.Run(d.String(), func(t *testing.T) {
			r := newRand(2024)
			sum := 0.0
			for i := 0; i < n; i++ {
				v := d.Sample(r)
				if v < 0 {
					t.Fatalf("negative sample %v", v)
				}
				sum += float64(v)
			}
			got, want := sum/n, float64(d.AnalyticMean())
			if math.Abs(got-want) > 0.02*want {
				t.Errorf("empirical mean %v, analytic %v (diff %.2f%%)", time.Duration(got), time.Duration(want), 100*math.Abs(got-want)/want)
			}
		})
	}
}

func TestDistAnalyticMean(t *testing.T) {
	tests := []struct {
		d    Dist
		want time.Duration
	}{
		{Const(3 * time.Second), 3 * time.Second},
		{Dist{Kind: DistUniform, Min: time.Minute, Max: 5 * time.Minute}, 3 * time.Minute},
		{Dist{Kind: DistExp, Mean: 10 * time.Minute}, 10 * time.Minute},
		// 5s * exp(0.5^2/2) = 5s * 1.133148453 = 5.665742265s
		{Dist{Kind: DistLognormal, Median: 5 * time.Second, Sigma: 0.5}, 5665742265},
		// mean/stddev = 6: Phi(6) = 1 - 1e-9, phi(6) = 6.1e-9: the clipping adds nothing visible.
		{Dist{Kind: DistNormal, Mean: time.Minute, Stddev: 10 * time.Second}, time.Minute},
		// z = 1: 10s*Phi(1) + 10s*phi(1) = 10s*(0.8413447460685 + 0.2419707245191) = 10.833154705876s
		{Dist{Kind: DistNormal, Mean: 10 * time.Second, Stddev: 10 * time.Second}, 10833154706},
	}
	for _, tt := range tests {
		got := tt.d.AnalyticMean()
		if diff := got - tt.want; diff < -2 || diff > 2 {
			t.Errorf("%v.AnalyticMean() = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestDistNeverNegative(t *testing.T) {
	// A normal with a mean well below its stddev is clipped at 0 half the time or more.
	d := Dist{Kind: DistNormal, Mean: time.Second, Stddev: 10 * time.Second}
	r := newRand(3)
	zeros := 0
	for i := 0; i < 10_000; i++ {
		v := d.Sample(r)
		if v < 0 {
			t.Fatalf("negative sample %v", v)
		}
		if v == 0 {
			zeros++
		}
	}
	// P(X < 0) = Phi(-0.1) = 0.46: expect about 4,600 zeros.
	if zeros < 4000 || zeros > 5200 {
		t.Errorf("%d of 10000 samples clipped to 0, want about 4600", zeros)
	}
	// Huge values saturate instead of overflowing.
	big := Dist{Kind: DistLognormal, Median: time.Duration(math.MaxInt64 / 2), Sigma: 10}
	for i := 0; i < 1000; i++ {
		if v := big.Sample(r); v < 0 {
			t.Fatalf("overflowed to %v", v)
		}
	}
}

func TestDistStringRoundTrip(t *testing.T) {
	for _, d := range testDists {
		src := "[run]\nduration = \"1h\"\n[[cells]]\nmemory_mb = 1\ndisk_mb = 1\n[auction]\nstate_fetch = " + d.String() + "\n"
		s, err := Parse("rt.toml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if s.Auction.StateFetch != d {
			t.Errorf("round trip of %s gave %+v", d, s.Auction.StateFetch)
		}
	}
}
