package auction

import (
	"math"
	"math/rand/v2"

	"github.com/diegolab/diegolab/model"
)

func init() {
	Register("diego", func() Algorithm { return Diego{} })
	Register("first-fit", func() Algorithm { return FirstFit{} })
	Register("best-fit", func() Algorithm { return BestFit{} })
	Register("worst-fit", func() Algorithm { return WorstFit{} })
	Register("random", func() Algorithm { return Random{} })
	Register("power-of-two", func() Algorithm { return PowerOfTwo{} })
	Register("dot-product", func() Algorithm { return DotProduct{} })
	Register("balanced", func() Algorithm { return Balanced{} })
}

var (
	_ Algorithm = FirstFit{}
	_ Algorithm = BestFit{}
	_ Algorithm = WorstFit{}
	_ Algorithm = Random{}
	_ Algorithm = PowerOfTwo{}
	_ Algorithm = DotProduct{}
	_ Algorithm = Balanced{}
)

// memAfter is the candidate's free memory after the placement (with proxy for LRPs).
func memAfter(req Request, c *Candidate) int {
	return c.Available.MemoryMB - req.Resource.MemoryMB - c.ProxyMemoryMB
}

// argBest returns the index with the highest value; ties go to the first (cell order).
func argBest(cands []Candidate, value func(*Candidate) float64) int {
	best, bestV := -1, math.Inf(-1)
	for i := range cands {
		if v := value(&cands[i]); best < 0 || v > bestV {
			best, bestV = i, v
		}
	}
	return best
}

// FirstFit takes the first feasible cell in cell order. It optimises nothing but
// speed and packs the front of the cell list; unlike diego it ignores zones, locality
// and load.
type FirstFit struct{}

func (FirstFit) Name() string { return "first-fit" }
func (FirstFit) Choose(Request, []Candidate, Settings, *rand.Rand) int {
	return 0
}

// BestFit takes the cell with the least free memory after the placement (classic
// best-fit bin packing, memory only): it minimises fragmentation and the number of
// cells in use, at the cost of zone and app spreading, which diego has.
type BestFit struct{}

func (BestFit) Name() string { return "best-fit" }
func (BestFit) Choose(req Request, cands []Candidate, _ Settings, _ *rand.Rand) int {
	return argBest(cands, func(c *Candidate) float64 { return -float64(memAfter(req, c)) })
}

// WorstFit takes the cell with the most free memory after the placement: it spreads
// load by absolute headroom (diego spreads by used fraction over three resources and
// also by app and zone).
type WorstFit struct{}

func (WorstFit) Name() string { return "worst-fit" }
func (WorstFit) Choose(req Request, cands []Candidate, _ Settings, _ *rand.Rand) int {
	return argBest(cands, func(c *Candidate) float64 { return float64(memAfter(req, c)) })
}

// Random takes a feasible cell uniformly at random from the seeded stream: the
// baseline every smarter algorithm must beat. With a nil stream it takes the first.
type Random struct{}

func (Random) Name() string { return "random" }
func (Random) Choose(_ Request, cands []Candidate, _ Settings, r *rand.Rand) int {
	if r == nil {
		return 0
	}
	return r.IntN(len(cands))
}

// PowerOfTwo draws two distinct feasible cells at random and keeps the one with the
// lower Diego score (ties: cell order): "the power of two choices", which gets most of
// a full scan's balance for two score evaluations. It ignores zone tiers.
type PowerOfTwo struct{}

func (PowerOfTwo) Name() string { return "power-of-two" }
func (PowerOfTwo) Choose(req Request, cands []Candidate, s Settings, r *rand.Rand) int {
	if len(cands) == 1 || r == nil {
		return 0
	}
	i := r.IntN(len(cands))
	j := r.IntN(len(cands) - 1)
	if j >= i {
		j++
	}
	si, sj := DiegoScore(req, &cands[i], s), DiegoScore(req, &cands[j], s)
	if sj < si || (sj == si && cands[j].Order < cands[i].Order) {
		return j
	}
	return i
}

// DotProduct is Tetris-style alignment (Grandl et al., SIGCOMM 2014): the cell whose
// free vector, as fractions of its totals, has the largest dot product with the
// request vector in the same units (memory, disk, one container). It packs work
// where its dominant resource is plentiful, reducing stranded capacity; diego instead
// prefers the least-used cell.
type DotProduct struct{}

func (DotProduct) Name() string { return "dot-product" }
func (DotProduct) Choose(req Request, cands []Candidate, _ Settings, _ *rand.Rand) int {
	return argBest(cands, func(c *Candidate) float64 {
		return dotValue(req.Resource.MemoryMB+c.ProxyMemoryMB, req.Resource.DiskMB, c.Total,
			c.Available.MemoryMB, c.Available.DiskMB, c.Available.Containers)
	})
}

// dotValue is DotProduct's value of a cell with totals tot and available (am, ad, ac)
// for a request of mp MB memory (proxy included) and disk MB. The index evaluates it on
// a subtree's maxima as an upper bound: with mp, disk >= 0 every operation is monotone
// non-decreasing in am, ad and ac. The explicit conversions stop the compiler from fusing
// a multiply and an add (Go spec, "Floating-point operators"), so every caller rounds
// alike.
func dotValue(mp, disk int, tot model.Resources, am, ad, ac int) float64 {
	tm, td, tc := float64(tot.MemoryMB), float64(tot.DiskMB), float64(tot.Containers)
	return float64(float64((float64(mp)/tm)*(float64(am)/tm))+
		float64((float64(disk)/td)*(float64(ad)/td))) +
		float64((1/tc)*(float64(ac)/tc))
}

// Balanced is Kubernetes-style scoring: NodeResourcesLeastAllocated (mean free
// fraction of memory and disk after placement) plus NodeResourcesBalancedAllocation
// (1 minus the standard deviation of the used fractions of memory and disk), each in
// [0,1], equally weighted, highest wins. Unlike diego it counts containers as neither,
// has no app or zone spreading, and ignores starting containers.
type Balanced struct{}

func (Balanced) Name() string { return "balanced" }
func (Balanced) Choose(req Request, cands []Candidate, _ Settings, _ *rand.Rand) int {
	return argBest(cands, func(c *Candidate) float64 {
		return balancedValue(req.Resource.MemoryMB+c.ProxyMemoryMB, req.Resource.DiskMB, c.Total,
			c.Available.MemoryMB, c.Available.DiskMB)
	})
}

// balancedValue is Balanced's value of a cell with totals tot and available memory am
// and disk ad for a request of mp MB memory (proxy included) and disk MB: least +
// (1 - std) over the used fractions um, ud after placement. In real numbers it is
// 1 + min(free fractions) (least = mean of the free fractions, std = |um - ud| / 2),
// which is what the index bounds (fast.go).
func balancedValue(mp, disk int, tot model.Resources, am, ad int) float64 {
	um := 1 - float64(am-mp)/float64(tot.MemoryMB)
	ud := 1 - float64(ad-disk)/float64(tot.DiskMB)
	least := ((1 - um) + (1 - ud)) / 2
	mean := (um + ud) / 2
	std := math.Sqrt(float64(float64((um-mean)*(um-mean))+float64((ud-mean)*(ud-mean))) / 2)
	return least + (1 - std)
}
