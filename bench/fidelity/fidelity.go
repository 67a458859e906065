// Package fidelity measures the simulator against real mode: the same scenario's run
// records from simulated seeds and from live runs, reduced to the same metrics (from
// their events and tables alone, record.Derive, so neither mode's bookkeeping decides),
// compared metric by metric against a tolerance documented per metric
// (docs/fidelity.md): the simulated mean with its 95 % confidence interval over seeds,
// the real mean and range over live runs, their difference and a verdict.
package fidelity

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/diegolab/diegolab/bench"
	"github.com/diegolab/diegolab/record"
)

// Run is one run record reduced to what fidelity compares.
type Run struct {
	Dir     string
	Mode    string
	Seed    uint64
	Derived *record.Derived
	// Values are the scalar metrics by name (see Metrics).
	Values map[string]float64
}

// Step is the grid of the running-instances timeline (seconds).
const Step = 0.5

// Measure reads the run record in dir (a run of duration seconds).
func Measure(dir string, duration float64) (*Run, error) {
	sum, err := record.ReadSummary(dir)
	if err != nil {
		return nil, err
	}
	der, err := record.Derive(dir, duration)
	if err != nil {
		return nil, err
	}
	r := &Run{Dir: dir, Mode: sum.Mode, Seed: sum.Seed, Derived: der, Values: map[string]float64{}}
	v := r.Values
	for i, f := range der.Faults {
		rec := math.NaN()
		if f.RecoverySeconds != nil {
			rec = *f.RecoverySeconds
		}
		v[faultKey(i, f)] = rec
	}
	v["instance_seconds_missing"] = der.InstanceSecondsMissing
	v["missing_fraction"] = ratio(der.InstanceSecondsMissing, der.DesiredInstanceSeconds)
	for k, n := range der.RestartsByCrashCount {
		v["restarts_by_crash_count."+k] = float64(n)
	}
	measureDocker(sum, v)
	v["given_up"] = float64(der.GivenUp)
	v["crashes"] = float64(der.Crashes)
	for k, n := range sum.PlacementFailures {
		v["placement_failures."+k] = float64(n)
	}
	cells, err := record.ReadCSV[record.CellRow](dir, record.CellsFile)
	if err != nil {
		return nil, err
	}
	places, err := record.ReadCSV[record.PlacementRow](dir, record.PlacementsFile)
	if err != nil {
		return nil, err
	}
	zone := map[string]string{}
	for _, c := range cells {
		zone[c.CellID] = c.Zone
		v["final_instances_zone."+c.Zone] += 0
		v["final_instances_cell."+c.CellID] += 0
	}
	for _, p := range places {
		v["final_instances_zone."+zone[p.CellID]] += float64(p.Instances)
		v["final_instances_cell."+p.CellID] += float64(p.Instances)
	}
	// The auction, from its events (one per batch): batches, LRPs per batch, and the
	// waits of placed LRPs (each LRP of a batch at the batch's mean wait).
	var waits []float64
	batches := 0
	err = record.ReadEvents(dir, func(e *record.Event) error {
		if e.Type == record.TypeAuction && e.LRPs > 0 {
			batches++
			for range e.LRPsPlaced {
				waits = append(waits, e.MeanWait)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	v["auction_batches"] = float64(batches)
	p := record.PercentilesOf(waits)
	v["auction_wait_p50"], v["auction_wait_p90"], v["auction_wait_p99"] = p.P50, p.P90, p.P99
	return r, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func faultKey(i int, f record.DerivedFault) string {
	target := f.Target
	if f.Action == "push-image" {
		// "IMAGE -> DIGEST": the digests are each mode's own (docker.go)
		target, _, _ = strings.Cut(target, " -> ")
	}
	return fmt.Sprintf("recovery_seconds.%d %s %s", i, f.Action, target)
}

// Tolerance is how far the simulated mean may be from the real mean.
type Tolerance struct {
	// Rel and Abs: |sim - real| <= max(Rel * |real|, Abs). Info: no verdict (a figure
	// shown for calibration, without a goal).
	Rel, Abs float64
	Info     bool
	Why      string
}

// ToleranceOf is the tolerance of a metric (docs/fidelity.md lists them).
func ToleranceOf(name string) Tolerance {
	switch {
	case hasPrefix(name, "recovery_seconds."):
		return Tolerance{Rel: 0.10, Abs: 2, Why: "issue goal: within max(10 %, 2 s) of the real mean"}
	case hasPrefix(name, "restarts_by_crash_count."), name == "given_up":
		return Tolerance{Why: "issue goal: identical"}
	case hasPrefix(name, "placement_failures."):
		return Tolerance{Why: "issue goal: identical counts"}
	case hasPrefix(name, "final_instances_zone."):
		return Tolerance{Why: "issue goal: identical"}
	case hasPrefix(name, "final_instances_cell."):
		return Tolerance{Abs: 1, Why: "issue goal: within +-1"}
	case name == "timeline_area":
		return Tolerance{Abs: 0.05, Why: "issue goal: area between the curves <= 5 % of desired instance-seconds"}
	case hasPrefix(name, "docker."):
		return dockerTolerance(name)
	case name == "missing_fraction":
		return Tolerance{Abs: 0.05, Why: "the same 5 % of desired instance-seconds as the timeline"}
	}
	return Tolerance{Info: true, Why: "no goal: shown for calibration"}
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// Row is one metric's comparison.
type Row struct {
	Metric   string `json:"metric"`
	SimMean  Num    `json:"sim_mean"`
	SimCI95  Num    `json:"sim_ci95"`
	SimN     int    `json:"sim_n"`
	RealMean Num    `json:"real_mean"`
	RealMin  Num    `json:"real_min"`
	RealMax  Num    `json:"real_max"`
	RealN    int    `json:"real_n"`
	Diff     Num    `json:"diff"`
	// Allowed is the tolerance's bound on |Diff| here; Verdict "ok", "off" or "info".
	Allowed Num    `json:"allowed"`
	Verdict string `json:"verdict"`
	Why     string `json:"tolerance"`
}

// Num is a figure that may be undefined (NaN: no run had it, or one run only for a
// confidence interval); JSON null then.
type Num float64

// MarshalJSON writes NaN and infinities as null, others with 6 decimals at most.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, record.Round6(f), 'g', -1, 64), nil
}

// Curve is a running-instances timeline on the Step grid.
type Curve struct {
	Label   string    `json:"label"`
	Running []float64 `json:"running"`
	Desired []float64 `json:"desired"`
}

// Report is fidelity.json.
type Report struct {
	Scenario string   `json:"scenario"`
	Duration float64  `json:"duration_seconds"`
	SimSeeds []uint64 `json:"sim_seeds"`
	RealDirs []string `json:"real_runs"`
	Step     float64  `json:"step_seconds"`
	// SimMean is the simulated timeline averaged over seeds; Real one per live run.
	SimMean Curve   `json:"sim_mean_timeline"`
	Real    []Curve `json:"real_timelines"`
	Rows    []Row   `json:"metrics"`
	// Off counts the rows whose verdict is "off".
	Off int `json:"off"`
	// Calibration, when set, was measured from the live runs and applied to the
	// simulated ones.
	Calibration *Calibration `json:"calibration,omitempty"`
}

// Grid samples a run's timeline every Step seconds over [0, duration).
func Grid(d *record.Derived, duration float64) (running, desired []float64) {
	n := int(math.Ceil(duration / Step)) // left sums over [0, duration)
	running, desired = make([]float64, n), make([]float64, n)
	for i := range n {
		des, run := record.RunningAt(d.Timeline, float64(i)*Step)
		running[i], desired[i] = float64(run), float64(des)
	}
	return running, desired
}

// Compare builds the report of scenario name (duration seconds) from its simulated and
// real runs.
func Compare(name string, duration float64, sim, real []*Run) *Report {
	rep := &Report{Scenario: name, Duration: duration, Step: Step}
	var simRun, simDes [][]float64
	for _, r := range sim {
		rep.SimSeeds = append(rep.SimSeeds, r.Seed)
		a, b := Grid(r.Derived, duration)
		simRun, simDes = append(simRun, a), append(simDes, b)
	}
	rep.SimMean = Curve{Label: "simulated (mean over seeds)", Running: meanOf(simRun), Desired: meanOf(simDes)}
	desiredSeconds := 0.0
	for _, x := range rep.SimMean.Desired {
		desiredSeconds += x * Step
	}
	for i, r := range real {
		rep.RealDirs = append(rep.RealDirs, r.Dir)
		a, b := Grid(r.Derived, duration)
		rep.Real = append(rep.Real, Curve{Label: "real run " + strconv.Itoa(i+1), Running: a, Desired: b})
		area := 0.0
		for k := range a {
			area += math.Abs(a[k]-rep.SimMean.Running[k]) * Step
		}
		r.Values["timeline_area"] = ratio(area, desiredSeconds)
	}
	for _, r := range sim {
		r.Values["timeline_area"] = 0 // the reference curve's own area is not a figure
	}
	names := map[string]bool{}
	for _, r := range append(slices.Clone(sim), real...) {
		for k := range r.Values {
			names[k] = true
		}
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		row := Row{Metric: k}
		var sv, rv []float64
		for _, r := range sim {
			sv = append(sv, valueOr0(r.Values, k))
		}
		for _, r := range real {
			rv = append(rv, valueOr0(r.Values, k))
		}
		st := bench.MeanCI(sv)
		simMean, simCI := st.Mean, st.CI95
		if k == "timeline_area" {
			simMean, simCI = 0, 0
		}
		rs := bench.MeanCI(rv)
		lo, hi := minMax(rv)
		diff := simMean - rs.Mean
		if k == "timeline_area" {
			diff = rs.Mean
		}
		tol := ToleranceOf(k)
		allowed := math.Max(tol.Rel*math.Abs(rs.Mean), tol.Abs)
		row.SimMean, row.SimCI95, row.SimN = Num(simMean), Num(simCI), st.N
		row.RealMean, row.RealMin, row.RealMax, row.RealN = Num(rs.Mean), Num(lo), Num(hi), rs.N
		row.Diff, row.Allowed, row.Why = Num(diff), Num(allowed), tol.Why
		switch {
		case tol.Info:
			row.Verdict = "info"
		case math.IsNaN(diff):
			// undefined on one side (a fault never recovered): equal only if on both
			row.Verdict = "off"
			if math.IsNaN(simMean) && math.IsNaN(rs.Mean) {
				row.Verdict = "ok"
			}
		case math.Abs(diff) <= allowed+1e-9:
			row.Verdict = "ok"
		default:
			row.Verdict = "off"
		}
		if row.Verdict == "off" {
			rep.Off++
		}
		rep.Rows = append(rep.Rows, row)
	}
	return rep
}

// valueOr0: a count metric a run lacks is 0 there (no failures of that reason); a
// recovery the run lacks stays NaN (the fault is not in that run).
func valueOr0(m map[string]float64, k string) float64 {
	if v, ok := m[k]; ok {
		return v
	}
	if hasPrefix(k, "recovery_seconds.") {
		return math.NaN()
	}
	return 0
}

func meanOf(xs [][]float64) []float64 {
	if len(xs) == 0 {
		return nil
	}
	out := make([]float64, len(xs[0]))
	for _, x := range xs {
		for i := range out {
			out[i] += x[i] / float64(len(xs))
		}
	}
	return out
}

func minMax(x []float64) (float64, float64) {
	lo, hi := math.NaN(), math.NaN()
	for _, v := range x {
		if math.IsNaN(v) {
			continue
		}
		if math.IsNaN(lo) || v < lo {
			lo = v
		}
		if math.IsNaN(hi) || v > hi {
			hi = v
		}
	}
	return lo, hi
}
