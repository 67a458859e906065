package bbs

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/converge"
)

// Config holds the BBS durations and limits (DIEGO.md §0, §4; DR bbs spec).
type Config struct {
	StaleUnclaimed      time.Duration // 30s
	MaxTaskRetries      int           // 3
	ExpirePendingTask   time.Duration // 30m
	ExpireCompletedTask time.Duration // 2m
	KickTask            time.Duration // 30s
	// Restart is the crash restart policy (zero value: Diego's defaults, DIEGO.md §5).
	Restart model.RestartCalculator
}

// DefaultConfig returns Diego's defaults.
func DefaultConfig() Config {
	return Config{
		StaleUnclaimed:      model.DefaultStaleUnclaimedTimeout,
		MaxTaskRetries:      model.DefaultMaxTaskRetries,
		ExpirePendingTask:   model.DefaultTaskExpirePending,
		ExpireCompletedTask: model.DefaultTaskExpireCompleted,
		KickTask:            model.DefaultTaskKickDuration,
	}
}

func (c Config) converge() converge.Config {
	return converge.Config{StaleUnclaimed: c.StaleUnclaimed, ExpirePendingTask: c.ExpirePendingTask,
		ExpireCompletedTask: c.ExpireCompletedTask, KickTask: c.KickTask, Restart: c.Restart}
}

// MaxReasonLength bounds crash reasons, placement errors, failure and rejection reasons
// (Diego: truncateString(s, 1024)).
const MaxReasonLength = 1024

// truncatedMarker ends a reason that was cut to MaxReasonLength bytes.
const truncatedMarker = "(truncated)"

// LRPStart is one auction request for one instance (Diego: LRPStartRequest, per index).
type LRPStart struct {
	Key        model.ActualLRPKey
	Domain     string
	Resource   model.Resource
	Constraint model.PlacementConstraint
	MaxPerCell int
	Compute    *model.Compute // the desired LRP's (shared: read it, do not modify it)
}

// TaskStart is one task auction request.
type TaskStart struct {
	GUID, Domain string
	Resource     model.Resource
	Constraint   model.PlacementConstraint
	Compute      *model.Compute
}

// StopLRP asks the rep of InstanceKey.CellID to stop that container (rep StopLRPInstance).
type StopLRP struct {
	Key         model.ActualLRPKey
	InstanceKey model.InstanceKey
}

// CancelTask asks the rep of CellID to cancel the task's container.
type CancelTask struct{ GUID, CellID string }

// EventType names a state change in the event stream.
type EventType uint8

const (
	ActualLRPCreated EventType = iota
	ActualLRPChanged
	ActualLRPRemoved
	DesiredLRPCreated
	DesiredLRPChanged
	DesiredLRPRemoved
	TaskCreated
	TaskChanged
	TaskRemoved
)

var eventNames = [...]string{"ActualLRPCreated", "ActualLRPChanged", "ActualLRPRemoved", "DesiredLRPCreated",
	"DesiredLRPChanged", "DesiredLRPRemoved", "TaskCreated", "TaskChanged", "TaskRemoved"}

func (e EventType) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("EventType(%d)", int(e))
}

// Event is one state change. Exactly one of Actual, Desired, Task is set: a copy of the
// record after the change (for removals, the removed record).
type Event struct {
	Type    EventType
	Actual  *model.ActualLRP
	Desired *model.DesiredLRP
	Task    *model.Task
}

// Ready is everything the BBS produced since the last Ready call, in order.
type Ready struct {
	LRPStarts   []LRPStart
	TaskStarts  []TaskStart
	StopLRPs    []StopLRP
	CancelTasks []CancelTask
	Callbacks   []model.Task
	Events      []Event
}

// Empty reports whether there is nothing to do.
func (r *Ready) Empty() bool {
	return len(r.LRPStarts)+len(r.TaskStarts)+len(r.StopLRPs)+len(r.CancelTasks)+len(r.Callbacks)+len(r.Events) == 0
}

// Stats counts operations. Refused is keyed by "Operation: class" where class is
// invalid_transition, not_found, exists, invalid or store; Ignored counts requests
// Diego drops without an error (claims and starts from SUSPECT instances).
type Stats struct {
	Ops            int            `json:"ops"`
	Refused        map[string]int `json:"refused"`
	Ignored        map[string]int `json:"ignored"`
	ConvergePasses int            `json:"converge_passes"`
	PlanErrors     int            `json:"plan_errors"`
}

// BBS is Diego's BBS as a deterministic state machine over a Store.
type BBS struct {
	store    Store
	rowStore rowStore      // store's, or plainRows over it
	hint     prefetchStore // store's, or none
	cfg      Config
	tracker  *converge.Tracker
	present  map[string]bool // cells present at the last Converge/SetCells (for Retire)
	cells    []string        // the list present was built from
	out      Ready
	stats    Stats
	srcErr   error
	counts   [3][4]int // rows by presence and state
	// rowCopies and desiredCopies hold the copies the actual and desired LRP events
	// point to: one allocation per rowChunk events instead of one per event (see
	// actualCopy and desiredCopy).
	rowCopies     copyPool[model.ActualLRP]
	desiredCopies copyPool[model.DesiredLRP]
	// recycle is set by the first ReleaseReady: from then on the copies come from their
	// pools (the chunks taken since the last release, reused from the first after each)
	// and the Events and LRPStarts batches from the arrays of events and starts.
	recycle bool
	handed  bool // a Ready returned events or starts since the last ReleaseReady
	events  recycled[Event]
	starts  recycled[LRPStart]
}

// Sizes of the arrays the outbox is carved from (see handOff and actualCopy): an event
// is 32 bytes, an actual LRP copy 160, a start request ~120, so a chunk is ~8-10 KB.
const (
	eventChunk = 256
	startChunk = 64
	rowChunk   = 64
)

// ExpectDesired tells the BBS that about n desired LRPs are about to be created (a driver
// desiring a million apps at once knows it), so its tables are sized once instead of
// growing by rehashing. It changes no result.
func (b *BBS) ExpectDesired(n int) { b.tracker.Reserve(n) }

// ExpectInstances tells the BBS that about n actual LRPs (the instances of the desired
// LRPs about to be created) will be created, as ExpectDesired does for the desired ones.
func (b *BBS) ExpectInstances(n int) { b.tracker.ReserveRows(n) }

// New returns a BBS over store, which must be empty (the tracker starts empty).
func New(store Store, cfg Config) *BBS {
	b := &BBS{store: store, cfg: cfg, present: map[string]bool{},
		stats: Stats{Refused: map[string]int{}, Ignored: map[string]int{}}}
	b.rowStore, b.hint = &plainRows{Store: store}, noPrefetch{}
	if r, ok := store.(rowStore); ok {
		b.rowStore = r
	}
	if h, ok := store.(prefetchStore); ok {
		b.hint = h
	}
	b.tracker = converge.NewTracker(cfg.converge(), source{b})
	b.hint.AttachTracker(b.tracker)
	return b
}

// Config returns the configuration.
func (b *BBS) Config() Config { return b.cfg }

// Ready returns and clears everything accumulated since the last call.
//
// The Events and LRPStarts slices of successive calls are carved from shared arrays (the
// steady state produces one or two of each per operation, and a fresh slice each time
// was an allocation per operation); each is returned with its capacity clipped to its
// length, so a caller's append copies instead of writing into memory the BBS still
// fills, and empty lists are nil as before. After ReleaseReady (opt-in), those arrays
// and the events' row copies are reused once released (see ReleaseReady).
func (b *BBS) Ready() Ready {
	if b.out.Empty() {
		return Ready{} // the common call (a driver collects after every input): nothing new
	}
	r := b.out
	b.out = Ready{}
	if b.recycle {
		b.handed = b.handed || len(r.Events) > 0 || len(r.LRPStarts) > 0
		r.Events, b.out.Events = b.events.handOff(r.Events, recycleEvents)
		r.LRPStarts, b.out.LRPStarts = b.starts.handOff(r.LRPStarts, recycleStarts)
		return r
	}
	r.Events, b.out.Events = handOff(r.Events, eventChunk)
	r.LRPStarts, b.out.LRPStarts = handOff(r.LRPStarts, startChunk)
	return r
}

// handOff splits an outbox slice at Ready: out is s clipped (cap = len; nil when empty)
// and next is where the following batch appends: the rest of s's array while 1/16 of a
// chunk is left there (a batch rarely needs more; one that does grows by append), else
// a new array of chunk elements.
func handOff[T any](s []T, chunk int) (out, next []T) {
	if len(s) > 0 {
		out = s[:len(s):len(s)]
	}
	if cap(s)-len(s) >= chunk/16 {
		return out, s[len(s):]
	}
	return out, make([]T, 0, chunk)
}

// actualCopy returns a copy of a for an event, from a chunk of rowChunk copies. Every
// event gets its own copy, never reused (as when each was allocated alone) until the
// owner releases it with ReleaseReady; a chunk stays alive while a consumer keeps one
// of its events.
func (b *BBS) actualCopy(a *model.ActualLRP) *model.ActualLRP {
	return b.rowCopies.copyOf(a, b.recycle)
}

// desiredCopy returns a copy of d for an event, carved as actualCopy's are: one
// allocation per rowChunk desired LRPs created instead of one each (a set-up of millions
// of apps), and under ReleaseReady none once the pool is warm.
func (b *BBS) desiredCopy(d *model.DesiredLRP) *model.DesiredLRP {
	return b.desiredCopies.copyOf(d, b.recycle)
}

// Stats returns a copy of the counters.
func (b *BBS) Stats() Stats {
	s := b.stats
	s.Refused = cloneMap(b.stats.Refused)
	s.Ignored = cloneMap(b.stats.Ignored)
	return s
}

// Counts returns the number of actual LRP rows with presence p and state s.
func (b *BBS) Counts(p model.Presence, s model.ActualLRPState) int { return b.counts[p][s] }

// SetCells tells the BBS which cells are present now, for retirements outside Converge
// (a CLAIMED/RUNNING instance on an absent cell is deleted instead of stopped).
//
// cells must not be modified after the call (the BBS keeps it); passing the same slice
// again means "unchanged" and costs O(1).
func (b *BBS) SetCells(cells []string) {
	if b.cells != nil && (len(cells) == len(b.cells) && (len(cells) == 0 || &cells[0] == &b.cells[0]) || slices.Equal(cells, b.cells)) {
		return
	}
	b.cells = cells
	b.present = make(map[string]bool, len(cells))
	for _, c := range cells {
		b.present[c] = true
	}
}

func cloneMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// done counts an operation and, when it was refused, its error class.
func (b *BBS) done(op string, err error) error {
	b.stats.Ops++
	if err != nil {
		b.stats.Refused[op+": "+errorClass(err)]++
	}
	return err
}

func (b *BBS) ignore(op, why string) { b.stats.Ignored[op+": "+why]++ }

func errorClass(err error) string {
	switch {
	case errors.Is(err, model.ErrInvalidTransition):
		return "invalid_transition"
	case errors.Is(err, model.ErrNotFound):
		return "not_found"
	case errors.Is(err, model.ErrExists):
		return "exists"
	case errors.Is(err, model.ErrInvalid):
		return "invalid"
	}
	return "store"
}

func storeErr(op string, err error) error { return fmt.Errorf("bbs: store %s: %w", op, err) }

// truncate is Diego's truncateString(s, 1024): a reason of MaxReasonLength bytes or more
// keeps its first MaxReasonLength-11 bytes followed by "(truncated)", 1,024 bytes in all.
func truncate(s string) string {
	if len(s) >= MaxReasonLength {
		return s[:MaxReasonLength-len(truncatedMarker)] + truncatedMarker
	}
	return s
}

// --- store access with events and index maintenance ---

//
// The getters read into storage the caller provides (usually a variable on its stack)
// and return a pointer to it, or nil when the row is absent: no allocation per read.

// getActual reads the row (key, p) into buf.
func (b *BBS) getActual(buf *model.ActualLRP, key model.ActualLRPKey, p model.Presence) (*model.ActualLRP, error) {
	a, ok, err := b.store.GetActualLRP(key, p)
	if err != nil {
		return nil, storeErr("get actual", err)
	}
	if !ok {
		return nil, nil
	}
	*buf = a
	return buf, nil
}

// rows reads the ORDINARY, EVACUATING and SUSPECT rows of key into buf and returns
// pointers to those present (nil when absent).
func (b *BBS) rows(key model.ActualLRPKey, buf *[3]model.ActualLRP) (r [3]*model.ActualLRP, err error) {
	all, found, err := b.rowStore.ActualLRPs(key)
	if err != nil {
		return r, storeErr("get actual", err)
	}
	for p := range found {
		if found[p] {
			buf[p] = all[p]
			r[p] = &buf[p]
		}
	}
	return r, nil
}

// withInstance returns the row of key whose instance key is ik, if any.
func withInstance(r [3]*model.ActualLRP, ik model.InstanceKey) *model.ActualLRP {
	for _, a := range r {
		if a != nil && a.InstanceKey == ik {
			return a
		}
	}
	return nil
}

// putActual writes a, which replaces old (nil: a is new; else the current row of a's key
// and presence), and tells the counts, the tracker (with writeRow's hints) and the event
// stream.
func (b *BBS) putActual(old *model.ActualLRP, a model.ActualLRP) error {
	h, err := b.writeRow(&a)
	if err != nil {
		return err
	}
	typ := ActualLRPCreated
	if old != nil {
		typ = ActualLRPChanged
		b.counts[old.Presence][old.State]--
	}
	b.counts[a.Presence][a.State]++
	b.tracker.ActualChangedHints(h, old, &a)
	b.out.Events = append(b.out.Events, Event{Type: typ, Actual: b.actualCopy(&a)})
	return nil
}

// writeRow writes the row a to the store and returns the tracker hints for the change
// (see rowStore).
func (b *BBS) writeRow(a *model.ActualLRP) (converge.Hints, error) {
	h, err := b.rowStore.PutActualLRPHinted(*a)
	if err != nil {
		return converge.Hints{}, storeErr("put actual", err)
	}
	return h, nil
}

// removeRow deletes the row a from the store and returns the tracker hints for it.
func (b *BBS) removeRow(a *model.ActualLRP) (converge.Hints, error) {
	h, err := b.rowStore.DeleteActualLRPHinted(a.ActualLRPKey, a.Presence)
	if err != nil {
		return converge.Hints{}, storeErr("delete actual", err)
	}
	return h, nil
}

func (b *BBS) deleteActual(a *model.ActualLRP) error {
	h, err := b.removeRow(a)
	if err != nil {
		return err
	}
	b.counts[a.Presence][a.State]--
	b.tracker.ActualChangedHints(h, a, nil)
	b.out.Events = append(b.out.Events, Event{Type: ActualLRPRemoved, Actual: b.actualCopy(a)})
	return nil
}

// moveActual re-keys a row to another presence (ORDINARY <-> SUSPECT) as one change event.
func (b *BBS) moveActual(old *model.ActualLRP, to model.Presence) error {
	oh, err := b.removeRow(old)
	if err != nil {
		return err
	}
	a := *old
	a.Presence = to
	nh, err := b.writeRow(&a) // a new row at its presence: no old cell
	if err != nil {
		return err
	}
	b.counts[old.Presence][old.State]--
	b.counts[a.Presence][a.State]++
	b.tracker.ActualChangedHints(oh, old, nil)
	b.tracker.ActualChangedHints(nh, nil, &a)
	b.out.Events = append(b.out.Events, Event{Type: ActualLRPChanged, Actual: b.actualCopy(&a)})
	return nil
}

func (b *BBS) putTask(old *model.Task, t model.Task) error {
	if err := b.store.PutTask(t); err != nil {
		return storeErr("put task", err)
	}
	typ := TaskCreated
	if old != nil {
		typ = TaskChanged
	}
	b.tracker.TaskChanged(old, &t)
	cp := t
	b.out.Events = append(b.out.Events, Event{Type: typ, Task: &cp})
	return nil
}

// getTask reads the task guid into buf (the caller's: a row read per task operation
// then costs no allocation).
func (b *BBS) getTask(buf *model.Task, guid string) (*model.Task, error) {
	t, ok, err := b.store.GetTask(guid)
	if err != nil {
		return nil, storeErr("get task", err)
	}
	if !ok {
		return nil, &model.NotFoundError{Kind: "task", Key: guid}
	}
	*buf = t
	return buf, nil
}

// getDesired reads the desired LRP guid into buf.
func (b *BBS) getDesired(buf *model.DesiredLRP, guid string) (*model.DesiredLRP, error) {
	d, ok, err := b.store.GetDesiredLRP(guid)
	if err != nil {
		return nil, storeErr("get desired", err)
	}
	if !ok {
		return nil, nil
	}
	*buf = d
	return buf, nil
}

// requestStart queues an auction for key if its desired LRP exists (Diego logs and
// skips the request otherwise; convergence cleans up).
func (b *BBS) requestStart(key model.ActualLRPKey) error {
	var buf model.DesiredLRP
	d, err := b.getDesired(&buf, key.ProcessGUID)
	if err != nil || d == nil {
		return err
	}
	b.out.LRPStarts = append(b.out.LRPStarts, startFor(d, key.Index))
	return nil
}

func startFor(d *model.DesiredLRP, index int) LRPStart {
	return LRPStart{Key: model.ActualLRPKey{ProcessGUID: d.ProcessGUID, Index: index}, Domain: d.Domain,
		Resource: d.Resource(), Constraint: d.Constraint(), MaxPerCell: d.MaxPerCell, Compute: d.Compute}
}

// source adapts the store to converge.Source. Store errors are kept in b.srcErr and the
// row reads as absent; Converge reports them.
type source struct{ b *BBS }

func (s source) fail(err error) {
	if err != nil && s.b.srcErr == nil {
		s.b.srcErr = err
	}
}

func (s source) DesiredLRP(guid string) (model.DesiredLRP, bool) {
	d, ok, err := s.b.store.GetDesiredLRP(guid)
	s.fail(err)
	return d, ok && err == nil
}

func (s source) ActualLRP(key model.ActualLRPKey, p model.Presence) (model.ActualLRP, bool) {
	a, ok, err := s.b.store.GetActualLRP(key, p)
	s.fail(err)
	return a, ok && err == nil
}

func (s source) ActualLRPsByProcess(guid string) []model.ActualLRP {
	l, err := s.b.store.ListActualLRPsByProcess(guid)
	s.fail(err)
	return l
}

func (s source) ActualLRPsOnCell(cell string) []model.ActualLRP {
	l, err := s.b.store.ListActualLRPsByCell(cell)
	s.fail(err)
	return l
}

func (s source) Task(guid string) (model.Task, bool) {
	t, ok, err := s.b.store.GetTask(guid)
	s.fail(err)
	return t, ok && err == nil
}

func (s source) Domains() []converge.Domain {
	if ds, ok := s.b.store.(sharedDomains); ok {
		return ds.SharedDomains()
	}
	l, err := s.b.store.ListDomains()
	s.fail(err)
	return l
}

// UpsertDomain creates or refreshes a freshness domain: it expires at now+ttl, or never
// when ttl is 0 (DIEGO.md §3.1).
func (b *BBS) UpsertDomain(now time.Duration, domain string, ttl time.Duration) error {
	if domain == "" {
		return b.done("UpsertDomain", &model.ValidationError{Field: "domain", Problem: "must not be empty"})
	}
	if ttl < 0 {
		return b.done("UpsertDomain", &model.ValidationError{Field: "ttl", Problem: fmt.Sprintf("must be >= 0, got %v", ttl)})
	}
	d := converge.Domain{Name: domain}
	if ttl > 0 {
		d.ExpiresAt = now + ttl
	}
	if err := b.store.PutDomain(d); err != nil {
		return b.done("UpsertDomain", storeErr("put domain", err))
	}
	return b.done("UpsertDomain", nil)
}

// Domains lists the domains (sorted by name).
func (b *BBS) Domains() ([]converge.Domain, error) { return b.store.ListDomains() }

// Snapshot returns the whole store as a converge.Input with the given cells, for the
// reference converge.Compute.
func (b *BBS) Snapshot(cells []string) (converge.Input, error) {
	in := converge.Input{Cells: slices.Clone(cells), Config: b.cfg.converge()}
	var err error
	if in.Desired, err = b.store.ListDesiredLRPs(); err != nil {
		return in, storeErr("list desired", err)
	}
	if in.Actual, err = b.store.ListActualLRPs(); err != nil {
		return in, storeErr("list actual", err)
	}
	if in.Tasks, err = b.store.ListTasks(); err != nil {
		return in, storeErr("list tasks", err)
	}
	if in.Domains, err = b.store.ListDomains(); err != nil {
		return in, storeErr("list domains", err)
	}
	return in, nil
}
