package auction

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/diegolab/diegolab/model"
)

func init() { Register("fgd", func() Algorithm { return NewFGD(nil) }) }

var (
	_ Algorithm     = (*FGD)(nil)
	_ DeviceChooser = (*FGD)(nil)
)

// FGD is fragmentation gradient descent (Weng et al., USENIX ATC'23, §4; the
// simulator's FGDScore): place the work where the expected GPU fragmentation of the
// target workload grows least.
//
// The target workload M is a set of typical requests m with shares p_m (they sum to
// 1). A cell's fragmentation for m, F(n, m), is the free milli-GPU that m cannot use:
//
//	m asks no GPU, or the cell's model is not acceptable to m:  all free milli-GPU
//	m fits (CPU and enough devices with >= its milli-GPU):     the free milli-GPU of
//	                                                            the devices with less
//	                                                            than m's milli-GPU
//	otherwise:                                                  all free milli-GPU
//
// F(n) = sum over m of p_m x F(n, m). Placing the request on cell n (on the device
// where the result is lowest, for a share) changes it by D = F(n) - F(n'), and the cell
// scores int64(sigmoid(D/1000) x 100); highest wins, ties to the first in cell order (RandomTies: at random). A cell that does
// not account CPU never lacks it.
//
// NewFGD(nil), the registered `fgd`, learns the workload from the requests it is asked
// to place (every request seen so far, weighted by count); the FGD reproduction passes
// the trace's typical requests (TypicalWorkload), as the paper does.
type FGD struct {
	// RandomTies breaks equal scores at random (Kubernetes) instead of by cell order.
	RandomTies bool
	workload   []WorkloadShare
	online     map[string]int // learning: request kind -> count
	seen       int
	memo       map[fragKey]float64
	models     map[string]int32
	// the last model looked up, and its id: cells of one model come in runs
	lastModel string
	lastID    int32
	version   uint64 // bumped whenever the workload's shares change (ScoreVersion)
}

// WorkloadShare is one typical request of FGD's target workload and its share.
type WorkloadShare struct {
	Compute model.Compute
	Share   float64
}

// NewFGD makes an FGD for the target workload (shares are renormalised to sum 1); an
// empty workload is learnt from the requests placed.
func NewFGD(workload []WorkloadShare) *FGD {
	f := &FGD{memo: map[fragKey]float64{}, models: map[string]int32{}}
	sum := 0.0
	for _, w := range workload {
		sum += w.Share
	}
	for _, w := range workload {
		if w.Share > 0 {
			f.workload = append(f.workload, WorkloadShare{w.Compute, w.Share / sum})
		}
	}
	if len(f.workload) == 0 {
		f.online = map[string]int{}
	}
	return f
}

// TypicalWorkload is the simulator's typical pods: the distinct requests of a
// workload (CPU, milli-GPU per device, devices, models), most frequent first, the top
// ones up to threshold (0.95 in the paper's runs) of all requests, shares renormalised.
func TypicalWorkload(reqs []model.Compute, threshold float64) []WorkloadShare {
	type kind struct {
		c model.Compute
		n int
	}
	byKey := map[string]int{}
	var kinds []kind
	for _, r := range reqs {
		k := kindKey(&r)
		if i, ok := byKey[k]; ok {
			kinds[i].n++
			continue
		}
		byKey[k] = len(kinds)
		kinds = append(kinds, kind{r, 1})
	}
	slices.SortStableFunc(kinds, func(a, b kind) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(kindKey(&a.c), kindKey(&b.c))
	})
	var out []WorkloadShare
	cum := 0
	for _, k := range kinds {
		if float64(cum) >= threshold*float64(len(reqs)) {
			break
		}
		out = append(out, WorkloadShare{k.c, float64(k.n)})
		cum += k.n
	}
	for i := range out {
		out[i].Share /= float64(cum)
	}
	return out
}

func kindKey(c *model.Compute) string {
	var b strings.Builder
	b.Grow(32)
	b.WriteString(itoa(c.MilliCPU))
	b.WriteByte('/')
	b.WriteString(itoa(c.PerDevice()))
	b.WriteByte('x')
	b.WriteString(itoa(c.GPUs))
	b.WriteByte('/')
	b.WriteString(strings.Join(c.GPUModels, "|"))
	return b.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}

func (*FGD) Name() string { return "fgd" }

// Choose scores every candidate by the fragmentation its placement adds.
func (f *FGD) Choose(req Request, cands []Candidate, _ Settings, r *rand.Rand) int {
	f.learn(req.Compute)
	return pickMax(len(cands), func(i int) int64 {
		s, _ := f.score(req.Compute, cands[i].Compute)
		return s
	}, tieStream(r, f.RandomTies))
}

// Devices picks the device(s) for the request on the chosen cell: for a share, the
// device with the best score (ties: lowest index); whole devices: the idle ones of
// lowest index (fragmentation only depends on how many there are).
func (f *FGD) Devices(req Request, c *model.CellCompute, _ *rand.Rand) []int {
	if req.Compute.Shared() {
		if _, d := f.score(req.Compute, c); d >= 0 {
			return []int{d}
		}
		return nil
	}
	return c.BestFitDevices(req.Compute)
}

func (f *FGD) learn(c *model.Compute) {
	if f.online == nil {
		return
	}
	var req model.Compute
	if c != nil {
		req = *c
	}
	k := kindKey(&req)
	if f.online[k] == 0 {
		f.workload = append(f.workload, WorkloadShare{Compute: req})
	}
	f.online[k]++
	f.seen++
	// The shares follow the counts at 1, 2, 4, ... requests and every 1,024 after:
	// each update forgets the memoised fragmentation, which a new request kind
	// (a new term of the sum) forces anyway.
	if f.online[k] > 1 && f.seen&(f.seen-1) != 0 && f.seen%1024 != 0 {
		return
	}
	for i := range f.workload {
		f.workload[i].Share = float64(f.online[kindKey(&f.workload[i].Compute)]) / float64(f.seen)
	}
	clear(f.memo)
	f.version++
}

var _ ComputeScorer = (*FGD)(nil)

// ScoresCompute: FGD's choice is its score of the cell's CPU and GPUs, ties to the
// first cell, unless RandomTies.
func (f *FGD) ScoresCompute() bool { return !f.RandomTies }

// Prepare learns the request (an online workload), as Choose does.
func (f *FGD) Prepare(req *model.Compute) { f.learn(req) }

// ComputeScore is Choose's score of one cell.
func (f *FGD) ComputeScore(req *model.Compute, c *model.CellCompute) int64 {
	s, _ := f.score(req, c)
	return s
}

// ScoreVersion changes with the workload's shares.
func (f *FGD) ScoreVersion() uint64 { return f.version }

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// fgdScore is the score for a fragmentation change D.
func fgdScore(before, after float64) int64 {
	return int64(sigmoid((before-after)/1000) * maxNodeScore)
}

// node is a cell's compute as fragmentation sees it: free CPU (-1: not accounted), the
// model, the free milli-GPU of each device.
type fnode struct {
	cpu   int
	model string
	n     int
	free  [model.MaxGPUDevices]int16 // milli-GPU, <= 1000
}

func toNode(c *model.CellCompute) fnode {
	var n fnode
	n.cpu = -1
	if c == nil {
		return n
	}
	if c.MilliCPU > 0 {
		n.cpu = c.MilliCPUFree
	}
	n.model = c.GPUModel
	n.n = len(c.GPUFree)
	for i, f := range c.GPUFree {
		n.free[i] = int16(f)
	}
	return n
}

// score is the request's score on the cell and, for a share, the device it takes
// (-1 otherwise).
func (f *FGD) score(req *model.Compute, c *model.CellCompute) (int64, int) {
	if c.GPUs() == 0 {
		return fgdScore(0, 0), -1 // no GPUs: no fragmentation before or after
	}
	n := toNode(c)
	before := f.frag(&n)
	after := n
	if after.cpu >= 0 {
		after.cpu -= cpuOf(req)
	}
	if !req.Shared() {
		need, per := 0, req.PerDevice()
		if req != nil {
			need = req.GPUs
		}
		// the simulator's NodeResource.Sub: fitting devices, least free first
		for need > 0 {
			best := -1
			for i := 0; i < after.n; i++ {
				if int(after.free[i]) >= per && (best < 0 || after.free[i] < after.free[best]) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			after.free[best] -= int16(per)
			need--
		}
		return fgdScore(before, f.frag(&after)), -1
	}
	best, dev := int64(0), -1
	per := req.PerDevice()
	for i := 0; i < n.n; i++ {
		if int(n.free[i]) < per {
			continue
		}
		a := after
		a.free[i] -= int16(per)
		if s := fgdScore(before, f.frag(&a)); dev < 0 || s > best {
			best, dev = s, i
		}
	}
	return best, dev
}

// fragKey is a node's state up to the order of its devices (fragmentation does not
// depend on it).
type fragKey struct {
	cpu   int32
	model int32
	free  [8]uint16
}

// frag is F(n), memoised by state for cells of up to 8 devices.
func (f *FGD) frag(n *fnode) float64 {
	if n.n > 8 {
		return f.fragOf(n)
	}
	k := fragKey{cpu: int32(n.cpu), model: f.modelID(n.model)}
	// insertion sort of at most 8 figures
	var s [8]uint16
	for i := 0; i < n.n; i++ {
		v := uint16(n.free[i])
		j := i
		for ; j > 0 && s[j-1] > v; j-- {
			s[j] = s[j-1]
		}
		s[j] = v
	}
	k.free = s
	if v, ok := f.memo[k]; ok {
		return v
	}
	v := f.fragOf(n)
	f.memo[k] = v
	return v
}

func (f *FGD) modelID(m string) int32 {
	if m == f.lastModel && len(f.models) > 0 {
		return f.lastID
	}
	id, ok := f.models[m]
	defer func() { f.lastModel, f.lastID = m, id }()
	if !ok {
		id = int32(len(f.models))
		f.models[m] = id
	}
	return id
}

func (f *FGD) fragOf(n *fnode) float64 {
	total := 0
	for i := 0; i < n.n; i++ {
		total += int(n.free[i])
	}
	if total == 0 {
		return 0
	}
	var sum float64
	for _, w := range f.workload {
		sum += w.Share * float64(fragFor(n, &w.Compute, total))
	}
	return sum
}

// fragFor is F(n, m) (see FGD).
func fragFor(n *fnode, m *model.Compute, total int) int {
	per := m.PerDevice()
	if per == 0 || !m.Accepts(n.model) || (len(m.GPUModels) > 0 && n.model == "") {
		return total
	}
	if n.cpu >= 0 && n.cpu < m.MilliCPU {
		return total
	}
	fit, short := 0, 0
	for i := 0; i < n.n; i++ {
		if f := int(n.free[i]); f >= per {
			fit++
		} else {
			short += f
		}
	}
	if fit >= m.GPUs {
		return short
	}
	return total
}
