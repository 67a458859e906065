package importer

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Kinds of trace the importers read.
const (
	KindDLRM  = "alibaba-dlrm-2025"
	KindOpenB = "alibaba-openb-2023"
	KindAzure = "azure-v1-vmtable"
)

// Kinds lists the importer kinds.
func Kinds() []string { return []string{KindDLRM, KindOpenB, KindAzure} }

// Stats counts what an import read and what it skipped, by reason.
type Stats struct {
	Rows    int            // data rows or tokens read
	Used    int            // rows that made it into the scenario
	Skipped map[string]int // reason -> rows
	// Dropped counts values of used rows that the result does not carry, by what was
	// dropped (a column the scenario or the experiment has no use for).
	Dropped map[string]int
}

func (s *Stats) skip(reason string) {
	if s.Skipped == nil {
		s.Skipped = map[string]int{}
	}
	s.Skipped[reason]++
}

func (s *Stats) drop(what string) {
	if s.Dropped == nil {
		s.Dropped = map[string]int{}
	}
	s.Dropped[what]++
}

// SkippedTotal is the number of skipped rows.
func (s *Stats) SkippedTotal() int {
	n := 0
	for _, v := range s.Skipped {
		n += v
	}
	return n
}

// Report lists the skipped rows by reason, most frequent first, one per line.
func (s *Stats) Report() string {
	reasons := make([]string, 0, len(s.Skipped))
	for r := range s.Skipped {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		a, b := reasons[i], reasons[j]
		if s.Skipped[a] != s.Skipped[b] {
			return s.Skipped[a] > s.Skipped[b]
		}
		return a < b
	})
	var b strings.Builder
	for _, r := range reasons {
		fmt.Fprintf(&b, "skipped %d: %s\n", s.Skipped[r], r)
	}
	dropped := make([]string, 0, len(s.Dropped))
	for d := range s.Dropped {
		dropped = append(dropped, d)
	}
	sort.Strings(dropped)
	for _, d := range dropped {
		fmt.Fprintf(&b, "warning: dropped %d values: %s\n", s.Dropped[d], d)
	}
	return b.String()
}

// CellOptions describe the cells of an imported scenario when the trace has none.
type CellOptions struct {
	Count    int     // 0: enough cells for Headroom x the peak memory of the workload
	MemoryMB int     // default 262144 (256 GiB)
	DiskMB   int     // default 2097152 (2 TiB)
	Zones    int     // default 3
	Headroom float64 // default 1.25
}

func (o CellOptions) withDefaults() CellOptions {
	if o.MemoryMB <= 0 {
		o.MemoryMB = 262144
	}
	if o.DiskMB <= 0 {
		o.DiskMB = 2097152
	}
	if o.Zones <= 0 {
		o.Zones = 3
	}
	if o.Headroom <= 0 {
		o.Headroom = 1.25
	}
	return o
}

func zoneNames(n int) []string {
	z := make([]string, n)
	for i := range z {
		z[i] = "z" + strconv.Itoa(i+1)
	}
	return z
}

// cells returns one [[cells]] group sized for peakMB of memory (at least one cell).
func (o CellOptions) cells(peakMB float64) Cells {
	o = o.withDefaults()
	n := o.Count
	if n <= 0 {
		n = max(int(math.Ceil(peakMB*o.Headroom/float64(o.MemoryMB))), 1)
	}
	return Cells{Name: "cell", Count: n, Zones: zoneNames(o.Zones), MemoryMB: o.MemoryMB, DiskMB: o.DiskMB}
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// groupName makes s a valid scenario group name.
func groupName(s string) string {
	s = unsafeName.ReplaceAllString(s, "-")
	if s == "" {
		return "app"
	}
	return s
}

// delta is a change of an app's instance count at time t (seconds).
type delta struct {
	t   int64
	app int32
	d   int32
}

// scaleEvents turns per-app deltas into the initial instance counts (deltas at time
// <= 0) and the scale events after them (see scaleEventsFrom). It also returns the peak
// summed memory over time, with memMB per app.
func scaleEvents(names []string, deltas []delta, resolution, end int64, memMB []int) (initial []int, events []Event, peakMB float64) {
	sortDeltas(deltas)
	initial = make([]int, len(names))
	var mem float64
	i := 0
	for ; i < len(deltas) && deltas[i].t <= 0; i++ {
		initial[deltas[i].app] += int(deltas[i].d)
		mem += float64(deltas[i].d) * float64(memMB[deltas[i].app])
	}
	for a := range initial {
		initial[a] = max(initial[a], 0)
	}
	count := slices.Clone(initial)
	events, peak := scaleEventsFrom(names, count, deltas[i:], resolution, end, memMB, mem)
	return initial, events, max(peak, mem)
}

func sortDeltas(deltas []delta) {
	slices.SortStableFunc(deltas, func(a, b delta) int {
		switch {
		case a.t < b.t:
			return -1
		case a.t > b.t:
			return 1
		}
		return int(a.app) - int(b.app)
	})
}

// scaleEventsFrom applies deltas (sorted by sortDeltas; all at t > 0) to count, bucketed
// to resolution seconds: for each bucket [k*res, (k+1)*res) it emits, at the bucket's
// end, one scale event per app whose count changed, to its count at that point. Events
// at or after end are dropped. mem0 is the summed memory before the first delta; the
// peak summed memory (memMB per app; nil to skip) is returned.
func scaleEventsFrom(names []string, count []int, deltas []delta, resolution, end int64, memMB []int, mem0 float64) ([]Event, float64) {
	if resolution < 1 {
		resolution = 1
	}
	emitted := slices.Clone(count)
	mem, peak := mem0, mem0
	var events []Event
	for i := 0; i < len(deltas); {
		start := deltas[i].t / resolution * resolution
		var touched []int32
		for ; i < len(deltas) && deltas[i].t/resolution*resolution == start; i++ {
			a := deltas[i].app
			count[a] += int(deltas[i].d)
			if memMB != nil {
				mem += float64(deltas[i].d) * float64(memMB[a])
				peak = max(peak, mem)
			}
			touched = append(touched, a)
		}
		at := start + resolution
		if at >= end {
			continue
		}
		slices.Sort(touched)
		touched = slices.Compact(touched)
		for _, a := range touched {
			c := max(count[a], 0)
			if c != emitted[a] {
				n := c
				events = append(events, Event{At: Seconds(at), Action: "scale", App: names[a] + "-0", Instances: &n})
				emitted[a] = c
			}
		}
	}
	return events, peak
}

// parseFloat parses a trace number; empty, NaN and non-numbers report ok = false.
func parseFloat(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}
