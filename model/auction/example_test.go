package auction_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/auction"
)

// mostContainers is a researcher's algorithm: the cell with the most free containers
// (ties: cell order). The shared auction has already applied the filters and the fit
// check, so Choose only ranks the candidates.
type mostContainers struct{}

func (mostContainers) Name() string { return "most-containers" }

func (mostContainers) Choose(_ auction.Request, cands []auction.Candidate, _ auction.Settings, _ *rand.Rand) int {
	best := 0
	for i := range cands {
		if cands[i].Available.Containers > cands[best].Available.Containers {
			best = i
		}
	}
	return best
}

func init() {
	auction.Register("most-containers", func() auction.Algorithm { return mostContainers{} })
}

// Example_customAlgorithm registers an algorithm and selects it by name, as a scenario
// or `diegolab auction --algorithm most-containers` would.
func Example_customAlgorithm() {
	s := auction.NewState(auction.DefaultSettings())
	for i, free := range []int{3, 8, 5} {
		tot := model.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: 10}
		_ = s.AddCell(model.Cell{ID: fmt.Sprintf("cell-%d", i), Zone: "z1", Total: tot,
			Available:       model.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: free},
			RootFSProviders: []string{"docker"}})
	}
	alg, err := auction.New("most-containers")
	if err != nil {
		fmt.Println(err)
		return
	}
	res := s.Schedule(auction.Batch{Tasks: []auction.Task{
		{GUID: "t1", Domain: "d", Resource: model.Resource{MemoryMB: 64, DiskMB: 64},
			PlacementConstraint: model.PlacementConstraint{RootFS: "docker:///busybox"}},
		{GUID: "t2", Domain: "d", Resource: model.Resource{MemoryMB: 4096, DiskMB: 64},
			PlacementConstraint: model.PlacementConstraint{RootFS: "docker:///busybox"}},
	}}, alg, nil)
	for _, t := range res.Tasks {
		fmt.Printf("%s -> %q %q\n", t.GUID, t.CellID, t.Error)
	}
	// Output:
	// t1 -> "cell-1" ""
	// t2 -> "" "insufficient resources: memory"
}
