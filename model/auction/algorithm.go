package auction

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/diegolab/diegolab/model"
)

// Request is the piece of work an Algorithm places: one LRP instance or one task.
type Request struct {
	Task  bool   // false: an LRP instance
	GUID  string // process guid (LRP) or task guid
	Index int    // LRP index
	// Resource is what the work asks for, without proxy memory: Candidate.ProxyMemoryMB
	// is added to MemoryMB for LRPs by the fit check and by DiegoScore.
	Resource model.Resource
	// Compute is the CPU and GPUs asked for (nil: none).
	Compute *model.Compute
}

// Candidate is one cell that passed every hard constraint for the request: rootfs,
// volume drivers, placement tags, resources (with proxy memory for LRPs), MaxPerCell,
// not evacuating. Figures are before the placement.
type Candidate struct {
	ID    string
	Zone  string
	Order int // position in the State's cell order: the documented tie-break
	// ZoneRank is the cell's position in its zone when the zone's cells are sorted by
	// Cell.Index (ties: cell order), 0..n-1. Diego's bin-pack index.
	ZoneRank           int
	Total, Available   model.Resources
	StartingContainers int
	ProxyMemoryMB      int // added to LRP memory (0 for tasks)
	// Same is the number of instances of the process guid on the cell (LRPs) or of
	// tasks on the cell (tasks).
	Same int
	// ZoneSame is the number of instances of the process guid in the cell's zone over
	// the cells taking part in the auction (LRPs; 0 for tasks).
	ZoneSame int
	// Compute is the cell's CPU and GPUs before the placement (nil when it declares
	// none); read only.
	Compute *model.CellCompute
	// GPUPods counts the GPU work on the cell by affinity tag (GPUAffinity); read
	// only, nil when there is none.
	GPUPods map[string]int
}

// Algorithm chooses a cell among the feasible candidates of one request. The shared
// auction (dedupe, order, filters and their errors, in-flight limit, fit check,
// reservation) is done by State.Schedule; Choose only picks. cands is in cell order and
// never empty; Choose returns an index into cands, or -1 to leave the work unplaced
// (reported as "insufficient resources"). It must be deterministic given r.
type Algorithm interface {
	Name() string
	Choose(req Request, cands []Candidate, s Settings, r *rand.Rand) int
}

// Factory makes a fresh Algorithm.
type Factory func() Algorithm

var registry = map[string]Factory{}

// Register adds an algorithm under name. It panics on an empty or duplicate name or a
// nil factory: registration happens in init functions, where that is a programming error.
func Register(name string, f Factory) {
	if name == "" || f == nil {
		panic("auction: Register with empty name or nil factory")
	}
	if _, dup := registry[name]; dup {
		panic("auction: algorithm " + name + " registered twice")
	}
	registry[name] = f
}

// Names lists the registered algorithms, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New makes the algorithm registered under name.
func New(name string) (Algorithm, error) {
	f, ok := registry[name]
	if !ok {
		return nil, &model.ValidationError{Field: "algorithm", Problem: fmt.Sprintf("unknown algorithm %q (known: %s)", name, strings.Join(Names(), ", "))}
	}
	return f(), nil
}

// DefaultAlgorithm is the name of the exact Diego algorithm.
const DefaultAlgorithm = "diego"

// ResourceScore is Diego's CellState.ComputeScore: the mean used fraction of memory, disk
// and containers after placing (mem, disk), plus starting x weight, in Diego's float64
// operation order.
func ResourceScore(avail, total model.Resources, mem, disk, starting int, weight float64) float64 {
	fm := 1.0 - float64(avail.MemoryMB-mem)/float64(total.MemoryMB)
	fd := 1.0 - float64(avail.DiskMB-disk)/float64(total.DiskMB)
	fc := 1.0 - float64(avail.Containers-1)/float64(total.Containers)
	// Explicit conversions keep the compiler from fusing a multiply and an add (Go spec,
	// "Floating-point operators"), so every caller rounds exactly alike.
	return float64((fm+fd+fc)/3.0) + float64(float64(starting)*weight)
}

// DiegoScore is the score Diego gives the candidate for the request (lower is better):
// for LRPs ResourceScore with proxy memory + 1000 x same-guid instances + zone rank x
// bin-pack weight; for tasks ResourceScore + 1000 x tasks on the cell.
func DiegoScore(req Request, c *Candidate, s Settings) float64 {
	if req.Task {
		return ResourceScore(c.Available, c.Total, req.Resource.MemoryMB, req.Resource.DiskMB, c.StartingContainers, s.StartingContainerWeight) +
			float64(LocalityOffset*c.Same)
	}
	return ResourceScore(c.Available, c.Total, req.Resource.MemoryMB+c.ProxyMemoryMB, req.Resource.DiskMB, c.StartingContainers, s.StartingContainerWeight) +
		float64(LocalityOffset*c.Same) + float64(float64(c.ZoneRank)*s.BinPackFirstFitWeight)
}
