package bbsserver

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/sqlstore"
)

// Limits bound what a client (or a rep) can make the BBS hold. Every number that
// arrives in a request is checked against them before anything is sized by it; a
// request beyond a limit is refused with 422 and a message naming the limit and its
// flag. Zero fields take the defaults of DefaultLimits.
type Limits struct {
	// MaxInstances per app (push, scale). Cloud Controller has no built-in cap;
	// a laptop cluster of a few cells cannot run more than a few hundred.
	MaxInstances int
	// MaxMemoryMB and MaxDiskMB per instance or task. MaxDiskMB is Cloud
	// Controller's maximum_app_disk_in_mb default (2048).
	MaxMemoryMB, MaxDiskMB int
	// MaxApps is the number of apps the BBS keeps.
	MaxApps int
	// MaxTasks is the number of tasks not yet completed (pending or running).
	MaxTasks int
	// MaxCommand is the length in bytes of a start or task command (Cloud
	// Controller's limit: 4096).
	MaxCommand int
	// MaxRoutes and MaxDrains per app.
	MaxRoutes, MaxDrains int
	// MaxFiles per pushed package.
	MaxFiles int
	// MaxCells is the number of distinct cell ids the BBS tracks.
	MaxCells int
	// MaxCellContainers bounds a cell's advertised container count; MaxCellMemoryMB
	// and MaxCellDiskMB its memory and disk.
	MaxCellContainers, MaxCellMemoryMB, MaxCellDiskMB int
	// MaxReason bounds a crash or failure reason, MaxResult a task's result (Diego's
	// executor reads at most 10 KiB of a task's result file).
	MaxReason, MaxResult int
	// RequestRate is the client requests per second the BBS serves (a token bucket
	// of RequestBurst); beyond it, 429 with Retry-After. Reps and the router are not
	// limited (their traffic is the cluster's own).
	RequestRate  float64
	RequestBurst int
}

// Identifier bounds (not configurable: they are part of the wire format).
const (
	maxGUID   = 128 // process guid, instance guid, task guid, cell id
	maxZone   = 64
	maxRootFS = 16 // rootfs providers a cell may advertise
)

// DefaultLimits are the limits a BBS runs with unless told otherwise.
func DefaultLimits() Limits {
	return Limits{
		MaxInstances: 100, MaxMemoryMB: 8192, MaxDiskMB: 2048, MaxApps: 100, MaxTasks: 200,
		MaxCommand: 4096, MaxRoutes: 16, MaxDrains: 4, MaxFiles: 20000, MaxCells: 64,
		MaxCellContainers: 1024, MaxCellMemoryMB: 1 << 20, MaxCellDiskMB: 1 << 24,
		MaxReason: 1024, MaxResult: 10 << 10, RequestRate: 50, RequestBurst: 100,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	for _, f := range []struct{ v, d *int }{
		{&l.MaxInstances, &d.MaxInstances}, {&l.MaxMemoryMB, &d.MaxMemoryMB}, {&l.MaxDiskMB, &d.MaxDiskMB},
		{&l.MaxApps, &d.MaxApps}, {&l.MaxTasks, &d.MaxTasks}, {&l.MaxCommand, &d.MaxCommand},
		{&l.MaxRoutes, &d.MaxRoutes}, {&l.MaxDrains, &d.MaxDrains}, {&l.MaxFiles, &d.MaxFiles},
		{&l.MaxCells, &d.MaxCells}, {&l.MaxCellContainers, &d.MaxCellContainers},
		{&l.MaxCellMemoryMB, &d.MaxCellMemoryMB}, {&l.MaxCellDiskMB, &d.MaxCellDiskMB},
		{&l.MaxReason, &d.MaxReason}, {&l.MaxResult, &d.MaxResult}, {&l.RequestBurst, &d.RequestBurst},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	if l.RequestRate == 0 {
		l.RequestRate = d.RequestRate
	}
	return l
}

// Validate refuses negative limits.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"max-instances", l.MaxInstances}, {"max-memory-mb", l.MaxMemoryMB}, {"max-disk-mb", l.MaxDiskMB},
		{"max-apps", l.MaxApps}, {"max-tasks", l.MaxTasks}, {"max-command", l.MaxCommand},
		{"max-routes", l.MaxRoutes}, {"max-drains", l.MaxDrains}, {"max-files", l.MaxFiles}, {"max-cells", l.MaxCells},
		{"request-burst", l.RequestBurst}} {
		if f.v < 0 {
			return fmt.Errorf("limit --%s: must be >= 0 (0: the default), got %d", f.name, f.v)
		}
	}
	if l.RequestRate < 0 {
		return fmt.Errorf("limit --request-rate: must be >= 0 (0: the default), got %g", l.RequestRate)
	}
	return nil
}

// errLimit marks a refusal because a limit was reached (422).
var errLimit = errors.New("limit exceeded")

// LimitError names the limit a request went beyond.
type LimitError struct {
	Field string // the request field, e.g. "instances"
	Flag  string // the BBS flag that sets the limit, e.g. "max-instances"
	Limit int
	Got   int
	What  string // what is counted, e.g. "instances per app"
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: %d is beyond the limit of %d %s (bbs --%s)", e.Field, e.Got, e.Limit, e.What, e.Flag)
}

func (e *LimitError) Unwrap() error { return errLimit }

// atMost returns a *LimitError when got > limit.
func atMost(field, flag, what string, got, limit int) error {
	if got > limit {
		return &LimitError{Field: field, Flag: flag, Limit: limit, Got: got, What: what}
	}
	return nil
}

// checkResources bounds an instance's or task's memory and disk.
func (l *Limits) checkResources(memoryMB, diskMB int) error {
	if err := atMost("memory_mb", "max-memory-mb", "MB per instance", memoryMB, l.MaxMemoryMB); err != nil {
		return err
	}
	return atMost("disk_mb", "max-disk-mb", "MB per instance", diskMB, l.MaxDiskMB)
}

// rateLimiter is a token bucket: rate tokens a second, at most burst kept. The clock
// is injected so that tests decide time.
type rateLimiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newRateLimiter(rate float64, burst int, now func() time.Time) *rateLimiter {
	return &rateLimiter{rate: rate, burst: float64(burst), tokens: float64(burst), now: now, last: now()}
}

// allow takes one token, or says how long until one is there.
func (r *rateLimiter) allow() (bool, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.now()
	if d := t.Sub(r.last).Seconds(); d > 0 {
		r.tokens = min(r.burst, r.tokens+d*r.rate)
	}
	r.last = t
	if r.tokens >= 1 {
		r.tokens--
		return true, 0
	}
	return false, time.Duration((1 - r.tokens) / r.rate * float64(time.Second))
}

// limitRate wraps h: beyond the rate, 429 with Retry-After (whole seconds, >= 1).
func (r *rateLimiter) limitRate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if ok, wait := r.allow(); !ok {
			secs := int(wait.Seconds()) + 1
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			api.WriteError(w, http.StatusTooManyRequests,
				fmt.Errorf("more than %g client requests a second (burst %g; bbs --request-rate, --request-burst): retry in %d s", r.rate, r.burst, secs))
			return
		}
		h.ServeHTTP(w, req)
	})
}

// maxIndex bounds an instance index or a cell index in a report (far above any
// MaxInstances a laptop cluster would set, so that lowering the limit does not
// refuse the reports of instances desired before).
const maxIndex = 1 << 20

// checkID refuses an empty or overlong identifier.
func checkID(field, id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return badf("%s: must not be empty", field)
	case len(id) > maxGUID:
		return badf("%s: %d bytes, at most %d", field, len(id), maxGUID)
	}
	return nil
}

// checkReport bounds a rep's instance report; an overlong reason is cut (the report
// still counts: refusing a crash report would leave the instance RUNNING).
func checkReport(rep *api.LRPReport, maxReason int) error {
	if err := checkID("key.process_guid", rep.Key.ProcessGUID); err != nil {
		return err
	}
	if len(rep.Instance.InstanceGUID) > maxGUID || len(rep.Instance.CellID) > maxGUID {
		return badf("instance: instance_guid and cell_id have at most %d bytes", maxGUID)
	}
	if rep.Key.Index < 0 || rep.Key.Index > maxIndex {
		return badf("key.index: must be in [0, %d], got %d", maxIndex, rep.Key.Index)
	}
	if len(rep.Address) > maxGUID {
		return badf("address: %d bytes, at most %d", len(rep.Address), maxGUID)
	}
	rep.Reason = truncate(rep.Reason, maxReason)
	return nil
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = " [truncated]"
	cut := max(n-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// checkPush bounds a push request's numbers and lists.
func (l *Limits) checkPush(req *api.PushRequest) error {
	return errors.Join(
		atMost("instances", "max-instances", "instances per app", req.Instances, l.MaxInstances),
		l.checkResources(req.MemoryMB, req.DiskMB),
		atMost("command", "max-command", "bytes", len(req.Command), l.MaxCommand),
		atMost("files", "max-files", "files per package", len(req.Files), l.MaxFiles),
		atMost("routes", "max-routes", "routes per app", len(req.Routes), l.MaxRoutes),
		atMost("drains", "max-drains", "drains per app", len(req.Drains), l.MaxDrains),
	)
}

// checkAppCount refuses a new app when MaxApps are kept. Called in a transaction.
func (s *Server) checkAppCount() error {
	apps, err := sqlstore.ListSpecs[api.App](s.store, specApp)
	if err != nil {
		return err
	}
	return atMost("app", "max-apps", "apps", len(apps)+1, s.limits.MaxApps)
}

// checkTaskCount refuses a new task when MaxTasks are not yet completed. Staging
// tasks do not count (one per app at most: a re-push cancels the previous one).
// Called in a transaction.
func (s *Server) checkTaskCount() error {
	tasks, err := s.store.ListTasks()
	if err != nil {
		return err
	}
	n := 0
	for _, t := range tasks {
		if t.Domain == api.TasksDomain && t.State != model.TaskCompleted && t.State != model.TaskResolving {
			n++
		}
	}
	return atMost("task", "max-tasks", "tasks not yet completed", n+1, s.limits.MaxTasks)
}
