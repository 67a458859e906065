package bbsserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/auction"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/control"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/hostnet"
	"github.com/diegolab/diegolab/real/logs"
	"github.com/diegolab/diegolab/real/metrics"
	"github.com/diegolab/diegolab/real/sqlstore"
	"github.com/diegolab/diegolab/record"
)

// Config configures a BBS server.
type Config struct {
	// Dir holds bbs.db, blobs/, events.jsonl and summary.json.
	Dir string
	// BlobsDir holds the packages and droplets (default Dir/blobs); the BBSs of a
	// pair on one machine share one.
	BlobsDir string
	// DB, when set, is a postgres:// URL: the store lives in that PostgreSQL database
	// instead of Dir/bbs.db (sqlstore.OpenTarget).
	DB string
	// Listen is a 127.0.0.1 address ("127.0.0.1:0" picks a port), or an address
	// of a multi-host cluster's own network (real/hostnet.Subnet).
	Listen string
	// Extra are more listeners served as Listen is (TLS-wrapped when TLS is set):
	// in a multi-host cluster the BBS runs in the hub namespace and Extra is the
	// 127.0.0.1 socket its supervisor opened in the root namespace for the CLI.
	Extra []net.Listener
	// Token authorizes clients (the CLI); RepToken authorizes reps, and is what the
	// BBS presents to reps; RouterToken authorizes the router (events, routes, RTR
	// log lines). An empty RouterToken refuses every router call.
	Token, RepToken, RouterToken string
	// LogBound is the log service's per-app buffer (logs.DefaultBound when 0).
	LogBound int
	// ID names this BBS in the lock row (default: the absolute Dir). A restarted BBS
	// with the same ID takes its own unexpired lock back at once.
	ID string
	// LockTTL is the lock's TTL (Locket's 15 s when zero); LockRetry how often the
	// active renews it and a passive tries to take it (1 s when zero; at most a
	// third of the TTL).
	LockTTL, LockRetry time.Duration
	// TLS, when set, is the listener's mutual TLS (real/tlsconf.Server: clients
	// must present a certificate of the cluster's CA); RepTLS is what the BBS
	// presents to reps (tlsconf.Client). Both or neither.
	TLS, RepTLS *tls.Config
	// Plane timers (Diego's defaults when zero).
	ConvergenceInterval, PresenceTTL, StaleUnclaimed time.Duration
	// Algorithm names the auction's placement algorithm ("diego" when empty); Auction
	// holds its settings (Diego's defaults when nil): what a scenario's run.algorithm
	// and [auction] set for `diegolab run --real`.
	Algorithm string
	Auction   *auction.Settings
	// TickInterval is how often Tick runs (default 1 s).
	TickInterval time.Duration
	// StateTimeout bounds one rep /state fetch and one /work, /stop, /cancel (5 s).
	StateTimeout time.Duration
	// SampleEvery is the interval of the run record's timeseries samples (10 s, as
	// the simulator's).
	SampleEvery time.Duration
	// Limits bound what clients and reps can make the BBS hold (DefaultLimits for
	// zero fields).
	Limits Limits
	// Store, when set, holds the state instead of Dir/bbs.db (the server closes it):
	// tests and fuzzing pass an in-memory one.
	Store Store
	// Docker is the cluster's registries (docker.go).
	Docker DockerConfig
	Logger *slog.Logger
}

// Server is a running BBS.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   Store
	locker  locker // the lock's own connection (lease.go); the store itself when in memory
	pc      control.Config
	events  *os.File
	blobs   string
	epoch   time.Time
	started time.Time
	grace   time.Duration
	reps    *http.Client
	ln      net.Listener
	srv     *http.Server

	mu    sync.Mutex
	lease lease
	// activeFlag mirrors lease.active for the request gate, without mu.
	activeFlag atomic.Bool
	// lockFrozen stops the lock loop (tests: a process stopped or cut off).
	lockFrozen atomic.Bool
	// beforeCommit, when set, runs in do between the fence and the commit, with mu
	// held (tests: a process stopped with its lock row fenced).
	beforeCommit func()
	plane        *control.Plane
	cells        map[string]*cellEntry
	fatal        error

	fatalCh chan error
	wg      sync.WaitGroup

	hub     hub
	logs    *logs.Service
	metrics *metrics.BBS
	limits  Limits
	rate    *rateLimiter

	// The run record's figures kept as the cluster runs (record.go), under mu.
	auctions   record.AuctionTally
	tasks      record.TaskTally
	samples    []record.Sample
	nextSample time.Duration
}

type cellEntry struct {
	api.Presence
	lastSeen time.Duration
}

// Meta names in the store.
const (
	metaEpoch  = "epoch_unix_nano"
	metaIssued = "instances_issued"
	metaTasks  = "task_counter"
)

// New opens (or creates) the BBS state in cfg.Dir and listens on cfg.Listen.
func New(cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, &model.ValidationError{Field: "dir", Problem: "must be set"}
	}
	if cfg.Token == "" || cfg.RepToken == "" {
		return nil, &model.ValidationError{Field: "token", Problem: "client and rep tokens must be set"}
	}
	if !hostnet.AllowedHostPort(cfg.Listen) {
		return nil, &model.ValidationError{Field: "listen", Problem: fmt.Sprintf("%q must be 127.0.0.1:PORT (or an address of %s, a multi-host cluster's own network)", cfg.Listen, hostnet.Subnet)}
	}
	var err error
	pc := control.Defaults()
	if cfg.ConvergenceInterval > 0 {
		pc.ConvergenceInterval = cfg.ConvergenceInterval
	}
	if cfg.PresenceTTL > 0 {
		pc.PresenceTTL = cfg.PresenceTTL
	}
	if cfg.StaleUnclaimed > 0 {
		pc.BBS.StaleUnclaimed = cfg.StaleUnclaimed
	}
	if cfg.Algorithm != "" {
		pc.Algorithm = cfg.Algorithm
	}
	if cfg.Auction != nil {
		if err := cfg.Auction.Validate(); err != nil {
			return nil, &model.ValidationError{Field: "auction", Problem: err.Error()}
		}
		pc.Auction = *cfg.Auction
	}
	if err := cfg.Limits.Validate(); err != nil {
		return nil, &model.ValidationError{Field: "limits", Problem: err.Error()}
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = time.Second
	}
	if cfg.StateTimeout <= 0 {
		cfg.StateTimeout = 5 * time.Second
	}
	if cfg.SampleEvery <= 0 {
		cfg.SampleEvery = 10 * time.Second
	}
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = 15 * time.Second
	}
	if cfg.LockRetry <= 0 {
		cfg.LockRetry = time.Second
	}
	cfg.LockRetry = min(cfg.LockRetry, cfg.LockTTL/3)
	if cfg.ID == "" {
		abs, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("bbs: %w", err)
		}
		cfg.ID = abs
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.BlobsDir == "" {
		cfg.BlobsDir = filepath.Join(cfg.Dir, "blobs")
	}
	if err := os.MkdirAll(cfg.BlobsDir, 0o700); err != nil {
		return nil, fmt.Errorf("bbs: %w", err)
	}
	target := filepath.Join(cfg.Dir, "bbs.db")
	if cfg.DB != "" {
		if !sqlstore.IsPostgresURL(cfg.DB) {
			return nil, &model.ValidationError{Field: "db", Problem: "must be a postgres:// or postgresql:// URL (leave it empty for SQLite in the state directory)"}
		}
		target = cfg.DB
	}
	st := cfg.Store
	if st == nil {
		var err error
		if st, err = openStore(target, cfg.LockTTL); err != nil {
			return nil, err
		}
	}
	s := &Server{cfg: cfg, log: log, store: st, blobs: cfg.BlobsDir, pc: pc,
		started: time.Now(), cells: map[string]*cellEntry{}, fatalCh: make(chan error, 1),
		reps: &http.Client{Timeout: cfg.StateTimeout}, limits: cfg.Limits,
		rate: newRateLimiter(cfg.Limits.RequestRate, cfg.Limits.RequestBurst, time.Now)}
	fail := func(err error) (*Server, error) {
		st.Close()
		if s.locker != nil {
			s.locker.Close()
		}
		return nil, fmt.Errorf("bbs: %w", err)
	}
	if cfg.Store != nil {
		s.locker = storeLocker{cfg.Store} // one process holds an in-memory store: no second connection
	} else if s.locker, err = openLocker(target, cfg.LockTTL); err != nil {
		return fail(err)
	}
	// The listener first: the lock row records this BBS's URL.
	s.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fail(err)
	}
	if cfg.TLS != nil {
		s.ln = tls.NewListener(s.ln, cfg.TLS)
		s.reps = (&api.Client{HTTP: s.reps}).WithTLS(cfg.RepTLS).HTTP
	}
	held, holder, until, err := s.renew()
	if err != nil {
		s.ln.Close()
		return fail(err)
	}
	s.lease.holder = holder
	if held {
		s.lease.until = until
		err = s.activate()
	} else {
		// Passive: a plane over the rows as they are, for the code that reads it
		// (the run record); activate reopens it when this BBS takes over.
		err = s.load(false)
		log.Info("bbs passive: another BBS holds the lock", "active", holder)
	}
	if err != nil {
		s.ln.Close()
		return fail(err)
	}
	s.events, err = os.OpenFile(filepath.Join(cfg.Dir, record.EventsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.ln.Close()
		return fail(err)
	}
	s.logs = logs.New(cfg.LogBound, log)
	s.logs.SetMaxApps(cfg.Limits.MaxApps)
	s.metrics = metrics.NewBBS(s.lrpCounts, func() (uint64, uint64) { r, d, _ := s.logs.Totals(); return r, d })
	if err := s.restoreDrains(); err != nil {
		s.ln.Close()
		s.events.Close()
		return fail(err)
	}
	s.srv = &http.Server{Handler: metrics.Measure(s.passiveGate(s.routes()), s.metrics.RequestLatency), ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// load (re)builds the in-memory side from the database: the cluster epoch, the
// auctioneer's guid counter, the plane (control.Open over the rows) and, when
// active, the cells' unexpired presences. Called with mu held (or before Serve).
func (s *Server) load(active bool) error {
	st := s.store
	restart := false
	ep, ok, err := st.GetMeta(metaEpoch)
	if err != nil {
		return err
	}
	switch {
	case ok:
		n, err := strconv.ParseInt(ep, 10, 64)
		if err != nil {
			return fmt.Errorf("meta %s: %q is not a number", metaEpoch, ep)
		}
		s.epoch = time.Unix(0, n)
		restart = true
	case active:
		s.epoch = time.Now()
		if err := st.PutMeta(metaEpoch, strconv.FormatInt(s.epoch.UnixNano(), 10)); err != nil {
			return err
		}
	default:
		s.epoch = time.Now() // until an active BBS writes the epoch
	}
	issued := uint64(0)
	if v, ok, err := st.GetMeta(metaIssued); err != nil {
		return err
	} else if ok {
		if issued, err = strconv.ParseUint(v, 10, 64); err != nil {
			return fmt.Errorf("meta %s: %q is not a number", metaIssued, v)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if s.plane, err = control.Open(s.pc, st, rand.New(rand.NewPCG(seed, seed>>1)), issued); err != nil {
		return err
	}
	s.cells = map[string]*cellEntry{}
	s.grace = 0
	if !active {
		return nil
	}
	now := s.now()
	ps, err := sqlstore.ListPresences[api.Presence](st, now)
	if err != nil {
		return err
	}
	for _, p := range ps {
		s.cells[p.CellID] = &cellEntry{Presence: p, lastSeen: now}
		s.plane.Heartbeat(now, p.CellID)
	}
	// A restart that found no presence (a database from before presences were
	// kept): let the reps heartbeat before Tick marks their instances missing.
	if restart && len(ps) == 0 {
		s.grace = s.pc.PresenceTTL
	}
	s.lease.graceFrom = time.Now()
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the server's base URL.
func (s *Server) URL() string {
	if s.cfg.TLS != nil {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// now is the time since the cluster started.
func (s *Server) now() time.Duration { return time.Since(s.epoch) }

// Serve runs the API and the tick loop until ctx ends or a fatal store error.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	for _, ln := range s.cfg.Extra {
		if s.cfg.TLS != nil {
			ln = tls.NewListener(ln, s.cfg.TLS)
		}
		go func() { errc <- s.srv.Serve(ln) }()
	}
	s.wg.Add(1)
	go s.tickLoop(ctx)
	s.wg.Add(1)
	go s.lockLoop(ctx)
	var err error
	select {
	case <-ctx.Done():
	case err = <-s.fatalCh:
	case err = <-errc:
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = s.srv.Shutdown(sctx)
	s.wg.Wait()
	s.logs.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lease.active {
		if err := s.writeRecord(); err != nil {
			s.log.Warn("run record", "err", err)
		}
		s.demote("shutting down")
		s.release()
	}
	s.events.Close()
	if cerr := s.store.Close(); err == nil && cerr != nil {
		err = cerr
	}
	s.locker.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) tickLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			wait := time.Since(s.lease.graceFrom) < s.grace
			s.mu.Unlock()
			if wait {
				continue
			}
			_ = s.do(func(now time.Duration) error {
				s.plane.Tick(now)
				if err := s.takeSample(now); err != nil {
					s.log.Warn("timeseries sample", "err", err)
				}
				return nil
			})
		}
	}
}

// effects are the network side of Ready(), carried out after the commit.
type effects struct {
	events    []api.ActualEvent
	converged int
	rounds    []control.AuctionRound
	auction   bool
	work      []control.Work
	stops     []bbs.StopLRP
	cancels   []bbs.CancelTask
}

// do runs fn on the plane inside one store transaction, drains the plane's outputs
// in the same transaction, commits, then carries out the network effects.
func (s *Server) do(fn func(now time.Duration) error) error {
	s.mu.Lock()
	if s.fatal != nil {
		s.mu.Unlock()
		return s.fatal
	}
	if err := s.checkLease(); err != nil {
		s.mu.Unlock()
		return err
	}
	now := s.now()
	start := time.Now()
	if err := s.store.Begin(); err != nil {
		s.die(err)
		s.mu.Unlock()
		return err
	}
	err := fn(now)
	var eff effects
	derr := s.drain(now, &eff)
	if err != nil && isStoreError(err) || derr != nil {
		_ = s.store.Rollback()
		if s.cutOff(errors.Join(err, derr)) {
			err := s.notActive()
			s.mu.Unlock()
			return err
		}
		s.die(errors.Join(err, derr))
		s.mu.Unlock()
		return errors.Join(err, derr)
	}
	if held, ferr := s.fence(); ferr != nil || !held {
		_ = s.store.Rollback()
		if ferr != nil && !s.cutOff(ferr) {
			s.die(ferr)
			s.mu.Unlock()
			return ferr
		}
		err := s.notActive()
		s.mu.Unlock()
		return err
	}
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	if cerr := s.store.Commit(); cerr != nil {
		if s.cutOff(cerr) {
			err := s.notActive()
			s.mu.Unlock()
			return err
		}
		s.die(cerr)
		s.mu.Unlock()
		return cerr
	}
	s.mu.Unlock()
	if eff.converged > 0 {
		s.metrics.ConvergenceDuration.Observe(time.Since(start).Seconds())
	}
	s.dispatch(eff)
	return err
}

// isStoreError: an error that is not one of the model's refusals.
func isStoreError(err error) bool {
	for _, e := range []error{model.ErrInvalid, model.ErrInvalidTransition, model.ErrNotFound, model.ErrExists, errRequest, errLimit, errNotActive} {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}

// errRequest marks errors of the API layer (bad input found by the server itself).
var errRequest = errors.New("bad request")

func (s *Server) die(err error) {
	if s.fatal == nil {
		s.fatal = fmt.Errorf("bbs: store failure, stopping (a restart rebuilds the state from SQLite): %w", err)
		s.log.Error("fatal", "err", err)
		select {
		case s.fatalCh <- s.fatal:
		default:
		}
	}
}

// drain empties the plane's outbox (control.Drain): events are written, callbacks
// handled, network effects collected. Called with mu held, inside the transaction.
func (s *Server) drain(now time.Duration, eff *effects) error {
	w := record.NewEventWriter(s.events)
	defer w.Close()
	return control.Drain(now, s.plane, &serverSink{s: s, w: w, eff: eff})
}

// serverSink is real mode's control.Sink: it records to events.jsonl and collects the
// network effects, which go out after the commit (dispatch).
type serverSink struct {
	s   *Server
	w   *record.EventWriter
	eff *effects
}

var _ control.Sink = (*serverSink)(nil)

func (k *serverSink) Events(now time.Duration, evs []bbs.Event) error {
	for i := range evs {
		if t := evs[i].Task; t != nil {
			k.s.tasks.Observe(t, evs[i].Type == bbs.TaskRemoved)
		}
		k.w.WriteStateChange(now, &evs[i])
		if ev, ok := streamEvent(&evs[i]); ok {
			k.eff.events = append(k.eff.events, ev)
		}
	}
	return nil
}

func (k *serverSink) Observe(now time.Duration, r control.Ready) error {
	for _, id := range r.PresenceLost {
		k.w.WriteCell(now, id, k.s.zoneOf(id), record.CellLost)
	}
	for _, id := range r.PresenceGained {
		k.w.WriteCell(now, id, k.s.zoneOf(id), record.CellUp)
	}
	k.eff.converged += len(r.Converged)
	k.eff.rounds = append(k.eff.rounds, r.Auctions...)
	for i := range r.Auctions {
		k.s.auctions.Add(&r.Auctions[i])
		k.w.WriteRound(now, &r.Auctions[i])
	}
	for _, c := range r.Converged {
		if c.StoreErr != nil {
			return c.StoreErr
		}
	}
	return nil
}

func (k *serverSink) StartAuction(time.Duration) { k.eff.auction = true }

// Perform queues the work and persists the auctioneer's guid counter with it, so that a
// restarted BBS hands out no guid twice.
func (k *serverSink) Perform(_ time.Duration, w control.Work) error {
	k.eff.work = append(k.eff.work, w)
	return k.s.store.PutMeta(metaIssued, strconv.FormatUint(k.s.plane.InstancesIssued(), 10))
}

func (k *serverSink) StopLRP(_ time.Duration, st bbs.StopLRP) { k.eff.stops = append(k.eff.stops, st) }

func (k *serverSink) CancelTask(_ time.Duration, c bbs.CancelTask) {
	k.eff.cancels = append(k.eff.cancels, c)
}

// Callback handles the completion (Server.callback); a failure that is not the store's
// is logged and leaves the task COMPLETED, as an unanswered callback does.
func (k *serverSink) Callback(now time.Duration, t model.Task) (bool, error) {
	if err := k.s.callback(now, t); err != nil {
		if isStoreError(err) {
			return false, err
		}
		k.s.log.Warn("task callback", "task", t.GUID, "err", err)
		return false, nil
	}
	return true, nil
}

func (s *Server) zoneOf(id string) string {
	if c, ok := s.cells[id]; ok {
		return c.Zone
	}
	return ""
}

// dispatch carries out network effects in the background.
func (s *Server) dispatch(eff effects) {
	s.hub.publish(eff.events)
	for _, a := range eff.rounds {
		s.metrics.LRPAuctionsStarted.Add(float64(a.LRPsPlaced))
		s.metrics.LRPAuctionsFailed.Add(float64(a.LRPsFailed))
		s.metrics.TaskAuctionsStarted.Add(float64(a.TasksPlaced))
		s.metrics.TaskAuctionsFailed.Add(float64(a.TasksFailed))
	}
	if eff.auction {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.runAuction() }()
	}
	for _, w := range eff.work {
		s.send(w.CellID, "/work", toAPIWork(w))
	}
	for _, st := range eff.stops {
		s.send(st.InstanceKey.CellID, "/stop", api.StopRequest{Key: st.Key, Instance: st.InstanceKey})
	}
	for _, c := range eff.cancels {
		s.send(c.CellID, "/cancel", api.CancelRequest{TaskGUID: c.GUID})
	}
}

func toAPIWork(w control.Work) api.Work {
	out := api.Work{LRPs: []api.WorkLRP{}, Tasks: []api.WorkTask{}}
	for _, l := range w.LRPs {
		out.LRPs = append(out.LRPs, api.WorkLRP{ProcessGUID: l.ProcessGUID, Index: l.Index, Domain: l.Domain,
			InstanceGUID: l.InstanceGUID, Resource: l.Resource})
	}
	for _, t := range w.Tasks {
		out.Tasks = append(out.Tasks, api.WorkTask{TaskGUID: t.GUID, Domain: t.Domain, Resource: t.Resource})
	}
	return out
}

// send POSTs body to the rep of cellID in the background; failures are logged (the
// BBS repairs what did not happen: stale unclaimed instances are re-auctioned,
// unstopped containers are stopped again by the rep's bulk sync).
func (s *Server) send(cellID, path string, body any) {
	s.mu.Lock()
	c, ok := s.cells[cellID]
	s.mu.Unlock()
	if !ok {
		s.log.Warn("no rep url for cell", "cell", cellID, "path", path)
		return
	}
	url := c.RepURL
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.StateTimeout)
		defer cancel()
		if err := s.repClient(url).Do(ctx, http.MethodPost, path, body, nil); err != nil {
			s.log.Warn("rep request failed", "cell", cellID, "path", path, "err", err)
		}
	}()
}

func (s *Server) repClient(url string) *api.Client {
	return &api.Client{URL: url, Token: s.cfg.RepToken, HTTP: s.reps}
}

// runAuction fetches every present cell's state, then runs the batch.
func (s *Server) runAuction() {
	start := time.Now()
	defer func() { s.metrics.AuctionDuration.Observe(time.Since(start).Seconds()) }()
	s.mu.Lock()
	var reps []api.Presence
	for _, id := range s.plane.PresentCells() {
		if c, ok := s.cells[id]; ok {
			reps = append(reps, c.Presence)
		}
	}
	settings := s.plane.Config().Auction
	s.mu.Unlock()
	states := make([]*api.CellState, len(reps))
	var wg sync.WaitGroup
	for i, p := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.StateTimeout)
			defer cancel()
			var st api.CellState
			if err := s.repClient(p.RepURL).Do(ctx, http.MethodGet, "/state", nil, &st); err != nil {
				s.log.Warn("cell state", "cell", p.CellID, "err", err)
				return
			}
			if st.CellID != p.CellID {
				s.log.Warn("cell state names another cell", "cell", p.CellID, "got", st.CellID)
				return
			}
			states[i] = &st
		}()
	}
	wg.Wait()
	s.metrics.FetchStatesDuration.Observe(time.Since(start).Seconds())
	as := BuildAuctionState(settings, states, s.log)
	_ = s.do(func(now time.Duration) error { s.plane.RunAuction(now, as); return nil })
}

// BuildAuctionState turns /state replies (nil entries skipped) into the auctioneer's
// view: each cell with its totals, and every container on it reserved against them.
func BuildAuctionState(settings auction.Settings, states []*api.CellState, log *slog.Logger) *auction.State {
	as := auction.NewState(settings)
	for _, st := range states {
		if st == nil {
			continue
		}
		c := model.Cell{ID: st.CellID, Zone: st.Zone, Index: st.Index, Total: st.Total, Available: st.Total,
			RootFSProviders: st.RootFSProviders, Evacuating: st.Evacuating}
		if err := as.AddCell(c); err != nil {
			log.Warn("cell left out of the auction", "cell", st.CellID, "err", err)
			continue
		}
		for _, l := range st.LRPs {
			if err := as.AddLRP(st.CellID, l.ProcessGUID, l.Resource, l.State != "RUNNING"); err != nil {
				log.Warn("container not counted", "cell", st.CellID, "lrp", l.ProcessGUID, "err", err)
			}
		}
		for _, t := range st.Tasks {
			if err := as.AddTask(st.CellID, t.TaskGUID, t.Resource, false); err != nil {
				log.Warn("container not counted", "cell", st.CellID, "task", t.TaskGUID, "err", err)
			}
		}
	}
	return as
}

func sortedCellIDs(m map[string]*cellEntry) []string { return slices.Sorted(maps.Keys(m)) }
