package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/diegolab/diegolab/model"
)

// Defaults (DIEGO.md §0, §1.4, §4, §6; docs/scenario.md gives the source of each).
const (
	DefaultAlgorithm               = "diego"
	DefaultSeed                    = 1
	DefaultStartingContainerWeight = 0.25
	DefaultStack                   = "cflinuxfs4"
	DefaultAppDomain               = "cf-apps"
	DefaultTaskDomain              = "cf-tasks"
	DefaultZone                    = "z1"
	DefaultCellName                = "cell"
	DefaultStateFetch              = 50 * time.Millisecond
	DefaultStartTime               = 5 * time.Second
)

// Sanity bounds: far above the 10,000 cells / 1,000,000 instances diegolab is built
// for, low enough that a typo cannot make the loader or a driver allocate without end.
const (
	maxCellsPerGroup  = 100_000
	maxAppsPerGroup   = 10_000_000
	maxInstances      = 100_000
	maxTasksPerGroup  = 10_000_000
	maxMB             = 1 << 30 // 1 PB in MB
	maxContainers     = 100_000
	maxTaskRetriesCap = 1_000
	// maxTotalInstances bounds the apps and the instances all app groups desire at
	// their start (count x instances summed): a run sizes its tables by them up front,
	// and at ~1 KB an instance 10^8 is already beyond most machines (the 100,000-cell
	// hour has 10^7).
	maxTotalInstances = 100_000_000
)

// DefaultTimers are Diego's timers (DIEGO.md §0, §4, §6; model's task constants).
func DefaultTimers() Timers {
	return Timers{
		ConvergenceInterval: 30 * time.Second,
		PresenceTTL:         15 * time.Second,
		PresenceHeartbeat:   5 * time.Second,
		StaleUnclaimed:      model.DefaultStaleUnclaimedTimeout,
		EvacuationTimeout:   600 * time.Second,
		ExpirePendingTask:   model.DefaultTaskExpirePending,
		ExpireCompletedTask: model.DefaultTaskExpireCompleted,
		KickTask:            model.DefaultTaskKickDuration,
		MaxTaskRetries:      model.DefaultMaxTaskRetries,
	}
}

var (
	positiveMB  = intRange{1, maxMB, "an integer > 0 (MB)"}
	nonNegMB    = intRange{0, maxMB, "an integer >= 0 (MB)"}
	probability = floatRange{0, 1, "a probability between 0 and 1"}
	weight      = floatRange{0, math.MaxFloat64, "a number >= 0"}
)

func build(file string, doc *fileDoc, p *problems) *Scenario {
	s := &Scenario{Path: file}

	r := doc.Run
	s.Name = p.str("run.name", r.Name, baseName(file), false, "a string")
	if strings.TrimSpace(s.Name) == "" {
		p.errorf("run.name", "must not be empty")
	}
	s.Description = p.str("run.description", r.Description, "", false, "a string")
	s.Seed = uint64(p.integer("run.seed", r.Seed, DefaultSeed, intRange{0, math.MaxInt64, "an integer >= 0"}, false))
	s.Duration = p.duration("run.duration", r.Duration, 0, true, true)
	s.Algorithm = p.str("run.algorithm", r.Algorithm, DefaultAlgorithm, false, `an algorithm name such as "diego"`)
	if strings.TrimSpace(s.Algorithm) == "" {
		p.errorf("run.algorithm", `must name an algorithm such as "diego"`)
	}

	a := doc.Auction
	s.Auction = Auction{
		StartingContainerWeight: p.float("auction.starting_container_weight", a.StartingContainerWeight, DefaultStartingContainerWeight, weight),
		BinPackFirstFitWeight:   p.float("auction.bin_pack_first_fit_weight", a.BinPackFirstFitWeight, 0, weight),
		MaxStartingContainers:   p.integer("auction.max_starting_containers", a.MaxStartingContainers, 0, intRange{0, math.MaxInt32, "an integer >= 0 (0 = unlimited)"}, false),
		ProxyMemoryMB:           p.integer("auction.proxy_memory_mb", a.ProxyMemoryMB, 0, nonNegMB, false),
		StateFetch:              p.dist("auction.state_fetch", a.StateFetch, Const(DefaultStateFetch), false),
	}

	t, def := doc.Timers, DefaultTimers()
	s.Timers = Timers{
		ConvergenceInterval: p.duration("timers.convergence_interval", t.ConvergenceInterval, def.ConvergenceInterval, false, true),
		PresenceTTL:         p.duration("timers.presence_ttl", t.PresenceTTL, def.PresenceTTL, false, true),
		PresenceHeartbeat:   p.duration("timers.presence_heartbeat", t.PresenceHeartbeat, def.PresenceHeartbeat, false, true),
		StaleUnclaimed:      p.duration("timers.stale_unclaimed", t.StaleUnclaimed, def.StaleUnclaimed, false, true),
		EvacuationTimeout:   p.duration("timers.evacuation_timeout", t.EvacuationTimeout, def.EvacuationTimeout, false, true),
		ExpirePendingTask:   p.duration("timers.expire_pending_task", t.ExpirePendingTask, def.ExpirePendingTask, false, true),
		ExpireCompletedTask: p.duration("timers.expire_completed_task", t.ExpireCompletedTask, def.ExpireCompletedTask, false, true),
		KickTask:            p.duration("timers.kick_task", t.KickTask, def.KickTask, false, true),
		MaxTaskRetries:      p.integer("timers.max_task_retries", t.MaxTaskRetries, def.MaxTaskRetries, intRange{0, maxTaskRetriesCap, "an integer >= 0"}, false),
	}
	if s.Timers.PresenceHeartbeat >= s.Timers.PresenceTTL {
		p.errorf("timers.presence_heartbeat", fmt.Sprintf("must be shorter than presence_ttl (%s), got %s: the presence would expire between heartbeats", s.Timers.PresenceTTL, s.Timers.PresenceHeartbeat))
	}

	s.Calibration = p.calibration(&doc.Calibration)

	inv := newInventory()
	total := 0
	for i := range doc.Cells {
		key := "cells[" + strconv.Itoa(i) + "]"
		g := p.cellGroup(key, &doc.Cells[i].cellFields)
		g.Line = p.lines[key]
		g.First = inv.add(g)
		total += g.Count
		s.Cells = append(s.Cells, g)
	}
	var traced *traceLoad
	s.Trace, traced = p.loadTrace(file, &doc.Trace, s.Duration)
	if traced != nil {
		for _, g := range traced.cells {
			g.First = inv.add(g)
			total += g.Count
			s.Cells = append(s.Cells, g)
		}
	}
	if total == 0 && (s.Trace == nil || traced != nil) {
		p.errorf("cells", "no cells: add at least one [[cells]] group with count >= 1 (and memory_mb, disk_mb)")
	}

	appNames := map[string]string{}
	for i := range doc.Apps {
		key := "apps[" + strconv.Itoa(i) + "]"
		g := p.appGroup(key, &doc.Apps[i], s.Duration)
		g.Line = p.lines[key]
		g.Staging = p.appStaging(key, &doc.Apps[i], &g)
		if prev, dup := appNames[g.Name]; dup && g.Name != "" {
			p.errorf(key+".name", fmt.Sprintf("duplicate app group name %q (also %s): process guids would collide", g.Name, prev))
		} else if g.Name != "" {
			appNames[g.Name] = key
		}
		s.Apps = append(s.Apps, g)
	}
	if traced != nil {
		s.Apps = slices.Grow(s.Apps, len(traced.apps))
		for i, g := range traced.apps {
			if prev, dup := appNames[g.Name]; dup {
				p.errorf("trace.pods", fmt.Sprintf("pod %q (%s line %d) has the name of %s: process guids would collide", g.Name, s.Trace.Pods, traced.lines[i], prev))
				continue
			}
			appNames[g.Name] = fmt.Sprintf("the pod at %s line %d", s.Trace.Pods, traced.lines[i])
			s.Apps = append(s.Apps, g)
		}
	}
	s.indexApps()
	p.boundTotals(s)
	taskNames := map[string]string{}
	for i := range doc.Tasks {
		key := "tasks[" + strconv.Itoa(i) + "]"
		g := p.taskGroup(key, &doc.Tasks[i], s.Duration)
		g.Line = p.lines[key]
		if prev, dup := taskNames[g.Name]; dup && g.Name != "" {
			p.errorf(key+".name", fmt.Sprintf("duplicate task group name %q (also %s): task guids would collide", g.Name, prev))
		} else if g.Name != "" {
			taskNames[g.Name] = key
		}
		s.Tasks = append(s.Tasks, g)
	}

	p.staging(doc, s)

	for i := range doc.Events {
		key := "events[" + strconv.Itoa(i) + "]"
		e := p.event(key, &doc.Events[i], s)
		e.Line = p.lines[key]
		s.Events = append(s.Events, e)
	}
	p.timeline(s, inv)
	p.capacityWarnings(s)
	return s
}

func (p *problems) cellGroup(key string, d *cellFields) CellGroup {
	g := CellGroup{
		Name:                  p.name(key+".name", d.Name, DefaultCellName, false),
		Count:                 p.integer(key+".count", d.Count, 1, intRange{0, maxCellsPerGroup, "an integer >= 0 (cells in the group)"}, false),
		Zones:                 p.strings(key+".zones", d.Zones, []string{DefaultZone}),
		MemoryMB:              p.integer(key+".memory_mb", d.MemoryMB, 0, positiveMB, true),
		DiskMB:                p.integer(key+".disk_mb", d.DiskMB, 0, positiveMB, true),
		Containers:            p.integer(key+".containers", d.Containers, model.DefaultContainers, intRange{1, maxContainers, "an integer > 0"}, false),
		Stacks:                p.strings(key+".stacks", d.Stacks, []string{DefaultStack}),
		Docker:                p.boolean(key+".docker", d.Docker, true),
		PlacementTags:         p.strings(key+".placement_tags", d.PlacementTags, nil),
		OptionalPlacementTags: p.strings(key+".optional_placement_tags", d.OptionalPlacementTags, nil),
		VolumeDrivers:         p.strings(key+".volume_drivers", d.VolumeDrivers, nil),
	}
	p.cellCompute(key, &d.computeCellFields, &g)
	if d.Zones.set && len(g.Zones) == 0 {
		p.errorf(key+".zones", `must list at least one zone, e.g. ["z1"]`)
		g.Zones = []string{DefaultZone}
	}
	for i, z := range g.Zones {
		if slices.Index(g.Zones, z) < i {
			p.errorf(key+".zones", fmt.Sprintf("zone %q is listed twice", z))
			break
		}
	}
	return g
}

// rootfs reads the stack / rootfs pair of an app or task group.
func (p *problems) rootfs(key string, stack, rootfs rawValue) string {
	st := p.str(key+".stack", stack, DefaultStack, false, `a stack name such as "cflinuxfs4"`)
	if stack.set && strings.TrimSpace(st) == "" {
		p.errorf(key+".stack", "must not be empty")
	}
	if !rootfs.set {
		return model.PreloadedRootFS(st)
	}
	if stack.set {
		p.errorf(key+".rootfs", "set either stack or rootfs, not both")
	}
	rf := p.str(key+".rootfs", rootfs, "", false, `a rootfs URL such as "docker:///org/image"`)
	if i := strings.Index(rf, ":"); i <= 0 {
		p.errorf(key+".rootfs", fmt.Sprintf(`must be a URL with a scheme such as "docker:///org/image" or "preloaded:cflinuxfs4", got %q`, rf))
	}
	return rf
}

func (p *problems) appGroup(key string, d *appDoc, runDuration time.Duration) AppGroup {
	g := AppGroup{
		Name:                    p.name(key+".name", d.Name, "", true),
		Count:                   p.integer(key+".count", d.Count, 1, intRange{1, maxAppsPerGroup, "an integer > 0 (apps in the group)"}, false),
		Instances:               p.integer(key+".instances", d.Instances, 1, intRange{0, maxInstances, "an integer >= 0 (instances per app)"}, false),
		MemoryMB:                p.integer(key+".memory_mb", d.MemoryMB, 0, positiveMB, true),
		DiskMB:                  p.integer(key+".disk_mb", d.DiskMB, 0, positiveMB, true),
		RootFS:                  p.rootfs(key, d.Stack, d.RootFS),
		Domain:                  p.str(key+".domain", d.Domain, DefaultAppDomain, false, "a domain name"),
		PlacementTags:           p.strings(key+".placement_tags", d.PlacementTags, nil),
		VolumeDrivers:           p.strings(key+".volume_drivers", d.VolumeDrivers, nil),
		MaxPerCell:              p.integer(key+".max_per_cell", d.MaxPerCell, 0, intRange{0, maxInstances, "an integer >= 0 (0 = no cap)"}, false),
		StartAt:                 p.duration(key+".start_at", d.StartAt, 0, false, false),
		StartTime:               p.dist(key+".start_time", d.StartTime, Const(DefaultStartTime), false),
		CrashProbabilityAtStart: p.float(key+".crash_probability_at_start", d.CrashProbabilityAtStart, 0, probability),
		StartFailureProbability: p.float(key+".start_failure_probability", d.StartFailureProbability, 0, probability),
		Compute:                 p.workCompute(key, &d.computeWorkFields),
	}
	if d.Domain.set && strings.TrimSpace(g.Domain) == "" {
		p.errorf(key+".domain", "must not be empty")
	}
	if g.StartAt > runDuration && runDuration > 0 {
		p.errorf(key+".start_at", fmt.Sprintf("%s is beyond run.duration (%s)", g.StartAt, runDuration))
	}
	if d.Crash.set {
		m, ok := d.Crash.v.(map[string]any)
		if !ok {
			p.errorf(key+".crash", `must be a table such as {after = {dist = "exp", mean = "10m"}}, got `+describe(d.Crash.v))
		} else {
			for _, k := range sortedKeys(m) {
				if k != "after" {
					p.errorf(key+".crash."+quoteSegment(k), "unknown key (crash takes only after, a distribution)")
				}
			}
			after, has := m["after"]
			g.Crash = &CrashSpec{After: p.dist(key+".crash.after", rawValue{v: after, set: has}, Dist{}, true)}
		}
	}
	return g
}

func (p *problems) taskGroup(key string, d *taskDoc, runDuration time.Duration) TaskGroup {
	g := TaskGroup{
		Name:               p.name(key+".name", d.Name, "", true),
		Count:              p.integer(key+".count", d.Count, 0, intRange{1, maxTasksPerGroup, "an integer > 0 (tasks in the group)"}, true),
		MemoryMB:           p.integer(key+".memory_mb", d.MemoryMB, 0, positiveMB, true),
		DiskMB:             p.integer(key+".disk_mb", d.DiskMB, 0, positiveMB, true),
		RootFS:             p.rootfs(key, d.Stack, d.RootFS),
		Domain:             p.str(key+".domain", d.Domain, DefaultTaskDomain, false, "a domain name"),
		PlacementTags:      p.strings(key+".placement_tags", d.PlacementTags, nil),
		VolumeDrivers:      p.strings(key+".volume_drivers", d.VolumeDrivers, nil),
		Duration:           p.dist(key+".duration", d.Duration, Dist{}, true),
		StartAt:            p.duration(key+".start_at", d.StartAt, 0, false, false),
		RatePerMinute:      p.float(key+".rate_per_minute", d.RatePerMinute, 0, floatRange{math.SmallestNonzeroFloat64, 1e9, "a number > 0 (mean task arrivals per minute)"}),
		FailureProbability: p.float(key+".failure_probability", d.FailureProbability, 0, probability),
		Compute:            p.workCompute(key, &d.computeWorkFields),
	}
	if d.Domain.set && strings.TrimSpace(g.Domain) == "" {
		p.errorf(key+".domain", "must not be empty")
	}
	if g.StartAt > runDuration && runDuration > 0 {
		p.errorf(key+".start_at", fmt.Sprintf("%s is beyond run.duration (%s)", g.StartAt, runDuration))
	}
	return g
}

var actions = []string{ActionScale, ActionStopApp, ActionCrashInstances, ActionCrashCell, ActionPartitionCell, ActionDrainCell, ActionRestoreCell, ActionAddCells}

// allActions are actions plus the staging actions (staging.go).
var allActions = append(slices.Clone(actions), stagingActions...)

// eventKeys lists, per action, the keys an event may carry besides at and action.
var eventKeys = map[string][]string{
	ActionScale:          {"app", "instances"},
	ActionStopApp:        {"app"},
	ActionCrashInstances: {"app", "count", "fraction"},
	ActionCrashCell:      {"cell", "zone", "count"},
	ActionPartitionCell:  {"cell", "zone", "count", "duration"},
	ActionDrainCell:      {"cell", "zone", "count"},
	ActionRestoreCell:    {"cell", "zone", "count"},
	ActionAddCells:       tomlKeys(reflect.TypeFor[cellFields]()),
	ActionPushImage:      {"image", "layers", "size_mb", "shared_layers"},
	ActionRegistryOutage: {"registry", "duration"},
}

func (p *problems) event(key string, d *eventDoc, s *Scenario) Event {
	e := Event{
		At:     p.duration(key+".at", d.At, 0, true, false),
		Action: p.str(key+".action", d.Action, "", true, "an action ("+strings.Join(allActions, ", ")+")"),
	}
	if s.Duration > 0 && e.At > s.Duration {
		p.errorf(key+".at", fmt.Sprintf("%s is beyond run.duration (%s)", e.At, s.Duration))
	}
	allowed, ok := eventKeys[e.Action]
	if !ok {
		if d.Action.set {
			if _, isString := d.Action.v.(string); isString {
				p.errorf(key+".action", fmt.Sprintf("unknown action %q (want %s) or a staging action (%s)", e.Action, strings.Join(actions, ", "), strings.Join(stagingActions, ", ")))
			}
		}
		return e
	}
	set := map[string]bool{}
	for _, f := range []struct {
		name string
		r    rawValue
	}{
		{"app", d.App}, {"instances", d.Instances}, {"cell", d.Cell}, {"zone", d.Zone},
		{"fraction", d.Fraction}, {"duration", d.Duration},
		{"name", d.Name}, {"count", d.Count}, {"zones", d.Zones}, {"memory_mb", d.MemoryMB},
		{"disk_mb", d.DiskMB}, {"containers", d.Containers}, {"stacks", d.Stacks}, {"docker", d.Docker},
		{"placement_tags", d.PlacementTags}, {"optional_placement_tags", d.OptionalPlacementTags},
		{"volume_drivers", d.VolumeDrivers},
		{"cpu_milli", d.CPUMilli}, {"gpus", d.GPUs}, {"gpu_model", d.GPUModel},
		{"image", d.Image}, {"layers", d.Layers}, {"size_mb", d.SizeMB}, {"shared_layers", d.SharedLayers},
		{"registry", d.Registry},
	} {
		if !f.r.set {
			continue
		}
		set[f.name] = true
		if !slices.Contains(allowed, f.name) {
			p.errorf(key+"."+f.name, fmt.Sprintf("not a key of action %s (it takes %s)", e.Action, strings.Join(allowed, ", ")))
		}
	}

	switch e.Action {
	case ActionScale, ActionStopApp, ActionCrashInstances:
		e.App = p.str(key+".app", d.App, "", true, `an app selector: a process guid ("web-3"), a group name ("web") or a glob ("web-*")`)
		if e.App != "" && len(s.MatchApps(e.App)) == 0 {
			p.errorf(key+".app", fmt.Sprintf("selector %q matches no app (groups: %s)", e.App, appGroupList(s)))
		}
		switch e.Action {
		case ActionScale:
			e.Instances = p.integer(key+".instances", d.Instances, 0, intRange{0, maxInstances, "an integer >= 0 (the new instance count)"}, true)
		case ActionCrashInstances:
			if set["count"] == set["fraction"] {
				p.errorf(key, "crash-instances needs exactly one of count (instances to crash) or fraction (of running instances)")
			}
			e.Count = p.integer(key+".count", d.Count, 0, intRange{1, math.MaxInt32, "an integer > 0 (instances to crash)"}, false)
			e.Fraction = p.float(key+".fraction", d.Fraction, 0, floatRange{math.SmallestNonzeroFloat64, 1, "a fraction in (0, 1]"})
		}
	case ActionCrashCell, ActionPartitionCell, ActionDrainCell, ActionRestoreCell:
		n := 0
		for _, k := range []string{"cell", "zone", "count"} {
			if set[k] {
				n++
			}
		}
		if n != 1 {
			p.errorf(key, fmt.Sprintf(`%s needs exactly one selector: cell = "<id>", zone = "<zone>" or count = N`, e.Action))
		}
		e.Cell = p.str(key+".cell", d.Cell, "", false, `a cell id such as "cell-3"`)
		e.Zone = p.str(key+".zone", d.Zone, "", false, `a zone name such as "z1"`)
		e.Count = p.integer(key+".count", d.Count, 0, intRange{1, math.MaxInt32, "an integer > 0 (cells drawn at random)"}, false)
		if e.Action == ActionPartitionCell {
			e.Duration = p.duration(key+".duration", d.Duration, 0, true, true)
		}
	case ActionAddCells:
		g := p.cellGroup(key, &d.cellFields)
		g.Line = p.lines[key]
		e.Cells = &g
	case ActionPushImage, ActionRegistryOutage:
		p.stagingEvent(key, d, s, &e, set)
	}
	return e
}

func appGroupList(s *Scenario) string {
	if len(s.Apps) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(s.Apps))
	for _, g := range s.Apps {
		parts = append(parts, fmt.Sprintf("%s (%s-0..%s-%d)", g.Name, g.Name, g.Name, g.Count-1))
	}
	return strings.Join(parts, ", ")
}

// inventory tracks which cells exist as the timeline advances: the next n per group
// name and the number of cells per zone.
type inventory struct {
	next  map[string]int // name -> cells numbered so far ("<name>-0" .. "<name>-<next-1>")
	zones map[string]int // zone -> cells
	total int
}

func newInventory() *inventory {
	return &inventory{next: map[string]int{}, zones: map[string]int{}}
}

// add registers a group and returns the n of its first cell.
func (inv *inventory) add(g CellGroup) int {
	first := inv.next[g.Name]
	inv.next[g.Name] += g.Count
	// Round robin: zone j of L gets ceil((count - j) / L) cells.
	for j, z := range g.Zones {
		if j < g.Count {
			inv.zones[z] += (g.Count - j + len(g.Zones) - 1) / len(g.Zones)
		}
	}
	inv.total += g.Count
	return first
}

func (inv *inventory) hasCell(id string) bool {
	for name, n := range inv.next {
		if i, ok := guidIndex(name, id); ok && i < n {
			return true
		}
	}
	return false
}

func (inv *inventory) describe() string {
	names := make([]string, 0, len(inv.next))
	for n, c := range inv.next {
		if c > 0 {
			names = append(names, fmt.Sprintf("%s-0..%s-%d", n, n, c-1))
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (inv *inventory) zoneList() string {
	zs := make([]string, 0, len(inv.zones))
	for z := range inv.zones {
		zs = append(zs, z)
	}
	sort.Strings(zs)
	return strings.Join(zs, ", ")
}

// timeline checks the cell selectors of events in the order the driver runs them
// (stable by At): a cell or zone must exist by then, through [[cells]] or an earlier
// add-cells event; add-cells groups get their First numbers in this order.
func (p *problems) timeline(s *Scenario, inv *inventory) {
	order := make([]int, len(s.Events))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return s.Events[order[a]].At < s.Events[order[b]].At })
	for _, i := range order {
		e := &s.Events[i]
		key := "events[" + strconv.Itoa(i) + "]"
		switch e.Action {
		case ActionAddCells:
			if e.Cells != nil {
				e.Cells.First = inv.add(*e.Cells)
			}
		case ActionCrashCell, ActionPartitionCell, ActionDrainCell, ActionRestoreCell:
			switch {
			case e.Cell != "" && !inv.hasCell(e.Cell):
				p.errorf(key+".cell", fmt.Sprintf("no cell %q exists at %s (cells: %s)", e.Cell, e.At, inv.describe()))
			case e.Zone != "" && inv.zones[e.Zone] == 0:
				p.errorf(key+".zone", fmt.Sprintf("no cell is in zone %q at %s (zones: %s)", e.Zone, e.At, inv.zoneList()))
			case e.Count > inv.total:
				p.errorf(key+".count", fmt.Sprintf("%d is more than the %d cells that exist at %s", e.Count, inv.total, e.At))
			}
		}
	}
}

// capacityWarnings flags work that cannot fit: an app or task group bigger than every
// cell, and app instances needing more memory than all initial cells have.
func (p *problems) capacityWarnings(s *Scenario) {
	groups := slices.Clone(s.Cells)
	for _, e := range s.Events {
		if e.Cells != nil {
			groups = append(groups, *e.Cells)
		}
	}
	fits := func(mem, disk int) bool {
		for _, g := range groups {
			if g.Count > 0 && g.MemoryMB >= mem && g.DiskMB >= disk {
				return true
			}
		}
		return false
	}
	maxMem, maxDisk := 0, 0
	for _, g := range groups {
		if g.Count > 0 {
			maxMem, maxDisk = max(maxMem, g.MemoryMB), max(maxDisk, g.DiskMB)
		}
	}
	if maxMem == 0 {
		return // no cells: already an error
	}
	p.computeWarnings(s, groups)
	proxy := s.Auction.ProxyMemoryMB
	for i, g := range s.Apps {
		if g.MemoryMB > 0 && g.DiskMB > 0 && !fits(g.MemoryMB+proxy, g.DiskMB) {
			p.warnf("apps["+strconv.Itoa(i)+"]", fmt.Sprintf("an instance needs %d MB memory (%d + %d proxy) and %d MB disk, more than any cell offers (largest: %d MB memory, %d MB disk); its instances will fail placement with \"insufficient resources\"",
				g.MemoryMB+proxy, g.MemoryMB, proxy, g.DiskMB, maxMem, maxDisk))
		}
	}
	for i, g := range s.Tasks {
		if g.MemoryMB > 0 && g.DiskMB > 0 && !fits(g.MemoryMB, g.DiskMB) {
			p.warnf("tasks["+strconv.Itoa(i)+"]", fmt.Sprintf("a task needs %d MB memory and %d MB disk, more than any cell offers (largest: %d MB memory, %d MB disk); it will fail placement",
				g.MemoryMB, g.DiskMB, maxMem, maxDisk))
		}
	}
	cellMem := 0.0
	for _, g := range s.Cells {
		cellMem += float64(g.Count) * float64(g.MemoryMB)
	}
	need := 0.0
	for i, g := range s.Apps {
		need += float64(g.Count) * float64(g.Instances) * float64(g.MemoryMB+proxy)
		if need > cellMem {
			p.warnf("apps["+strconv.Itoa(i)+"]", fmt.Sprintf("app instances of apps[0..%d] need %.0f MB of memory, more than the %.0f MB of all [[cells]]; some will not be placed", i, need, cellMem))
			break
		}
	}
}

// boundTotals refuses app groups that desire more apps or instances in all than a run
// can hold: each group's count and instances are bounded, their products and sums not.
func (p *problems) boundTotals(s *Scenario) {
	var apps, instances int64
	for _, g := range s.Apps {
		apps += int64(g.Count)
		instances += int64(g.Count) * int64(g.Instances)
	}
	if apps > maxTotalInstances || instances > maxTotalInstances {
		p.errorf("apps", fmt.Sprintf("the app groups desire %d apps and %d instances in all (count x instances, summed); at most %d of each: a run holds every one in memory", apps, instances, int64(maxTotalInstances)))
	}
}
