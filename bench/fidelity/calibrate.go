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
	// Shape is the start overhead by the number of starts under way on the cell at
	// the claim (the waves of a burst); Queue the per-cell start queue fitted to the
	// same starts (startqueue.go).
	Shape []StartShape  `json:"start_shape"`
	Queue StartQueueFit `json:"start_queue"`
	// StartModel is what Apply and TOML use for the start cost: StartModelQueue (the
	// per-cell queue: start_concurrency, start_service) or StartModelOverhead (the
	// first_start_overhead and start_overhead distributions).
	StartModel string `json:"start_model"`
}

// Start cost models of Calibration.StartModel; ChooseStartModel's StartModelAuto
// takes the one whose predicted overheads are closer to the live ones.
const (
	StartModelQueue    = "queue"
	StartModelOverhead = "overhead"
	StartModelAuto     = "auto"
)

// ChooseStartModel sets c.StartModel: model, or with StartModelAuto the model with
// the smaller error over the live starts (the queue on a tie).
func (c *Calibration) ChooseStartModel(model string) error {
	switch model {
	case StartModelQueue, StartModelOverhead:
		c.StartModel = model
	case StartModelAuto, "":
		c.StartModel = StartModelQueue
		if c.Queue.OverheadRMSE < c.Queue.RMSE {
			c.StartModel = StartModelOverhead
		}
	default:
		return fmt.Errorf("start model: want %q, %q or %q, got %q", StartModelAuto, StartModelQueue, StartModelOverhead, model)
	}
	return nil
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
	var starts []liveStart
	var firstOf []bool // per start: the first of its index
	for ri, dir := range realDirs {
		sum, err := record.ReadSummary(dir)
		if err != nil {
			return nil, err
		}
		run := *sc
		run.Seed = sum.Seed // the workload drew from the run's seed
		claimed := map[string]float64{}
		cellOf := map[string]string{}
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
				cellOf[e.InstanceGUID] = e.CellID
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
				o := e.T - c - plan.StartAfter.Seconds()
				if isFirst[e.InstanceGUID] {
					first = append(first, o)
				} else {
					over = append(over, o)
				}
				starts = append(starts, liveStart{run: ri, cell: cellOf[e.InstanceGUID], claim: c, overhead: o})
				firstOf = append(firstOf, isFirst[e.InstanceGUID])
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
	c.Shape = startShape(starts)
	c.Queue = fitStartQueue(starts)
	sse := 0.0
	for i, s := range starts {
		m := c.StartMean
		if firstOf[i] {
			m = c.FirstStartMean
		}
		sse += (s.overhead - m) * (s.overhead - m)
	}
	c.Queue.OverheadRMSE = math.Sqrt(sse / float64(len(starts)))
	c.StartModel = StartModelOverhead
	if err := c.ChooseStartModel(StartModelAuto); err != nil {
		return nil, err
	}
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
	b.WriteString("#   overhead by the starts under way on the cell at the claim (itself included):")
	for _, s := range c.Shape {
		fmt.Fprintf(&b, " %s: %.3fs (n %d);", s.Concurrent, s.Mean, s.Count)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "#   start queue fitted: the starts of %s share it, %d at full speed, service mean %.3fs, stddev %.3fs; error (rms) %.3fs against %.3fs of the two overheads\n",
		scopeWords(c.Queue.Scope), c.Queue.Concurrency, c.Queue.ServiceMean, c.Queue.ServiceStddev, c.Queue.RMSE, c.Queue.OverheadRMSE)
	fmt.Fprintf(&b, "#   auction wait per placed LRP: mean %.3fs, p50 %.3fs, p99 %.3fs\n", c.AuctionWait.Mean, c.AuctionWait.P50, c.AuctionWait.P99)
	b.WriteString("[calibration]\n")
	b.WriteString("draws = \"instance\"          # the workload's per-instance draws\n")
	b.WriteString("heartbeat_phase = \"spread\"  # live reps heartbeat out of phase\n")
	if c.StartModel == StartModelQueue {
		fmt.Fprintf(&b, "start_concurrency = %d         # container starts at full speed at once\n", c.Queue.Concurrency)
		fmt.Fprintf(&b, "start_scope = %q         # whose starts share it: each cell's (cell) or all cells' (cluster)\n", c.Queue.Scope)
		fmt.Fprintf(&b, "start_service = {dist = \"normal\", mean = %q, stddev = %q}\n", d(c.Queue.ServiceMean), d(c.Queue.ServiceStddev))
	} else {
		fmt.Fprintf(&b, "first_start_overhead = {dist = \"normal\", mean = %q, stddev = %q}\n", d(c.FirstStartMean), d(c.FirstStartStddev))
		fmt.Fprintf(&b, "start_overhead = {dist = \"normal\", mean = %q, stddev = %q}\n", d(c.StartMean), d(c.StartStddev))
	}
	fmt.Fprintf(&b, "auction_latency = %q\n", d(c.AuctionLatency))
	return b.String()
}

// Apply sets sc's [calibration] table to c's figures (what TOML writes).
func (c *Calibration) Apply(sc *scenarios.Scenario) {
	sec := func(s float64) time.Duration {
		return time.Duration(math.Max(0, s) * float64(time.Second)).Round(time.Millisecond)
	}
	sc.Calibration = scenarios.Calibration{
		Draws:          scenarios.DrawsInstance,
		HeartbeatPhase: scenarios.HeartbeatSpread,
		AuctionLatency: scenarios.Const(sec(c.AuctionLatency)),
	}
	if c.StartModel == StartModelQueue {
		sc.Calibration.StartConcurrency = c.Queue.Concurrency
		sc.Calibration.StartScope = c.Queue.Scope
		sc.Calibration.StartService = scenarios.Dist{Kind: scenarios.DistNormal, Mean: sec(c.Queue.ServiceMean), Stddev: sec(c.Queue.ServiceStddev)}
		return
	}
	sc.Calibration.StartOverhead = scenarios.Dist{Kind: scenarios.DistNormal, Mean: sec(c.StartMean), Stddev: sec(c.StartStddev)}
	sc.Calibration.FirstStartOverhead = scenarios.Dist{Kind: scenarios.DistNormal, Mean: sec(c.FirstStartMean), Stddev: sec(c.FirstStartStddev)}
}

// scopeWords says a start scope in words.
func scopeWords(scope string) string {
	if scope == scenarios.StartScopeCluster {
		return "all cells"
	}
	return "each cell"
}
