package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/diegolab/diegolab/record"
)

// Limits that keep a report small enough to mail.
const (
	// MaxTiles is the most cell-map tiles drawn; above it consecutive cells of a zone
	// share a tile (the tile shows their summed usage).
	MaxTiles = 2000
	// MaxPoints is the most points of a time series or a sorted distribution.
	MaxPoints = 1000
	// TopApps is the number of apps in the zone-balance chart.
	TopApps = 10
	// TileApps is the number of top apps named in a cell-map tooltip.
	TileApps = 3
	// MaxBins is the most bins of a histogram or of the failures-over-time chart.
	MaxBins = 60
)

// RunData is everything a run report shows, computed from the run record alone.
// Optional parts are nil when the run record lacks the file they come from.
type RunData struct {
	Header   HeaderData
	CellMap  CellMapData
	Evenness EvennessData
	Zones    ZoneBalanceData
	Timeline *TimelineData      // nil without timeseries.csv
	Failures *FailuresData      // nil without events.jsonl
	Auction  *AuctionData       // nil without events.jsonl
	Staging  *StagingData       `json:",omitempty"` // nil unless summary.json has a staging section
	Compute  *ComputeData       `json:",omitempty"` // nil unless summary.json has a compute section
	Notes    []string           `json:",omitempty"` // what is missing, shown in the page
	metrics  map[string]float64 // flattened summary.json, for comparisons
}

// HeaderData identifies the run and carries every numeric summary figure.
type HeaderData struct {
	Dir       string `json:"-"`
	Scenario  string
	Mode      string
	Seed      uint64
	Algorithm string
	Settings  string // settings as canonical JSON (sorted keys)
	// SettingList is the settings one per row, sorted by name, for display.
	SettingList []Setting
	// DockerCache is the image policy of the run's docker apps ("on", "off", "on for
	// k of n docker apps"); "" without docker apps. summary.json settings lack it.
	DockerCache string `json:",omitempty"`
	TraceHash   string
	// Figures are the headline numbers, in display order.
	Figures []Metric
	// Metrics is every numeric field of summary.json, flattened with dotted keys, sorted.
	Metrics []Metric
}

// Setting is one scenario setting: its name and its value as text (numbers as
// fmtNum prints them, strings as they are, anything else as JSON).
type Setting struct {
	Name, Value string
}

// Metric is one named number.
type Metric struct {
	Name  string
	Value float64
}

// CellMapData is the cell map: tiles laid out in rows of Columns, zone after zone,
// with an empty row between zones.
type CellMapData struct {
	Columns      int
	Rows         int
	CellsPerTile int // 1, or more above MaxTiles cells
	Zones        []ZoneBand
	Tiles        []CellTile
}

// ZoneBand is the rows of one zone in the cell map.
type ZoneBand struct {
	Zone     string
	FirstRow int
	Rows     int
	Cells    int
}

// CellTile is one tile: a cell, or a run of consecutive cells of one zone.
type CellTile struct {
	Row, Col       int
	Label          string // cell id, or "first … last"
	Cells          int
	MemoryMB       int
	MemoryUsedMB   int
	DiskMB         int
	DiskUsedMB     int
	Containers     int
	ContainersUsed int
	Instances      int
	Down           int // cells of the tile not in state "up"
	TopApps        []AppCount
}

// Fractions returns the used fraction of memory, disk and containers (0 when the
// capacity is 0).
func (t CellTile) Fractions() (mem, disk, containers float64) {
	return frac(t.MemoryUsedMB, t.MemoryMB), frac(t.DiskUsedMB, t.DiskMB), frac(t.ContainersUsed, t.Containers)
}

func frac(used, total int) float64 {
	if total <= 0 {
		return 0
	}
	return float64(used) / float64(total)
}

// AppCount is an app and a number of its instances.
type AppCount struct {
	App       string
	Instances int
}

// EvennessData is the sorted distributions of instances and memory used per cell.
type EvennessData struct {
	Instances Distribution
	MemoryMB  Distribution
}

// Distribution is a sample sorted ascending, downsampled to at most MaxPoints order
// statistics: Points[i] is the value at quantile Quantiles[i] (0 … 1).
type Distribution struct {
	N         int
	Mean      float64
	Stddev    float64 // population standard deviation
	CoV       float64 // Stddev / Mean; 0 when Mean is 0
	Min, Max  float64
	Quantiles []float64
	Points    []float64
}

// ZoneBalanceData is, for the apps with the most instances, their instances per zone.
type ZoneBalanceData struct {
	Zones []string
	Apps  []AppZones
}

// AppZones is one app's instances per zone (aligned with ZoneBalanceData.Zones) and the
// spread between its fullest and emptiest zone.
type AppZones struct {
	App       string
	Total     int
	PerZone   []int
	Imbalance int // max - min over zones
}

// TimelineData is the time series, downsampled, with the scenario's actions.
type TimelineData struct {
	T         []float64 // seconds
	Desired   []int
	Running   []int
	Crashed   []int
	Unclaimed []int
	Marks     []Mark
}

// Mark is a timeline action (scale, fault) at a time.
type Mark struct {
	T      float64
	Action string
	Target string
}

// FailuresData counts placement failures (auction failures of LRPs and tasks) per
// reason in time bins of BinSeconds starting at 0.
type FailuresData struct {
	BinSeconds float64
	Bins       int
	Reasons    []string // sorted
	Counts     [][]int  // [reason][bin]
	Total      int
}

// AuctionData is the histograms of auction batch sizes and mean waits.
type AuctionData struct {
	Batches   int
	BatchSize Histogram
	WaitSecs  Histogram
}

// Histogram has bins [Edges[i], Edges[i+1]).
type Histogram struct {
	Edges  []float64
	Counts []int
}

// ErrNotRunRecord is wrapped by Load's error when a directory lacks summary.json or
// cells.csv.
var ErrNotRunRecord = errors.New("not a run record")

// Load reads the run record in dir and computes the data of every chart.
func Load(dir string) (*RunData, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("run directory %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("run directory %s: not a directory", dir)
	}
	run, err := record.Read(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w (want %s and %s): %v", dir, ErrNotRunRecord, record.SummaryFile, record.CellsFile, err)
		}
		return nil, err
	}
	var events []record.Event
	hasEvents := true
	err = record.ReadEvents(dir, func(e *record.Event) error {
		switch e.Type {
		case record.TypeAuction, record.TypeTimeline, record.TypeVersion:
			events = append(events, *e)
		case record.TypeActualLRP:
			if e.PlacementError != "" {
				events = append(events, *e)
			}
		case record.TypeTask:
			if e.Failed && isPlacementError(e.FailureReason) {
				events = append(events, *e)
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		hasEvents = false
	} else if err != nil {
		return nil, fmt.Errorf("run record %s: %w", dir, err)
	}
	return Compute(run, events, hasEvents)
}

// isPlacementError tells the auction's placement errors (DIEGO.md) from other task
// failures.
func isPlacementError(reason string) bool {
	return strings.HasPrefix(reason, "insufficient resources") || strings.HasPrefix(reason, "found no compatible cell")
}

// Compute derives the chart data from a run record and its relevant events (auction,
// timeline, actual_lrp with a placement error, failed tasks); hasEvents says whether
// events.jsonl exists.
func Compute(run *record.Run, events []record.Event, hasEvents bool) (*RunData, error) {
	if run == nil || run.Summary == nil {
		return nil, errors.New("run record without a summary")
	}
	d := &RunData{}
	var err error
	if d.Header, d.metrics, err = header(run); err != nil {
		return nil, err
	}
	d.CellMap = cellMap(run.Cells, run.Placements)
	d.Evenness = evenness(run.Cells)
	d.Zones = zoneBalance(run.Cells, run.Placements)
	d.Staging = staging(run.Summary.Staging)
	d.Compute = computeData(run.Summary, run.CellsCompute)
	d.Header.DockerCache = d.Staging.dockerCache()
	if len(run.Placements) == 0 {
		d.Notes = append(d.Notes, record.PlacementsFile+" is absent or empty: no zone balance and no apps in the cell map")
	}
	if len(run.Timeseries) > 0 {
		d.Timeline = timeline(run.Timeseries, events, run.Summary.Faults)
	} else {
		d.Notes = append(d.Notes, "no "+record.TimeseriesFile+": no timeline")
	}
	if hasEvents {
		end := run.Summary.SimSeconds
		if n := len(run.Timeseries); n > 0 {
			end = math.Max(end, run.Timeseries[n-1].T)
		}
		d.Failures = failures(events, end)
		d.Auction = auctions(events)
		if d.Staging != nil {
			d.Staging.OverTime = versionsOverTime(events, end)
		}
	} else {
		d.Notes = append(d.Notes, "no "+record.EventsFile+": no placement failures over time and no auction histograms")
	}
	return d, nil
}

func header(run *record.Run) (HeaderData, map[string]float64, error) {
	s := run.Summary
	settings := "{}"
	if len(s.Settings) > 0 {
		b, err := json.Marshal(s.Settings) // maps marshal with sorted keys
		if err != nil {
			return HeaderData{}, nil, fmt.Errorf("summary settings: %w", err)
		}
		settings = string(b)
	}
	m, err := Flatten(s)
	if err != nil {
		return HeaderData{}, nil, err
	}
	h := HeaderData{Dir: run.Dir, Scenario: s.Scenario, Mode: s.Mode, Seed: s.Seed, Algorithm: s.Algorithm,
		Settings: settings, TraceHash: s.TraceHash, Metrics: sortedMetrics(m)}
	for _, k := range sortedKeys(s.Settings) {
		v, err := settingText(s.Settings[k])
		if err != nil {
			return HeaderData{}, nil, fmt.Errorf("summary setting %s: %w", k, err)
		}
		h.SettingList = append(h.SettingList, Setting{k, v})
	}
	failures := 0
	for _, n := range s.PlacementFailures {
		failures += n
	}
	h.Figures = []Metric{
		{"cells", float64(s.Cells)}, {"zones", float64(s.Zones)}, {"apps", float64(s.Apps)},
		{"desired instances", float64(s.DesiredInstances)}, {"running instances", float64(s.RunningInstances)},
		{"placement failures", float64(failures)},
		{"memory used (mean fraction)", s.Utilisation.Memory.Mean}, {"memory CoV", s.Utilisation.Memory.CoV},
		{"crashes", float64(s.Health.Crashes)}, {"instance-seconds missing", s.Health.InstanceSecondsMissing},
		{"auction wait p99 (s)", s.Auction.WaitSeconds.P99}, {"simulated seconds", s.SimSeconds},
	}
	return h, m, nil
}

// settingText prints a setting's value.
func settingText(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case float64:
		return fmtNum(v), nil
	case int:
		return strconv.Itoa(v), nil
	case bool:
		return strconv.FormatBool(v), nil
	case nil:
		return "null", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// Flatten turns every number of v's JSON form into a dotted-key map: nested objects
// join their keys with ".", arrays use the index ("faults.0.at"); booleans count as 0
// or 1; strings and nulls are left out.
func Flatten(v any) (map[string]float64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("flatten: %w", err)
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return nil, fmt.Errorf("flatten: %w", err)
	}
	out := map[string]float64{}
	var walk func(prefix string, x any)
	walk = func(prefix string, x any) {
		key := func(k string) string {
			if prefix == "" {
				return k
			}
			return prefix + "." + k
		}
		switch x := x.(type) {
		case map[string]any:
			for k, v := range x { // order is irrelevant: the result is a map
				walk(key(k), v)
			}
		case []any:
			for i, v := range x {
				walk(key(fmt.Sprint(i)), v)
			}
		case float64:
			out[prefix] = x
		case bool:
			if x {
				out[prefix] = 1
			} else {
				out[prefix] = 0
			}
		}
	}
	walk("", tree)
	return out, nil
}

func sortedMetrics(m map[string]float64) []Metric {
	out := make([]Metric, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, Metric{k, m[k]})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// zonesOf returns the zones sorted and the cells of each sorted by id.
func zonesOf(cells []record.CellRow) ([]string, map[string][]record.CellRow) {
	by := map[string][]record.CellRow{}
	for _, c := range cells {
		by[c.Zone] = append(by[c.Zone], c)
	}
	zones := sortedKeys(by)
	for _, z := range zones {
		cs := by[z]
		sort.Slice(cs, func(i, j int) bool { return cs[i].CellID < cs[j].CellID })
	}
	return zones, by
}

func cellMap(cells []record.CellRow, placements []record.PlacementRow) CellMapData {
	zones, by := zonesOf(cells)
	// Smallest number of cells per tile that keeps the tiles (rounded up per zone)
	// within MaxTiles.
	per := max(1, (len(cells)+MaxTiles-1)/MaxTiles)
	tiles := 0
	for {
		tiles = 0
		for _, z := range zones {
			tiles += (len(by[z]) + per - 1) / per
		}
		if tiles <= MaxTiles {
			break
		}
		per++
	}
	// About twice as wide as tall, between 8 and 60 columns.
	cols := int(math.Ceil(math.Sqrt(float64(tiles) * 2)))
	cols = max(8, min(60, cols))
	appsOn := map[string]map[string]int{}
	for _, p := range placements {
		m := appsOn[p.CellID]
		if m == nil {
			m = map[string]int{}
			appsOn[p.CellID] = m
		}
		m[p.ProcessGUID] += p.Instances
	}
	d := CellMapData{Columns: cols, CellsPerTile: per}
	row := 0
	for zi, z := range zones {
		if zi > 0 {
			row++ // gap between zones
		}
		cs := by[z]
		n := (len(cs) + per - 1) / per
		band := ZoneBand{Zone: z, FirstRow: row, Rows: (n + cols - 1) / cols, Cells: len(cs)}
		for i := 0; i < n; i++ {
			group := cs[i*per : min(len(cs), (i+1)*per)]
			t := CellTile{Row: row + i/cols, Col: i % cols, Cells: len(group), Label: group[0].CellID}
			if len(group) > 1 {
				t.Label = group[0].CellID + " … " + group[len(group)-1].CellID
			}
			apps := map[string]int{}
			for _, c := range group {
				t.MemoryMB += c.MemoryMB
				t.MemoryUsedMB += c.MemoryUsedMB
				t.DiskMB += c.DiskMB
				t.DiskUsedMB += c.DiskUsedMB
				t.Containers += c.Containers
				t.ContainersUsed += c.ContainersUsed
				t.Instances += c.Instances
				if c.State != "" && c.State != record.CellUp {
					t.Down++
				}
				for a, k := range appsOn[c.CellID] {
					apps[a] += k
				}
			}
			t.TopApps = topApps(apps, TileApps)
			d.Tiles = append(d.Tiles, t)
		}
		row += band.Rows
		d.Zones = append(d.Zones, band)
	}
	d.Rows = row
	return d
}

// topApps returns the k apps with most instances, ties broken by name.
func topApps(m map[string]int, k int) []AppCount {
	out := make([]AppCount, 0, len(m))
	for _, a := range sortedKeys(m) {
		out = append(out, AppCount{a, m[a]})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Instances > out[j].Instances })
	if len(out) > k {
		out = out[:k]
	}
	return out
}

func evenness(cells []record.CellRow) EvennessData {
	inst := make([]float64, len(cells))
	mem := make([]float64, len(cells))
	for i, c := range cells {
		inst[i] = float64(c.Instances)
		mem[i] = float64(c.MemoryUsedMB)
	}
	return EvennessData{Instances: distribution(inst), MemoryMB: distribution(mem)}
}

// distribution sorts x (in place) and summarises it. Above MaxPoints values it keeps
// MaxPoints order statistics spread evenly over the ranks, always the first and last.
func distribution(x []float64) Distribution {
	d := Distribution{N: len(x)}
	if len(x) == 0 {
		return d
	}
	sort.Float64s(x)
	d.Mean, d.Stddev = stat.PopMeanStdDev(x, nil)
	if d.Mean != 0 {
		d.CoV = d.Stddev / d.Mean
	}
	d.Min, d.Max = x[0], x[len(x)-1]
	n := min(len(x), MaxPoints)
	for i := 0; i < n; i++ {
		r := i // rank kept
		if n < len(x) {
			r = int(math.Round(float64(i) * float64(len(x)-1) / float64(n-1)))
		}
		q := 0.0
		if len(x) > 1 {
			q = float64(r) / float64(len(x)-1)
		}
		d.Quantiles = append(d.Quantiles, q)
		d.Points = append(d.Points, x[r])
	}
	return d
}

func zoneBalance(cells []record.CellRow, placements []record.PlacementRow) ZoneBalanceData {
	zones, by := zonesOf(cells)
	zoneOf := map[string]int{}
	for zi, z := range zones {
		for _, c := range by[z] {
			zoneOf[c.CellID] = zi
		}
	}
	perApp := map[string][]int{}
	totals := map[string]int{}
	unknown := false
	for _, p := range placements {
		zi, ok := zoneOf[p.CellID]
		if !ok { // a cell missing from cells.csv: count it in an "unknown" zone
			zi, unknown = len(zones), true
		}
		v := perApp[p.ProcessGUID]
		if v == nil {
			v = make([]int, len(zones)+1)
			perApp[p.ProcessGUID] = v
		}
		v[zi] += p.Instances
		totals[p.ProcessGUID] += p.Instances
	}
	d := ZoneBalanceData{Zones: zones}
	width := len(zones)
	if unknown {
		d.Zones = append(append([]string(nil), zones...), "(unknown cell)")
		width++
	}
	for _, a := range topApps(totals, TopApps) {
		v := perApp[a.App][:width]
		lo, hi := v[0], v[0]
		for _, n := range v[:len(zones)] {
			lo, hi = min(lo, n), max(hi, n)
		}
		d.Apps = append(d.Apps, AppZones{App: a.App, Total: a.Instances, PerZone: v, Imbalance: hi - lo})
	}
	return d
}

func timeline(samples []record.Sample, events []record.Event, faults []record.Fault) *TimelineData {
	d := &TimelineData{}
	stride := (len(samples) + MaxPoints - 1) / MaxPoints
	for i := 0; i < len(samples); i += stride {
		s := samples[i]
		if i+stride >= len(samples) {
			s = samples[len(samples)-1] // always end on the last sample
		}
		d.T = append(d.T, s.T)
		d.Desired = append(d.Desired, s.Desired)
		d.Running = append(d.Running, s.Running)
		d.Crashed = append(d.Crashed, s.Crashed)
		d.Unclaimed = append(d.Unclaimed, s.Unclaimed)
	}
	for _, e := range events {
		if e.Type == record.TypeTimeline {
			d.Marks = append(d.Marks, Mark{T: e.T, Action: e.Action, Target: e.Target})
		}
	}
	if len(d.Marks) == 0 { // no events.jsonl: the summary still lists the faults
		for _, f := range faults {
			d.Marks = append(d.Marks, Mark{T: f.At, Action: f.Action, Target: f.Target})
		}
	}
	sort.SliceStable(d.Marks, func(i, j int) bool { return d.Marks[i].T < d.Marks[j].T })
	return d
}

// niceBins are the failure bin widths tried, in seconds.
var niceBins = []float64{1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400}

func failures(events []record.Event, end float64) *FailuresData {
	type hit struct {
		t      float64
		reason string
	}
	var hits []hit
	for _, e := range events {
		switch {
		case e.Type == record.TypeActualLRP && e.PlacementError != "":
			hits = append(hits, hit{e.T, e.PlacementError})
		case e.Type == record.TypeTask && e.Failed && isPlacementError(e.FailureReason):
			hits = append(hits, hit{e.T, e.FailureReason})
		}
		end = math.Max(end, e.T)
	}
	width := niceBins[len(niceBins)-1]
	for _, w := range niceBins {
		if end/w < MaxBins {
			width = w
			break
		}
	}
	d := &FailuresData{BinSeconds: width, Bins: int(end/width) + 1, Total: len(hits)}
	idx := map[string]int{}
	for _, h := range hits {
		idx[h.reason] = 0
	}
	d.Reasons = sortedKeys(idx)
	for i, r := range d.Reasons {
		idx[r] = i
	}
	d.Counts = make([][]int, len(d.Reasons))
	for i := range d.Counts {
		d.Counts[i] = make([]int, d.Bins)
	}
	for _, h := range hits {
		b := min(d.Bins-1, max(0, int(h.t/width)))
		d.Counts[idx[h.reason]][b]++
	}
	return d
}

func auctions(events []record.Event) *AuctionData {
	var sizes, waits []float64
	for _, e := range events {
		if e.Type == record.TypeAuction {
			sizes = append(sizes, float64(e.LRPs+e.Tasks))
			waits = append(waits, e.MeanWait)
		}
	}
	return &AuctionData{Batches: len(sizes), BatchSize: histogram(sizes, true), WaitSecs: histogram(waits, false)}
}

// histogram bins x into at most ~sqrt(n) (and MaxBins) equal bins from min to max;
// integer data gets integer bin widths. Empty input gives an empty histogram.
func histogram(x []float64, integer bool) Histogram {
	if len(x) == 0 {
		return Histogram{}
	}
	lo, hi := x[0], x[0]
	for _, v := range x {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	n := max(1, min(MaxBins, int(math.Ceil(math.Sqrt(float64(len(x)))))))
	width := (hi - lo) / float64(n)
	if integer {
		width = math.Max(1, math.Ceil((hi-lo+1)/float64(n)))
		n = int(math.Ceil((hi - lo + 1) / width))
	} else if width == 0 {
		width, n = 1, 1
	}
	h := Histogram{Counts: make([]int, n)}
	for i := 0; i <= n; i++ {
		h.Edges = append(h.Edges, lo+float64(i)*width)
	}
	for _, v := range x {
		b := min(n-1, int((v-lo)/width))
		h.Counts[b]++
	}
	return h
}
