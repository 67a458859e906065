package control

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/auction"
	"github.com/diegolab/diegolab/model/bbs"
)

// Config is the plane's configuration; Defaults gives Diego's values.
type Config struct {
	Algorithm           string
	Auction             auction.Settings
	BBS                 bbs.Config
	ConvergenceInterval time.Duration
	PresenceTTL         time.Duration
}

// Defaults returns Diego's configuration (DIEGO.md §0).
func Defaults() Config {
	return Config{
		Algorithm:           "diego",
		Auction:             auction.DefaultSettings(),
		BBS:                 bbs.DefaultConfig(),
		ConvergenceInterval: 30 * time.Second,
		PresenceTTL:         15 * time.Second,
	}
}

// Work is what the auctioneer sends one cell in a Perform call: the LRP instances and
// tasks it won, already reserved against that cell in the auction state.
type Work struct {
	CellID string
	LRPs   []LRPWork
	Tasks  []auction.Task
}

// LRPWork is one LRP instance to run, with the instance guid it will carry. The LRP
// points at the auctioned item (read it, do not modify it): a first auction of millions
// of instances would otherwise hold another copy of every item.
type LRPWork struct {
	*auction.LRP
	InstanceGUID string
}

// Ready is everything the plane wants done since the previous call, in order.
type Ready struct {
	// StartAuction asks the driver to fetch cell states and then call RunAuction.
	StartAuction bool
	Work         []Work
	StopLRPs     []bbs.StopLRP
	CancelTasks  []bbs.CancelTask
	Callbacks    []model.Task
	// PresenceLost lists cells whose presence expired, PresenceGained cells that came
	// (back), both sorted.
	PresenceLost   []string
	PresenceGained []string
	Events         []bbs.Event
	// Auctions describes the batches run since the last call.
	Auctions []AuctionRound
	// Converged reports each convergence pass run since the last call.
	Converged []bbs.ConvergeReport
}

// AuctionRound describes one batch.
type AuctionRound struct {
	At                                               time.Duration
	LRPs, Tasks                                      int
	LRPsPlaced, LRPsFailed, TasksPlaced, TasksFailed int
	// Waits holds, for each placed item, the seconds from its request to its placement.
	Waits []float64
	// Failures counts placement errors by text; nil when nothing failed.
	Failures map[string]int
}

// Plane is the control plane. It is not safe for concurrent use: a driver calls it from
// one goroutine (the simulation kernel, or real mode's single control loop).
type Plane struct {
	cfg Config
	bbs *bbs.BBS
	alg auction.Algorithm
	rng *rand.Rand
	// view is the auctioneer's view of the cells that a driver keeps current (Cells).
	view *auction.State

	// The auctioneer's queue: work requested since the last batch began. lrpQueue is
	// carved from chunks: a batch's items stay where they are after the batch (results
	// and Work point at them) and the next batch continues in the rest of the chunk, so
	// every element of a chunk is written once. lrpQueued, the times the LRPs were
	// queued, is the plane's alone and is reused from batch to batch: runs of equal
	// times, as LRPs come in batches of one instant (a start-up's millions in a few
	// hundred runs, where a time per LRP was 80 MB at 10,000,000 instances).
	lrpQueue   []auction.LRP
	specs      auction.Specs // the queued LRPs' specs, shared by an app's instances
	lrpQueued  []queuedRun
	taskQueue  []auction.Task
	taskQueued []time.Duration
	auctioning bool
	lastBatch  int // LRPs in the last batch (at most 1,024): sizes the next queue chunk

	// RunAuction's scratch, reused from round to round (none of it reaches Ready).
	round    uint64               // rounds run: marks the entries of cellWork made by this one
	cellWork map[string]cellEntry // the Work index of each cell that won in round
	lrpWin   []int32              // per LRP result: its Work (from the round's first), or -1
	taskWin  []int32              // per task result: the same
	wins     []cellWins           // per Work of the round: the cell and its items
	guidBuf  []byte               // the round's instance guids, before they become one string
	guidEnd  []int32              // where each guid ends in guidBuf

	now time.Duration
	// presence: the live cells. A cell that heartbeats (Heartbeat) has an expiry in
	// expiring; a held cell (Hold: the simulator's steadily heartbeating cells) has none
	// until Release gives it one. present caches the sorted ids for convergence and is
	// replaced (never modified) when membership changes.
	presence     map[string]struct{}
	expiring     map[string]time.Duration
	present      []string
	presentDirty bool
	nextConverge time.Duration
	instances    uint64

	out Ready
}

// New builds a plane over store. rng drives the randomised algorithms only.
func New(cfg Config, store bbs.Store, rng *rand.Rand) (*Plane, error) {
	if cfg.Algorithm == "" {
		cfg.Algorithm = "diego"
	}
	alg, err := auction.New(cfg.Algorithm)
	if err != nil {
		return nil, err
	}
	if err := cfg.Auction.Validate(); err != nil {
		return nil, err
	}
	if cfg.ConvergenceInterval <= 0 {
		return nil, &model.ValidationError{Field: "convergence_interval", Problem: "must be > 0"}
	}
	if cfg.PresenceTTL <= 0 {
		return nil, &model.ValidationError{Field: "presence_ttl", Problem: "must be > 0"}
	}
	return &Plane{
		cfg:          cfg,
		bbs:          bbs.New(store, cfg.BBS),
		alg:          alg,
		rng:          rng,
		view:         auction.NewState(cfg.Auction),
		presence:     map[string]struct{}{},
		expiring:     map[string]time.Duration{},
		nextConverge: cfg.ConvergenceInterval,
	}, nil
}

// BBS gives read access to the store's state: queries (a row, the stats). Every
// domain operation goes through a Plane method, so that a driver needs no other object.
func (p *Plane) BBS() *bbs.BBS { return p.bbs }

// Config returns the plane's configuration.
func (p *Plane) Config() Config { return p.cfg }

// Ready returns and clears the plane's outputs.
func (p *Plane) Ready() Ready {
	p.collect()
	r := p.out
	p.out = Ready{}
	return r
}

// TakeEvents returns and clears the BBS events produced so far, leaving every other
// output for Ready. A driver carrying out a large Ready (the first auction of a big
// cluster claims millions of instances) calls it between items so that the events do
// not pile up; their order is the BBS's, as through Ready.
func (p *Plane) TakeEvents() []bbs.Event {
	p.collect()
	ev := p.out.Events
	p.out.Events = nil
	return ev
}

// ExpectLRPs tells the plane that about n more LRP instances will be requested before
// the next auction (a driver desiring a million apps at once knows it): the auction
// queue is sized for them at once instead of growing by copying, which for millions of
// instances costs seconds and holds the old and the new queue together.
func (p *Plane) ExpectLRPs(n int) {
	if n <= 0 {
		return
	}
	p.lrpQueue = slices.Grow(p.lrpQueue, n)
}

// ExpectApps is ExpectLRPs for n desired LRPs (apps) about to be desired, with
// instances instances in all: the BBS's tables and the auction queue are sized once.
func (p *Plane) ExpectApps(n, instances int) {
	// The instances first: the desired LRPs' reservation asks the convergence queue of
	// UNCLAIMED rows for room for n, which the instances' then grows to room for
	// instances, so in this order the queue is allocated and cleared once (at 100,000
	// cells, 192 MB less to touch).
	if instances > 0 {
		p.bbs.ExpectInstances(instances)
	}
	if n > 0 {
		p.bbs.ExpectDesired(n)
	}
	p.ExpectLRPs(instances)
}

// lrpChunk is the number of LRPs of a queue chunk (32 bytes each, their specs shared:
// ~4 KB, a few steady-state batches).
const lrpChunk = 128

// collect moves the BBS's outbox into the plane's: auction requests join the queue,
// everything else is passed on to the driver.
func (p *Plane) collect() {
	r := p.bbs.Ready()
	if len(r.LRPStarts) > 0 {
		p.queueLRPs(r.LRPStarts)
	}
	for _, s := range r.TaskStarts {
		p.taskQueue = append(p.taskQueue, auction.Task{
			GUID: s.GUID, Domain: s.Domain, Resource: s.Resource, PlacementConstraint: s.Constraint,
			Compute: s.Compute,
		})
		p.taskQueued = append(p.taskQueued, p.now)
	}
	if len(r.StopLRPs) > 0 {
		p.out.StopLRPs = appendOrTake(p.out.StopLRPs, r.StopLRPs)
	}
	if len(r.CancelTasks) > 0 {
		p.out.CancelTasks = appendOrTake(p.out.CancelTasks, r.CancelTasks)
	}
	if len(r.Callbacks) > 0 {
		p.out.Callbacks = appendOrTake(p.out.Callbacks, r.Callbacks)
	}
	if len(r.Events) > 0 {
		p.out.Events = appendOrTake(p.out.Events, r.Events)
	}
	if !p.auctioning && (len(p.lrpQueue) > 0 || len(p.taskQueue) > 0) {
		p.auctioning = true
		p.out.StartAuction = true
	}
}

// queueLRPs adds start requests to the auction queue.
func (p *Plane) queueLRPs(starts []bbs.LRPStart) {
	q, n := p.lrpQueue, len(p.lrpQueue)
	if cap(q)-n < len(starts) {
		// A new chunk, with room for this batch as large as the last one and then a few
		// more batches; the queue so far moves (nothing points at it before the auction).
		c := max(lrpChunk, n+len(starts), 2*p.lastBatch)
		if n > 0 {
			c = max(c, 2*(n+len(starts))) // a large batch growing: double, as append would
		}
		nq := make([]auction.LRP, n, c)
		copy(nq, q)
		q = nq
	}
	q = q[:n+len(starts)]
	for i := range starts {
		s, l := &starts[i], &q[n+i]
		l.ProcessGUID, l.Index = s.Key.ProcessGUID, s.Key.Index
		l.LRPSpec = p.specs.Share(&auction.LRPSpec{Domain: s.Domain, Resource: s.Resource,
			PlacementConstraint: s.Constraint, MaxPerCell: s.MaxPerCell, Compute: s.Compute})
	}
	p.lrpQueue = q
	p.lrpQueued = appendRun(p.lrpQueued, p.now, len(starts))
}

// appendOrTake appends more to dst, or returns more itself when dst is empty: the BBS
// hands its outbox over and starts a new one, so the slice is the plane's to keep.
func appendOrTake[T any](dst, more []T) []T {
	if len(dst) == 0 {
		return more
	}
	return append(dst, more...)
}
