package bench

import (
	"context"
	_ "embed" // the CloudSim Plus equivalent scenario
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/internal/hugepages"
	"github.com/diegolab/diegolab/scenarios"
)

// ScaleRow is one size of the scale experiment. Memory figures are sampled every 100 ms
// during the run (and once at its end), after a GC before the start: PeakLiveHeap is the
// largest live heap (runtime/metrics /gc/heap/live:bytes, as of the last completed GC:
// what the run really holds), PeakHeapInuse the largest HeapInuse (which also counts
// garbage not yet collected, up to about twice the live heap at GOGC=100); TotalAlloc
// is the bytes allocated during the run (cumulative, freed or not). PeakLiveHeap also
// counts objects allocated while a collection was marking (they are marked live for
// that cycle), so a burst of short-lived allocations during a long mark, such as the
// first auction of millions of instances, shows in it and it varies from run to run
// with the collector's timing. EndLive is exact: the heap still reachable after a
// forced collection at the end of the run, with the whole simulated world held.
type ScaleRow struct {
	Scenario      string
	Cells         int
	Instances     int // desired app instances
	SimSeconds    float64
	Events        uint64
	Wall          time.Duration
	PeakHeapInuse uint64
	PeakLiveHeap  uint64
	EndLive       uint64
	TotalAlloc    uint64
	Running       int
	// WarmupWall is the wall time until the simulated clock reached Warmup (or the end of
	// a shorter run): the start-up, when millions of instances are desired, placed and
	// started. What follows is the steady state (SteadyPerSimHour).
	WarmupWall time.Duration
}

// Warmup is the simulated time that MeasureScale counts as start-up: placing and starting
// every instance, and the first crashes of the crashing apps, all at once.
const Warmup = time.Hour

// SteadyPerSimHour is the wall seconds per simulated hour after Warmup (0 for a run not
// longer than Warmup): the rate that decides how long a long run takes.
func (r ScaleRow) SteadyPerSimHour() float64 {
	return ratio((r.Wall - r.WarmupWall).Seconds(), (r.SimSeconds-Warmup.Seconds())/3600)
}

// EventsPerSecond is events per wall second.
func (r ScaleRow) EventsPerSecond() float64 { return ratio(float64(r.Events), r.Wall.Seconds()) }

// SimToWall is simulated seconds per wall second.
func (r ScaleRow) SimToWall() float64 { return ratio(r.SimSeconds, r.Wall.Seconds()) }

// BytesPerInstance is PeakLiveHeap per desired instance.
func (r ScaleRow) BytesPerInstance() float64 {
	return ratio(float64(r.PeakLiveHeap), float64(r.Instances))
}

// EndLivePerInstance is EndLive per desired instance.
func (r ScaleRow) EndLivePerInstance() float64 {
	return ratio(float64(r.EndLive), float64(r.Instances))
}

// BytesPerCell is PeakLiveHeap per cell.
func (r ScaleRow) BytesPerCell() float64 { return ratio(float64(r.PeakLiveHeap), float64(r.Cells)) }

// liveHeap reads the live heap as of the last completed GC cycle.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// ScaleProgress is how far a scale run is, reported every progressEvery of wall time.
type ScaleProgress struct {
	Simulated, Duration time.Duration // simulated so far, of the scenario's duration
	Wall                time.Duration
}

// ETA extrapolates the wall time left from the pace so far.
func (p ScaleProgress) ETA() time.Duration {
	if p.Simulated <= 0 {
		return 0
	}
	return time.Duration(float64(p.Wall) * float64(p.Duration-p.Simulated) / float64(p.Simulated))
}

const progressEvery = 10 * time.Second

// prefaultPerInstance is the heap MeasureScale has advised for huge pages before a run
// starts, per instance: about the live heap's peak (~735 B at 10,000 cells) with room;
// the Advisor covers what grows beyond it. 1.5 KB measured no faster.
const prefaultPerInstance = 1024

// ScaleOptions tunes MeasureScale.
type ScaleOptions struct {
	// Progress, if not nil, is called every ProgressEvery of wall time from another
	// goroutine (a day at 10,000 cells takes minutes).
	Progress func(ScaleProgress)
	// ProgressEvery is how often Progress is called (default 10 s; at least 100 ms, the
	// sampling period).
	ProgressEvery time.Duration
	// HugePages asks Linux for transparent huge pages on the heap as it grows
	// (internal/hugepages), from the sampling goroutine every 10 s of wall time. It
	// changes no result, only how fast the heap is reached.
	HugePages bool
	// At, if not nil, is called once, on the simulation's goroutine, when the simulated
	// clock first reaches AtSim (at least one event later than the start): a hook to
	// start a profile of the steady state only, say.
	At    func()
	AtSim time.Duration
}

// MeasureScale runs sc once, alone (call it with nothing else running in the process for
// meaningful memory figures), and measures it. ctx is checked before the start only:
// one simulation cannot be interrupted.
func MeasureScale(ctx context.Context, sc *scenarios.Scenario, opts ScaleOptions) (ScaleRow, error) {
	if err := ctx.Err(); err != nil {
		return ScaleRow{}, err
	}
	row := ScaleRow{Scenario: sc.Name, SimSeconds: sc.Duration.Seconds()}
	for _, g := range sc.Cells {
		row.Cells += g.Count
	}
	for _, g := range sc.Apps {
		row.Instances += g.Count * g.Instances
	}
	var thp *hugepages.Advisor
	if opts.HugePages && hugepages.Supported() {
		thp = hugepages.NewAdvisor()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	start := time.Now()
	if want := row.Instances * prefaultPerInstance; thp != nil && ms.HeapSys < uint64(want)/2 {
		// A heap mostly still to be built: advise it before its first touch (errors only
		// mean slower memory, as for the Advisor below); the GC below takes it back.
		// Timed with the run, though it takes milliseconds.
		_ = hugepages.Prefault(want)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	alloc0 := ms.TotalAlloc // after the prefaulted bytes: they are not the run's
	var peak, peakLive uint64
	var mu sync.Mutex
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		live := liveHeap()
		mu.Lock()
		peak = max(peak, m.HeapInuse)
		peakLive = max(peakLive, live)
		mu.Unlock()
	}
	var simNow atomic.Int64 // simulated time reached, from Options.Progress
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		every := opts.ProgressEvery
		if every <= 0 {
			every = progressEvery
		}
		next, nextTHP := every, time.Duration(0)
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				sample()
				wall := time.Since(start)
				if thp != nil && wall >= nextTHP {
					// Errors only mean slower memory; the run's results do not depend on it.
					_, _ = thp.Advise()
					nextTHP = wall + progressEvery
				}
				if opts.Progress != nil && wall >= next {
					next += every
					opts.Progress(ScaleProgress{Simulated: time.Duration(simNow.Load()), Duration: sc.Duration, Wall: wall})
				}
			}
		}
	}()
	warm, at := false, opts.At
	progressFn := func(now time.Duration) {
		simNow.Store(int64(now))
		if !warm && now >= Warmup {
			warm, row.WarmupWall = true, time.Since(start)
		}
		if at != nil && now >= opts.AtSim {
			fn := at
			at = nil
			fn()
		}
	}
	s, err := sim.New(sc, sim.Options{NoEvents: true, Progress: progressFn})
	if err == nil {
		res, runErr := s.Run()
		if err = runErr; err == nil {
			row.Events, row.Running = res.Events, res.RunningInstances
		}
	}
	row.Wall = time.Since(start)
	if !warm {
		row.WarmupWall = row.Wall
	}
	sample()
	close(stop)
	wg.Wait()
	if err != nil {
		return row, fmt.Errorf("scale run %s: %w", sc.Name, err)
	}
	runtime.ReadMemStats(&ms)
	row.PeakHeapInuse, row.PeakLiveHeap, row.TotalAlloc = peak, peakLive, ms.TotalAlloc-alloc0
	runtime.GC()
	runtime.ReadMemStats(&ms)
	row.EndLive = ms.HeapAlloc
	runtime.KeepAlive(s)
	return row, nil
}

// WriteScaleCSV writes scale rows to path.
func WriteScaleCSV(path string, rows []ScaleRow) error {
	var b strings.Builder
	b.WriteString("scenario,cells,instances,running,sim_s,wall_s,events,events_per_s,sim_to_wall,peak_live_heap_bytes,peak_heap_inuse_bytes,bytes_per_instance,bytes_per_cell,total_alloc_bytes,end_live_bytes,warmup_wall_s,steady_wall_s_per_sim_hour\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%d,%d,%d,%s,%s,%d,%s,%s,%d,%d,%s,%s,%d,%d,%s,%s\n", r.Scenario, r.Cells, r.Instances, r.Running,
			formatFloat(r.SimSeconds), formatFloat(r.Wall.Seconds()), r.Events, formatFloat(r.EventsPerSecond()),
			formatFloat(r.SimToWall()), r.PeakLiveHeap, r.PeakHeapInuse, formatFloat(r.BytesPerInstance()), formatFloat(r.BytesPerCell()), r.TotalAlloc, r.EndLive,
			formatFloat(r.WarmupWall.Seconds()), formatFloat(r.SteadyPerSimHour()))
	}
	return writeAtomic(path, []byte(b.String()))
}

//go:embed cloudsimplus-equivalent.toml
var cloudSimSource []byte

// CloudSimEquivalent loads bench/cloudsimplus-equivalent.toml with overrides.
func CloudSimEquivalent(overrides ...string) (*scenarios.Scenario, error) {
	return scenarios.Parse("bench/cloudsimplus-equivalent.toml", cloudSimSource, overrides...)
}
