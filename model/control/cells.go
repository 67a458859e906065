package control

import (
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/auction"
)

// CellView is the auctioneer's view of the cells, owned by the plane: each cell's
// totals, what its containers hold and how many are starting. A driver whose cells live
// in the same process (the simulator) keeps it current as containers come and go, and
// the plane auctions against it (RunAuction with no fetched state); real mode fetches
// the cells' states before each batch instead.
//
// A CellView is a handle: copies share the plane's view. The ref methods reach a cell
// through its CellRef with no lookup of the id (the per-event paths at 10,000 cells).
type CellView struct{ st *auction.State }

// Cells returns the plane's view of the cells.
func (p *Plane) Cells() CellView { return CellView{p.view} }

// CellRef names a cell of the view (see auction.CellRef: valid until the cell is
// removed; a cell added again needs a new one).
type CellRef = auction.CellRef

// UseGUIDs makes the view take process ids from the run's shared table (call it before
// any LRP is added).
func (v CellView) UseGUIDs(names *model.GUIDs) { v.st.UseGUIDs(names) }

// AddCell adds a cell (its containers are added with AddLRP and AddTask) and returns
// its ref.
func (v CellView) AddCell(c model.Cell) (CellRef, error) {
	if err := v.st.AddCell(c); err != nil {
		return CellRef{}, err
	}
	ref, _ := v.st.Ref(c.ID)
	return ref, nil
}

// RemoveCell forgets a cell and its containers (lost, partitioned, gone); it reports
// whether the view held it.
func (v CellView) RemoveCell(id string) bool { return v.st.RemoveCell(id) }

// SetEvacuating marks a cell evacuating (the auction skips it) or back.
func (v CellView) SetEvacuating(id string, on bool) { v.st.SetEvacuating(id, on) }

// AddLRP records an instance of processGUID on the cell, starting or running.
func (v CellView) AddLRP(cellID, processGUID string, r model.Resource, starting bool) error {
	return v.st.AddLRP(cellID, processGUID, r, starting)
}

// AddTask records a task on the cell, starting or running.
func (v CellView) AddTask(cellID, taskGUID string, r model.Resource, starting bool) error {
	return v.st.AddTask(cellID, taskGUID, r, starting)
}

// Started: one starting container of the cell runs now.
func (v CellView) Started(c CellRef) error { return v.st.StartedRef(c) }

// RemovedLRP: an instance of processGUID left the cell (its container was deleted).
func (v CellView) RemovedLRP(c CellRef, processGUID string, r model.Resource, starting bool) error {
	return v.st.RemoveLRPRef(c, processGUID, r, starting)
}

// RemovedTask: a task left the cell.
func (v CellView) RemovedTask(cellID, taskGUID string, r model.Resource, starting bool) error {
	return v.st.RemoveTask(cellID, taskGUID, r, starting)
}

// PrefetchLRP starts loading what an event of the instance of process id on the cell
// will touch in the view (a hint; it changes nothing).
func (v CellView) PrefetchLRP(c CellRef, id int32) { v.st.PrefetchLRP(c, id) }

// List returns every cell's current figures, in the order they were added.
func (v CellView) List() []model.Cell { return v.st.Cells() }

// AddLRPCompute is AddLRP for an instance that also holds CPU and GPUs (nil: none).
func (v CellView) AddLRPCompute(cellID, processGUID string, r model.Resource, comp *model.Compute, starting bool) error {
	return v.st.AddLRPCompute(cellID, processGUID, r, comp, starting)
}

// AddTaskCompute is AddTask for a task that also holds CPU and GPUs (nil: none).
func (v CellView) AddTaskCompute(cellID, taskGUID string, r model.Resource, comp *model.Compute, starting bool) error {
	return v.st.AddTaskCompute(cellID, taskGUID, r, comp, starting)
}

// Compute returns a copy of the cell's CPU and GPUs (nil when it declares none or the
// view does not hold it).
func (v CellView) Compute(cellID string) *model.CellCompute { return v.st.Compute(cellID) }

// ComputeTotals sums the CPU and GPUs of the view's cells.
func (v CellView) ComputeTotals() auction.ComputeTotals { return v.st.ComputeTotals() }
