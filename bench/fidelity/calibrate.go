package fidelity

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
	"github.com/diegolab/diegolab/scenarios/behave"
)

// Calibration is what live runs measured of the costs the simulator does not model by
// itself, and the [calibration] table that adds them (scenarios.Calibration).
type Calibration struct {
	// StartOverhead: per instance start, the time from CLAIMED to RUNNING minus the
	// workload's drawn start time (what creating and starting the container, the
	// health check and the reports cost), over every start of every live run.
	// First* are the same over the first start of each instance index (the initial
	// burst, scale-ups), the others over later starts (restarts, replacements).
	StartOverhead      record.Percentiles `json:"start_overhead_seconds"`
	StartMean          float64            `json:"start_overhead_mean"`
	StartStddev        float64            `json:"start_overhead_stddev"`
	FirstStartOverhead record.Percentiles `json:"first_start_overhead_seconds"`
	FirstStartMean     float64            `json:"first_start_overhead_mean"`
	FirstStartStddev   float64            `json:"first_start_overhead_stddev"`
	// AuctionWait: the live auctions' mean wait per placed LRP (request to placement).
	AuctionWait record.Percentiles `json:"auction_wait_seconds"`
	// AuctionLatency is what the table adds to state_fetch: the live mean wait beyond
	// the scenario's state_fetch mean.
	AuctionLatency float64 `json:"auction_latency_seconds"`
	Runs           int     `json:"runs"`
}

// Calibrate measures live runs of sc (run without --start-overhead, so the workload
// waited its whole drawn start time).
func Calibrate(sc *scenarios.Scenario, realDirs []string) (*Calibration, error) {
	group := map[string]*scenarios.AppGroup{}
	for gi := range sc.Apps {
		for _, g := range sc.Apps[gi].ProcessGUIDs() {
			group[g] = &sc.Apps[gi]
		}
	}
	var over, first, waits []float64
	for _, dir := range realDirs {
		sum, err := record.ReadSummary(dir)
		if err != nil {
			return nil, err
		}
		run := *sc
		run.Seed = sum.Seed // the workload drew from the run's seed
		claimed := map[string]float64{}
		isFirst := map[string]bool{} // instance guid -> its claim was its index's first
		begun := map[string]bool{}   // "guid/index" claimed before
		err = record.ReadEvents(dir, func(e *record.Event) error {
			switch {
			case e.Type == record.TypeAuction:
				for range e.LRPsPlaced {
					waits = append(waits, e.MeanWait)
				}
			case e.Type != record.TypeActualLRP || e.Presence != "ORDINARY":
			case e.State == "CLAIMED":
				claimed[e.InstanceGUID] = e.T
				k := e.ProcessGUID + "/" + strconv.Itoa(e.Index)
				isFirst[e.InstanceGUID] = !begun[k]
				begun[k] = true
			case e.State == "RUNNING":
				c, ok := claimed[e.InstanceGUID]
				g := group[e.ProcessGUID]
				if !ok || g == nil {
					return nil
				}
				delete(claimed, e.InstanceGUID)
				plan := behave.NewWorkload(&run, g, e.ProcessGUID).Plan(e.Index, e.InstanceGUID)
				if isFirst[e.InstanceGUID] {
					first = append(first, e.T-c-plan.StartAfter.Seconds())
				} else {
					over = append(over, e.T-c-plan.StartAfter.Seconds())
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(first) == 0 {
		return nil, fmt.Errorf("calibration: no instance start in %s", strings.Join(realDirs, ", "))
	}
	if len(over) == 0 {
		over = first // no restart to measure: later starts cost what first ones do
	}
	c := &Calibration{StartOverhead: record.PercentilesOf(over), FirstStartOverhead: record.PercentilesOf(first),
		AuctionWait: record.PercentilesOf(waits), Runs: len(realDirs)}
	c.StartMean, c.StartStddev = meanStd(over)
	c.FirstStartMean, c.FirstStartStddev = meanStd(first)
	c.AuctionLatency = math.Max(0, c.AuctionWait.Mean-sc.Auction.StateFetch.AnalyticMean().Seconds())
	return c, nil
}

func meanStd(x []float64) (float64, float64) {
	m := 0.0
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	s := 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	if len(x) > 1 {
		s /= float64(len(x) - 1)
	}
	return m, math.Sqrt(s)
}

// TOML is the [calibration] table of c, with the measurement in comments.
func (c *Calibration) TOML(scenario string) string {
	d := func(s float64) string {
		return time.Duration(math.Max(0, s) * float64(time.Second)).Round(time.Millisecond).String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Measured by `diegolab fidelity %s --calibrate` over %d live run(s):\n", scenario, c.Runs)
	for _, m := range []struct {
		what      string
		p         record.Percentiles
		mean, std float64
	}{{"first start of an index", c.FirstStartOverhead, c.FirstStartMean, c.FirstStartStddev}, {"later start", c.StartOverhead, c.StartMean, c.StartStddev}} {
		fmt.Fprintf(&b, "#   %s, overhead (CLAIMED to RUNNING minus the drawn start time): n %d, mean %.3fs, stddev %.3fs, p50 %.3fs, p90 %.3fs, max %.3fs\n",
			m.what, m.p.Count, m.mean, m.std, m.p.P50, m.p.P90, m.p.Max)
	}
	fmt.Fprintf(&b, "#   auction wait per placed LRP: mean %.3fs, p50 %.3fs, p99 %.3fs\n", c.AuctionWait.Mean, c.AuctionWait.P50, c.AuctionWait.P99)
	b.WriteString("[calibration]\n")
	b.WriteString("draws = \"instance\"          # the workload's per-instance draws\n")
	b.WriteString("heartbeat_phase = \"spread\"  # live reps heartbeat out of phase\n")
	fmt.Fprintf(&b, "first_start_overhead = {dist = \"normal\", mean = %q, stddev = %q}\n", d(c.FirstStartMean), d(c.FirstStartStddev))
	fmt.Fprintf(&b, "start_overhead = {dist = \"normal\", mean = %q, stddev = %q}\n", d(c.StartMean), d(c.StartStddev))
	fmt.Fprintf(&b, "auction_latency = %q\n", d(c.AuctionLatency))
	return b.String()
}

// Apply sets sc's [calibration] table to c's figures (what TOML writes).
func (c *Calibration) Apply(sc *scenarios.Scenario) {
	sec := func(s float64) time.Duration {
		return time.Duration(math.Max(0, s) * float64(time.Second)).Round(time.Millisecond)
	}
	sc.Calibration = scenarios.Calibration{
		Draws:              scenarios.DrawsInstance,
		HeartbeatPhase:     scenarios.HeartbeatSpread,
		StartOverhead:      scenarios.Dist{Kind: scenarios.DistNormal, Mean: sec(c.StartMean), Stddev: sec(c.StartStddev)},
		FirstStartOverhead: scenarios.Dist{Kind: scenarios.DistNormal, Mean: sec(c.FirstStartMean), Stddev: sec(c.FirstStartStddev)},
		AuctionLatency:     scenarios.Const(sec(c.AuctionLatency)),
	}
}
