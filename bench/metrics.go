package bench

import (
	"math"
	"slices"

	"github.com/diegolab/diegolab/record"
	"github.com/diegolab/diegolab/scenarios"
)

// Metric names, the columns of results.csv in this order (docs/bench.md defines each).
const (
	MFailureRate      = "failure_rate"
	MAllocRatio       = "alloc_ratio"
	MMemoryUsed       = "memory_used"
	MStrandedMemory   = "stranded_memory"
	MBalanceCoV       = "balance_cov"
	MZoneSkewMean     = "zone_skew_mean"
	MZoneSkewMax      = "zone_skew_max"
	MBlastCell        = "blast_cell"
	MBlastZone        = "blast_zone"
	MMissingEnd       = "missing_instances"
	MMissingSeconds   = "instance_seconds_missing"
	MUnrecovered      = "unrecovered_faults"
	MCompactionCells  = "compaction_cells"
	MCompactionRatio  = "compaction_ratio"
	compactionMetrics = 2 // the last two names: opt-in, each costs a bisection of runs
)

var metricNames = []string{
	MFailureRate, MAllocRatio, MMemoryUsed, MStrandedMemory, MBalanceCoV, MZoneSkewMean,
	MZoneSkewMax, MBlastCell, MBlastZone, MMissingEnd, MMissingSeconds, MUnrecovered,
	MCompactionCells, MCompactionRatio,
}

// MetricNames lists every metric in column order.
func MetricNames() []string { return slices.Clone(metricNames) }

// DefaultMetrics lists the metrics a spec without a metrics key computes: all but the
// compaction pair, which re-runs the scenario about log2(cells) times per run.
func DefaultMetrics() []string { return slices.Clone(metricNames[:len(metricNames)-compactionMetrics]) }

// Outcome is what a finished run leaves for the metrics.
type Outcome struct {
	Scenario   *scenarios.Scenario
	Summary    *record.Summary
	Cells      []record.CellRow
	Placements []record.PlacementRow
}

// live reports whether a cell counts as capacity at the end of the run: up, or
// evacuating (still holding its containers). Crashed, lost, partitioned and down cells
// are excluded.
func live(c record.CellRow) bool { return c.State == record.CellUp || c.State == record.CellEvacuating }

// Compute returns the metrics of one run except the compaction pair (see Compaction).
func Compute(o Outcome) map[string]float64 {
	m := map[string]float64{}
	s := o.Summary
	a := s.Auction
	m[MFailureRate] = ratio(float64(a.LRPsFailed+a.TasksFailed), float64(a.LRPsAuctioned+a.TasksAuctioned))

	var capMem, capDisk, capCont, usedMem, usedDisk, usedCont float64
	var usedPerCell []float64
	for _, c := range o.Cells {
		if !live(c) {
			continue
		}
		capMem += float64(c.MemoryMB)
		capDisk += float64(c.DiskMB)
		capCont += float64(c.Containers)
		usedMem += float64(c.MemoryUsedMB)
		usedDisk += float64(c.DiskUsedMB)
		usedCont += float64(c.ContainersUsed)
		usedPerCell = append(usedPerCell, float64(c.MemoryUsedMB))
	}
	bn, _ := Bottleneck(o.Scenario)
	switch bn {
	case ResMemory:
		m[MAllocRatio] = ratio(usedMem, capMem)
	case ResDisk:
		m[MAllocRatio] = ratio(usedDisk, capDisk)
	default:
		m[MAllocRatio] = ratio(usedCont, capCont)
	}
	m[MMemoryUsed] = ratio(usedMem, capMem)

	medMem, medDisk := medianRequest(o.Scenario)
	stranded := 0.0
	for _, c := range o.Cells {
		if !live(c) {
			continue
		}
		freeMem, freeDisk, freeCont := c.MemoryMB-c.MemoryUsedMB, c.DiskMB-c.DiskUsedMB, c.Containers-c.ContainersUsed
		if freeMem < medMem || freeDisk < medDisk || freeCont < 1 {
			stranded += float64(max(freeMem, 0))
		}
	}
	m[MStrandedMemory] = ratio(stranded, capMem)
	m[MBalanceCoV] = cov(usedPerCell)

	skewMean, skewMax, blastCell, blastZone := spreadMetrics(o.Cells, o.Placements)
	m[MZoneSkewMean], m[MZoneSkewMax], m[MBlastCell], m[MBlastZone] = skewMean, skewMax, blastCell, blastZone

	m[MMissingEnd] = float64(max(s.DesiredInstances-s.RunningInstances, 0))
	m[MMissingSeconds] = s.Health.InstanceSecondsMissing
	unrec := 0
	for _, f := range s.Faults {
		if f.RecoverySeconds == nil {
			unrec++
		}
	}
	m[MUnrecovered] = float64(unrec)
	return m
}

// medianRequest is the median memory and disk request over every app instance and task
// of the scenario (each instance counted once; the lower median for an even count).
func medianRequest(sc *scenarios.Scenario) (mem, disk int) {
	type req struct{ mem, disk, n int }
	var rs []req
	total := 0
	for _, g := range sc.Apps {
		if n := g.Count * g.Instances; n > 0 {
			rs = append(rs, req{g.MemoryMB + sc.Auction.ProxyMemoryMB, g.DiskMB, n})
			total += n
		}
	}
	for _, g := range sc.Tasks {
		if g.Count > 0 {
			rs = append(rs, req{g.MemoryMB, g.DiskMB, g.Count})
			total += g.Count
		}
	}
	if total == 0 {
		return 0, 0
	}
	pick := func(key func(req) int) int {
		sorted := slices.Clone(rs)
		slices.SortStableFunc(sorted, func(a, b req) int { return key(a) - key(b) })
		k := (total - 1) / 2 // 0-based rank of the lower median
		for _, r := range sorted {
			if k < r.n {
				return key(r)
			}
			k -= r.n
		}
		return key(sorted[len(sorted)-1])
	}
	return pick(func(r req) int { return r.mem }), pick(func(r req) int { return r.disk })
}

// cov is the coefficient of variation (population standard deviation / mean) of x; 0
// for an empty sample or a zero mean.
func cov(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var sum float64
	for _, v := range x {
		sum += v
	}
	mean := sum / float64(len(x))
	if mean == 0 {
		return 0
	}
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return math.Sqrt(ss/float64(len(x))) / mean
}

// spreadMetrics computes, over apps with at least two instances placed at the end: the
// mean and max over apps of (max - min instances per zone, over every zone of the
// cluster), and the mean over apps of the largest share of the app's instances on one
// cell and in one zone.
func spreadMetrics(cells []record.CellRow, placements []record.PlacementRow) (skewMean, skewMax, blastCell, blastZone float64) {
	zoneOf := make(map[string]string, len(cells))
	var zones []string
	for _, c := range cells {
		zoneOf[c.CellID] = c.Zone
		if !slices.Contains(zones, c.Zone) {
			zones = append(zones, c.Zone)
		}
	}
	slices.Sort(zones)
	type app struct {
		total, maxCell int
		perZone        map[string]int
	}
	apps := map[string]*app{}
	var order []string
	for _, p := range placements {
		a := apps[p.ProcessGUID]
		if a == nil {
			a = &app{perZone: map[string]int{}}
			apps[p.ProcessGUID] = a
			order = append(order, p.ProcessGUID)
		}
		a.total += p.Instances
		a.maxCell = max(a.maxCell, p.Instances)
		a.perZone[zoneOf[p.CellID]] += p.Instances
	}
	slices.Sort(order)
	n := 0
	for _, g := range order {
		a := apps[g]
		if a.total < 2 {
			continue
		}
		lo, hi := math.MaxInt, 0
		for _, z := range zones {
			lo, hi = min(lo, a.perZone[z]), max(hi, a.perZone[z])
		}
		skew := float64(hi - lo)
		skewMean += skew
		skewMax = max(skewMax, skew)
		blastCell += float64(a.maxCell) / float64(a.total)
		blastZone += float64(hi) / float64(a.total)
		n++
	}
	if n > 0 {
		skewMean /= float64(n)
		blastCell /= float64(n)
		blastZone /= float64(n)
	}
	return skewMean, skewMax, blastCell, blastZone
}
