package sim

import "github.com/diegolab/diegolab/record"

// round6 keeps summary figures readable and stable: six decimals.
func round6(x float64) float64 { return record.Round6(x) }

// spread is mean, population stddev and coefficient of variation.
func spread(x []float64) record.Spread { return record.SpreadOf(x) }

// percentiles summarises a sample (empirical quantiles of the sorted values).
func percentiles(x []float64) record.Percentiles { return record.PercentilesOf(x) }

// dist is a distribution of the run (record.Dist).
type dist struct{ record.Dist }

func (d *dist) add(v float64) { d.Add(v) }
