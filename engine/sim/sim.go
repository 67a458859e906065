package sim

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/auction"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/control"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// Options control what a run writes.
type Options struct {
	// OutDir receives the run record; "" writes nothing (benchmarks, tests).
	OutDir string
	// NoEvents skips events.jsonl (large runs).
	NoEvents bool
	// SampleEvery is the timeseries interval (default 10 s).
	SampleEvery time.Duration
	// Progress, when set, is called with the simulated time every 4,096 events, from
	// the goroutine running the simulation; it must not touch the Sim. It lets a long
	// run report how far it is without any effect on the run.
	Progress func(now time.Duration)
}

// Event kinds dispatched by the driver (engine.Payload.Kind).
const (
	kCellsUp      uint32 = iota + 1 // at 0: every cell starts heartbeating (holds its presence)
	kConverge                       // every convergence interval: the plane ticks
	kAuction                        // an auction round: cell states fetched
	kStart                          // A = container: it starts running
	kCrash                          // A = container: its process exits
	kTaskDone                       // A = container: the task's process exits
	kDesireApps                     // A = app group
	kDesireTask                     // A = task group, B = task number
	kTimeline                       // A = timeline event
	kPartitionEnd                   // A = cell
	kEvacPoll                       // A = cell
	kSample                         // timeseries sample
	// Staging (staging.go): only scheduled in scenarios that push apps.
	kNet            // the first network flow ends
	kResolved       // A = container: its image reference was resolved
	kStagingStep    // A = staged app, B = job step sequence
	kStagingTimeout // A = staged app, B = job step sequence
	kPresenceCheck  // a stopped cell's presence may have expired: the plane ticks
	kStartQueue     // A = start scope: its next container start is done (startqueue.go)
)

// Sim is one simulation run of a scenario.
type Sim struct {
	sc    *scenarios.Scenario
	opts  Options
	k     *engine.Kernel
	plane *control.Plane
	store *bbs.MemStore // the plane's store (PrefetchNext)
	// view is the plane's view of the cells (the auctioneer's), kept current as the
	// simulated containers come and go.
	view control.CellView

	cells      []*cell
	cellByID   map[string]int
	cellCache  []cellCacheEntry // cellIndex's cache of cellByID (sizeCellCache)
	cellShift  uint
	containers containerPool
	byTask     map[string]int32 // task guid -> container

	guids   *model.GUIDs // the run's process ids, shared with the auction state
	apps    appTable
	appBeh  []uint32              // per app id: index+1 in behs of its behaviour's group (0: none)
	behs    []*scenarios.AppGroup // the groups that define apps' behaviour, in order of first use
	behIdx  map[*scenarios.AppGroup]uint32
	taskBeh map[string]int // task guid -> task group

	rStart, rCrash, rTasks, rFaults, rLatency *rand.Rand
	// begun: (app id << 32 | index) of instances whose first container was created
	// (only with calibration first_start_overhead).
	begun map[int64]bool
	// starts: the calibrated start queues (startqueue.go), the cluster's then one per
	// cell; nil without one.
	starts []startQueue

	events *record.EventWriter
	m      metrics
	err    error
	fired  uint64 // events dispatched, counted only for Options.Progress

	// Staging world (staging.go); nil unless the scenario pushes apps.
	stg    *stagingWorld
	rStage *rand.Rand

	started  bool          // Start ran
	startDur time.Duration // Start's wall time (perf.json)
	phases   Phases        // wall times for perf.json; never in the record

	// cm follows CPU and GPUs (compute.go); nil unless some cell declares them.
	cm *computeMetrics
}

// Phases are the wall times of a run's parts, for perf.json only (they never enter the
// deterministic record): Build is New and the instant 0 (cells, apps desired at the
// start, the initial state), Simulate the rest of the run to its end, Write the run
// record's files.
type Phases struct {
	Build, Simulate, Write time.Duration
}

// Phases returns the wall times measured so far.
func (s *Sim) Phases() Phases { return s.phases }

// New prepares a run of sc.
func New(sc *scenarios.Scenario, opts Options) (*Sim, error) {
	wall := time.Now() // perf.json only
	if opts.SampleEvery <= 0 {
		opts.SampleEvery = 10 * time.Second
	}
	k := engine.New(sc.Seed)
	// The trace hash identifies a run: it starts from the seed, so two runs share a hash
	// only if they had the same seed and processed the same events and decisions.
	k.Mix(sc.Seed)
	cfg := control.Defaults()
	cfg.Algorithm = sc.Algorithm
	cfg.Auction = auction.Settings{
		StartingContainerWeight: sc.Auction.StartingContainerWeight,
		BinPackFirstFitWeight:   sc.Auction.BinPackFirstFitWeight,
		MaxStartingContainers:   sc.Auction.MaxStartingContainers,
		ProxyMemoryMB:           sc.Auction.ProxyMemoryMB,
	}
	cfg.ConvergenceInterval = sc.Timers.ConvergenceInterval
	cfg.PresenceTTL = sc.Timers.PresenceTTL
	cfg.BBS = bbs.Config{
		StaleUnclaimed:      sc.Timers.StaleUnclaimed,
		MaxTaskRetries:      sc.Timers.MaxTaskRetries,
		ExpirePendingTask:   sc.Timers.ExpirePendingTask,
		ExpireCompletedTask: sc.Timers.ExpireCompletedTask,
		KickTask:            sc.Timers.KickTask,
	}
	// One table of process ids for the run, shared by the BBS store, the auction State
	// and the driver's app table (model.GUIDs).
	guids := model.NewGUIDs()
	store := bbs.NewMemStore()
	store.UseGUIDs(guids)
	plane, err := control.New(cfg, store, k.Stream("auction"))
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	s := &Sim{
		sc: sc, opts: opts, k: k, plane: plane, store: store,
		view:     plane.Cells(),
		cellByID: map[string]int{},
		byTask:   map[string]int32{},
		taskBeh:  map[string]int{},
		guids:    guids,
		rStart:   k.Stream("start"),
		rCrash:   k.Stream("crash"),
		rTasks:   k.Stream("tasks"),
		rFaults:  k.Stream("faults"),
		rLatency: k.Stream("latency"),
	}
	if sc.DeclaresCompute() {
		s.cm = &computeMetrics{}
	}
	s.apps.init(s.guids)
	s.view.UseGUIDs(s.guids)
	s.m.init()
	initial := sc.InitialCells()
	s.sizeCellCache(len(initial))
	for _, c := range initial {
		if err := s.addCell(c); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
	}
	s.setupStaging()
	s.phases.Build = time.Since(wall)
	return s, nil
}

// Kernel exposes the kernel (tests read the clock and the hash).
func (s *Sim) Kernel() *engine.Kernel { return s.k }

// Plane exposes the control plane (tests inspect the BBS).
func (s *Sim) Plane() *control.Plane { return s.plane }

// Fire dispatches the driver's events. *Sim is the only handler, so scheduling stores a
// pointer in the kernel and never allocates.
func (s *Sim) Fire(k *engine.Kernel, p engine.Payload) {
	now := k.Now()
	if s.opts.Progress != nil {
		if s.fired++; s.fired&0xfff == 0 {
			s.opts.Progress(now)
		}
	}
	switch p.Kind {
	case kCellsUp:
		for _, c := range s.cells {
			if c.heartbeats() {
				s.plane.Hold(now, c.ID)
			}
		}
	case kPresenceCheck:
		s.plane.Tick(now)
	case kConverge:
		s.plane.Tick(now)
		s.k.After(s.sc.Timers.ConvergenceInterval, s, engine.Payload{Kind: kConverge})
	case kAuction:
		s.plane.RunAuction(now, nil)
	case kStart:
		s.containerStart(now, int32(p.A), uint32(p.B))
	case kCrash:
		s.containerCrash(now, int32(p.A), uint32(p.B), "APP/PROC/WEB: Exited with status 1")
	case kTaskDone:
		s.taskDone(now, int32(p.A), uint32(p.B))
	case kDesireApps:
		s.desireApps(now, int(p.A))
	case kDesireTask:
		s.desireTask(now, int(p.A), int(p.B))
	case kTimeline:
		s.timeline(now, int(p.A))
	case kPartitionEnd:
		s.partitionEnd(now, int(p.A))
	case kEvacPoll:
		s.evacPoll(now, int(p.A))
	case kSample:
		s.sample(now)
		s.k.After(s.opts.SampleEvery, s, engine.Payload{Kind: kSample})
	case kNet:
		s.netDue(now)
	case kResolved:
		s.resolved(now, int32(p.A), uint32(p.B))
	case kStagingStep, kStagingTimeout:
		s.stagingEvent(now, p.A, p.B, p.Kind == kStagingTimeout)
	case kStartQueue:
		s.startsDone(now, int(p.A))
	}
	s.drain(now)
}

// Start opens the run record's event stream, schedules the scenario and runs its
// instant 0 (the apps desired at the start: the initial state). Run calls it if the
// caller has not; calling it first lets a caller time or inspect the set-up alone. It
// changes nothing in the run: the events run in the same order either way.
func (s *Sim) Start() error {
	if s.started {
		return s.err
	}
	s.started = true
	wall := time.Now() // perf.json only; never enters the deterministic record
	defer func() {
		s.startDur = time.Since(wall)
		s.phases.Build += s.startDur
	}()
	if s.opts.OutDir != "" {
		if err := os.MkdirAll(s.opts.OutDir, 0o755); err != nil {
			return err
		}
	}
	if s.opts.OutDir != "" && !s.opts.NoEvents {
		ew, err := record.CreateEventWriter(s.opts.OutDir)
		if err != nil {
			return err
		}
		s.events = ew
	}
	s.schedule()
	if n := s.instantZeroInstances(); n >= buildGCMinInstances {
		defer relaxGC(n)()
	}
	s.reserve()
	s.k.RunUntil(0)
	return s.err
}

// reserve sizes the container pool and the kernel for the desired instances up front:
// grown by appending, a 2.5 M-instance run would hold the old and the new array
// (hundreds of MB) at once in the middle of its first auction, its peak. It runs in
// Start, with the collector relaxed for the build (relaxGC): allocated in New, the
// arrays started a collection that scanned their empty capacity.
func (s *Sim) reserve() {
	n := 0
	for i := range s.sc.Apps {
		n += s.sc.Apps[i].Count * s.sc.Apps[i].Instances
	}
	if n > cap(s.containers.items) {
		s.containers.items = append(make([]container, 0, n), s.containers.items...)
	}
	s.k.Reserve(n)
}

// Run simulates the scenario to its end and, with OutDir set, writes the run record.
func (s *Sim) Run() (*record.Summary, error) {
	wall := time.Now() // perf.json only; never enters the deterministic record
	if s.started {
		wall = wall.Add(-s.startDur) // the caller ran Start first: count it as Run would
	}
	err := s.Start()
	if err == nil {
		sim := time.Now()
		s.k.RunUntil(s.sc.Duration)
		s.finish(s.sc.Duration)
		s.phases.Simulate = time.Since(sim)
	}
	if err := s.events.Close(); err != nil && s.err == nil {
		s.err = fmt.Errorf("write %s: %w", record.EventsFile, err)
	}
	if err == nil {
		err = s.err
	}
	if err != nil {
		return nil, err
	}
	sum := s.summary()
	if s.opts.OutDir != "" {
		// wall_seconds: the run from Start to its end, without New.
		if err := s.writeRecord(sum, time.Since(wall)); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// schedule puts the scenario's initial events on the kernel.
func (s *Sim) schedule() {
	k := s.k
	k.Schedule(0, s, engine.Payload{Kind: kCellsUp})
	k.Schedule(s.sc.Timers.ConvergenceInterval, s, engine.Payload{Kind: kConverge})
	k.Schedule(0, s, engine.Payload{Kind: kSample})
	for gi := range s.sc.Apps {
		k.Schedule(s.sc.Apps[gi].StartAt, s, engine.Payload{Kind: kDesireApps, A: int64(gi)})
	}
	tasks := 0
	for gi := range s.sc.Tasks {
		g := &s.sc.Tasks[gi]
		at := g.StartAt
		for i := 0; i < g.Count; i++ {
			if g.RatePerMinute > 0 {
				// Poisson arrivals: exponential gaps with mean 1/rate.
				at += time.Duration(s.rTasks.ExpFloat64() / g.RatePerMinute * float64(time.Minute))
			}
			if at > s.sc.Duration {
				break
			}
			k.Schedule(at, s, engine.Payload{Kind: kDesireTask, A: int64(gi), B: int64(i)})
			tasks++
		}
	}
	if len(s.taskBeh) == 0 {
		s.taskBeh = make(map[string]int, tasks) // sized once for the tasks scheduled
	}
	order := make([]int, len(s.sc.Events))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmpDur(s.sc.Events[a].At, s.sc.Events[b].At) })
	for _, i := range order {
		k.Schedule(s.sc.Events[i].At, s, engine.Payload{Kind: kTimeline, A: int64(i)})
	}
}

func cmpDur(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// stopHeartbeats: the cell's rep stops refreshing its presence (the cell died or was
// cut off). Reps heartbeat every PresenceHeartbeat, in rounds at multiples of it; the
// last round before now was the last heartbeat, so the presence expires PresenceTTL
// after it, when the plane is ticked to notice.
func (s *Sim) stopHeartbeats(now time.Duration, c *cell) {
	hb := s.sc.Timers.PresenceHeartbeat
	last := time.Duration(0)
	if now > 0 {
		last = (now - 1) / hb * hb
	}
	if s.sc.Calibration.HeartbeatPhase == scenarios.HeartbeatSpread && now > 0 {
		// Out of phase, as reps started one after another: cell i of n heartbeats at
		// i*hb/n past each multiple of hb.
		phase := hb * time.Duration(s.cellByID[c.ID]) / time.Duration(len(s.cells))
		last = (now-1-phase)/hb*hb + phase
		if now-1 < phase {
			last = max(0, phase-hb)
		}
	}
	s.plane.Release(now, c.ID, last)
	s.k.Schedule(max(now, last+s.sc.Timers.PresenceTTL), s, engine.Payload{Kind: kPresenceCheck})
}

func (s *Sim) desireApps(now time.Duration, gi int) {
	if s.pushApps(now, gi) {
		return // pushed apps are desired when their staging succeeds
	}
	g := &s.sc.Apps[gi]
	s.expectInstances(gi)
	// g.ProcessGUIDs(), laid out as one block and read by position (no slice of them)
	guids := s.guids.NumberedList(g.Name, g.Count)
	for i := range guids.Len() {
		s.appBehaviour(guids.ID(i), g)
	}
	// The apps differ only in their guids: the plane desires them as a group, 256 at a
	// time (a group of a million apps would otherwise hold two events per app, desired
	// and actual rows created, until the drain after this handler).
	template := g.DesiredLRPNamed("")
	batch := make([]string, 0, desireBatch)
	for lo := 0; lo < guids.Len(); lo += desireBatch {
		batch = guids.Append(batch[:0], lo, min(lo+desireBatch, guids.Len()))
		if n, err := s.plane.DesireLRPs(now, template, batch); err != nil {
			s.fail(fmt.Errorf("desire %s: %w", batch[n], err))
			return
		}
		if len(batch) == desireBatch {
			s.observeTaken(now)
		}
	}
}

// desireBatch is the number of apps desired between two flushes of their events.
const desireBatch = 256

// expectInstances, for the first group desired directly (not pushed) at its instant,
// tells the plane (and the shared ids) how many apps the groups desired directly at that
// instant will desire and how many instances they will request, so that the tables and
// the first auction's queue are allocated once.
func (s *Sim) expectInstances(gi int) {
	at := s.sc.Apps[gi].StartAt
	direct := func(j int) bool { return s.sc.Apps[j].StartAt == at && (s.stg == nil || s.sc.Apps[j].Staging == nil) }
	for j := 0; j < gi; j++ {
		if direct(j) {
			return // an earlier group of this instant did it
		}
	}
	n, apps := 0, 0
	for j := gi; j < len(s.sc.Apps); j++ {
		if direct(j) {
			n += s.sc.Apps[j].Count * s.sc.Apps[j].Instances
			apps += s.sc.Apps[j].Count
		}
	}
	s.apps.reserve(apps)
	s.appBeh = slices.Grow(s.appBeh, apps)
	s.plane.ExpectApps(apps, n)
}

func (s *Sim) appBehaviour(id int32, g *scenarios.AppGroup) {
	s.apps.ensure(id)
	for int(id) >= len(s.appBeh) {
		s.appBeh = append(s.appBeh, 0)
	}
	b, ok := s.behIdx[g]
	if !ok {
		if s.behIdx == nil {
			s.behIdx = map[*scenarios.AppGroup]uint32{}
		}
		s.behs = append(s.behs, g)
		b = uint32(len(s.behs))
		s.behIdx[g] = b
	}
	s.appBeh[id] = b
}

func (s *Sim) desireTask(now time.Duration, gi, i int) {
	t := s.sc.Tasks[gi].Task(i)
	t.State = model.TaskPending
	s.taskBeh[t.GUID] = gi
	if err := s.plane.DesireTask(now, t); err != nil {
		s.fail(fmt.Errorf("desire task %s: %w", t.GUID, err))
		return
	}
	s.m.tasksDesired++
}

// fail records the first internal error; the run stops and reports it.
func (s *Sim) fail(err error) {
	if s.err == nil {
		s.err = err
		s.k.Stop()
	}
}
