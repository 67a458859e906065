package auction

import (
	"fmt"
	"strings"

	"github.com/diegolab/diegolab/model"
)

// LocalityOffset is what each instance of the same process guid (or, for tasks, each
// task) already on a cell adds to its score (Diego: auctionrunner.LocalityOffset).
const LocalityOffset = 1000

// initialWinnerScore is Diego's starting winner score: a cell must score strictly lower.
const initialWinnerScore = 1e20

// Diego's placement error texts (DIEGO.md §1.3, auctiontypes/types.go).
const (
	ErrTextRootFS        = "found no compatible cell for required rootfs"
	ErrTextVolumeDrivers = "found no compatible cell with required volume drivers"
	ErrTextCommunication = "unable to communicate to compatible cells"
	ErrTextInflight      = "waiting to start instance: reached in-flight start limit"
	ErrTextInsufficient  = "insufficient resources"
)

// Resource problems reported by "insufficient resources: ...". ProblemMaxPerCell is
// diegolab's own (MaxPerCell is not in Diego).
const (
	ProblemContainers = "containers"
	ProblemCPU        = "cpu"
	ProblemDisk       = "disk"
	ProblemGPU        = "gpu"
	ProblemMaxPerCell = "max_per_cell"
	ProblemMemory     = "memory"
)

// PlacementTagError is Diego's NewPlacementTagMismatchError text for the requested tags,
// in the order they were requested.
func PlacementTagError(tags []string) string {
	switch len(tags) {
	case 0:
		return "found no compatible cell with no placement tags"
	case 1:
		return fmt.Sprintf("found no compatible cell with placement tag %q", tags[0])
	}
	return fmt.Sprintf("found no compatible cell with placement tags \"%s\" and %q",
		strings.Join(tags[:len(tags)-1], `", "`), tags[len(tags)-1])
}

// LRP is one LRP instance to place: its key, and what it asks for, which the instances
// of one desired LRP share (l.MemoryMB, l.RootFS and the rest read through Spec).
// 32 bytes, so a first auction of 10,000,000 instances queues 320 MB rather than 1.4 GB.
type LRP struct {
	ProcessGUID string
	Index       int
	*LRPSpec    // never nil; shared: do not modify it through one instance
}

// LRPSpec is what an LRP instance asks for, the same for every instance of its desired
// LRP.
type LRPSpec struct {
	Domain string
	model.Resource
	model.PlacementConstraint
	// MaxPerCell caps the instances of ProcessGUID on one cell (0 = no cap; not in Diego).
	MaxPerCell int
	// Compute is the CPU and GPUs the instance asks for (nil: none, as in Diego).
	Compute *model.Compute
}

// Task is one task to place.
type Task struct {
	GUID, Domain string
	model.Resource
	model.PlacementConstraint
	// Compute is the CPU and GPUs the task asks for (nil: none, as in Diego).
	Compute *model.Compute
}

// Batch is the work of one auction.
type Batch struct {
	LRPs  []LRP
	Tasks []Task
}

// LRPResult is the outcome for one LRP instance: CellID is "" when Error != "". LRP
// points at the item in the Batch that Schedule was given (its first occurrence), so a
// result costs 40 bytes rather than a copy of the item: a first auction of millions of
// instances would otherwise hold every item twice. Do not modify the batch while the
// results are in use.
type LRPResult struct {
	*LRP
	CellID string
	Error  string
}

// TaskResult is the outcome for one task: CellID is "" when Error != "".
type TaskResult struct {
	Task
	CellID string
	Error  string
}

// Results lists the de-duplicated items of a batch, each in input order of first
// occurrence.
type Results struct {
	LRPs  []LRPResult
	Tasks []TaskResult
}
