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
	// Failures counts placement errors by text.
	Failures map[string]int
}

// Plane is the control plane. It is not safe for concurrent use: a driver calls it from
// one goroutine (the simulation kernel, or real mode's single control loop).
type Plane struct {
	cfg Config
	bbs *bbs.BBS
	alg auction.Algorithm
	rng *rand.Rand

	// The auctioneer's queue: work requested since the last batch began.
	lrpQueue   []auction.LRP
	lrpQueued  []time.Duration
	taskQueue  []auction.Task
	taskQueued []time.Duration
	auctioning bool
	lastBatch  int // LRPs in the last batch: the next queue's starting capacity

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
		presence:     map[string]struct{}{},
		expiring:     map[string]time.Duration{},
		nextConverge: cfg.ConvergenceInterval,
	}, nil
}

// BBS gives read access to the store's state (and the rep-side operations that do not
// involve the auctioneer).
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
	p.lrpQueued = slices.Grow(p.lrpQueued, n)
}

// collect moves the BBS's outbox into the plane's: auction requests join the queue,
// everything else is passed on to the driver.
func (p *Plane) collect() {
	r := p.bbs.Ready()
	if p.lrpQueue == nil && len(r.LRPStarts) > 0 {
		// Start the batch at the size of the last one: appends from nothing would copy a
		// steady state's batches of tens of items four or five times each.
		n := max(len(r.LRPStarts), p.lastBatch)
		p.lrpQueue, p.lrpQueued = make([]auction.LRP, 0, n), make([]time.Duration, 0, n)
	}
	for _, s := range r.LRPStarts {
		p.lrpQueue = append(p.lrpQueue, auction.LRP{
			ProcessGUID: s.Key.ProcessGUID, Index: s.Key.Index, Domain: s.Domain,
			Resource: s.Resource, PlacementConstraint: s.Constraint, MaxPerCell: s.MaxPerCell,
		})
		p.lrpQueued = append(p.lrpQueued, p.now)
	}
	for _, s := range r.TaskStarts {
		p.taskQueue = append(p.taskQueue, auction.Task{
			GUID: s.GUID, Domain: s.Domain, Resource: s.Resource, PlacementConstraint: s.Constraint,
		})
		p.taskQueued = append(p.taskQueued, p.now)
	}
	p.out.StopLRPs = appendOrTake(p.out.StopLRPs, r.StopLRPs)
	p.out.CancelTasks = appendOrTake(p.out.CancelTasks, r.CancelTasks)
	p.out.Callbacks = appendOrTake(p.out.Callbacks, r.Callbacks)
	p.out.Events = appendOrTake(p.out.Events, r.Events)
	if !p.auctioning && (len(p.lrpQueue) > 0 || len(p.taskQueue) > 0) {
		p.auctioning = true
		p.out.StartAuction = true
	}
}

// appendOrTake appends more to dst, or returns more itself when dst is empty: the BBS
// hands its outbox over and starts a new one, so the slice is the plane's to keep.
func appendOrTake[T any](dst, more []T) []T {
	if len(dst) == 0 {
		return more
	}
	return append(dst, more...)
}
