package scenarios

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Distribution kinds, the values of a distribution's `dist` key.
const (
	DistConst     = "const"
	DistUniform   = "uniform"
	DistExp       = "exp"
	DistLognormal = "lognormal"
	DistNormal    = "normal"
)

// distFields lists, per kind, the keys a distribution table must have besides `dist`.
var distFields = map[string][]string{
	DistConst:     {"value"},
	DistUniform:   {"min", "max"},
	DistExp:       {"mean"},
	DistLognormal: {"median", "sigma"},
	DistNormal:    {"mean", "stddev"},
}

var distKinds = []string{DistConst, DistUniform, DistExp, DistLognormal, DistNormal}

// Dist is a distribution of durations, written in a scenario as an inline table:
//
//	{dist = "const", value = "5s"}
//	{dist = "uniform", min = "1m", max = "5m"}            min <= max
//	{dist = "exp", mean = "10m"}                           mean > 0
//	{dist = "lognormal", median = "5s", sigma = 0.5}       median > 0, sigma >= 0
//	{dist = "normal", mean = "1m", stddev = "10s"}         clipped at 0
//
// Only the fields of its Kind are meaningful. The zero Dist is const 0.
type Dist struct {
	Kind                                  string
	Value, Min, Max, Mean, Median, Stddev time.Duration
	Sigma                                 float64
}

// Const returns the distribution that always yields d.
func Const(d time.Duration) Dist { return Dist{Kind: DistConst, Value: d} }

// Sample draws one duration from r. It is never negative, is rounded to a whole
// nanosecond, saturates at the largest time.Duration, and consumes a fixed number of
// draws from r per kind (none for const, one for uniform, exp, lognormal and normal),
// so the same r state gives the same result.
func (d Dist) Sample(r *rand.Rand) time.Duration {
	switch d.Kind {
	case DistUniform:
		return clampDuration(float64(d.Min) + r.Float64()*float64(d.Max-d.Min))
	case DistExp:
		return clampDuration(float64(d.Mean) * r.ExpFloat64())
	case DistLognormal:
		return clampDuration(float64(d.Median) * math.Exp(d.Sigma*r.NormFloat64()))
	case DistNormal:
		return clampDuration(float64(d.Mean) + float64(d.Stddev)*r.NormFloat64())
	default: // const and the zero Dist
		return max(d.Value, 0)
	}
}

// AnalyticMean is the analytic mean of Sample (it cannot be called Mean: that is the
// field of exp and normal distributions):
//
//	const      value
//	uniform    (min + max) / 2
//	exp        mean
//	lognormal  median * exp(sigma^2 / 2)
//	normal     E[max(0, X)] = mean*Phi(mean/stddev) + stddev*phi(mean/stddev), X ~ N(mean, stddev)
//
// (the normal is clipped at 0, so its mean is a little above `mean` when stddev is
// comparable to it).
func (d Dist) AnalyticMean() time.Duration {
	switch d.Kind {
	case DistUniform:
		return d.Min + (d.Max-d.Min)/2
	case DistExp:
		return d.Mean
	case DistLognormal:
		return clampDuration(float64(d.Median) * math.Exp(d.Sigma*d.Sigma/2))
	case DistNormal:
		mu, sd := float64(d.Mean), float64(d.Stddev)
		if sd == 0 {
			return max(d.Mean, 0)
		}
		z := mu / sd
		phi := math.Exp(-z*z/2) / math.Sqrt(2*math.Pi)
		Phi := 0.5 * math.Erfc(-z/math.Sqrt2)
		return clampDuration(mu*Phi + sd*phi)
	default:
		return max(d.Value, 0)
	}
}

// String renders d in the scenario file's own syntax, e.g.
// {dist = "lognormal", median = "5s", sigma = 0.5}.
func (d Dist) String() string {
	q := func(t time.Duration) string { return strconv.Quote(t.String()) }
	switch d.Kind {
	case DistUniform:
		return `{dist = "uniform", min = ` + q(d.Min) + `, max = ` + q(d.Max) + `}`
	case DistExp:
		return `{dist = "exp", mean = ` + q(d.Mean) + `}`
	case DistLognormal:
		return `{dist = "lognormal", median = ` + q(d.Median) + `, sigma = ` + strconv.FormatFloat(d.Sigma, 'g', -1, 64) + `}`
	case DistNormal:
		return `{dist = "normal", mean = ` + q(d.Mean) + `, stddev = ` + q(d.Stddev) + `}`
	default:
		return `{dist = "const", value = ` + q(d.Value) + `}`
	}
}

// clampDuration rounds f nanoseconds to the nearest whole nanosecond within
// [0, math.MaxInt64]; NaN gives 0.
func clampDuration(f float64) time.Duration {
	switch {
	case !(f > 0): // also NaN
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	}
	return time.Duration(math.Round(f))
}
