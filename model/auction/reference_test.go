package auction

import (
	"math"
	"net/url"
	"sort"
	"strings"

	"github.com/diegolab/diegolab/model"
)

// refCell and refState are a plain, independent implementation of DIEGO.md §1.2-§1.4
// (every cell scanned for every item), the oracle of the differential tests.
type refCell struct {
	model.Cell
	lrps  map[string]int
	tasks int
}

type refState struct {
	set   Settings
	cells []*refCell
}

func (rs *refState) find(id string) *refCell {
	for _, c := range rs.cells {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func refRootFS(c *refCell, rootfs string) bool {
	u, err := url.Parse(rootfs)
	if err != nil || u.Scheme == "" {
		return false
	}
	for _, p := range c.RootFSProviders {
		if u.Scheme == "preloaded" || u.Scheme == "preloaded+layer" {
			if p == "preloaded:"+u.Opaque {
				return true
			}
		} else if p == u.Scheme {
			return true
		}
	}
	return false
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// refStage: 0 rootfs fails, 1 drivers fail, 2 tags fail, 3 compatible.
func refStage(c *refCell, pc model.PlacementConstraint) int {
	if !refRootFS(c, pc.RootFS) {
		return 0
	}
	for _, d := range pc.VolumeDrivers {
		if !contains(c.VolumeDrivers, d) {
			return 1
		}
	}
	for _, t := range c.PlacementTags {
		if !contains(pc.PlacementTags, t) {
			return 2
		}
	}
	for _, t := range pc.PlacementTags {
		if !contains(c.PlacementTags, t) && !contains(c.OptionalPlacementTags, t) {
			return 2
		}
	}
	return 3
}

func (rs *refState) proxy(c *refCell) int {
	if c.ProxyMemoryMB > 0 {
		return c.ProxyMemoryMB
	}
	return rs.set.ProxyMemoryMB
}

func (rs *refState) live() []*refCell {
	var out []*refCell
	for _, c := range rs.cells {
		if !c.Evacuating {
			out = append(out, c)
		}
	}
	return out
}

// rank: position within the zone's live cells sorted by Index, ties in cell order.
func (rs *refState) rank(c *refCell) int {
	var zone []*refCell
	for _, o := range rs.live() {
		if o.Zone == c.Zone {
			zone = append(zone, o)
		}
	}
	sort.SliceStable(zone, func(i, j int) bool { return zone[i].Index < zone[j].Index })
	for i, o := range zone {
		if o == c {
			return i
		}
	}
	panic("cell not in its zone")
}

func (rs *refState) resScore(c *refCell, mem, disk int) float64 {
	remM := float64(c.Available.MemoryMB - mem)
	remD := float64(c.Available.DiskMB - disk)
	remC := float64(c.Available.Containers - 1)
	used := (1.0 - remM/float64(c.Total.MemoryMB)) + (1.0 - remD/float64(c.Total.DiskMB)) + (1.0 - remC/float64(c.Total.Containers))
	starting := float64(float64(c.StartingContainers) * rs.set.StartingContainerWeight)
	return float64(used/3.0) + starting
}

func refProblems(c *refCell, mem, disk int) map[string]bool {
	p := map[string]bool{}
	if c.Available.DiskMB < disk {
		p["disk"] = true
	}
	if c.Available.MemoryMB < mem {
		p["memory"] = true
	}
	if c.Available.Containers < 1 {
		p["containers"] = true
	}
	return p
}

func refInsufficient(problems map[string]bool) string {
	var keys []string
	for k := range problems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "insufficient resources"
	}
	return "insufficient resources: " + strings.Join(keys, ", ")
}

func (rs *refState) filterErr(pc model.PlacementConstraint) (string, []*refCell) {
	live := rs.live()
	if len(live) == 0 {
		return "unable to communicate to compatible cells", nil
	}
	inflight := 0
	for _, c := range live {
		inflight += c.StartingContainers
	}
	if rs.set.MaxStartingContainers > 0 && inflight >= rs.set.MaxStartingContainers {
		return "waiting to start instance: reached in-flight start limit", nil
	}
	best := 0
	var compat []*refCell
	for _, c := range live {
		st := refStage(c, pc)
		if st > best {
			best = st
		}
		if st == 3 {
			compat = append(compat, c)
		}
	}
	switch best {
	case 0:
		return "found no compatible cell for required rootfs", nil
	case 1:
		return "found no compatible cell with required volume drivers", nil
	case 2:
		return PlacementTagError(pc.PlacementTags), nil
	}
	return "", compat
}

func (rs *refState) placeLRP(l LRP) (string, string) {
	if msg, compat := rs.filterErr(l.PlacementConstraint); msg != "" {
		return "", msg
	} else {
		zoneCount := map[string]int{}
		for _, c := range rs.live() {
			zoneCount[c.Zone] += c.lrps[l.ProcessGUID]
		}
		var counts []int
		for _, n := range zoneCount {
			counts = append(counts, n)
		}
		sort.Ints(counts)
		problems := map[string]bool{"disk": true, "memory": true, "containers": true, "max_per_cell": true}
		for ti, n := range counts {
			if ti > 0 && counts[ti-1] == n {
				continue
			}
			var winner *refCell
			winScore := 1e20
			for _, c := range compat {
				if zoneCount[c.Zone] != n {
					continue
				}
				mem := l.MemoryMB + rs.proxy(c)
				p := refProblems(c, mem, l.DiskMB)
				if l.MaxPerCell > 0 && c.lrps[l.ProcessGUID] >= l.MaxPerCell {
					p["max_per_cell"] = true
				}
				if len(p) > 0 {
					for k := range problems {
						if !p[k] {
							delete(problems, k)
						}
					}
					continue
				}
				sc := rs.resScore(c, mem, l.DiskMB) + float64(1000*c.lrps[l.ProcessGUID])
				if rs.set.BinPackFirstFitWeight > 0 {
					sc += float64(float64(rs.rank(c)) * rs.set.BinPackFirstFitWeight)
				}
				if sc < winScore {
					winner, winScore = c, sc
				}
			}
			if winner != nil {
				winner.Available = winner.Available.Sub(l.Resource)
				winner.StartingContainers++
				winner.lrps[l.ProcessGUID]++
				return winner.ID, ""
			}
		}
		return "", refInsufficient(problems)
	}
}

func (rs *refState) placeTask(t Task) (string, string) {
	msg, compat := rs.filterErr(t.PlacementConstraint)
	if msg != "" {
		return "", msg
	}
	problems := map[string]bool{"disk": true, "memory": true, "containers": true}
	var winner *refCell
	winScore := 1e20
	for _, c := range compat {
		p := refProblems(c, t.MemoryMB, t.DiskMB)
		if len(p) > 0 {
			for k := range problems {
				if !p[k] {
					delete(problems, k)
				}
			}
			continue
		}
		sc := rs.resScore(c, t.MemoryMB, t.DiskMB) + float64(1000*c.tasks)
		if sc < winScore {
			winner, winScore = c, sc
		}
	}
	if winner == nil {
		return "", refInsufficient(problems)
	}
	winner.Available = winner.Available.Sub(t.Resource)
	winner.StartingContainers++
	winner.tasks++
	return winner.ID, ""
}

// schedule: dedupe, then index-0 LRPs, tasks, index>=1 LRPs, each by insertion sort
// (stable) on the documented keys.
func (rs *refState) schedule(b Batch) Results {
	var res Results
	seen := map[string]bool{}
	for i := range b.LRPs {
		l := &b.LRPs[i]
		k := l.ProcessGUID + "\x00" + string(rune(l.Index+1))
		if !seen[k] {
			seen[k] = true
			res.LRPs = append(res.LRPs, LRPResult{LRP: l})
		}
	}
	seenT := map[string]bool{}
	for _, t := range b.Tasks {
		if !seenT[t.GUID] {
			seenT[t.GUID] = true
			res.Tasks = append(res.Tasks, TaskResult{Task: t})
		}
	}
	var first, later []int
	for i, l := range res.LRPs {
		if l.Index == 0 {
			first = append(first, i)
		} else {
			later = append(later, i)
		}
	}
	tasks := make([]int, len(res.Tasks))
	for i := range tasks {
		tasks[i] = i
	}
	insertion := func(xs []int, less func(a, b int) bool) {
		for i := 1; i < len(xs); i++ {
			for j := i; j > 0 && less(xs[j], xs[j-1]); j-- {
				xs[j], xs[j-1] = xs[j-1], xs[j]
			}
		}
	}
	insertion(first, func(a, b int) bool { return res.LRPs[a].MemoryMB > res.LRPs[b].MemoryMB })
	insertion(tasks, func(a, b int) bool { return res.Tasks[a].MemoryMB > res.Tasks[b].MemoryMB })
	insertion(later, func(a, b int) bool {
		la, lb := res.LRPs[a], res.LRPs[b]
		if la.Index != lb.Index {
			return la.Index < lb.Index
		}
		return la.MemoryMB > lb.MemoryMB
	})
	for _, i := range first {
		res.LRPs[i].CellID, res.LRPs[i].Error = rs.placeLRP(*res.LRPs[i].LRP)
	}
	for _, i := range tasks {
		res.Tasks[i].CellID, res.Tasks[i].Error = rs.placeTask(res.Tasks[i].Task)
	}
	for _, i := range later {
		res.LRPs[i].CellID, res.LRPs[i].Error = rs.placeLRP(*res.LRPs[i].LRP)
	}
	return res
}

var _ = math.Inf
