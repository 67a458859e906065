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
}

// Values of Calibration.Draws and Calibration.HeartbeatPhase.
const (
	DrawsStream      = "stream"
	DrawsInstance    = "instance"
	HeartbeatAligned = "aligned"
	HeartbeatSpread  = "spread"
)

// Set reports whether the table changes anything.
func (c Calibration) Set() bool {
	return c.Draws == DrawsInstance || c.HeartbeatPhase == HeartbeatSpread ||
		c.StartOverhead != (Dist{}) && c.StartOverhead != Const(0) ||
		c.FirstStartOverhead != (Dist{}) && c.FirstStartOverhead != Const(0) ||
		c.AuctionLatency != (Dist{}) && c.AuctionLatency != Const(0)
}

type calibrationDoc struct {
	Draws          rawValue `toml:"draws"`
	HeartbeatPhase rawValue `toml:"heartbeat_phase"`
	StartOverhead  rawValue `toml:"start_overhead"`
	FirstStart     rawValue `toml:"first_start_overhead"`
	AuctionLatency rawValue `toml:"auction_latency"`
}

func (p *problems) calibration(d *calibrationDoc) Calibration {
	c := Calibration{
		Draws:              p.str("calibration.draws", d.Draws, DrawsStream, false, `"stream" or "instance"`),
		HeartbeatPhase:     p.str("calibration.heartbeat_phase", d.HeartbeatPhase, HeartbeatAligned, false, `"aligned" or "spread"`),
		StartOverhead:      p.dist("calibration.start_overhead", d.StartOverhead, Dist{}, false),
		FirstStartOverhead: p.dist("calibration.first_start_overhead", d.FirstStart, Dist{}, false),
		AuctionLatency:     p.dist("calibration.auction_latency", d.AuctionLatency, Dist{}, false),
	}
	if c.Draws != DrawsStream && c.Draws != DrawsInstance {
		p.errorf("calibration.draws", fmt.Sprintf(`must be "stream" or "instance", got %q`, c.Draws))
	}
	if c.HeartbeatPhase != HeartbeatAligned && c.HeartbeatPhase != HeartbeatSpread {
		p.errorf("calibration.heartbeat_phase", fmt.Sprintf(`must be "aligned" or "spread", got %q`, c.HeartbeatPhase))
	}
	return c
}
