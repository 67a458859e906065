package scenarios

import (
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/diegolab/diegolab/model"
)

// Scenario is a loaded, validated scenario file: the cluster, the workload and the
// timeline of one run. Every default is applied; see docs/scenario.md.
type Scenario struct {
	// appsByName indexes Apps by group name (built by the loader; a Scenario assembled
	// in Go without it is matched by a scan), so an event's selector costs O(1) rather
	// than a pass over every group: imported traces have tens of thousands of both.
	appsByName map[string]int

	Path, Name, Description string
	Seed                    uint64
	Duration                time.Duration
	Algorithm               string
	Auction                 Auction
	Timers                  Timers
	Calibration             Calibration // opt-in; the zero value changes nothing
	Cells                   []CellGroup
	Apps                    []AppGroup
	Tasks                   []TaskGroup
	Events                  []Event // in file order; the driver sorts stably by At
	Warnings                []string

	// Staging (staging.go; docs/staging.md). DockerCache is the scenario-wide default of
	// the apps' docker_cache. Registries always holds a public, a private and a
	// blobstore registry when any app declares a lifecycle (defaults filled in).
	DockerCache bool
	Network     Network
	Registries  []Registry
	Images      []Image

	// Trace is the [trace] table (trace.go); nil without one. Its cells and apps are in
	// Cells and Apps, after the tables'.
	Trace *Trace
}

// Auction holds the auctioneer's settings (DIEGO.md §0, §1.4).
type Auction struct {
	StartingContainerWeight float64 // default 0.25
	BinPackFirstFitWeight   float64 // default 0.0
	MaxStartingContainers   int     // default 0 = unlimited
	ProxyMemoryMB           int     // default 0 (envoy proxy off)
	StateFetch              Dist    // latency of one auction round; default const 50ms
}

// Timers holds the BBS, rep and Locket timers (DIEGO.md §0, §4, §6).
type Timers struct {
	ConvergenceInterval time.Duration // 30s
	PresenceTTL         time.Duration // 15s
	PresenceHeartbeat   time.Duration // 5s
	StaleUnclaimed      time.Duration // 30s
	EvacuationTimeout   time.Duration // 600s
	ExpirePendingTask   time.Duration // 30m
	ExpireCompletedTask time.Duration // 2m
	KickTask            time.Duration // 30s
	MaxTaskRetries      int           // 3
}

// CellGroup is one [[cells]] table (or the cells of an add-cells event): Count
// identical cells named "<Name>-<n>".
type CellGroup struct {
	Name                  string
	Count                 int
	Zones                 []string
	MemoryMB, DiskMB      int
	Containers            int
	Stacks                []string
	Docker                bool
	PlacementTags         []string
	OptionalPlacementTags []string
	VolumeDrivers         []string
	// MilliCPU and GPUs (of model GPUModel) are each cell's CPU and GPU devices; 0: the
	// cells do not account them (compute.go).
	MilliCPU, GPUs int
	GPUModel       string
	// First is the n of the group's first cell id: numbering counts on across groups of
	// the same name, [[cells]] groups in file order first, then add-cells events in
	// stable At order. Pass it to Cells.
	First int
	Line  int
}

// Cells builds the group's cells with ids "<Name>-<firstN+i>" for i in 0..Count-1.
// Cell i is in zone Zones[i mod len(Zones)] and has BOSH index i; Total and Available
// are both {MemoryMB, DiskMB, Containers}; RootFSProviders lists "preloaded:<stack>"
// for each stack, then "docker" when Docker is set.
func (g CellGroup) Cells(firstN int) []model.Cell {
	providers := make([]string, 0, len(g.Stacks)+1)
	for _, s := range g.Stacks {
		providers = append(providers, model.PreloadedRootFS(s))
	}
	if g.Docker {
		providers = append(providers, "docker")
	}
	res := model.Resources{MemoryMB: g.MemoryMB, DiskMB: g.DiskMB, Containers: g.Containers}
	cells := make([]model.Cell, g.Count)
	for i := range cells {
		zone := ""
		if len(g.Zones) > 0 {
			zone = g.Zones[i%len(g.Zones)]
		}
		cells[i] = model.Cell{
			ID:                    g.Name + "-" + strconv.Itoa(firstN+i),
			Zone:                  zone,
			Index:                 i,
			Total:                 res,
			Available:             res,
			RootFSProviders:       append([]string(nil), providers...),
			PlacementTags:         append([]string(nil), g.PlacementTags...),
			OptionalPlacementTags: append([]string(nil), g.OptionalPlacementTags...),
			VolumeDrivers:         append([]string(nil), g.VolumeDrivers...),
			Compute:               g.cellCompute(),
		}
	}
	return cells
}

// InitialCells builds the cells of every [[cells]] group, in file order.
func (s *Scenario) InitialCells() []model.Cell {
	n := 0
	for _, g := range s.Cells {
		n += g.Count
	}
	cells := make([]model.Cell, 0, n)
	for _, g := range s.Cells {
		cells = append(cells, g.Cells(g.First)...)
	}
	return cells
}

// AppGroup is one [[apps]] table: Count apps, each a DesiredLRP with Instances instances.
type AppGroup struct {
	Name                                             string
	Count, Instances, MemoryMB, DiskMB               int
	RootFS, Domain                                   string
	PlacementTags, VolumeDrivers                     []string
	MaxPerCell                                       int
	StartAt                                          time.Duration
	StartTime                                        Dist
	Crash                                            *CrashSpec
	CrashProbabilityAtStart, StartFailureProbability float64
	Line                                             int
	Staging                                          *AppStaging // nil: desired directly, no push
	// Compute is the CPU and GPUs each instance asks for (nil: none; compute.go).
	Compute *model.Compute
}

// CrashSpec says when a running instance crashes: After its start.
type CrashSpec struct{ After Dist }

// ProcessGUIDs returns the group's process guids "<Name>-0" .. "<Name>-<Count-1>".
func (g AppGroup) ProcessGUIDs() []string {
	out := make([]string, g.Count)
	for i := range out {
		out[i] = g.Name + "-" + strconv.Itoa(i)
	}
	return out
}

// DesiredLRP returns app i of the group (0 <= i < Count).
func (g AppGroup) DesiredLRP(i int) model.DesiredLRP {
	return g.DesiredLRPNamed(g.Name + "-" + strconv.Itoa(i))
}

// DesiredLRPNamed returns the group's app whose process guid is guid (one of
// ProcessGUIDs, which a caller may have laid out already).
func (g *AppGroup) DesiredLRPNamed(guid string) model.DesiredLRP {
	return model.DesiredLRP{
		ProcessGUID:   guid,
		Domain:        g.Domain,
		Instances:     g.Instances,
		MemoryMB:      g.MemoryMB,
		DiskMB:        g.DiskMB,
		RootFS:        g.RootFS,
		PlacementTags: append([]string(nil), g.PlacementTags...),
		VolumeDrivers: append([]string(nil), g.VolumeDrivers...),
		StartTimeout:  model.DefaultStartTimeout,
		MaxPerCell:    g.MaxPerCell,
		Compute:       g.Compute,
	}
}

// TaskGroup is one [[tasks]] table: Count tasks with guids "<Name>-0" ...
type TaskGroup struct {
	Name                              string
	Count, MemoryMB, DiskMB           int
	RootFS, Domain                    string
	PlacementTags, VolumeDrivers      []string
	Duration                          Dist
	StartAt                           time.Duration
	RatePerMinute, FailureProbability float64
	Line                              int
	// Compute is the CPU and GPUs each task asks for (nil: none; compute.go).
	Compute *model.Compute
}

// TaskGUIDs returns the group's task guids "<Name>-0" .. "<Name>-<Count-1>".
func (g TaskGroup) TaskGUIDs() []string {
	out := make([]string, g.Count)
	for i := range out {
		out[i] = g.Name + "-" + strconv.Itoa(i)
	}
	return out
}

// Task returns task i of the group as the BBS would be asked to desire it (state
// PENDING is left to the driver; CreatedAt is zero).
func (g TaskGroup) Task(i int) model.Task {
	return model.Task{
		GUID:          g.Name + "-" + strconv.Itoa(i),
		Domain:        g.Domain,
		MemoryMB:      g.MemoryMB,
		DiskMB:        g.DiskMB,
		RootFS:        g.RootFS,
		PlacementTags: append([]string(nil), g.PlacementTags...),
		VolumeDrivers: append([]string(nil), g.VolumeDrivers...),
		Compute:       g.Compute,
	}
}

// Event actions.
const (
	ActionScale          = "scale"
	ActionStopApp        = "stop-app"
	ActionCrashInstances = "crash-instances"
	ActionCrashCell      = "crash-cell"
	ActionPartitionCell  = "partition-cell"
	ActionDrainCell      = "drain-cell"
	ActionRestoreCell    = "restore-cell"
	ActionAddCells       = "add-cells"
	// Staging actions (staging.go).
	ActionPushImage      = "push-image"
	ActionRegistryOutage = "registry-outage"
)

// Event is one [[events]] entry of the timeline. Which fields are set depends on Action:
//
//	scale            App, Instances
//	stop-app         App
//	crash-instances  App, and Count or Fraction
//	crash-cell       one of Cell, Zone, Count
//	partition-cell   one of Cell, Zone, Count; Duration
//	drain-cell       one of Cell, Zone, Count
//	restore-cell     one of Cell, Zone, Count
//	add-cells        Cells
//	push-image       Image (repo:tag), LayersMB, SharedLayers
//	registry-outage  Registry, Duration
type Event struct {
	At     time.Duration
	Action string
	Line   int

	App       string
	Instances int
	Cell      string
	Zone      string
	Count     int
	Fraction  float64
	Duration  time.Duration
	Cells     *CellGroup // add-cells

	Image        string    // push-image: "repo:tag"
	LayersMB     []float64 // push-image: the new version's layers
	SharedLayers int       // push-image: leading layers kept from the old version (-1: all but the last)
	Registry     string    // registry-outage
}

// MatchApps returns the process guids an event's app selector names, in declaration
// order (group by group, index ascending). The selector is matched three ways and the
// union is returned: an exact process guid ("web-3"), a group name (all its apps:
// "web"), and, when it contains *, ? or [, a glob over process guids ("web-1*").
func (s *Scenario) MatchApps(selector string) []string {
	if s.appsByName != nil && len(s.appsByName) == len(s.Apps) && !strings.ContainsAny(selector, "*?[") {
		return s.matchExact(selector)
	}
	var out []string
	glob := strings.ContainsAny(selector, "*?[")
	for _, g := range s.Apps {
		if g.Name == selector {
			out = append(out, g.ProcessGUIDs()...)
			continue
		}
		if !glob {
			if i, ok := guidIndex(g.Name, selector); ok && i < g.Count {
				out = append(out, selector)
			}
			continue
		}
		for i := 0; i < g.Count; i++ {
			guid := g.Name + "-" + strconv.Itoa(i)
			if ok, _ := path.Match(selector, guid); ok {
				out = append(out, guid)
			}
		}
	}
	return out
}

// indexApps builds appsByName; groups with an empty or repeated name (errors the loader
// reports) leave the index off, so matching falls back to the scan.
func (s *Scenario) indexApps() {
	idx := make(map[string]int, len(s.Apps))
	for i, g := range s.Apps {
		if _, dup := idx[g.Name]; dup || g.Name == "" {
			s.appsByName = nil
			return
		}
		idx[g.Name] = i
	}
	s.appsByName = idx
}

// matchExact is MatchApps for a selector without glob characters, through the index:
// the group named selector, and the group whose guid "<name>-<n>" it is, for every way
// of splitting it at a '-', in declaration order.
func (s *Scenario) matchExact(selector string) []string {
	var groups []int
	if i, ok := s.appsByName[selector]; ok {
		groups = append(groups, i)
	}
	for j := strings.LastIndexByte(selector, '-'); j > 0; j = strings.LastIndexByte(selector[:j], '-') {
		if i, ok := s.appsByName[selector[:j]]; ok {
			if n, ok := guidIndex(s.Apps[i].Name, selector); ok && n < s.Apps[i].Count {
				groups = append(groups, i)
			}
		}
	}
	slices.Sort(groups)
	var out []string
	for _, i := range groups {
		if s.Apps[i].Name == selector {
			out = append(out, s.Apps[i].ProcessGUIDs()...)
		} else {
			out = append(out, selector)
		}
	}
	return out
}

// guidIndex reports whether id is "<name>-<n>" with n a decimal written without
// leading zeros, and returns n.
func guidIndex(name, id string) (int, bool) {
	rest, ok := strings.CutPrefix(id, name+"-")
	if !ok || rest == "" || (len(rest) > 1 && rest[0] == '0') {
		return 0, false
	}
	n := 0
	for _, c := range rest {
		if c < '0' || c > '9' || n > (1<<31) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
