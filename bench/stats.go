package bench

import (
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Stat is the mean of a sample and the half-width of its 95 % confidence interval.
type Stat struct {
	N      int
	Mean   float64
	StdDev float64 // sample standard deviation (n - 1 denominator)
	CI95   float64 // t(0.975, n-1) x StdDev / sqrt(n); NaN when n < 2
}

// MeanCI computes the mean and the Student-t 95 % confidence interval of x, ignoring NaN
// values (a metric that is undefined for a run). With no values Mean is NaN.
func MeanCI(x []float64) Stat {
	vals := make([]float64, 0, len(x))
	for _, v := range x {
		if !math.IsNaN(v) {
			vals = append(vals, v)
		}
	}
	st := Stat{N: len(vals), Mean: math.NaN(), StdDev: math.NaN(), CI95: math.NaN()}
	switch len(vals) {
	case 0:
		return st
	case 1:
		st.Mean = vals[0]
		return st
	}
	st.Mean, st.StdDev = stat.MeanStdDev(vals, nil)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(vals) - 1)}.Quantile(0.975)
	st.CI95 = t * st.StdDev / math.Sqrt(float64(len(vals)))
	return st
}
