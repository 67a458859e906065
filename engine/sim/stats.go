package sim

import (
	"math"
	"slices"

	"github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/gonum/stat"

	"github.com/diegolab/diegolab/record"
)

// round6 keeps summary figures readable and stable: six decimals.
func round6(x float64) float64 { return record.Round6(x) }

// spread is mean, population stddev and coefficient of variation.
func spread(x []float64) record.Spread { return record.SpreadOf(x) }

// percentiles summarises a sample (empirical quantiles of the sorted values).
func percentiles(x []float64) record.Percentiles {
	if len(x) == 0 {
		return record.Percentiles{}
	}
	s := slices.Clone(x)
	slices.Sort(s)
	return record.Percentiles{
		Count: len(s),
		Mean:  round6(stat.Mean(s, nil)),
		P50:   round6(stat.Quantile(0.5, stat.Empirical, s, nil)),
		P90:   round6(stat.Quantile(0.9, stat.Empirical, s, nil)),
		P99:   round6(stat.Quantile(0.99, stat.Empirical, s, nil)),
		Max:   round6(s[len(s)-1]),
	}
}

// exactCap is how many values a dist keeps before it switches to a histogram: 8 MB of
// float64s. Runs below it (every shipped scenario) report exact percentiles.
const exactCap = 1 << 20

// histUnit scales values (seconds or counts) to the histogram's integers: microunits.
const histUnit = 1e6

// dist collects one distribution of the run (auction waits, batch sizes, task
// durations). A day of 2.5 M instances yields tens of millions of auction waits, which
// kept as float64s would outgrow the whole cluster state; so a dist keeps values
// exactly up to exactCap and then moves them into an HDR histogram (three significant
// digits, fixed size), keeping the count, sum and maximum exact throughout.
type dist struct {
	vals []float64
	h    *hdrhistogram.Histogram
	n    int
	sum  float64
	max  float64
}

func (d *dist) add(v float64) {
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
			d.record(x)
		}
		d.vals = nil
		return
	}
	d.record(v)
}

func (d *dist) record(v float64) {
	x := int64(math.Round(v * histUnit))
	_ = d.h.RecordValue(min(max(x, 1), d.h.HighestTrackableValue())) // clamped: cannot fail
}

func (d *dist) addAll(vs []float64) {
	for _, v := range vs {
		d.add(v)
	}
}

// summary gives the percentiles: exact while the values were kept.
func (d *dist) summary() record.Percentiles {
	if d.h == nil {
		return percentiles(d.vals)
	}
	q := func(p float64) float64 { return round6(float64(d.h.ValueAtQuantile(p)) / histUnit) }
	return record.Percentiles{
		Count: d.n, Mean: round6(d.sum / float64(d.n)),
		P50: q(50), P90: q(90), P99: q(99), Max: round6(d.max), Approximate: true,
	}
}
