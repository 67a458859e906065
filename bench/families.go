package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/diegolab/diegolab/bench/importer"
	"github.com/diegolab/diegolab/scenarios"
)

// Generated scenario families.
const (
	// FamilyInflation is workload inflation (FGD, ATC'23): the base scenario's instance
	// requests arrive one app at a time in a seeded sampled order, with no departures,
	// until the requests of the bottleneck resource reach Load x its capacity.
	FamilyInflation = "inflation"
	// FamilyDiegoMix is Diego's 250k test mix (scenarios/diego-250k-mix.toml) scaled to
	// N cells: by default 250 instances per cell, the 20-app batch of 25 instances
	// repeated 10N times (instances_per_cell = k repeats it N x k / 25 times).
	FamilyDiegoMix = "diego-mix"
)

// Resource names, as metrics and docs use them.
const (
	ResMemory     = "memory"
	ResDisk       = "disk"
	ResContainers = "containers"
)

// InflateParams are the parameters of an inflation scenario.
type InflateParams struct {
	Load    float64 // offered load: requests / capacity of the bottleneck resource
	Seed    uint64  // drives the sampled order (and is the run seed)
	Step    string  // time between arrival rounds (default "1s")
	PerStep int     // arrivals per round (default 1)
	Settle  string  // time after the last round before the run ends (default "2m")
}

type request struct {
	memory, disk int
	rootfs       string
	tags, vols   []string
	weight       int
}

// Bottleneck returns the resource whose requests are the largest share of its capacity
// in sc's workload (every app instance and every task once, at t = 0 cells); ties go to
// memory, then disk. Shares are returned in the order memory, disk, containers.
func Bottleneck(sc *scenarios.Scenario) (string, [3]float64) {
	var capMem, capDisk, capCont, mem, disk, cont float64
	for _, g := range sc.Cells {
		n := float64(g.Count)
		capMem += n * float64(g.MemoryMB)
		capDisk += n * float64(g.DiskMB)
		capCont += n * float64(g.Containers)
	}
	for _, g := range sc.Apps {
		n := float64(g.Count) * float64(g.Instances)
		mem += n * float64(g.MemoryMB+sc.Auction.ProxyMemoryMB)
		disk += n * float64(g.DiskMB)
		cont += n
	}
	for _, g := range sc.Tasks {
		n := float64(g.Count)
		mem += n * float64(g.MemoryMB)
		disk += n * float64(g.DiskMB)
		cont += n
	}
	share := [3]float64{ratio(mem, capMem), ratio(disk, capDisk), ratio(cont, capCont)}
	names := [3]string{ResMemory, ResDisk, ResContainers}
	best := 0
	for i := 1; i < 3; i++ {
		if share[i] > share[best] {
			best = i
		}
	}
	return names[best], share
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// Inflate builds an inflation scenario from base: base's cells and settings, and, as the
// workload, single-instance apps drawn with replacement from base's app instance
// requests (each [[apps]] group weighted by count x instances) in an order sampled from
// a PCG stream seeded with p.Seed, until the summed requests of the bottleneck resource
// (Bottleneck of base) reach p.Load x its capacity. Round r (0-based) of PerStep
// arrivals starts at r x Step; arrivals of the same request in a round form one group.
// The run lasts until the last round plus Settle. Base's tasks and events are dropped:
// inflation has no departures and no faults.
func Inflate(base *scenarios.Scenario, p InflateParams) (importer.File, error) {
	step, err := durationOr(p.Step, time.Second)
	if err != nil {
		return importer.File{}, fmt.Errorf("inflation step: %w", err)
	}
	settle, err := durationOr(p.Settle, 2*time.Minute)
	if err != nil {
		return importer.File{}, fmt.Errorf("inflation settle: %w", err)
	}
	perStep := max(p.PerStep, 1)
	var reqs []request
	total := 0
	for _, g := range base.Apps {
		w := g.Count * g.Instances
		if w <= 0 {
			continue
		}
		reqs = append(reqs, request{memory: g.MemoryMB, disk: g.DiskMB, rootfs: g.RootFS, tags: g.PlacementTags, vols: g.VolumeDrivers, weight: w})
		total += w
	}
	if total == 0 {
		return importer.File{}, fmt.Errorf("inflation base %s has no app instances to sample requests from", base.Name)
	}
	bn, _ := Bottleneck(base)
	var capacity float64
	for _, g := range base.Cells {
		switch bn {
		case ResMemory:
			capacity += float64(g.Count) * float64(g.MemoryMB)
		case ResDisk:
			capacity += float64(g.Count) * float64(g.DiskMB)
		default:
			capacity += float64(g.Count) * float64(g.Containers)
		}
	}
	target := p.Load * capacity
	const maxArrivals = 5_000_000
	rng := rand.New(rand.NewPCG(p.Seed, 0x1f6d_a7c3_5e2b_9041))
	var order []int
	for sum := 0.0; sum < target; {
		if len(order) >= maxArrivals {
			return importer.File{}, fmt.Errorf("inflation of %s to load %.2f needs more than %d arrivals", base.Name, p.Load, maxArrivals)
		}
		x := rng.IntN(total)
		i := 0
		for x >= reqs[i].weight {
			x -= reqs[i].weight
			i++
		}
		order = append(order, i)
		switch bn {
		case ResMemory:
			sum += float64(reqs[i].memory + base.Auction.ProxyMemoryMB)
		case ResDisk:
			sum += float64(reqs[i].disk)
		default:
			sum++
		}
	}
	f := importer.FromScenario(base)
	f.Run.Seed = p.Seed
	f.Comment = fmt.Sprintf("Workload inflation of %s: %d single-instance apps in sampled order (seed %d), no departures,\nup to %.0f%% of %s capacity; %d per round every %s.", base.Name, len(order), p.Seed, 100*p.Load, bn, perStep, step)
	rounds := (len(order) + perStep - 1) / perStep
	for r := 0; r < rounds; r++ {
		chunk := order[r*perStep : min((r+1)*perStep, len(order))]
		counts := map[int]int{}
		for _, i := range chunk {
			counts[i]++
		}
		types := make([]int, 0, len(counts))
		for i := range counts {
			types = append(types, i)
		}
		slices.Sort(types)
		for _, i := range types {
			q := reqs[i]
			f.Apps = append(f.Apps, importer.Apps{
				Name: "a" + strconv.Itoa(r) + "-r" + strconv.Itoa(i), Count: counts[i], Instances: 1,
				MemoryMB: q.memory, DiskMB: q.disk, RootFS: q.rootfs, PlacementTags: q.tags, VolumeDrivers: q.vols,
				StartAt: (time.Duration(r) * step).String(),
			})
		}
	}
	f.Run.Duration = (time.Duration(rounds-1)*step + settle).String()
	return f, nil
}

func durationOr(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be > 0", s)
	}
	return d, nil
}

// diegoMix are the [[apps]] groups of scenarios/diego-250k-mix.toml and their counts at
// 1000 cells: the counts scale linearly with the cell count.
var diegoMix = []struct {
	name  string
	count int
}{{"light-group", 10000}, {"light", 90000}, {"medium-group", 10000}, {"medium", 60000}, {"heavy", 10000}, {"crashing", 20000}}

// DiegoMixOverrides returns the overrides that scale scenarios/diego-250k-mix.toml to
// cells cells with perCell instances per cell (default 250, the mix's own density): app
// counts x (cells x perCell) / 250,000, rounded, at least 1; when duration is not empty
// it sets run.duration.
func DiegoMixOverrides(cells, perCell int, duration string) ([]string, error) {
	if cells < 1 {
		return nil, fmt.Errorf("diego-mix needs cells >= 1, got %d", cells)
	}
	if perCell <= 0 {
		perCell = 250
	}
	ov := []string{"cells.cell.count=" + strconv.Itoa(cells)}
	for _, a := range diegoMix {
		n := max(int(math.Round(float64(a.count)*float64(cells)*float64(perCell)/250_000)), 1)
		ov = append(ov, "apps."+a.name+".count="+strconv.Itoa(n))
	}
	if duration != "" {
		ov = append(ov, "run.duration="+strconv.Quote(duration))
	}
	return ov, nil
}
