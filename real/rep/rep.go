package rep

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/diegolab/diegolab/model"
	mrep "github.com/diegolab/diegolab/model/rep"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/executor"
	"github.com/diegolab/diegolab/real/hostnet"
	"github.com/diegolab/diegolab/real/logs"
	"github.com/diegolab/diegolab/real/metrics"
)

// Config configures a rep.
type Config struct {
	CellID, Zone string
	Index        int
	Capacity     model.Resources
	// BBSURL is the BBS API; Token authorizes the rep at the BBS and the BBS at the rep.
	BBSURL, Token string
	// Dir is the rep's state directory (executor state, droplets, staging dirs).
	Dir string
	// StackDir is the busybox stack (built by real/stack).
	StackDir string
	// Listen is a 127.0.0.1 address, or the address of the cell's host in a
	// multi-host cluster (real/hostnet); the containers' ports are mapped on the
	// same address.
	Listen string
	// TLS, when set, is the listener's mutual TLS (real/tlsconf.Server) and BBSTLS
	// what the rep presents to the BBS (tlsconf.Client). Both or neither.
	TLS, BBSTLS *tls.Config
	// Heartbeat (5 s) and BulkSync (30 s) intervals; StartTimeout (60 s) for a
	// container's port to accept connections; StopGrace (10 s) between SIGTERM and
	// SIGKILL.
	Heartbeat, BulkSync, StartTimeout, StopGrace time.Duration
	// CheckInterval is the liveness check period of apps that set none (30 s).
	CheckInterval time.Duration
	// EvacuationTimeout bounds a drain (600 s); EvacuationPoll is how often the
	// evacuating rep reports its containers and checks whether it is empty (10 s).
	EvacuationTimeout, EvacuationPoll time.Duration
	Logger                            *slog.Logger
	// AppLog, when set, also receives the containers' output lines (they always go
	// to the log service).
	AppLog io.Writer
	// ImageCacheBytes bounds the cell's Docker layer cache (image.DefaultMaxBytes
	// when 0; see real/image for the eviction policy).
	ImageCacheBytes int64
}

// Rep is a running cell.
type Rep struct {
	cfg  Config
	log  *slog.Logger
	ex   Executor
	bbs  *api.Client
	ln   net.Listener
	srv  *http.Server
	ctx  context.Context
	stop context.CancelFunc

	mu    sync.Mutex
	lrps  map[string]*lrpC // by instance guid
	tasks map[string]*taskC
	evac  mrep.Cell // the cell-wide state: evacuation
	epoch time.Time // the rep's start: the state machine's time is time.Since(epoch)
	// drain is closed by Drain; evacuated when the evacuation has ended.
	drain, evacuated chan struct{}
	drainOnce        sync.Once

	dropMu  sync.Mutex
	dropets map[string]*sync.Mutex
	wg      sync.WaitGroup

	ship    *logs.Shipper
	metrics *metrics.Rep
	// adopted are the LRP containers a previous life left running (readopt.go),
	// supervised from Serve on.
	adopted []*lrpC
	docker  *dockerState
}

// New checks the configuration, re-adopts the LRP containers a previous life left
// running (cleaning up the rest) and listens.
func New(cfg Config) (*Rep, error) {
	return newRep(cfg, nil)
}

// NewWithExecutor is New with the given executor instead of runc's (tests).
func NewWithExecutor(cfg Config, ex Executor) (*Rep, error) {
	if ex == nil {
		return nil, errors.New("rep: nil executor")
	}
	return newRep(cfg, ex)
}

func newRep(cfg Config, ex Executor) (*Rep, error) {
	if cfg.CellID == "" {
		return nil, &model.ValidationError{Field: "cell-id", Problem: "must be set"}
	}
	if err := cfg.Capacity.Validate("capacity"); err != nil {
		return nil, err
	}
	if cfg.Capacity.MemoryMB <= 0 || cfg.Capacity.DiskMB <= 0 || cfg.Capacity.Containers <= 0 {
		return nil, &model.ValidationError{Field: "capacity", Problem: "memory, disk and containers must be > 0"}
	}
	if !hostnet.AllowedHostPort(cfg.Listen) {
		return nil, &model.ValidationError{Field: "listen", Problem: fmt.Sprintf("%q must be 127.0.0.1:PORT (or an address of %s, a host of a multi-host cluster)", cfg.Listen, hostnet.Subnet)}
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 5 * time.Second
	}
	if cfg.BulkSync <= 0 {
		cfg.BulkSync = 30 * time.Second
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = model.DefaultStartTimeout
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 10 * time.Second
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.EvacuationTimeout <= 0 {
		cfg.EvacuationTimeout = mrep.DefaultEvacuationTimeout
	}
	if cfg.EvacuationPoll <= 0 {
		cfg.EvacuationPoll = mrep.EvacuationPollInterval
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("cell", cfg.CellID)
	for _, d := range []string{"droplets", "tasks"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("rep: %w", err)
		}
	}
	if ex == nil {
		rx, err := executor.New(executorConfig(cfg, log))
		if err != nil {
			return nil, fmt.Errorf("rep: %w", err)
		}
		ex = runcExecutor{rx}
	}
	// Staging directories of a previous life.
	if ents, err := os.ReadDir(filepath.Join(cfg.Dir, "tasks")); err == nil {
		for _, e := range ents {
			_ = os.RemoveAll(filepath.Join(cfg.Dir, "tasks", e.Name()))
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("rep: %w", err)
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	r := &Rep{cfg: cfg, log: log, ex: ex, ln: ln, lrps: map[string]*lrpC{}, tasks: map[string]*taskC{},
		dropets: map[string]*sync.Mutex{}, bbs: api.NewClient(cfg.BBSURL, cfg.Token, 30*time.Second).WithTLS(cfg.BBSTLS),
		epoch: time.Now(), drain: make(chan struct{}), evacuated: make(chan struct{})}
	r.ship = logs.NewShipper(api.NewClient(cfg.BBSURL, cfg.Token, 10*time.Second).WithTLS(cfg.BBSTLS), log)
	r.metrics = metrics.NewRep(cfg.CellID, r.containerCounts, r.ship.Counts)
	r.initDocker()
	r.srv = &http.Server{Handler: r.routes(), ReadHeaderTimeout: 10 * time.Second}
	r.recoverContainers()
	return r, nil
}

// executorConfig is the runc executor's configuration for the cell: its state under
// the rep's directory, and the cell's container count, which sizes the pids ceiling of
// the cgroup all the cell's containers live under (executor.Config.MaxContainers).
func executorConfig(cfg Config, log *slog.Logger) executor.Config {
	return executor.Config{StateDir: filepath.Join(cfg.Dir, "executor"), StackDir: cfg.StackDir,
		MaxContainers: cfg.Capacity.Containers, Logger: log, PortIP: listenHost(cfg.Listen)}
}

// listenHost is the address part of a listen address ("" when it has none).
func listenHost(listen string) string {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	return host
}

// URL is the rep's base URL.
func (r *Rep) URL() string {
	if r.cfg.TLS != nil {
		return "https://" + r.ln.Addr().String()
	}
	return "http://" + r.ln.Addr().String()
}

// Serve runs the API, the heartbeat and the bulk sync until ctx ends or a drain's
// evacuation has ended; then it releases its presence and destroys its containers.
func (r *Rep) Serve(ctx context.Context) error {
	r.ctx, r.stop = context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- r.srv.Serve(r.ln) }()
	for _, c := range r.adopted {
		r.goTracked(func() { r.driveLRP(c, r.supervise(c)) })
	}
	r.adopted = nil
	r.wg.Add(3)
	go r.loop(r.cfg.Heartbeat, r.heartbeat)
	go r.loop(r.cfg.BulkSync, r.bulkSync)
	go r.evacuator()
	var err error
	select {
	case <-r.ctx.Done():
	case <-r.evacuated:
	case err = <-errc:
	}
	r.stop()
	lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The API closes first: a request still being served may start a container's
	// goroutine (goTracked), which must be counted before the wait, not during it.
	_ = r.srv.Shutdown(lctx)
	r.wg.Wait()
	_ = r.bbs.Do(lctx, http.MethodDelete, "/v1/presence/"+r.cfg.CellID, nil, nil)
	cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
	defer ccancel()
	if cerr := r.ex.Cleanup(cctx); cerr != nil && err == nil {
		err = cerr
	}
	r.ship.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (r *Rep) loop(every time.Duration, fn func(context.Context)) {
	defer r.wg.Done()
	fn(r.ctx)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			fn(r.ctx)
		}
	}
}

func (r *Rep) heartbeat(ctx context.Context) {
	p := api.Presence{CellID: r.cfg.CellID, Zone: r.cfg.Zone, Index: r.cfg.Index, RepURL: r.URL(),
		Capacity: r.cfg.Capacity, RootFSProviders: []string{api.Rootfs}}
	cctx, cancel := context.WithTimeout(ctx, r.cfg.Heartbeat)
	defer cancel()
	if err := r.bbs.Do(cctx, http.MethodPost, "/v1/presence", p, nil); err != nil && ctx.Err() == nil {
		r.log.Warn("heartbeat", "err", err)
	}
}

// go runs fn in the background, tracked for shutdown.
func (r *Rep) goTracked(fn func()) {
	r.wg.Add(1)
	go func() { defer r.wg.Done(); fn() }()
}

// State is the rep's GET /state reply.
func (r *Rep) State() api.CellState {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := api.CellState{CellID: r.cfg.CellID, Zone: r.cfg.Zone, Index: r.cfg.Index, Total: r.cfg.Capacity,
		Available: r.cfg.Capacity, RootFSProviders: []string{api.Rootfs}, LRPs: []api.CellLRP{}, Tasks: []api.CellTask{}}
	st.Evacuating = r.evac.Evacuating()
	for _, id := range sortedKeys(r.lrps) {
		c := r.lrps[id]
		st.Available = st.Available.Sub(c.res)
		if c.Starting() && !c.Done() {
			st.Starting++
		}
		st.LRPs = append(st.LRPs, api.CellLRP{ProcessGUID: c.key.ProcessGUID, Index: c.key.Index, InstanceGUID: c.ik.InstanceGUID,
			Resource: c.res, State: state(&c.Container), Address: c.addr})
	}
	for _, id := range sortedKeys(r.tasks) {
		t := r.tasks[id]
		st.Available = st.Available.Sub(t.res)
		if t.Starting() && !t.Done() {
			st.Starting++
		}
		st.Tasks = append(st.Tasks, api.CellTask{TaskGUID: t.guid, Resource: t.res, State: state(&t.Container)})
	}
	return st
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// containerCounts counts the cell's LRP and task containers by state (metrics).
func (r *Rep) containerCounts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]int{}
	for _, c := range r.lrps {
		m[state(&c.Container)]++
	}
	for _, t := range r.tasks {
		m[state(&t.Container)]++
	}
	return m
}
