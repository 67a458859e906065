package scenarios

import "fmt"

// Calibration is the scenario's opt-in [calibration] table: corrections of the
// simulator measured against real mode (docs/fidelity.md says how each figure was
// measured and how to measure it again). Its zero value changes nothing, so a scenario
// without the table simulates exactly as before.
type Calibration struct {
	// Draws says where an instance's start time, start failure and crash time come
	// from: DrawsStream (default) the run-wide streams in order of starts, DrawsInstance
	// a generator per instance identity, as real mode's workload draws them (package
	// scenarios/behave).
	Draws string
	// HeartbeatPhase says when each rep heartbeats: HeartbeatAligned (default) all
	// cells at multiples of presence_heartbeat; HeartbeatSpread cell i of n at
	// i*heartbeat/n past each multiple, as reps started one after another are.
	HeartbeatPhase string
	// StartOverhead is added to every instance's drawn start time: what creating and
	// starting a real container costs before the app's own start (default 0).
	// FirstStartOverhead, when set, replaces it for the first start of an instance
	// index (the burst of an app's initial desire or a scale-up, where every container
	// of the cluster starts at once; live it costs several times a later restart's).
	StartOverhead      Dist
	FirstStartOverhead Dist
	// AuctionLatency is added to each auction round's state fetch (default 0): what
	// the real auction's /state fetches and /work posts cost beyond state_fetch.
	AuctionLatency Dist
	// StartConcurrency, when > 0, makes container starts share the machine: each
	// start needs a StartService draw of work (its cost alone), and while n starts
	// are under way in a StartScope (each cell apart, or the whole cluster) each
	// progresses at min(1, StartConcurrency/n) of full speed. A burst of n starts then
	// finishes together after about n/K services, a lone restart after one, as live
	// bursts do on a loaded machine. The app's drawn start time follows. It replaces
	// StartOverhead and FirstStartOverhead (the two are refused together).
	StartConcurrency int
	StartService     Dist
	StartScope       string
}

// MaxStartConcurrency bounds calibration.start_concurrency (the slots are sized by it).
const MaxStartConcurrency = 1024

// Values of Calibration.Draws and Calibration.HeartbeatPhase.
const (
	DrawsStream      = "stream"
	DrawsInstance    = "instance"
	HeartbeatAligned = "aligned"
	HeartbeatSpread  = "spread"
	// Values of Calibration.StartScope.
	StartScopeCell    = "cell"
	StartScopeCluster = "cluster"
)

// Set reports whether the table changes anything.
func (c Calibration) Set() bool {
	return c.Draws == DrawsInstance || c.HeartbeatPhase == HeartbeatSpread ||
		c.StartOverhead != (Dist{}) && c.StartOverhead != Const(0) ||
		c.FirstStartOverhead != (Dist{}) && c.FirstStartOverhead != Const(0) ||
		c.AuctionLatency != (Dist{}) && c.AuctionLatency != Const(0) ||
		c.StartConcurrency > 0
}

type calibrationDoc struct {
	Draws          rawValue `toml:"draws"`
	HeartbeatPhase rawValue `toml:"heartbeat_phase"`
	StartOverhead  rawValue `toml:"start_overhead"`
	FirstStart     rawValue `toml:"first_start_overhead"`
	AuctionLatency rawValue `toml:"auction_latency"`
	Concurrency    rawValue `toml:"start_concurrency"`
	Service        rawValue `toml:"start_service"`
	Scope          rawValue `toml:"start_scope"`
}

func (p *problems) calibration(d *calibrationDoc) Calibration {
	c := Calibration{
		Draws:              p.str("calibration.draws", d.Draws, DrawsStream, false, `"stream" or "instance"`),
		HeartbeatPhase:     p.str("calibration.heartbeat_phase", d.HeartbeatPhase, HeartbeatAligned, false, `"aligned" or "spread"`),
		StartOverhead:      p.dist("calibration.start_overhead", d.StartOverhead, Dist{}, false),
		FirstStartOverhead: p.dist("calibration.first_start_overhead", d.FirstStart, Dist{}, false),
		AuctionLatency:     p.dist("calibration.auction_latency", d.AuctionLatency, Dist{}, false),
		StartConcurrency: p.integer("calibration.start_concurrency", d.Concurrency, 0,
			intRange{1, MaxStartConcurrency, fmt.Sprintf("an integer in [1, %d] (container starts that run at full speed at once)", MaxStartConcurrency)}, false),
	}
	if c.StartConcurrency > 0 {
		c.StartScope = p.str("calibration.start_scope", d.Scope, StartScopeCell, false, `"cell" or "cluster"`)
	}
	if c.StartConcurrency > 0 && c.StartScope != StartScopeCell && c.StartScope != StartScopeCluster {
		p.errorf("calibration.start_scope", fmt.Sprintf(`must be "cell" (each cell's starts share it) or "cluster" (all starts share one machine), got %q`, c.StartScope))
	}
	if c.StartConcurrency > 0 {
		c.StartService = p.dist("calibration.start_service", d.Service, Dist{}, true)
		if d.StartOverhead.set || d.FirstStart.set {
			p.errorf("calibration.start_concurrency", "replaces start_overhead and first_start_overhead: set either start_concurrency with start_service, or the overheads")
		}
	} else if d.Service.set || d.Scope.set {
		p.errorf("calibration.start_service", "start_service and start_scope need calibration.start_concurrency (the number of starts that run at full speed at once)")
	}
	if c.Draws != DrawsStream && c.Draws != DrawsInstance {
		p.errorf("calibration.draws", fmt.Sprintf(`must be "stream" or "instance", got %q`, c.Draws))
	}
	if c.HeartbeatPhase != HeartbeatAligned && c.HeartbeatPhase != HeartbeatSpread {
		p.errorf("calibration.heartbeat_phase", fmt.Sprintf(`must be "aligned" or "spread", got %q`, c.HeartbeatPhase))
	}
	return c
}
