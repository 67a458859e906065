package record

import (
	"math"
	"slices"

	"github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/gonum/stat"
)

// PercentilesOf summarises a sample (empirical quantiles of the sorted values).
func PercentilesOf(x []float64) Percentiles {
	if len(x) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(x)
	slices.Sort(s)
	return Percentiles{
		Count: len(s),
		Mean:  Round6(stat.Mean(s, nil)),
		P50:   Round6(stat.Quantile(0.5, stat.Empirical, s, nil)),
		P90:   Round6(stat.Quantile(0.9, stat.Empirical, s, nil)),
		P99:   Round6(stat.Quantile(0.99, stat.Empirical, s, nil)),
		Max:   Round6(s[len(s)-1]),
	}
}

// exactCap is how many values a Dist keeps before it switches to a histogram: 8 MB of
// float64s. Runs below it (every shipped scenario) report exact percentiles.
const exactCap = 1 << 20

// histUnit scales values (seconds or counts) to the histogram's integers: microunits.
const histUnit = 1e6

// Dist collects one distribution of the run (auction waits, batch sizes, task
// durations). A day of 2.5 M instances yields tens of millions of auction waits, which
// kept as float64s would outgrow the whole cluster state; so a Dist keeps values
// exactly up to exactCap and then moves them into an HDR histogram (three significant
// digits, fixed size), keeping the count, sum and maximum exact throughout.
type Dist struct {
	vals []float64
	h    *hdrhistogram.Histogram
	n    int
	sum  float64
	max  float64
}

func (d *Dist) Add(v float64) {
	d.n++
	d.sum += v
	if d.n == 1 || v > d.max {
		d.max = v
	}
	if d.h == nil {
		d.vals = append(d.vals, v)
		if len(d.vals) < exactCap {
			return
		}
		// 1 microunit to 10^13 microunits (115 days in seconds) at 3 significant digits.
		d.h = hdrhistogram.New(1, 1e13, 3)
		for _, x := range d.vals {
			d.hist(x)
		}
		d.vals = nil
		return
	}
	d.hist(v)
}

func (d *Dist) hist(v float64) {
	x := int64(math.Round(v * histUnit))
	_ = d.h.RecordValue(min(max(x, 1), d.h.HighestTrackableValue())) // clamped: cannot fail
}

func (d *Dist) AddAll(vs []float64) {
	for _, v := range vs {
		d.Add(v)
	}
}

// Summary gives the percentiles: exact while the values were kept.
func (d *Dist) Summary() Percentiles {
	if d.h == nil {
		return PercentilesOf(d.vals)
	}
	q := func(p float64) float64 { return Round6(float64(d.h.ValueAtQuantile(p)) / histUnit) }
	return Percentiles{
		Count: d.n, Mean: Round6(d.sum / float64(d.n)),
		P50: q(50), P90: q(90), P99: q(99), Max: Round6(d.max), Approximate: true,
	}
}
