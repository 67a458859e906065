package fidelity

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/diegolab/diegolab/scenarios"
)

// liveStart is one container start of a live run: the cell it was claimed on, the
// claim time and its overhead (CLAIMED to RUNNING minus the workload's drawn start
// time), so the queue part ends at Claim+Overhead.
type liveStart struct {
	run      int
	cell     string
	claim    float64
	overhead float64
}

// StartShape is the live start cost against how many starts were under way on the
// cell when the container was claimed (itself included): the waves of a burst.
type StartShape struct {
	Concurrent string  `json:"concurrent"` // "1", "2", ... or "9+"
	Count      int     `json:"count"`
	Mean       float64 `json:"mean_overhead"`
}

// StartQueueFit is the start queue (scenarios.Calibration.StartConcurrency,
// StartService, StartScope) that best explains the live starts: starts sharing the
// machine, K at full speed, each needing a service of work; the service's spread is
// the live costs' relative spread around the fitted ones; RMSE is the root mean
// square error of the overheads it predicts with the mean service.
type StartQueueFit struct {
	Concurrency   int     `json:"concurrency"`
	Scope         string  `json:"scope"`
	ServiceMean   float64 `json:"service_mean"`
	ServiceStddev float64 `json:"service_stddev"`
	RMSE          float64 `json:"rmse"`
	// OverheadRMSE is the same error of the two-distribution model (the first start of
	// an index and later starts, each its mean), for comparison.
	OverheadRMSE float64 `json:"overhead_rmse"`
}

// maxFitConcurrency bounds the concurrencies tried by fitStartQueue; fitSteps is the
// number of service times tried per concurrency.
const (
	maxFitConcurrency = 16
	fitSteps          = 200
)

// byScope groups starts per run and per cell (cluster false) or per run alone, each
// group in claim order.
func byScope(starts []liveStart, cluster bool) [][]liveStart {
	key := func(s liveStart) string {
		if cluster {
			return ""
		}
		return s.cell
	}
	s := slices.Clone(starts)
	slices.SortStableFunc(s, func(a, b liveStart) int {
		return cmp.Or(cmp.Compare(a.run, b.run), strings.Compare(key(a), key(b)), cmp.Compare(a.claim, b.claim))
	})
	var groups [][]liveStart
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].run == s[i].run && key(s[j]) == key(s[i]) {
			j++
		}
		groups = append(groups, s[i:j])
		i = j
	}
	return groups
}

// startShape counts, for every start, the starts of its cell claimed before it and
// not finished (container part) at its claim, and averages the overheads per count.
func startShape(starts []liveStart) []StartShape {
	const top = 9
	sum := make([]float64, top+1)
	n := make([]int, top+1)
	for _, g := range byScope(starts, false) {
		for i, s := range g {
			k := 1
			for _, o := range g[:i] {
				if o.claim+o.overhead > s.claim {
					k++
				}
			}
			k = min(k, top)
			sum[k] += s.overhead
			n[k]++
		}
	}
	var out []StartShape
	for k := 1; k <= top; k++ {
		if n[k] == 0 {
			continue
		}
		label := fmt.Sprint(k)
		if k == top {
			label = fmt.Sprintf("%d+", top)
		}
		out = append(out, StartShape{Concurrent: label, Count: n[k], Mean: sum[k] / float64(n[k])})
	}
	return out
}

// sharedFinish replays starts claimed at claims (ascending) that each need service
// seconds of work and share the machine, k at full speed (as the simulator's start
// queue), and returns each start's overhead (its finish minus its claim).
func sharedFinish(claims []float64, service float64, k int) []float64 {
	out := make([]float64, len(claims))
	left := make([]float64, 0, len(claims))
	who := make([]int, 0, len(claims))
	t, next := 0.0, 0
	for next < len(claims) || len(left) > 0 {
		r := math.Min(1, float64(k)/math.Max(1, float64(len(left))))
		dep := math.Inf(1)
		if len(left) > 0 {
			dep = t + slices.Min(left)/r
		}
		arr := math.Inf(1)
		if next < len(claims) {
			arr = claims[next]
		}
		now := math.Min(dep, arr)
		for i := range left {
			left[i] -= (now - t) * r
		}
		t = now
		keepL, keepW := left[:0], who[:0]
		for i, l := range left {
			if l <= 1e-9 {
				out[who[i]] = t - claims[who[i]]
			} else {
				keepL, keepW = append(keepL, l), append(keepW, who[i])
			}
		}
		left, who = keepL, keepW
		for next < len(claims) && claims[next] <= t {
			left, who = append(left, service), append(who, next)
			next++
		}
	}
	return out
}

// fitStartQueue tries each scope (cell, cluster), each concurrency K from 1 to
// maxFitConcurrency and fitSteps service times up to the largest overhead, replays
// the live claims through the shared start queue and keeps the fit whose predicted
// overheads are closest to the live ones (least squares; on a tie the cell scope and
// the smaller K).
func fitStartQueue(starts []liveStart) StartQueueFit {
	top := 0.0
	for _, s := range starts {
		top = math.Max(top, s.overhead)
	}
	best := StartQueueFit{RMSE: math.Inf(1)}
	var bestRatio []float64
	for _, scope := range []string{scenarios.StartScopeCell, scenarios.StartScopeCluster} {
		groups := byScope(starts, scope == scenarios.StartScopeCluster)
		for k := 1; k <= maxFitConcurrency; k++ {
			for step := 1; step <= fitSteps; step++ {
				w := top * float64(step) / fitSteps
				sse := 0.0
				var ratio []float64
				for _, g := range groups {
					claims := make([]float64, len(g))
					for i, s := range g {
						claims[i] = s.claim
					}
					for i, p := range sharedFinish(claims, w, k) {
						sse += (p - g[i].overhead) * (p - g[i].overhead)
						ratio = append(ratio, g[i].overhead/p)
					}
				}
				if rmse := math.Sqrt(sse / float64(len(starts))); rmse < best.RMSE-1e-9 {
					best = StartQueueFit{Concurrency: k, Scope: scope, ServiceMean: w, RMSE: rmse}
					bestRatio = ratio
				}
			}
		}
	}
	_, sd := meanStd(bestRatio)
	best.ServiceStddev = sd * best.ServiceMean
	return best
}
