package auction

import (
	"slices"

	"github.com/diegolab/diegolab/model"
)

// The compute index: a performance internal of State, behind the ComputeScorer seam.
//
// A request that declares CPU or GPUs is placed by enumerating every feasible cell
// (State.choose), which at 10,000 cells costs milliseconds per request. An algorithm
// whose choice depends only on the request and each cell's CPU and GPUs (highest score
// wins, ties to the first cell in cell order: fgd) need not look at every cell: cells
// in the same compute state (free CPU, model, the multiset of free milli-GPU per
// device) score alike. The index groups the cells into such classes, each listing its
// cells in cell order, and keeps per class the score of each request kind until the
// class's state or the algorithm's scores change. Placing a request then costs one
// look-up per class and, in the classes that can win, a walk to the first cell that
// also passes Diego's checks (filters, memory, disk, containers, max per cell). The
// index is built on first use and kept current as cells' CPU and GPUs change; runs
// without such an algorithm never build it. Cells of more than eight devices are
// scored one by one. The result is the plain enumeration's, cell for cell (the
// differential test TestComputeIndexSamePlacements).

// ComputeScorer is implemented by algorithms that choose among the feasible cells by a
// score of the request and the cell's CPU and GPUs alone: the highest score wins, ties
// go to the first cell in cell order. The State then places their CPU and GPU requests
// through its compute index instead of calling Choose.
type ComputeScorer interface {
	// ScoresCompute reports whether the algorithm currently chooses that way (fgd:
	// unless its ties are random).
	ScoresCompute() bool
	// Prepare is called once per request before any ComputeScore (fgd: learning the
	// workload), where Choose would have been called.
	Prepare(req *model.Compute)
	// ComputeScore is the request's score on a cell with these CPU and GPUs (nil: the
	// cell declares none).
	ComputeScore(req *model.Compute, c *model.CellCompute) int64
	// ScoreVersion changes whenever a cell's score may change without its CPU and GPUs
	// changing (fgd: its workload).
	ScoreVersion() uint64
}

// classKey is a compute state; cells of more than eight devices have none.
type classKey struct {
	none    bool  // the cell declares no CPU and no GPUs
	cpu     int32 // free millicores; -1: the cell does not account CPU
	model   string
	devices uint8
	free    [8]uint16 // free milli-GPU per device, sorted
}

type cclass struct {
	key   classKey
	pos   int        // in computeIndex.classes
	cells []*cellRec // by cell order (seq)
	// scores[kind] is the score of request kind kind on the class at version ver
	scores []cachedScore
}

type cachedScore struct {
	ver   uint64 // score version + 1 (0: not computed)
	score int64
	known bool // fits is known (it depends on the class's state alone)
	fits  bool
}

type computeIndex struct {
	byKey   map[classKey]*cclass
	classes []*cclass
	of      map[*cellRec]*cclass
	wide    []*cellRec // cells of more than eight devices, by cell order
	kinds   map[kindOf]int
	// chooseIndexed's scratch: per class its first feasible cell, per wide cell
	// whether it is feasible
	first  []*cellRec
	wideOK []bool
}

// kindOf identifies a request kind (the models by their text).
type kindOf struct {
	cpu, gpus, per int
	models         string
}

func keyOf(c *model.CellCompute) (classKey, bool) {
	if c == nil {
		return classKey{none: true}, true
	}
	n := len(c.GPUFree)
	if n > 8 {
		return classKey{}, false
	}
	k := classKey{cpu: -1, model: c.GPUModel, devices: uint8(n)}
	if c.MilliCPU > 0 {
		k.cpu = int32(c.MilliCPUFree)
	}
	for i, f := range c.GPUFree {
		k.free[i] = uint16(f)
	}
	s := k.free[:n]
	slices.Sort(s)
	return k, true
}

// buildComputeIndex indexes every cell.
func (s *State) buildComputeIndex() *computeIndex {
	x := &computeIndex{byKey: map[classKey]*cclass{}, of: map[*cellRec]*cclass{}, kinds: map[kindOf]int{}}
	for _, rec := range s.cells { // cell order: appending keeps each class sorted
		x.add(rec)
	}
	return x
}

func (x *computeIndex) add(rec *cellRec) {
	k, ok := keyOf(rec.cell.Compute)
	if !ok {
		i, _ := slices.BinarySearchFunc(x.wide, rec.seq, func(r *cellRec, seq int) int { return r.seq - seq })
		x.wide = slices.Insert(x.wide, i, rec)
		return
	}
	c := x.byKey[k]
	if c == nil {
		c = &cclass{key: k, pos: len(x.classes)}
		x.byKey[k] = c
		x.classes = append(x.classes, c)
	}
	i, _ := slices.BinarySearchFunc(c.cells, rec.seq, func(r *cellRec, seq int) int { return r.seq - seq })
	c.cells = slices.Insert(c.cells, i, rec)
	x.of[rec] = c
}

func (x *computeIndex) remove(rec *cellRec) {
	c, ok := x.of[rec]
	if !ok {
		if i, found := slices.BinarySearchFunc(x.wide, rec.seq, func(r *cellRec, seq int) int { return r.seq - seq }); found {
			x.wide = slices.Delete(x.wide, i, i+1)
		}
		return
	}
	delete(x.of, rec)
	if i, found := slices.BinarySearchFunc(c.cells, rec.seq, func(r *cellRec, seq int) int { return r.seq - seq }); found {
		c.cells = slices.Delete(c.cells, i, i+1)
	}
	if len(c.cells) == 0 {
		last := x.classes[len(x.classes)-1]
		x.classes[c.pos], last.pos = last, c.pos
		x.classes = x.classes[:len(x.classes)-1]
		delete(x.byKey, c.key)
	}
}

// computeChanged moves a cell whose CPU or GPUs changed to its new class.
func (s *State) computeChanged(rec *cellRec) {
	if s.cidx == nil {
		return
	}
	s.cidx.remove(rec)
	s.cidx.add(rec)
}

func (x *computeIndex) kind(c *model.Compute) int {
	k := kindOf{cpu: c.MilliCPU, gpus: c.GPUs, per: c.PerDevice()}
	if len(c.GPUModels) > 0 {
		k.models = joinModels(c.GPUModels)
	}
	id, ok := x.kinds[k]
	if !ok {
		id = len(x.kinds)
		x.kinds[k] = id
	}
	return id
}

func joinModels(ms []string) string {
	n := 0
	for _, m := range ms {
		n += len(m) + 1
	}
	b := make([]byte, 0, n)
	for _, m := range ms {
		b = append(append(b, m...), '|')
	}
	return string(b)
}

// chooseIndexed is choose for a ComputeScorer, through the compute index. As with
// Choose, the algorithm is prepared (fgd learns the request) only when some cell is
// feasible.
func (s *State) chooseIndexed(req Request, cs ComputeScorer, st []uint8, gid int32, maxPerCell int) *cellRec {
	if s.cidx == nil {
		s.cidx = s.buildComputeIndex()
	}
	x := s.cidx
	kind := x.kind(req.Compute)
	// First the first feasible cell of each class (fitting the request is a property
	// of the class, kept for good), and of the wide cells.
	first := x.first[:0]
	found := false
	for _, c := range x.classes {
		if len(c.scores) <= kind {
			c.scores = append(c.scores, make([]cachedScore, kind+1-len(c.scores))...)
		}
		cache := &c.scores[kind]
		if !cache.known {
			cache.known, cache.fits = true, c.cells[0].cell.Compute.Fits(req.Compute)
		}
		var f *cellRec
		if cache.fits {
			for _, rec := range c.cells {
				if s.feasible(rec, &req, st, gid, maxPerCell) {
					f, found = rec, true
					break
				}
			}
		}
		first = append(first, f)
	}
	wide := x.wideOK[:0]
	for _, rec := range x.wide {
		ok := rec.cell.Compute.Fits(req.Compute) && s.feasible(rec, &req, st, gid, maxPerCell)
		found = found || ok
		wide = append(wide, ok)
	}
	x.first, x.wideOK = first, wide
	if !found {
		return nil
	}
	cs.Prepare(req.Compute)
	ver := cs.ScoreVersion() + 1
	var best *cellRec
	var bestS int64
	for i, c := range x.classes {
		f := first[i]
		if f == nil {
			continue
		}
		cache := &c.scores[kind]
		if cache.ver != ver {
			cache.ver, cache.score = ver, cs.ComputeScore(req.Compute, f.cell.Compute)
		}
		if best == nil || cache.score > bestS || cache.score == bestS && f.seq < best.seq {
			best, bestS = f, cache.score
		}
	}
	for i, rec := range x.wide {
		if !wide[i] {
			continue
		}
		if sc := cs.ComputeScore(req.Compute, rec.cell.Compute); best == nil || sc > bestS || sc == bestS && rec.seq < best.seq {
			best, bestS = rec, sc
		}
	}
	return best
}

// feasible is choose's test of a cell apart from CPU and GPUs: not evacuating, past the
// filters, under the LRP's cap, with the memory (and proxy), disk and a container.
func (s *State) feasible(rec *cellRec, req *Request, st []uint8, gid int32, maxPerCell int) bool {
	if rec.cell.Evacuating || st[rec.grp.key.sig] != stagePass {
		return false
	}
	mem := req.Resource.MemoryMB
	if !req.Task {
		mem += rec.proxy
		if maxPerCell > 0 && int(rec.guids.get(gid)) >= maxPerCell {
			return false
		}
	}
	a := rec.cell.Available
	return a.MemoryMB >= mem && a.DiskMB >= req.Resource.DiskMB && a.Containers >= 1
}
