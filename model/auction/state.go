package auction

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/diegolab/diegolab/internal/prefetch"
	"github.com/diegolab/diegolab/internal/strref"
	"github.com/diegolab/diegolab/model"
)

// cellRec is one cell and the work the auctioneer knows on it.
type cellRec struct {
	cell  model.Cell // Available, StartingContainers and Evacuating are current
	seq   int        // cell order: increases with every AddCell
	zone  int
	grp   *group
	leaf  int
	rank  int // position in its zone by (Index, seq) among non-evacuating cells
	proxy int // proxy memory added to LRPs on this cell
	guids gidCounts
	tasks map[string]struct{}
	owner *State    // the State that holds the cell; nil once RemoveCell forgot it
	head  int32     // its entry in State.heads
	side  *cellSide // GPU work on the cell (compute.go); nil until it has some
}

// gidHead is where a cell's same-guid table (gidCounts) lives, kept by the State in a
// dense array (heads) so that PrefetchLRP finds a count's slot without reading the
// cell's record, a cache miss it would otherwise wait on before it could prefetch.
type gidHead struct {
	slots *gidSlot // the table's first slot; nil when it has none
	shift uint8    // gidCounts.shift
}

// capSig is one distinct combination of what a cell offers for the filters.
type capSig struct {
	preloaded map[string]bool // stack names of preloaded:NAME providers
	arbitrary map[string]bool // other schemes (docker, ...)
	drivers   map[string]bool
	required  map[string]bool
	optional  map[string]bool
}

// groupKey: cells of one group share a zone, a capability signature, totals and proxy
// memory, so the filters pass or fail for all of them alike and the request-dependent
// part of the score is the same for all of them.
type groupKey struct {
	zone, sig int
	total     model.Resources
	proxy     int
}

type group struct {
	key    groupKey
	invTot [3]float64
	t      tree
	cells  []*cellRec // by leaf; nil for a freed leaf
	free   []int      // freed leaves
	active int        // non-evacuating cells
	dirty  bool       // t has inner nodes to flush (listed in State.dirty)
	dirtyC bool       // t has cold inner nodes to flush (listed in State.dirtyCold)
	// t's cold leaves may be stale (t.coldAll is set): refresh skipped them
	coldStale bool
}

// State is every cell the auctioneer knows, with the work on it, indexed for the
// auction. It is updated incrementally by the driver and by Schedule's reservations.
// The zero value is not usable: call NewState.
type State struct {
	set      Settings
	cells    []*cellRec // cell order
	byID     map[string]*cellRec
	nextSeq  int
	active   int // non-evacuating cells
	inflight int // starting containers on non-evacuating cells

	zones     []string
	zoneID    map[string]int
	zoneCells [][]*cellRec
	zoneDirty []bool
	zoneGrps  [][]*group

	sigs    []*capSig
	sigID   map[string]int
	groups  map[groupKey]*group
	grpList []*group // in creation order
	dirty   []*group // groups whose tree waits for a flush
	// groups whose tree's cold part waits for a flushCold
	dirtyCold []*group

	// heads[rec.head] locates each cell's gidCounts table (PrefetchLRP); the entries of
	// removed cells are reused (freeHeads)
	heads     []gidHead
	freeHeads []int32

	guidID map[string]int32 // unless names is set
	names  *model.GUIDs     // process ids shared with the driver (UseGUIDs)
	// guidZone is, per guid id, zoneStride int32s: a seen flag (1 once the State has
	// interned the guid) and, per zone, the instances on non-evacuating cells. One flat
	// array: a guid's flag and counts share a cache line, with no slice header to
	// follow first.
	guidZone   []int32
	zoneStride int // len(zones) + 1

	filterCache map[string][]uint8 // constraint key -> stage reached, per sig

	// cidx groups cells by CPU and GPU state for ComputeScorer algorithms
	// (compute_index.go); nil until one places a request.
	cidx *computeIndex
	// noComputeIndex makes ComputeScorers go through Choose like every algorithm (the
	// differential test's reference).
	noComputeIndex bool

	// scratch space reused by Schedule
	gids      []int32    // per de-duplicated LRP of the batch: its interned guid
	order     []workItem // the batch's placement order
	heap      searchHeap
	later     []searchEntry // search: nodes queued during a dive before any best existed
	cands     []Candidate
	recs      []*cellRec
	lastPC    model.PlacementConstraint
	lastStage []uint8
	tiers     []int
	q         query      // the item being placed (indexed algorithms)
	grpBounds []grpBound // compatible groups of one branch and bound
}

// NewState makes an empty State. Settings that fail Settings.Validate are clamped to
// Diego's defaults field by field; callers that take settings from users validate first.
func NewState(s Settings) *State {
	if s.Validate() != nil {
		d := DefaultSettings()
		if (Settings{StartingContainerWeight: s.StartingContainerWeight}).Validate() != nil {
			s.StartingContainerWeight = d.StartingContainerWeight
		}
		if (Settings{BinPackFirstFitWeight: s.BinPackFirstFitWeight}).Validate() != nil {
			s.BinPackFirstFitWeight = d.BinPackFirstFitWeight
		}
		s.MaxStartingContainers = max(s.MaxStartingContainers, 0)
		s.ProxyMemoryMB = max(s.ProxyMemoryMB, 0)
	}
	return &State{
		set: s, byID: map[string]*cellRec{}, zoneID: map[string]int{}, sigID: map[string]int{},
		groups: map[groupKey]*group{}, guidID: map[string]int32{}, filterCache: map[string][]uint8{},
	}
}

// Settings returns the State's settings.
func (s *State) Settings() Settings { return s.set }

// AddCell adds a cell after every known one (cell order). The cell must pass
// model.Cell.Validate and have positive totals; a duplicate id is an ExistsError.
func (s *State) AddCell(c model.Cell) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("cell %q: %w", c.ID, err)
	}
	switch {
	case c.Total.MemoryMB <= 0:
		return fmt.Errorf("cell %q: %w", c.ID, &model.ValidationError{Field: "total.memory_mb", Problem: "must be > 0"})
	case c.Total.DiskMB <= 0:
		return fmt.Errorf("cell %q: %w", c.ID, &model.ValidationError{Field: "total.disk_mb", Problem: "must be > 0"})
	case c.Total.Containers <= 0:
		return fmt.Errorf("cell %q: %w", c.ID, &model.ValidationError{Field: "total.containers", Problem: "must be > 0"})
	case c.Total.MemoryMB > math.MaxInt32 || c.Total.DiskMB > math.MaxInt32 || c.Total.Containers > math.MaxInt32:
		// The index keeps figures as int32 (index.go): 2,147,483,647 MB is 2 PB.
		return fmt.Errorf("cell %q: %w", c.ID, &model.ValidationError{Field: "total", Problem: "memory_mb, disk_mb and containers must each be <= 2147483647"})
	}
	if _, dup := s.byID[c.ID]; dup {
		return &model.ExistsError{Kind: "cell", Key: c.ID}
	}
	c.RootFSProviders = slices.Clone(c.RootFSProviders)
	c.PlacementTags = slices.Clone(c.PlacementTags)
	c.OptionalPlacementTags = slices.Clone(c.OptionalPlacementTags)
	c.VolumeDrivers = slices.Clone(c.VolumeDrivers)
	c.Compute = c.Compute.Clone()
	rec := &cellRec{cell: c, seq: s.nextSeq, tasks: map[string]struct{}{}, owner: s}
	s.nextSeq++
	if n := len(s.freeHeads); n > 0 {
		rec.head = s.freeHeads[n-1]
		s.freeHeads = s.freeHeads[:n-1]
	} else {
		rec.head = int32(len(s.heads))
		s.heads = append(s.heads, gidHead{})
	}
	rec.proxy = c.ProxyMemoryMB
	if rec.proxy == 0 {
		rec.proxy = s.set.ProxyMemoryMB
	}
	rec.zone = s.internZone(c.Zone)
	sig := s.internSig(&c)
	key := groupKey{zone: rec.zone, sig: sig, total: c.Total, proxy: rec.proxy}
	g := s.groups[key]
	if g == nil {
		g = &group{key: key, invTot: [3]float64{1 / float64(c.Total.MemoryMB), 1 / float64(c.Total.DiskMB), 1 / float64(c.Total.Containers)}}
		s.groups[key] = g
		s.grpList = append(s.grpList, g)
		s.zoneGrps[rec.zone] = append(s.zoneGrps[rec.zone], g)
	}
	rec.grp = g
	if n := len(g.free); n > 0 {
		// Leaf position carries no meaning: ties are broken by seq, kept in the nodes.
		rec.leaf = g.free[n-1]
		g.free = g.free[:n-1]
	} else {
		if g.coldStale && len(g.cells) == g.t.size {
			// grow is about to rebuild the cold part from the leaves: bring them up to
			// date first. Only then: the tree grows by a factor of fan, so the leaves
			// are rewritten O(cells) times in all, not once per cell added.
			s.refreshColdLeaves(g)
		}
		rec.leaf = len(g.cells)
		g.cells = append(g.cells, nil)
		g.t.grow(len(g.cells))
	}
	g.cells[rec.leaf] = rec
	s.cells = append(s.cells, rec)
	s.byID[c.ID] = rec
	s.zoneCells[rec.zone] = append(s.zoneCells[rec.zone], rec)
	s.zoneDirty[rec.zone] = true
	if !c.Evacuating {
		s.active++
		g.active++
		s.inflight += c.StartingContainers
	}
	if s.cidx != nil {
		s.cidx.add(rec)
	}
	s.refresh(rec)
	return nil
}

// RemoveCell forgets a cell and its work (the cell was lost). It reports whether the
// cell was known.
func (s *State) RemoveCell(id string) bool {
	rec, ok := s.byID[id]
	if !ok {
		return false
	}
	if !rec.cell.Evacuating {
		s.countWork(rec, -1)
	}
	g := rec.grp
	g.cells[rec.leaf] = nil
	s.setLeaf(g, rec.leaf, emptyNode, emptyTie, emptyCold)
	g.free = append(g.free, rec.leaf)
	if s.cidx != nil {
		s.cidx.remove(rec)
	}
	rec.owner = nil // stale for every CellRef to it
	s.heads[rec.head] = gidHead{}
	s.freeHeads = append(s.freeHeads, rec.head)
	delete(s.byID, id)
	s.cells = slices.DeleteFunc(s.cells, func(c *cellRec) bool { return c == rec })
	s.zoneCells[rec.zone] = slices.DeleteFunc(s.zoneCells[rec.zone], func(c *cellRec) bool { return c == rec })
	s.zoneDirty[rec.zone] = true
	return true
}

// countWork adds (sign +1) or removes (-1) a cell's work from the auction-wide counts
// that only cover non-evacuating cells.
func (s *State) countWork(rec *cellRec, sign int) {
	s.active += sign
	rec.grp.active += sign
	s.inflight += sign * rec.cell.StartingContainers
	for _, gid := range rec.guids.ids() {
		s.guidZone[s.zoneSlot(gid, rec.zone)] += int32(sign) * rec.guids.get(gid)
	}
}

// Cell returns the cell's current figures.
func (s *State) Cell(id string) (model.Cell, bool) {
	rec, ok := s.byID[id]
	if !ok {
		return model.Cell{}, false
	}
	c := rec.cell
	c.Compute = c.Compute.Clone()
	return c, true
}

// Cells returns every cell in cell order.
func (s *State) Cells() []model.Cell {
	out := make([]model.Cell, len(s.cells))
	for i, rec := range s.cells {
		out[i] = rec.cell
		out[i].Compute = rec.cell.Compute.Clone()
	}
	return out
}

// Len is the number of cells.
func (s *State) Len() int { return len(s.cells) }

// SetEvacuating marks a cell evacuating (skipped by the auction, DIEGO.md §1.1 step 3)
// or back. Unknown ids are ignored.
func (s *State) SetEvacuating(id string, on bool) {
	rec, ok := s.byID[id]
	if !ok || rec.cell.Evacuating == on {
		return
	}
	if on {
		s.countWork(rec, -1)
	} else {
		s.countWork(rec, +1)
	}
	rec.cell.Evacuating = on
	s.zoneDirty[rec.zone] = true
	s.refresh(rec)
}

// InstancesOf returns the instances of processGUID on the cell.
func (s *State) InstancesOf(cellID, processGUID string) int {
	rec, ok := s.byID[cellID]
	gid, ok2 := s.findGUID(processGUID)
	if !ok || !ok2 {
		return 0
	}
	return int(rec.guids.get(gid))
}

// TasksOn returns the number of tasks on the cell.
func (s *State) TasksOn(cellID string) int {
	if rec, ok := s.byID[cellID]; ok {
		return len(rec.tasks)
	}
	return 0
}

// CellRef names a cell of a State without its id: RemoveLRPRef and StartedRef reach
// the cell through it with no lookup of the id (a string-map probe, several cache
// misses at 10,000 cells). A ref stays valid while the cell is in the State that made
// it; once RemoveCell forgets the cell the ref is stale for good (the ref versions give
// the string versions' error for an unknown cell, and touch nothing), and a cell added
// again under the same id needs a new Ref. A ref of another State counts as stale. The
// zero CellRef is invalid (the error names the cell "").
type CellRef struct {
	rec  *cellRec
	head int32 // rec.head: PrefetchLRP's way to the cell's counts without reading rec
}

// Ref returns the ref of the cell with this id, if the State holds it.
func (s *State) Ref(cellID string) (CellRef, bool) {
	rec, ok := s.byID[cellID]
	if !ok {
		return CellRef{}, false
	}
	return CellRef{rec, rec.head}, true
}

// ID is the id of the cell c names ("" for the zero ref); still given once c is stale.
func (c CellRef) ID() string {
	if c.rec == nil {
		return ""
	}
	return c.rec.cell.ID
}

// deref returns the cell of c, or the NotFoundError the string versions give for an
// unknown id when c is stale, zero or of another State.
func (s *State) deref(c CellRef) (*cellRec, error) {
	if c.rec == nil || c.rec.owner != s {
		return nil, &model.NotFoundError{Kind: "cell", Key: c.ID()}
	}
	return c.rec, nil
}

func (s *State) lookup(cellID string, r model.Resource) (*cellRec, error) {
	rec, ok := s.byID[cellID]
	if !ok {
		return nil, &model.NotFoundError{Kind: "cell", Key: cellID}
	}
	if err := r.Validate("resource"); err != nil {
		return nil, err
	}
	return rec, nil
}

func (s *State) take(rec *cellRec, r model.Resource, starting bool) error {
	left := rec.cell.Available.Sub(r)
	if left.MemoryMB < 0 || left.DiskMB < 0 || left.Containers < 0 {
		return &model.ValidationError{Field: "resource", Problem: fmt.Sprintf("cell %s has %+v available, cannot take %+v", rec.cell.ID, rec.cell.Available, r)}
	}
	rec.cell.Available = left
	if starting {
		rec.cell.StartingContainers++
		if !rec.cell.Evacuating {
			s.inflight++
		}
	}
	return nil
}

func (s *State) give(rec *cellRec, r model.Resource, starting bool) error {
	back := rec.cell.Available.Add(r)
	if back.MemoryMB > rec.cell.Total.MemoryMB || back.DiskMB > rec.cell.Total.DiskMB || back.Containers > rec.cell.Total.Containers {
		return &model.ValidationError{Field: "resource", Problem: fmt.Sprintf("cell %s would have more than its total after freeing %+v", rec.cell.ID, r)}
	}
	if starting && rec.cell.StartingContainers == 0 {
		return &model.ValidationError{Field: "starting", Problem: "cell " + rec.cell.ID + " has no starting container"}
	}
	rec.cell.Available = back
	if starting {
		rec.cell.StartingContainers--
		if !rec.cell.Evacuating {
			s.inflight--
		}
	}
	return nil
}

// AddLRP records an LRP instance of processGUID on the cell: its resources leave
// Available and, when starting, StartingContainers rises.
func (s *State) AddLRP(cellID, processGUID string, r model.Resource, starting bool) error {
	return s.AddLRPCompute(cellID, processGUID, r, nil, starting)
}

// AddLRPCompute is AddLRP for an instance that also holds CPU and GPUs (comp, nil for
// none): they leave the cell's compute too (on the devices BestFitDevices picks), and
// RemoveLRP gives them back.
func (s *State) AddLRPCompute(cellID, processGUID string, r model.Resource, comp *model.Compute, starting bool) error {
	rec, err := s.lookup(cellID, r)
	if err != nil {
		return err
	}
	if processGUID == "" {
		return &model.ValidationError{Field: "process_guid", Problem: "must not be empty"}
	}
	if err := comp.Validate("compute"); err != nil {
		return err
	}
	if comp.Declared() && rec.cell.Compute != nil && !rec.cell.Compute.Fits(comp) {
		return s.addCompute(rec, comp, "", -1) // the error, before anything changes
	}
	if err := s.take(rec, r, starting); err != nil {
		return err
	}
	gid := s.internGUID(processGUID)
	_ = s.addCompute(rec, comp, "", gid) // fits: checked above
	s.countLRP(rec, gid, +1)
	s.refresh(rec)
	return nil
}

// countLRP moves the same-guid counts of interned guid gid only (resources untouched).
func (s *State) countLRP(rec *cellRec, gid int32, d int32) {
	before := len(rec.guids.slots)
	rec.guids.add(gid, d)
	if len(rec.guids.slots) != before { // the table moved (grew)
		s.heads[rec.head] = gidHead{slots: &rec.guids.slots[0], shift: rec.guids.shift}
	}
	if !rec.cell.Evacuating {
		s.guidZone[s.zoneSlot(gid, rec.zone)] += d
	}
}

// RemoveLRP undoes AddLRP for one instance.
func (s *State) RemoveLRP(cellID, processGUID string, r model.Resource, starting bool) error {
	rec, err := s.lookup(cellID, r)
	if err != nil {
		return err
	}
	return s.removeLRP(rec, processGUID, r, starting)
}

// RemoveLRPRef is RemoveLRP on the cell of c, without looking its id up: the same
// effect and the same errors (a stale or zero ref gives RemoveLRP's error for an
// unknown cell).
func (s *State) RemoveLRPRef(c CellRef, processGUID string, r model.Resource, starting bool) error {
	rec, err := s.deref(c)
	if err != nil {
		return err
	}
	if err := r.Validate("resource"); err != nil {
		return err
	}
	return s.removeLRP(rec, processGUID, r, starting)
}

// removeLRP is RemoveLRP once the cell is found and r checked.
func (s *State) removeLRP(rec *cellRec, processGUID string, r model.Resource, starting bool) error {
	gid, ok := s.findGUID(processGUID)
	if !ok || rec.guids.get(gid) == 0 {
		return &model.NotFoundError{Kind: "lrp", Key: processGUID + " on cell " + rec.cell.ID}
	}
	if err := s.give(rec, r, starting); err != nil {
		return err
	}
	if rec.side != nil {
		s.giveLRPCompute(rec, gid)
	}
	s.countLRP(rec, gid, -1)
	s.refresh(rec)
	return nil
}

// AddTask records a task on the cell.
func (s *State) AddTask(cellID, taskGUID string, r model.Resource, starting bool) error {
	return s.AddTaskCompute(cellID, taskGUID, r, nil, starting)
}

// AddTaskCompute is AddTask for a task that also holds CPU and GPUs (comp, nil for
// none); RemoveTask gives them back.
func (s *State) AddTaskCompute(cellID, taskGUID string, r model.Resource, comp *model.Compute, starting bool) error {
	rec, err := s.lookup(cellID, r)
	if err != nil {
		return err
	}
	if taskGUID == "" {
		return &model.ValidationError{Field: "task_guid", Problem: "must not be empty"}
	}
	if _, dup := rec.tasks[taskGUID]; dup {
		return &model.ExistsError{Kind: "task", Key: taskGUID + " on cell " + cellID}
	}
	if err := comp.Validate("compute"); err != nil {
		return err
	}
	if comp.Declared() && rec.cell.Compute != nil && !rec.cell.Compute.Fits(comp) {
		return s.addCompute(rec, comp, taskGUID, -1) // the error, before anything changes
	}
	if err := s.take(rec, r, starting); err != nil {
		return err
	}
	_ = s.addCompute(rec, comp, taskGUID, -1) // fits: checked above
	rec.tasks[taskGUID] = struct{}{}
	s.refresh(rec)
	return nil
}

// RemoveTask undoes AddTask.
func (s *State) RemoveTask(cellID, taskGUID string, r model.Resource, starting bool) error {
	rec, err := s.lookup(cellID, r)
	if err != nil {
		return err
	}
	if _, ok := rec.tasks[taskGUID]; !ok {
		return &model.NotFoundError{Kind: "task", Key: taskGUID + " on cell " + cellID}
	}
	if err := s.give(rec, r, starting); err != nil {
		return err
	}
	s.giveTaskCompute(rec, taskGUID)
	delete(rec.tasks, taskGUID)
	s.refresh(rec)
	return nil
}

// Started records that one starting container on the cell is now running.
func (s *State) Started(cellID string) error {
	rec, ok := s.byID[cellID]
	if !ok {
		return &model.NotFoundError{Kind: "cell", Key: cellID}
	}
	return s.started(rec)
}

// StartedRef is Started on the cell of c, without looking its id up: the same effect
// and the same errors (a stale or zero ref gives Started's error for an unknown cell).
func (s *State) StartedRef(c CellRef) error {
	rec, err := s.deref(c)
	if err != nil {
		return err
	}
	return s.started(rec)
}

func (s *State) started(rec *cellRec) error {
	if rec.cell.StartingContainers == 0 {
		return &model.ValidationError{Field: "starting_containers", Problem: "cell " + rec.cell.ID + " has no starting container"}
	}
	rec.cell.StartingContainers--
	if !rec.cell.Evacuating {
		s.inflight--
	}
	s.refresh(rec)
	return nil
}

// InFlight is the number of starting containers on non-evacuating cells.
func (s *State) InFlight() int { return s.inflight }

func (s *State) internZone(z string) int {
	if id, ok := s.zoneID[z]; ok {
		return id
	}
	id := len(s.zones)
	s.zones = append(s.zones, z)
	s.zoneID[z] = id
	s.zoneCells = append(s.zoneCells, nil)
	s.zoneDirty = append(s.zoneDirty, false)
	s.zoneGrps = append(s.zoneGrps, nil)
	// one more count per guid: restride the table (zones come with cells, before work)
	old, oldStride := s.guidZone, s.stride()
	s.zoneStride = len(s.zones) + 1
	if len(old) > 0 {
		s.guidZone = make([]int32, len(old)/oldStride*s.zoneStride)
		for g := 0; g < len(old)/oldStride; g++ {
			copy(s.guidZone[g*s.zoneStride:], old[g*oldStride:(g+1)*oldStride])
		}
	}
	return id
}

// UseGUIDs makes the State take its process ids from names, the table the driver
// shares with the other layers of the run, instead of keeping its own map: a guid laid
// out by names.Block is then found without hashing. Call it before any LRP is added.
func (s *State) UseGUIDs(names *model.GUIDs) {
	if len(s.guidZone) == 0 {
		s.names = names
	}
}

// stride is the number of int32s per guid in guidZone.
func (s *State) stride() int { return max(s.zoneStride, 1) }

// zoneSlot is the index in guidZone of interned guid gid's count in zone z.
func (s *State) zoneSlot(gid int32, z int) int { return int(gid)*s.zoneStride + 1 + z }

// zoneCounts returns interned guid gid's instance count per zone.
func (s *State) zoneCounts(gid int32) []int32 {
	b := int(gid) * s.zoneStride
	return s.guidZone[b+1 : b+s.zoneStride : b+s.zoneStride]
}

// findGUID returns the id of a process the State has seen.
func (s *State) findGUID(g string) (int32, bool) {
	if s.names == nil {
		id, ok := s.guidID[g]
		return id, ok
	}
	id, ok := s.names.Find(g)
	if !ok {
		return 0, false
	}
	if b := int(id) * s.stride(); b >= len(s.guidZone) || s.guidZone[b] == 0 {
		return 0, false
	}
	return id, true
}

// sameGUID reports whether guid a is known to be guid b without interning it. With
// shared GUIDs only the very same string (the same bytes: no byte is read, the common
// case of a batch's consecutive instances of one app) counts; any other string is
// interned, found from its address (equal bytes elsewhere give the same id). With its
// own map the State compares the bytes too (an intern would hash them anyway).
func (s *State) sameGUID(a, b string) bool {
	return strref.Same(a, b) || s.names == nil && a == b
}

func (s *State) internGUID(g string) int32 {
	if s.names != nil {
		id := s.names.ID(g)
		b := int(id) * s.stride()
		if b >= len(s.guidZone) {
			s.guidZone = slices.Grow(s.guidZone, b+s.stride()-len(s.guidZone))
			s.guidZone = s.guidZone[:b+s.stride()]
		}
		s.guidZone[b] = 1
		return id
	}
	if id, ok := s.guidID[g]; ok {
		return id
	}
	id := int32(len(s.guidID))
	s.guidID[g] = id
	s.guidZone = slices.Grow(s.guidZone, s.stride())
	s.guidZone = s.guidZone[:len(s.guidZone)+s.stride()]
	s.guidZone[int(id)*s.stride()] = 1
	return id
}

func setOf(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func sortedKey(xs []string) string {
	ys := slices.Clone(xs)
	slices.Sort(ys)
	ys = slices.Compact(ys)
	return strings.Join(ys, "\x01")
}

func (s *State) internSig(c *model.Cell) int {
	key := sortedKey(c.RootFSProviders) + "\x00" + sortedKey(c.VolumeDrivers) + "\x00" + sortedKey(c.PlacementTags) + "\x00" + sortedKey(c.OptionalPlacementTags)
	if id, ok := s.sigID[key]; ok {
		return id
	}
	sig := &capSig{preloaded: map[string]bool{}, arbitrary: map[string]bool{},
		drivers: setOf(c.VolumeDrivers), required: setOf(c.PlacementTags), optional: setOf(c.OptionalPlacementTags)}
	for _, p := range c.RootFSProviders {
		if name, ok := strings.CutPrefix(p, "preloaded:"); ok {
			sig.preloaded[name] = true
		} else {
			sig.arbitrary[strings.TrimSuffix(p, ":")] = true
		}
	}
	id := len(s.sigs)
	s.sigs = append(s.sigs, sig)
	s.sigID[key] = id
	return id
}

// Filter stages: how far a cell of a signature gets through the checks.
const (
	stageRootFS  uint8 = iota // fails the rootfs check
	stageDrivers              // rootfs ok, fails the volume drivers
	stageTags                 // drivers ok, fails the placement tags
	stagePass                 // compatible
)

// stage applies DIEGO.md §1.3's checks in order.
func (sig *capSig) stage(pc *model.PlacementConstraint) uint8 {
	if !sig.matchRootFS(pc.RootFS) {
		return stageRootFS
	}
	for _, d := range pc.VolumeDrivers {
		if !sig.drivers[d] {
			return stageDrivers
		}
	}
	desired := setOf(pc.PlacementTags)
	for t := range sig.required {
		if !desired[t] {
			return stageTags
		}
	}
	for _, t := range pc.PlacementTags {
		if !sig.required[t] && !sig.optional[t] {
			return stageTags
		}
	}
	return stagePass
}

// matchRootFS: preloaded:NAME (and preloaded+layer:NAME) needs the stack NAME; any other
// scheme is matched by the scheme alone (an arbitrary provider such as docker).
func (sig *capSig) matchRootFS(rootfs string) bool {
	u, err := url.Parse(rootfs)
	if err != nil || u.Scheme == "" {
		return false
	}
	if u.Scheme == "preloaded" || u.Scheme == "preloaded+layer" {
		return sig.preloaded[u.Opaque]
	}
	return sig.arbitrary[u.Scheme]
}

// stages returns the stage of every signature for the constraint (cached).
func (s *State) stages(pc *model.PlacementConstraint) []uint8 {
	if s.lastStage != nil && len(s.lastStage) == len(s.sigs) && pc.RootFS == s.lastPC.RootFS &&
		slices.Equal(pc.VolumeDrivers, s.lastPC.VolumeDrivers) && slices.Equal(pc.PlacementTags, s.lastPC.PlacementTags) {
		return s.lastStage
	}
	key := pc.RootFS + "\x00" + strings.Join(pc.VolumeDrivers, "\x01") + "\x00" + strings.Join(pc.PlacementTags, "\x01")
	st := s.filterCache[key]
	for i := len(st); i < len(s.sigs); i++ {
		st = append(st, s.sigs[i].stage(pc))
	}
	s.filterCache[key] = st
	s.lastPC, s.lastStage = *pc, st
	return st
}

// refreshRanks renumbers the non-evacuating cells of every changed zone by (Index, cell
// order), 0..n-1: Diego's bin-pack index.
func (s *State) refreshRanks() {
	for z, dirty := range s.zoneDirty {
		if !dirty {
			continue
		}
		s.zoneDirty[z] = false
		live := make([]*cellRec, 0, len(s.zoneCells[z]))
		for _, rec := range s.zoneCells[z] {
			if !rec.cell.Evacuating {
				live = append(live, rec)
			}
		}
		sort.SliceStable(live, func(i, j int) bool { return live[i].cell.Index < live[j].cell.Index })
		for i, rec := range live {
			if rec.rank != i {
				rec.rank = i
				s.refresh(rec)
			}
		}
	}
}

// leafBase is the part of a cell's keys that both the LRP and the task key share.
func (s *State) leafBase(rec *cellRec) float64 {
	g, a := rec.grp, rec.cell.Available
	return 1 - (float64(a.MemoryMB)*g.invTot[0]+float64(a.DiskMB)*g.invTot[1]+float64(a.Containers)*g.invTot[2])/3 +
		float64(rec.cell.StartingContainers)*s.set.StartingContainerWeight
}

// coldLeaf is the cold part of a non-evacuating cell's leaf, from its base (leafBase).
func coldLeaf(rec *cellRec, base float64, minSeq int32) cnode {
	a := rec.cell.Available
	cn := cnode{kT: base + float64(LocalityOffset*len(rec.tasks)), minT: c32(len(rec.tasks)),
		maxMf: -1, maxDf: -1, minM: math.MaxInt32, minD: math.MaxInt32, minSeqF: math.MaxInt32}
	if a.Containers >= 1 {
		cn.maxMf, cn.maxDf, cn.minM, cn.minD = int32(a.MemoryMB), int32(a.DiskMB), int32(a.MemoryMB), int32(a.DiskMB)
		cn.minSeqF = minSeq
	}
	return cn
}

// refresh recomputes the cell's leaf in its group's tree. While the group's whole cold
// part waits for a rebuild (coldAll: diego's steady state, which never reads it) the
// cold leaf is not written either, only marked stale: flushCold recomputes the stale
// leaves of the group from their cells first (refreshColdLeaves), a cache line less
// per write.
func (s *State) refresh(rec *cellRec) {
	g := rec.grp
	if rec.cell.Evacuating {
		s.setLeaf(g, rec.leaf, emptyNode, emptyTie, emptyCold)
		return
	}
	a := rec.cell.Available
	base := s.leafBase(rec)
	n := node{
		kL:   base + float64(rec.rank)*s.set.BinPackFirstFitWeight,
		maxM: int32(a.MemoryMB), maxD: int32(a.DiskMB), maxC: int32(a.Containers),
		minS: c32(rec.cell.StartingContainers), minRank: c32(rec.rank), minSeq: c32(rec.seq),
	}
	// The profile leaves out what a zero weight multiplies away, so that cells
	// differing only there count as exact ties (they score alike).
	prof := profile{m: n.maxM, d: n.maxD, c: n.maxC, s: n.minS, rank: n.minRank}
	if s.set.StartingContainerWeight == 0 {
		prof.s = 0
	}
	if s.set.BinPackFirstFitWeight == 0 {
		prof.rank = 0
	}
	tv := mkTie(math.Inf(1), prof, n.minSeq, true)
	g.t.setHot(rec.leaf, &n, &tv)
	if g.t.coldAll {
		g.coldStale = true
	} else {
		cn := coldLeaf(rec, base, n.minSeq)
		g.t.setCold(rec.leaf, &cn)
	}
	s.listDirty(g)
}

// refreshColdLeaves rewrites every cold leaf of g from its cell (refresh's cold part).
func (s *State) refreshColdLeaves(g *group) {
	for leaf, rec := range g.cells {
		cn := emptyCold
		if rec != nil && !rec.cell.Evacuating {
			cn = coldLeaf(rec, s.leafBase(rec), c32(rec.seq))
		}
		g.t.cold[g.t.size+leaf] = cn
	}
	g.coldStale = false
}

// setLeaf writes a leaf of g's tree and lists g for the next flush and flushCold.
func (s *State) setLeaf(g *group, leaf int, v node, tv tie, cv cnode) {
	g.t.set(leaf, v, tv, cv)
	s.listDirty(g)
}

// listDirty lists g for the next flush and flushCold if its tree has pending work.
func (s *State) listDirty(g *group) {
	if len(g.t.pend) > 0 && !g.dirty {
		g.dirty = true
		s.dirty = append(s.dirty, g)
	}
	if (g.t.coldAll || len(g.t.pendCold) > 0) && !g.dirtyC {
		g.dirtyC = true
		s.dirtyCold = append(s.dirtyCold, g)
	}
}

// flush brings every tree's inner nodes and ties up to date (tree.flush). Whatever
// reads them calls it first (diego's searches, problems, dot-product's search), as
// flushCold for the cold part: a reservation, like the driver's updates, only writes a
// leaf, so the built-ins other than diego and dot-product never climb the hot part.
func (s *State) flush() {
	for _, g := range s.dirty {
		g.t.flush()
		g.dirty = false
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
}

// flushCold brings every tree's cold part up to date (tree.flushCold): the searches
// that read it (tasks, the built-ins other than diego) call it first.
func (s *State) flushCold() {
	for _, g := range s.dirtyCold {
		if g.coldStale {
			s.refreshColdLeaves(g) // coldAll: every inner cold node is rebuilt next
		}
		g.t.flushCold()
		g.dirtyC = false
	}
	clear(s.dirtyCold)
	s.dirtyCold = s.dirtyCold[:0]
}

// addListedLRP counts an instance listed on a cell whose Available already accounts for
// it (the /state reply, STATE.json): same-guid counts only, resources untouched.
func (s *State) addListedLRP(cellID, processGUID string) error {
	rec, ok := s.byID[cellID]
	if !ok {
		return &model.NotFoundError{Kind: "cell", Key: cellID}
	}
	s.countLRP(rec, s.internGUID(processGUID), +1)
	s.refresh(rec)
	return nil
}

// addListedTask counts a task listed on a cell whose Available already accounts for it.
func (s *State) addListedTask(cellID, taskGUID string) error {
	rec, ok := s.byID[cellID]
	if !ok {
		return &model.NotFoundError{Kind: "cell", Key: cellID}
	}
	if _, dup := rec.tasks[taskGUID]; dup {
		return &model.ExistsError{Kind: "task", Key: taskGUID + " on cell " + cellID}
	}
	rec.tasks[taskGUID] = struct{}{}
	s.refresh(rec)
	return nil
}

// PrefetchLRP starts loading what RemoveLRPRef or StartedRef will read on cell c for the
// process with shared id (UseGUIDs): the cell's record, its per-guid count and the guid's
// zone counts. A driver calls it an event ahead (internal/prefetch); it changes nothing.
// It does not read the record (which it only starts loading): the count's slot is found
// through the State's dense array of table heads (heads), by c's index into it. A stale
// ref's index may name another cell's table by then: a useless prefetch, nothing more.
func (s *State) PrefetchLRP(c CellRef, id int32) {
	rec := c.rec
	if rec == nil || id < 0 {
		return
	}
	prefetch.Line(unsafe.Pointer(rec))
	prefetch.Line(unsafe.Pointer(&rec.owner))
	if s.names != nil {
		if b := int(id) * s.stride(); b < len(s.guidZone) {
			prefetch.Line(unsafe.Pointer(&s.guidZone[b]))
		}
	}
	if uint(c.head) < uint(len(s.heads)) {
		if h := &s.heads[c.head]; h.slots != nil {
			// gidCounts.home: a slot index below the table's length (1 << (32-shift))
			i := uintptr((uint32(id+1) * 0x9E3779B9) >> h.shift)
			prefetch.Line(unsafe.Add(unsafe.Pointer(h.slots), i*unsafe.Sizeof(gidSlot{})))
		}
	}
}
