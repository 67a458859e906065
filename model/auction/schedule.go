package auction

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/diegolab/diegolab/model"
)

type lrpKey struct {
	gid   int32
	index int
}

// dedupeScan is the largest batch Schedule de-duplicates by scanning the results so
// far (at most dedupeScan^2/2 comparisons of a guid id and an index, all in cache)
// rather than through a map.
const dedupeScan = 64

// keepScratch is the largest capacity of Schedule's scratch slices the State keeps
// between calls.
const keepScratch = 4096

// seenLRP reports whether an LRP of interned guid gid and this index is among the
// results so far (gids[j] is the guid of res[j]).
func seenLRP(res []LRPResult, gids []int32, gid int32, index int) bool {
	for j, g := range gids {
		if g == gid && res[j].Index == index {
			return true
		}
	}
	return false
}

// workItem is one de-duplicated item: an index into Results.LRPs or Results.Tasks.
type workItem struct {
	task bool
	i    int
}

// query is one item as the index searches see it (State.q, filled by placeLRP and
// placeTask after the prechecks).
type query struct {
	task       bool
	mem, disk  int     // requested, without proxy memory
	gid        int32   // LRPs: interned process guid; -1 for tasks
	maxPerCell int     // LRPs: 0 = no cap
	st         []uint8 // filter stage per capability signature
	req        Request // the same item as a Request (for DiegoScore on a Candidate)
}

// indexed is implemented by the built-in algorithms: they search the State's index
// themselves (fast.go, and Diego's search below) and return exactly the cell their
// Choose would pick among the enumerated candidates, or, for the randomised ones, a
// cell drawn with the same distribution. nil: no feasible cell. User-registered
// algorithms take State.choose.
type indexed interface {
	place(s *State, q *query, r *rand.Rand) *cellRec
}

// Schedule runs one auction on s: dedupe (LRPs by process guid and index, tasks by guid,
// first wins), order (index-0 LRPs by memory descending, then tasks by memory
// descending, then index >= 1 LRPs by index ascending then memory descending; stable
// with respect to the input), then for each item: in-flight limit, filters, fit check,
// the algorithm's choice, and reservation in s (starting=true). A nil alg means diego;
// r is only used by randomised algorithms and may be nil for the others.
func (s *State) Schedule(b Batch, alg Algorithm, r *rand.Rand) Results {
	if alg == nil {
		alg = Diego{}
	}
	s.refreshRanks()
	var res Results
	// LRPs are keyed by (interned guid, index): no string hashing per instance. A batch
	// of up to dedupeScan LRPs (the steady state's, ~20) is de-duplicated by a scan of
	// the results so far, with no map; a bigger one by bigDedupe (order.go).
	var gids []int32 // interned guid per result
	res.LRPs, gids = s.dedupe(&b, s.gids[:0])
	if len(b.Tasks) > 0 {
		seenT := make(map[string]bool, len(b.Tasks))
		for _, t := range b.Tasks {
			if !seenT[t.GUID] {
				seenT[t.GUID] = true
				res.Tasks = append(res.Tasks, TaskResult{Task: t})
			}
		}
	}
	order := placementOrder(&res, s.order)

	fast, _ := alg.(indexed)
	for _, w := range order {
		if w.task {
			tr := &res.Tasks[w.i]
			tr.CellID, tr.Error = s.placeTask(&tr.Task, alg, fast, r)
		} else {
			lr := &res.LRPs[w.i]
			lr.CellID, lr.Error = s.placeLRP(lr.LRP, gids[w.i], alg, fast, r)
		}
	}
	// Keep the scratch of batches of the steady state's size only: a first auction's
	// (millions of items) would stay allocated for the whole run.
	if cap(gids) <= keepScratch {
		s.gids, s.order = gids, order
	} else {
		s.gids, s.order = nil, nil
	}
	return res
}

// precheck applies the checks that come before scoring: no cells, in-flight limit,
// filters (DIEGO.md §1.3 precedence). It returns the stages per signature, or an error.
func (s *State) precheck(pc *model.PlacementConstraint) ([]uint8, string) {
	if s.active == 0 {
		return nil, ErrTextCommunication
	}
	if s.set.MaxStartingContainers > 0 && s.inflight >= s.set.MaxStartingContainers {
		return nil, ErrTextInflight
	}
	st := s.stages(pc)
	best := stageRootFS
	for _, g := range s.grpList {
		if g.active > 0 {
			best = max(best, st[g.key.sig])
		}
	}
	switch best {
	case stageRootFS:
		return nil, ErrTextRootFS
	case stageDrivers:
		return nil, ErrTextVolumeDrivers
	case stageTags:
		return nil, PlacementTagError(pc.PlacementTags)
	}
	return st, ""
}

func (s *State) placeLRP(l *LRP, gid int32, alg Algorithm, fast indexed, r *rand.Rand) (string, string) {
	if l.ProcessGUID == "" {
		return "", "invalid lrp: process_guid must not be empty"
	}
	if err := l.Resource.Validate("resource"); err != nil {
		return "", "invalid lrp: " + err.Error()
	}
	if err := l.Compute.Validate("compute"); err != nil {
		return "", "invalid lrp: " + err.Error()
	}
	st, errText := s.precheck(&l.PlacementConstraint)
	if errText != "" {
		return "", errText
	}
	req := Request{GUID: l.ProcessGUID, Index: l.Index, Resource: l.Resource, Compute: l.Compute}
	var win *cellRec
	if l.Compute.Declared() {
		// CPU and GPUs are outside the index: the feasible cells are enumerated, or
		// looked up by compute state (compute_index.go).
		win = s.chooseCompute(req, alg, r, st, gid, l.MaxPerCell)
	} else if fast != nil {
		s.q = query{mem: l.MemoryMB, disk: l.DiskMB, gid: gid, maxPerCell: l.MaxPerCell, st: st, req: req}
		win = fast.place(s, &s.q, r)
	} else {
		win = s.choose(req, alg, r, st, gid, l.MaxPerCell)
	}
	if win == nil {
		return "", s.problems(st, l.MemoryMB, l.DiskMB, true, gid, l.MaxPerCell, l.Compute)
	}
	// Reserve the plain (un-proxied) resources (Diego: cell.ReserveLRP).
	_ = s.take(win, l.Resource, true) // fits: checked with at least this much memory
	s.takeCompute(win, &req, alg, r, "", gid)
	s.countLRP(win, gid, +1)
	s.refresh(win)
	return win.cell.ID, ""
}

func (s *State) placeTask(t *Task, alg Algorithm, fast indexed, r *rand.Rand) (string, string) {
	if t.GUID == "" {
		return "", "invalid task: task_guid must not be empty"
	}
	if err := t.Resource.Validate("resource"); err != nil {
		return "", "invalid task: " + err.Error()
	}
	if err := t.Compute.Validate("compute"); err != nil {
		return "", "invalid task: " + err.Error()
	}
	st, errText := s.precheck(&t.PlacementConstraint)
	if errText != "" {
		return "", errText
	}
	req := Request{Task: true, GUID: t.GUID, Resource: t.Resource, Compute: t.Compute}
	var win *cellRec
	if t.Compute.Declared() {
		win = s.chooseCompute(req, alg, r, st, -1, 0)
	} else if fast != nil {
		s.q = query{task: true, mem: t.MemoryMB, disk: t.DiskMB, gid: -1, st: st, req: req}
		win = fast.place(s, &s.q, r)
	} else {
		win = s.choose(req, alg, r, st, -1, 0)
	}
	if win == nil {
		return "", s.problems(st, t.MemoryMB, t.DiskMB, false, -1, 0, t.Compute)
	}
	if _, dup := win.tasks[t.GUID]; dup {
		// The same task guid is already on the winner: not something Diego can see;
		// report it instead of corrupting the bookkeeping.
		return "", "task " + t.GUID + " already on cell " + win.cell.ID
	}
	_ = s.take(win, t.Resource, true)
	s.takeCompute(win, &req, alg, r, t.GUID, -1)
	win.tasks[t.GUID] = struct{}{}
	s.refresh(win)
	return win.cell.ID, ""
}

// chooseCompute places a request that declares CPU or GPUs: through the compute index
// for a ComputeScorer, else by enumeration.
func (s *State) chooseCompute(req Request, alg Algorithm, r *rand.Rand, st []uint8, gid int32, maxPerCell int) *cellRec {
	if cs, ok := alg.(ComputeScorer); ok && !s.noComputeIndex && cs.ScoresCompute() {
		return s.chooseIndexed(req, cs, st, gid, maxPerCell)
	}
	return s.choose(req, alg, r, st, gid, maxPerCell)
}

// choose enumerates the feasible cells in cell order and lets alg pick.
func (s *State) choose(req Request, alg Algorithm, r *rand.Rand, st []uint8, gid int32, maxPerCell int) *cellRec {
	cands := s.cands[:0]
	recs := s.recs[:0]
	for _, rec := range s.cells {
		if rec.cell.Evacuating || st[rec.grp.key.sig] != stagePass {
			continue
		}
		mem := req.Resource.MemoryMB
		same := len(rec.tasks)
		zoneSame := 0
		proxy := 0
		if !req.Task {
			proxy = rec.proxy
			mem += proxy
			same = int(rec.guids.get(gid))
			zoneSame = int(s.guidZone[s.zoneSlot(gid, rec.zone)])
			if maxPerCell > 0 && same >= maxPerCell {
				continue
			}
		}
		a := rec.cell.Available
		if a.MemoryMB < mem || a.DiskMB < req.Resource.DiskMB || a.Containers < 1 {
			continue
		}
		if req.Compute.Declared() && !rec.cell.Compute.Fits(req.Compute) {
			continue
		}
		c := Candidate{
			ID: rec.cell.ID, Zone: rec.cell.Zone, Order: rec.seq, ZoneRank: rec.rank,
			Total: rec.cell.Total, Available: a, StartingContainers: rec.cell.StartingContainers,
			ProxyMemoryMB: proxy, Same: same, ZoneSame: zoneSame, Compute: rec.cell.Compute,
		}
		if rec.side != nil {
			c.GPUPods = rec.side.affinity
		}
		cands = append(cands, c)
		recs = append(recs, rec)
	}
	s.cands, s.recs = cands, recs
	if len(cands) == 0 {
		return nil
	}
	i := alg.Choose(req, cands, s.set, r)
	if i < 0 || i >= len(cands) {
		return nil
	}
	return recs[i]
}

// problems builds "insufficient resources: ..." from the problems shared by every
// compatible cell (DIEGO.md §1.3): a resource is listed when no compatible cell has
// enough of it; max_per_cell when every compatible cell is at the LRP's cap.
func (s *State) problems(st []uint8, mem, disk int, lrp bool, gid int32, maxPerCell int, comp *model.Compute) string {
	s.flush()
	lackM, lackD, lackC := true, true, true
	for _, g := range s.grpList {
		if g.active == 0 || st[g.key.sig] != stagePass {
			continue
		}
		root := &g.t.nodes[1]
		m := mem
		if lrp {
			m += g.key.proxy
		}
		lackM = lackM && int(root.maxM) < m
		lackD = lackD && int(root.maxD) < disk
		lackC = lackC && root.maxC < 1
	}
	// CPU and GPUs (when asked for): listed when no compatible cell has enough, like the
	// others, in the same alphabetical order.
	lackCPU, lackGPU := comp.Declared() && comp.MilliCPU > 0, comp.Declared() && comp.GPUs > 0
	if lackCPU || lackGPU {
		for _, rec := range s.cells {
			if rec.cell.Evacuating || st[rec.grp.key.sig] != stagePass {
				continue
			}
			lackCPU = lackCPU && !rec.cell.Compute.FitsCPU(comp)
			lackGPU = lackGPU && !rec.cell.Compute.FitsGPU(comp)
		}
	}
	var ps []string
	if lackC {
		ps = append(ps, ProblemContainers)
	}
	if lackCPU {
		ps = append(ps, ProblemCPU)
	}
	if lackD {
		ps = append(ps, ProblemDisk)
	}
	if lackGPU {
		ps = append(ps, ProblemGPU)
	}
	if lrp && maxPerCell > 0 {
		all := true
		for _, rec := range s.cells {
			if !rec.cell.Evacuating && st[rec.grp.key.sig] == stagePass && int(rec.guids.get(gid)) < maxPerCell {
				all = false
				break
			}
		}
		if all {
			ps = append(ps, ProblemMaxPerCell)
		}
	}
	if lackM {
		ps = append(ps, ProblemMemory)
	}
	if len(ps) == 0 {
		return ErrTextInsufficient
	}
	return ErrTextInsufficient + ": " + strings.Join(ps, ", ")
}

// Diego is the exact Diego algorithm (the default): zone tiers by same-guid instances,
// then the lowest Diego score, ties to the earliest cell in cell order. Schedule runs
// it on the State's index (searchLRP/searchTask); Choose is the same rule over an
// enumerated candidate list, for use outside a State.
type Diego struct{}

var _ Algorithm = Diego{}
var _ indexed = Diego{}

func (Diego) Name() string { return "diego" }

// Choose picks the candidate of the lowest zone tier (ZoneSame) with the lowest score.
func (Diego) Choose(req Request, cands []Candidate, s Settings, _ *rand.Rand) int {
	best, bestScore, bestTier, bestOrder := -1, initialWinnerScore, math.MaxInt, math.MaxInt
	for i := range cands {
		c := &cands[i]
		tier := 0
		if !req.Task {
			tier = c.ZoneSame
		}
		sc := DiegoScore(req, c, s)
		if tier < bestTier && sc < initialWinnerScore {
			best, bestScore, bestTier, bestOrder = i, sc, tier, c.Order
			continue
		}
		if tier == bestTier && (sc < bestScore || (sc == bestScore && c.Order < bestOrder)) {
			best, bestScore, bestOrder = i, sc, c.Order
		}
	}
	return best
}

func (d Diego) place(s *State, q *query, _ *rand.Rand) *cellRec {
	if q.task {
		return d.searchTask(s, q)
	}
	return d.searchLRP(s, q)
}

func (Diego) searchLRP(s *State, q *query) *cellRec {
	s.flush()
	st := q.st
	counts := s.zoneCounts(q.gid)
	tiers := s.tiers[:0]
	for z := range s.zones {
		tiers = append(tiers, int(counts[z]))
	}
	slices.Sort(tiers)
	tiers = slices.Compact(tiers)
	s.tiers = tiers
	for _, v := range tiers {
		s.heap = s.heap[:0]
		for z := range s.zones {
			if int(counts[z]) != v {
				continue
			}
			for _, g := range s.zoneGrps[z] {
				if g.active > 0 && st[g.key.sig] == stagePass {
					s.pushRoot(g, q.mem, q.disk, false)
				}
			}
		}
		// In a tier of zones without an instance of the guid no cell has one (the zone
		// counts cover every cell a search can score: evacuating cells have empty
		// leaves): the search skips the per-cell count, a cache miss per scored cell.
		gid := q.gid
		if v == 0 {
			gid = noInstances
		}
		if win := s.search(q.mem, q.disk, false, gid, q.maxPerCell); win != nil {
			return win
		}
	}
	return nil
}

func (Diego) searchTask(s *State, q *query) *cellRec {
	s.flush()
	s.flushCold()
	s.heap = s.heap[:0]
	for _, g := range s.grpList {
		if g.active > 0 && q.st[g.key.sig] == stagePass {
			s.pushRoot(g, q.mem, q.disk, true)
		}
	}
	return s.search(q.mem, q.disk, true, -1, 0)
}

// reqPart is the request-dependent part of the score estimate on a cell of g, for
// memory mp (proxy included for LRPs) and disk.
func reqPart(g *group, mp, disk int) float64 {
	return (float64(mp)*g.invTot[0] + float64(disk)*g.invTot[1] + g.invTot[2]) / 3
}

// pushRoot queues the root of g's tree for search when its maxima fit the item, with
// its estimate (the lowest key below + the request part) like any other node.
func (s *State) pushRoot(g *group, mem, disk int, task bool) {
	mp := mem
	if !task {
		mp += g.key.proxy
	}
	n := &g.t.nodes[1]
	if int(n.maxM) < mp || int(n.maxD) < disk || n.maxC < 1 {
		return
	}
	key := n.kL
	if task {
		key = g.t.cold[1].kT
	}
	s.heap.pushFields(key+reqPart(g, mp, disk), math.NaN(), g, n.minSeq, 1)
}

// noInstances, as search's gid, says that no cell the search can score holds an
// instance of the LRP's guid.
const noInstances int32 = -2

// search is a best-first branch and bound over the tree nodes queued in s.heap. It
// returns exactly the cell a scan would: the lowest exact score, ties to the lowest
// cell order, scores must be below 1e20. Two bounds prune a node:
//
//   - exact: the score formula evaluated on the node's best figures (max available,
//     min starting, min rank, min tasks, no locality) is <= every score below it,
//     because every float64 operation is monotone; a node whose exact bound is above
//     the best score, or equal to it with only later cells, cannot win;
//   - estimate: the min real-valued key + the request part q is within margin of
//     every score below; as nodes leave the heap in key order, the search stops at the
//     first whose estimate exceeds the best score by more than the margin;
//   - ties (LRPs): a subtree whose tie class (tie in index.go) has exactly the best
//     cell's figures, in a group with the same totals and proxy memory, later in cell
//     order, while the best cell has no instance of the guid, holds only cells that
//     score exactly the best score or more (the class, later: they lose the tie) and
//     cells whose estimate from k2 exceeds the best score by more than the margin.
func (s *State) search(mem, disk int, task bool, gid int32, maxPerCell int) *cellRec {
	ws, wb := s.set.StartingContainerWeight, s.set.BinPackFirstFitWeight
	bestScore := initialWinnerScore
	bestSeq := math.MaxInt
	var best *cellRec
	var bestProf profile // the best cell's figures, valid when bestTie
	bestTie := false     // the best cell has no instance of the guid (LRPs)
	bound := func(g *group, idx int, mp int) float64 {
		n := &g.t.nodes[idx]
		rs := ResourceScore(model.Resources{MemoryMB: int(n.maxM), DiskMB: int(n.maxD), Containers: int(n.maxC)}, g.key.total, mp, disk, int(n.minS), ws)
		if task {
			return rs + float64(LocalityOffset*int(g.t.cold[idx].minT))
		}
		return rs + float64(float64(n.minRank)*wb)
	}
	// tied reports whether node idx of g holds no cell that can beat the best.
	tied := func(g *group, idx int, q float64) bool {
		if !bestTie || g.key.total != best.grp.key.total || g.key.proxy != best.grp.key.proxy {
			return false
		}
		t := &g.t.ties[idx]
		if !t.uniq() || t.prof != bestProf || int(t.seq()) <= bestSeq {
			return false
		}
		if math.IsInf(t.k2, 1) {
			return true // the tie class is all there is
		}
		k2 := t.k2 + q
		return k2-margin(k2) > bestScore
	}
	for len(s.heap) > 0 {
		ekey, eeb, g, _, eidx := s.heap.popFields()
		if ekey-margin(ekey) > bestScore {
			break
		}
		mp := mem
		if !task {
			mp += g.key.proxy
		}
		q := reqPart(g, mp, disk)
		if tied(g, int(eidx), q) {
			continue
		}
		// Dive: follow the child with the lowest estimate down to a leaf, queueing the
		// others; nodes in the heap keep the break condition above valid. The exact
		// bound is only worth computing once there is a best score to compare it with
		// (NaN = not computed); before that, the leaf comparison alone is exact. The
		// others of a dive made before any best exists wait in s.later until the dive
		// ends, and then go through the same tests as the children of a node below a
		// best (most fail them: a dive ends at a cell whose score is near the lowest
		// estimate), so the heap only gets those that may still matter.
		for idx, eb := int(eidx), eeb; ; {
			n := &g.t.nodes[idx]
			if best != nil {
				if math.IsNaN(eb) {
					eb = bound(g, idx, mp)
				}
				if eb > bestScore || (eb == bestScore && int(n.minSeq) > bestSeq) {
					break
				}
			}
			if idx >= g.t.size {
				rec := g.cells[idx-g.t.size]
				rs := ResourceScore(rec.cell.Available, g.key.total, mp, disk, rec.cell.StartingContainers, ws)
				var sc float64
				same := 0
				if task {
					sc = rs + float64(LocalityOffset*len(rec.tasks))
				} else {
					if gid != noInstances {
						same = int(rec.guids.get(gid))
					}
					if maxPerCell > 0 && same >= maxPerCell {
						break
					}
					sc = rs + float64(LocalityOffset*same) + float64(float64(rec.rank)*wb)
				}
				if sc < bestScore || (sc == bestScore && rec.seq < bestSeq) {
					best, bestScore, bestSeq = rec, sc, rec.seq
					if !task {
						bestTie = same == 0
						bestProf = g.t.ties[idx].prof
					}
				}
				break
			}
			// The children that survive, as scalars (a searchEntry built on the stack
			// and copied stalls on store forwarding): estimate, exact bound, cell order,
			// node index.
			var ckey, ceb [fan]float64
			var cseq, cidx [fan]int32
			k := 0
			for c := fan * idx; c < fan*idx+fan; c++ {
				cn := &g.t.nodes[c]
				if int(cn.maxM) < mp || int(cn.maxD) < disk || cn.maxC < 1 {
					continue
				}
				key := cn.kL
				if task {
					key = g.t.cold[c].kT
				}
				key += q
				eb := math.NaN()
				if best != nil {
					if key-margin(key) > bestScore {
						continue
					}
					eb = bound(g, c, mp)
					if eb > bestScore || (eb == bestScore && int(cn.minSeq) > bestSeq) {
						continue
					}
					if tied(g, c, q) {
						continue
					}
				}
				ckey[k], ceb[k], cseq[k], cidx[k] = key, eb, cn.minSeq, int32(c)
				k++
			}
			if k == 0 {
				break
			}
			// Dive into the child of the lowest (estimate, cell order) (searchHeap.less);
			// queue the others.
			m := 0
			for j := 1; j < k; j++ {
				if ckey[j] < ckey[m] || (ckey[j] == ckey[m] && cseq[j] < cseq[m]) {
					m = j
				}
			}
			for j := 0; j < k; j++ {
				if j == m {
					continue
				}
				if best == nil {
					// field by field, as the heap does (searchHeap)
					n := len(s.later)
					if n == cap(s.later) {
						s.later = slices.Grow(s.later, 1)
					}
					s.later = s.later[:n+1]
					o := &s.later[n]
					o.key, o.eb, o.grp, o.seq, o.idx = ckey[j], ceb[j], g, cseq[j], cidx[j]
				} else {
					s.heap.pushFields(ckey[j], ceb[j], g, cseq[j], cidx[j])
				}
			}
			idx, eb = int(cidx[m]), ceb[m]
		}
		for j := range s.later {
			o := &s.later[j]
			if best != nil {
				// the child tests above, for a node queued before the best existed
				if o.key-margin(o.key) > bestScore {
					continue
				}
				mp := mem
				if !task {
					mp += o.grp.key.proxy
				}
				o.eb = bound(o.grp, int(o.idx), mp)
				if o.eb > bestScore || (o.eb == bestScore && int(o.seq) > bestSeq) || tied(o.grp, int(o.idx), reqPart(o.grp, mp, disk)) {
					continue
				}
			}
			s.heap.pushFields(o.key, o.eb, o.grp, o.seq, o.idx)
		}
		s.later = s.later[:0]
	}
	return best
}
