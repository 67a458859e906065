package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/diegolab/diegolab/engine"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/live"
	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
	"github.com/diegolab/diegolab/scenarios/behave"
)

// Options configure Run.
type Options struct {
	// Out receives the run record.
	Out string
	// Dir is the cluster's directory (default: a new temporary directory, removed at
	// the end unless Keep).
	Dir  string
	Keep bool
	// Binary is the diegolab binary the cluster runs (default: this executable);
	// Workload the workload program (default: "workload" next to Binary).
	Binary, Workload string
	Limits           Limits
	// ImageScale multiplies the sizes of the scenario's image layers (0: 1;
	// CheckImages bounds it to (0, 1]).
	ImageScale float64
	// StartOverhead is taken off each drawn start time by the workload (what creating
	// and starting a container costs here; 0 by default).
	StartOverhead time.Duration
	// Log receives one line per step (nil: none).
	Log io.Writer
	// Scale, when > 1, is the factor the scenario was shrunk by (scale.go); the record
	// says it (settings.scale).
	Scale float64
}

// cell states, as the simulator's (engine/sim cellState).
const (
	cellUp = iota
	cellCrashed
	cellPartitioned
	cellEvacuating
	cellDown
)

type driver struct {
	sc     *scenarios.Scenario
	o      Options
	dir    string
	cl     *api.Client
	wall0  time.Time
	t0     float64 // cluster time at the scenario's start (s)
	cells  []scenarios.CellGroup
	ids    []string
	zones  []string
	state  []int
	faults *rand.Rand
	events []record.Event // the driver's cell and timeline events, scenario time
	mu     sync.Mutex     // events (drains end in goroutines)
	drains sync.WaitGroup
	// drained receives a cell index when its evacuation ended.
	drained chan int
	restore map[int]bool // a restore-cell came while the cell was evacuating
	// tasks are the scenario's tasks at their times (tasks.go); taskGUID maps the
	// BBS's guid of each desired task to its scenario guid (under mu).
	tasks    []taskStep
	taskGUID map[string]string
	// added: per add-cells event index, its cells' positions (addcells.go).
	added map[int][]int
	// docker drives the registries and pushed apps (docker.go; nil: no app group
	// has a lifecycle).
	docker *dockerDriver
}

func (d *driver) logf(format string, args ...any) {
	if d.o.Log != nil {
		fmt.Fprintf(d.o.Log, "%7.2fs  %s\n", time.Since(d.wall0).Seconds(), fmt.Sprintf(format, args...))
	}
}

// now is the scenario time (since t0).
func (d *driver) now() float64 { return record.Round6(time.Since(d.wall0).Seconds()) }

func (d *driver) event(e record.Event) {
	d.mu.Lock()
	d.events = append(d.events, e)
	d.mu.Unlock()
}

func (d *driver) cellEvent(ci int, state string) {
	d.event(record.Event{T: d.now(), Type: record.TypeCell, CellID: d.ids[ci], Zone: d.zones[ci], State: state})
}

// Run plays sc on a live cluster and writes its run record into o.Out.
func Run(ctx context.Context, sc *scenarios.Scenario, o Options) (sum *record.Summary, err error) {
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits()
	}
	if o.ImageScale == 0 {
		o.ImageScale = 1
	}
	if err := Check(sc, o.Limits); err != nil {
		return nil, err
	}
	if err := CheckImages(sc, o.ImageScale); err != nil {
		return nil, err
	}
	if o.Out == "" {
		return nil, errors.New("real run: no output directory")
	}
	if o.Binary == "" {
		if o.Binary, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	if o.Workload == "" {
		o.Workload = filepath.Join(filepath.Dir(o.Binary), "workload")
	}
	if st, err := os.Stat(o.Workload); err != nil || st.IsDir() {
		return nil, fmt.Errorf("real run: no workload program at %s: build it with `make workload` (bin/workload) or pass --workload", o.Workload)
	}
	d := &driver{sc: sc, o: o, dir: o.Dir, faults: engine.NewStream(sc.Seed, "faults"), drained: make(chan int, 64), restore: map[int]bool{}}
	if d.dir == "" {
		if d.dir, err = os.MkdirTemp("", "diegolab-real-"); err != nil {
			return nil, err
		}
		if !o.Keep {
			defer os.RemoveAll(d.dir)
		}
	}
	// The reps' containers run in user namespaces whose root must traverse the path.
	if err := os.MkdirAll(d.dir, 0o711); err != nil {
		return nil, err
	}
	if err := os.Chmod(d.dir, 0o711); err != nil {
		return nil, err
	}
	for _, c := range sc.InitialCells() {
		d.ids = append(d.ids, c.ID)
		d.zones = append(d.zones, c.Zone)
		d.state = append(d.state, cellUp)
	}
	d.added = d.addedCells()
	defer func() {
		d.stopWatching()
		if derr := d.teardown(); derr != nil {
			err = errors.Join(err, fmt.Errorf("real run: teardown: %w", derr))
		}
	}()
	if err := d.up(ctx); err != nil {
		return nil, err
	}
	if err := d.parkAdded(ctx); err != nil {
		return nil, err
	}
	if err := d.setupDocker(ctx); err != nil {
		return nil, err
	}
	if err := d.pushAll(ctx); err != nil {
		return nil, err
	}
	if err := d.pushTaskRunner(ctx); err != nil {
		return nil, err
	}
	if err := d.play(ctx); err != nil {
		return nil, err
	}
	d.stopWatching()
	return d.writeRecord(ctx)
}

func (d *driver) up(ctx context.Context) error {
	sc := d.sc
	g := sc.Cells[0]
	containers := g.Containers
	if containers <= 0 {
		containers = model.DefaultContainers
	}
	scw := sc.Auction.StartingContainerWeight
	lo := live.Options{
		Dir: d.dir, Cells: len(d.ids), MemoryMB: g.MemoryMB, DiskMB: g.DiskMB, Containers: containers,
		Binary: d.o.Binary, PresenceTTL: sc.Timers.PresenceTTL, ConvergenceInterval: sc.Timers.ConvergenceInterval,
		Heartbeat: sc.Timers.PresenceHeartbeat, StaleUnclaimed: sc.Timers.StaleUnclaimed,
		EvacuationTimeout: sc.Timers.EvacuationTimeout, BulkSync: max(sc.Timers.PresenceHeartbeat, time.Second),
		Wait: 60 * time.Second, RouterListen: "127.0.0.1:0",
		CellIDs: d.ids, CellZones: d.zones, Algorithm: sc.Algorithm, StartingContainerWeight: &scw,
		BinPackFirstFitWeight: sc.Auction.BinPackFirstFitWeight, MaxStartingContainers: sc.Auction.MaxStartingContainers,
		HoldDeadReps: true, TickInterval: 100 * time.Millisecond, Registries: needRegistries(sc),
	}
	d.wall0 = time.Now()
	d.logf("starting %d cells in %s", len(d.ids), d.dir)
	if _, err := live.Up(ctx, lo); err != nil {
		return fmt.Errorf("real run: %w", err)
	}
	cfg, err := live.LoadClientConfig(d.dir)
	if err != nil {
		return err
	}
	d.cl = api.NewClient(cfg.URL, cfg.Token, 30*time.Second)
	return nil
}

// teardown continues stopped reps, releases held ones and takes the cluster down.
func (d *driver) teardown() error {
	if _, err := os.Stat(filepath.Join(d.dir, live.StateFile)); err != nil {
		return nil // never started
	}
	for ci, s := range d.state {
		if s == cellPartitioned {
			_ = live.HealCell(d.dir, d.ids[ci])
		}
	}
	err := live.Down(context.Background(), d.dir, 10*time.Second)
	d.drains.Wait()
	return err
}

// pushAll pushes every app with no instances (staged, not yet running), a few at once.
func (d *driver) pushAll(ctx context.Context) error {
	type job struct {
		g    *scenarios.AppGroup
		guid string
	}
	var jobs []job
	for gi := range d.sc.Apps {
		g := &d.sc.Apps[gi]
		if g.Staging != nil {
			continue // pushed at its start_at (docker.go)
		}
		for _, guid := range g.ProcessGUIDs() {
			jobs = append(jobs, job{g, guid})
		}
	}
	d.logf("pushing %d apps (workload %s)", len(jobs), d.o.Workload)
	bin, err := os.ReadFile(d.o.Workload)
	if err != nil {
		return err
	}
	ch := make(chan job)
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	var next int
	var mu sync.Mutex
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				errs[i] = d.push(ctx, j.g, j.guid, bin, 0, false)
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	return errors.Join(errs...)
}

// push pushes the workload as app guid of group g with instances, waiting for them
// unless noWait.
func (d *driver) push(ctx context.Context, g *scenarios.AppGroup, guid string, bin []byte, instances int, noWait bool) error {
	adir := filepath.Join(d.dir, "apps", guid)
	if err := os.MkdirAll(adir, 0o755); err != nil {
		return err
	}
	w := behave.NewWorkload(d.sc, g, guid)
	w.StartOverhead = d.o.StartOverhead
	cfg, _ := json.MarshalIndent(w, "", "  ")
	for name, b := range map[string][]byte{"workload": bin, behave.ConfigFile: cfg, "Procfile": []byte("web: ./workload\n")} {
		mode := os.FileMode(0o644)
		if name == "workload" {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(adir, name), b, mode); err != nil {
			return err
		}
	}
	_, err := live.Push(ctx, d.cl, guid, adir, live.PushOptions{Instances: instances, MemoryMB: g.MemoryMB, DiskMB: g.DiskMB,
		Buildpack: "binary", Timeout: 3 * time.Minute, NoWait: noWait})
	if err != nil {
		return fmt.Errorf("push %s: %w", guid, err)
	}
	return nil
}

// step is one thing to do at a scenario time.
type step struct {
	at   time.Duration
	kind int // kindDesire ... kindOutageEnd
	i    int
}

// The kinds of step, and what their i indexes.
const (
	kindDesire       = iota // an app group at its start_at (sc.Apps)
	kindEvent               // a timeline event (sc.Events)
	kindPartitionEnd        // the end of a cell's partition (the cell)
	kindTask                // a task at its time (d.tasks)
	kindOutageEnd           // the end of a registry outage (sc.Events; docker.go)
)

// play runs the scenario's steps at their times, then waits for its end.
func (d *driver) play(ctx context.Context) error {
	// t0 is the next multiple of the convergence interval in cluster time: the BBS
	// converges at those multiples, and the simulator at multiples from its start, so
	// the two see the same convergence phase.
	var h api.Health
	if err := d.cl.Do(ctx, http.MethodGet, "/v1/health", nil, &h); err != nil {
		return err
	}
	got := time.Now()
	iv := d.sc.Timers.ConvergenceInterval.Seconds()
	t0 := math.Ceil(h.Now/iv) * iv
	d.wall0, d.t0 = got.Add(time.Duration((t0-h.Now)*float64(time.Second))), t0
	d.logf("t0: cluster time %.3fs (waiting %.1fs for the convergence phase)", d.t0, t0-h.Now)
	if err := sleepCtx(ctx, time.Until(d.wall0)); err != nil {
		return err
	}
	d.logf("t0: cluster time %.3fs", d.t0)
	var steps []step
	for gi, g := range d.sc.Apps {
		steps = append(steps, step{at: g.StartAt, kind: kindDesire, i: gi})
	}
	d.tasks = taskTimes(d.sc)
	for i, t := range d.tasks {
		steps = append(steps, step{at: t.at, kind: kindTask, i: i})
	}
	order := make([]int, len(d.sc.Events))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(d.sc.Events[a].At - d.sc.Events[b].At) })
	for _, i := range order {
		steps = append(steps, step{at: d.sc.Events[i].At, kind: kindEvent, i: i})
	}
	slices.SortStableFunc(steps, func(a, b step) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	for len(steps) > 0 {
		s := steps[0]
		if err := d.waitUntil(ctx, s.at); err != nil {
			return err
		}
		steps = steps[1:]
		if s.kind == kindDesire {
			// Every group desired at this instant in one burst, as the simulator
			// desires them before its auction round: desired group by group, the
			// auctioneer's batch could close between two groups and place them in
			// another order (other cells, other zones).
			groups := []int{s.i}
			for len(steps) > 0 && steps[0].kind == kindDesire && steps[0].at == s.at {
				groups, steps = append(groups, steps[0].i), steps[1:]
			}
			if err := d.desire(ctx, groups); err != nil {
				return err
			}
			continue
		}
		more, err := d.do(ctx, s)
		if err != nil {
			return err
		}
		for _, m := range more {
			i, _ := slices.BinarySearchFunc(steps, m.at, func(x step, t time.Duration) int {
				if x.at <= t {
					return -1
				}
				return 1
			})
			steps = slices.Insert(steps, i, m)
		}
	}
	return d.waitUntil(ctx, d.sc.Duration)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// waitUntil sleeps until scenario time at, handling ended drains meanwhile.
func (d *driver) waitUntil(ctx context.Context, at time.Duration) error {
	for {
		left := time.Until(d.wall0.Add(at))
		if left <= 0 {
			return nil
		}
		t := time.NewTimer(left)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case ci := <-d.drained:
			t.Stop()
			d.drainEnded(ctx, ci)
		case <-t.C:
			return nil
		}
	}
}

// desire scales the apps of groups to their instances, every request at once (Check
// bounds the apps), in group order; a group with a lifecycle is pushed and staged
// (docker.go) instead.
func (d *driver) desire(ctx context.Context, groups []int) error {
	var guids []string
	var n []int
	for _, gi := range groups {
		g := &d.sc.Apps[gi]
		if g.Staging != nil {
			d.logf("push %s: %d apps x %d instances (%s)", g.Name, g.Count, g.Instances, g.Staging.Lifecycle)
			if err := d.pushStaged(ctx, g); err != nil {
				return err
			}
			continue
		}
		d.logf("desire %s: %d apps x %d instances", g.Name, g.Count, g.Instances)
		for _, guid := range g.ProcessGUIDs() {
			guids, n = append(guids, guid), append(n, g.Instances)
		}
	}
	errs := make([]error, len(guids))
	var wg sync.WaitGroup
	for i, g := range guids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.scale(ctx, g, n[i])
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (d *driver) do(ctx context.Context, s step) ([]step, error) {
	switch s.kind {
	case kindTask:
		return nil, d.runTask(ctx, d.tasks[s.i].group, d.tasks[s.i].n)
	case kindOutageEnd:
		return nil, d.outageEnd(ctx, s.i)
	}
	if s.kind == kindPartitionEnd {
		ci := s.i
		if d.state[ci] == cellPartitioned {
			d.logf("partition of %s ends", d.ids[ci])
			if err := live.HealCell(d.dir, d.ids[ci]); err != nil {
				return nil, err
			}
			d.state[ci] = cellUp
			d.cellEvent(ci, record.CellUp)
		}
		return nil, nil
	}
	ev := &d.sc.Events[s.i]
	at := d.now()
	target := ""
	var more []step
	switch ev.Action {
	case scenarios.ActionScale:
		target = ev.App + " -> " + strconv.Itoa(ev.Instances)
		if err := d.scaleAll(ctx, d.sc.MatchApps(ev.App), ev.Instances); err != nil {
			return nil, err
		}
	case scenarios.ActionStopApp:
		target = ev.App
		for _, guid := range d.sc.MatchApps(ev.App) {
			if err := d.cl.Do(ctx, http.MethodPost, "/v1/apps/"+guid+"/stop", nil, nil); err != nil {
				return nil, fmt.Errorf("stop-app %s: %w", guid, err)
			}
		}
	case scenarios.ActionCrashInstances:
		n, err := d.crashInstances(ctx, ev)
		if err != nil {
			return nil, err
		}
		target = ev.App + " x" + strconv.Itoa(n)
	case scenarios.ActionAddCells:
		t, err := d.addCells(ctx, s.i)
		if err != nil {
			return nil, err
		}
		target = t
	case scenarios.ActionPushImage, scenarios.ActionRegistryOutage:
		t, m, err := d.dockerEvent(ctx, s.i, ev)
		if err != nil {
			return nil, err
		}
		target, more = t, m
	default: // cell faults (Check refused the rest)
		cells := d.selectCells(ev)
		ids := make([]string, len(cells))
		for j, ci := range cells {
			ids[j] = d.ids[ci]
			m, err := d.cellFault(ctx, ev, ci)
			if err != nil {
				return nil, err
			}
			more = append(more, m...)
		}
		target = strings.Join(ids, ",")
		if ev.Zone != "" {
			target = "zone " + ev.Zone
		}
	}
	d.logf("%s %s", ev.Action, target)
	d.event(record.Event{T: at, Type: record.TypeTimeline, Action: ev.Action, Target: target})
	return more, nil
}

// scaleAll scales the apps to n instances, a few requests at once: the simulator
// desires a group at one instant, and one request after another would spread a large
// group over seconds of a loaded BBS.
func (d *driver) scaleAll(ctx context.Context, guids []string, n int) error {
	errs := make([]error, len(guids))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, g := range guids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = d.scale(ctx, g, n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (d *driver) scale(ctx context.Context, guid string, n int) error {
	req := api.ScaleRequest{Instances: &n}
	if err := d.cl.Do(ctx, http.MethodPost, "/v1/apps/"+guid+"/scale", req, nil); err != nil {
		return fmt.Errorf("scale %s to %d: %w", guid, n, err)
	}
	return nil
}

// selectCells resolves a cell selector as the simulator does: one id, a zone, or
// count cells drawn from the "faults" stream among those the action applies to.
func (d *driver) selectCells(ev *scenarios.Event) []int {
	eligible := func(ci int) bool {
		if d.state[ci] == cellNotAdded {
			return false
		}
		if ev.Action == scenarios.ActionRestoreCell {
			return d.state[ci] != cellUp && !d.restore[ci]
		}
		return d.state[ci] == cellUp
	}
	var out []int
	switch {
	case ev.Cell != "":
		if ci := slices.Index(d.ids, ev.Cell); ci >= 0 {
			out = append(out, ci)
		}
	case ev.Zone != "":
		for ci := range d.ids {
			if d.zones[ci] == ev.Zone && eligible(ci) {
				out = append(out, ci)
			}
		}
	case ev.Count > 0:
		var pool []int
		for ci := range d.ids {
			if eligible(ci) {
				pool = append(pool, ci)
			}
		}
		d.faults.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
		out = pool[:min(ev.Count, len(pool))]
		slices.Sort(out)
	}
	return out
}

func (d *driver) cellFault(ctx context.Context, ev *scenarios.Event, ci int) ([]step, error) {
	id := d.ids[ci]
	switch ev.Action {
	case scenarios.ActionCrashCell:
		if d.state[ci] == cellCrashed || d.state[ci] == cellDown {
			return nil, nil
		}
		if d.state[ci] == cellPartitioned {
			_ = live.HealCell(d.dir, id) // SIGKILL reaches a stopped process anyway
		}
		// Stamped when the kill starts: destroying the containers takes a moment the
		// simulator's instant crash does not.
		d.cellEvent(ci, record.CellCrashed)
		if err := live.CrashCell(ctx, d.dir, id); err != nil {
			return nil, err
		}
		d.state[ci] = cellCrashed
	case scenarios.ActionPartitionCell:
		if d.state[ci] != cellUp {
			return nil, nil
		}
		if err := live.PartitionCell(d.dir, id); err != nil {
			return nil, err
		}
		d.state[ci] = cellPartitioned
		d.cellEvent(ci, record.CellPartitioned)
		return []step{{at: ev.At + ev.Duration, kind: kindPartitionEnd, i: ci}}, nil
	case scenarios.ActionDrainCell:
		if d.state[ci] != cellUp {
			return nil, nil
		}
		if err := live.Hold(d.dir, id); err != nil {
			return nil, err
		}
		d.state[ci] = cellEvacuating
		d.cellEvent(ci, record.CellEvacuating)
		d.drains.Add(1)
		wait := d.sc.Timers.EvacuationTimeout + 30*time.Second
		go func() {
			defer d.drains.Done()
			if err := live.Drain(ctx, d.dir, id, wait); err != nil {
				d.logf("drain %s: %v", id, err)
			}
			d.drained <- ci
		}()
	case scenarios.ActionRestoreCell:
		switch d.state[ci] {
		case cellPartitioned:
			if err := live.HealCell(d.dir, id); err != nil {
				return nil, err
			}
		case cellCrashed, cellDown:
			if err := live.RestoreCell(ctx, d.dir, id, 30*time.Second); err != nil {
				return nil, err
			}
		case cellEvacuating:
			d.restore[ci] = true // back up once its drain ends
			return nil, nil
		default:
			return nil, nil
		}
		d.state[ci] = cellUp
		d.cellEvent(ci, record.CellUp)
	}
	return nil, nil
}

// drainEnded: cell ci's rep finished evacuating and exited.
func (d *driver) drainEnded(ctx context.Context, ci int) {
	if d.state[ci] != cellEvacuating {
		return
	}
	d.state[ci] = cellDown
	d.cellEvent(ci, record.CellDown)
	d.logf("drain of %s ended", d.ids[ci])
	if d.restore[ci] {
		delete(d.restore, ci)
		if err := live.RestoreCell(ctx, d.dir, d.ids[ci], 30*time.Second); err != nil {
			d.logf("restore %s: %v", d.ids[ci], err)
			return
		}
		d.state[ci] = cellUp
		d.cellEvent(ci, record.CellUp)
	}
}

// crashInstances kills running workload processes of the selected apps: the count or
// fraction of them drawn from the "faults" stream, in (process guid, index) order
// (the simulator draws among its containers in allocation order, so the chosen
// instances differ; the number is the same).
func (d *driver) crashInstances(ctx context.Context, ev *scenarios.Event) (int, error) {
	type inst struct {
		guid  string
		index int
		ig    string
	}
	var running []inst
	for _, guid := range d.sc.MatchApps(ev.App) {
		var a api.AppDetail
		if err := d.cl.Do(ctx, http.MethodGet, "/v1/apps/"+guid, nil, &a); err != nil {
			return 0, fmt.Errorf("crash-instances: %w", err)
		}
		for _, in := range a.InstancesDetail {
			if in.State == "RUNNING" && in.Presence == "ORDINARY" {
				running = append(running, inst{guid, in.Index, in.InstanceGUID})
			}
		}
	}
	n := ev.Count
	if ev.Fraction > 0 {
		n = int(ev.Fraction*float64(len(running)) + 0.5)
	}
	d.faults.Shuffle(len(running), func(i, j int) { running[i], running[j] = running[j], running[i] })
	running = running[:min(n, len(running))]
	pids := workloadPIDs()
	killed := 0
	for _, in := range running {
		if pid, ok := pids[in.ig]; ok && syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed++
		} else {
			d.logf("crash-instances: no workload process for %s/%d (%s)", in.guid, in.index, in.ig)
		}
	}
	return killed, nil
}

// workloadPIDs maps the instance guid of every workload process on this host to its
// pid (from /proc/PID/environ).
func workloadPIDs() map[string]int {
	out := map[string]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err != nil || filepath.Base(exe) != "workload" {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if g, ok := strings.CutPrefix(kv, "INSTANCE_GUID="); ok {
				out[g] = pid
			}
		}
	}
	return out
}
