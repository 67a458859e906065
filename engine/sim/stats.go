package sim

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"

	"github.com/diegolab/diegolab/record"
)

// round6 keeps summary figures readable and stable: six decimals.
func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// spread is mean, population stddev and coefficient of variation.
func spread(x []float64) record.Spread {
	if len(x) == 0 {
		return record.Spread{}
	}
	m, sd := stat.PopMeanStdDev(x, nil)
	cov := 0.0
	if m != 0 {
		cov = sd / m
	}
	return record.Spread{Mean: round6(m), Stddev: round6(sd), CoV: round6(cov)}
}

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

func mean(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	return round6(stat.Mean(x, nil))
}
