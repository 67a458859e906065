package auction

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/diegolab/diegolab/model"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// randomWorld builds the same random cluster into a State and a refState: cells in up to
// four zones with a few capacity classes, capabilities, existing work listed on cells
// (counted, Available authoritative) and committed through AddLRP/AddTask.
type randomWorld struct {
	st  *State
	ref *refState
}

var (
	testStacks  = []string{"preloaded:cflinuxfs4", "preloaded:cflinuxfs3", "docker"}
	testRootFS  = []string{"preloaded:cflinuxfs4", "preloaded:cflinuxfs3", "docker:///busybox", "preloaded:windows"}
	testTags    = []string{"a", "b", "c"}
	testDrivers = []string{"nfs", "smb"}
)

func pick(r *rand.Rand, xs []string, p float64) []string {
	var out []string
	for _, x := range xs {
		if r.Float64() < p {
			out = append(out, x)
		}
	}
	return out
}

func randomSettings(r *rand.Rand) Settings {
	s := DefaultSettings()
	switch r.IntN(4) {
	case 0:
		s.StartingContainerWeight = 0
	case 1:
		s.StartingContainerWeight = r.Float64() * 3
	}
	switch r.IntN(4) {
	case 0:
		s.BinPackFirstFitWeight = []float64{0.1, 0.25, 0.5, 1}[r.IntN(4)]
	case 1:
		s.BinPackFirstFitWeight = r.Float64() * 500 // can outweigh locality (1000)
	}
	if r.IntN(3) == 0 {
		s.MaxStartingContainers = 1 + r.IntN(20)
	}
	if r.IntN(3) == 0 {
		s.ProxyMemoryMB = []int{16, 32, 100}[r.IntN(3)]
	}
	return s
}

func newRandomWorld(t testing.TB, r *rand.Rand, set Settings, nCells int) *randomWorld {
	w := &randomWorld{st: NewState(set), ref: &refState{set: set}}
	nZones := 1 + r.IntN(4)
	classes := []model.Resources{{MemoryMB: 1024, DiskMB: 4096, Containers: 10}, {MemoryMB: 2048, DiskMB: 2048, Containers: 249}, {MemoryMB: 3000, DiskMB: 7000, Containers: 7}}
	guids := []string{"g0", "g1", "g2", "g3", "g4"}
	for i := 0; i < nCells; i++ {
		tot := classes[r.IntN(len(classes))]
		if r.IntN(4) == 0 {
			tot = model.Resources{MemoryMB: 256 + r.IntN(4000), DiskMB: 256 + r.IntN(8000), Containers: 1 + r.IntN(20)}
		}
		c := model.Cell{
			ID: fmt.Sprintf("cell-%d", i), Zone: fmt.Sprintf("z%d", r.IntN(nZones)), Index: r.IntN(nCells),
			Total: tot, StartingContainers: r.IntN(3),
			RootFSProviders: pick(r, testStacks, 0.8), PlacementTags: pick(r, testTags, 0.15),
			OptionalPlacementTags: pick(r, testTags, 0.3), VolumeDrivers: pick(r, testDrivers, 0.6),
		}
		c.Available = tot
		if r.IntN(2) == 0 { // partly used
			c.Available = model.Resources{MemoryMB: r.IntN(tot.MemoryMB + 1), DiskMB: r.IntN(tot.DiskMB + 1), Containers: r.IntN(tot.Containers + 1)}
		}
		if r.IntN(10) == 0 {
			c.ProxyMemoryMB = 64
		}
		if r.IntN(15) == 0 {
			c.Evacuating = true
		}
		if err := w.st.AddCell(c); err != nil {
			t.Fatal(err)
		}
		rc := &refCell{Cell: c, lrps: map[string]int{}}
		w.ref.cells = append(w.ref.cells, rc)
		for k := r.IntN(4); k > 0; k-- { // listed work: counts only
			g := guids[r.IntN(len(guids))]
			if err := w.st.addListedLRP(c.ID, g); err != nil {
				t.Fatal(err)
			}
			rc.lrps[g]++
		}
		for k := r.IntN(3); k > 0; k-- {
			if err := w.st.addListedTask(c.ID, fmt.Sprintf("old-%d-%d", i, k)); err != nil {
				t.Fatal(err)
			}
			rc.tasks++
		}
		if r.IntN(3) == 0 { // committed work: resources and counts
			res := model.Resource{MemoryMB: r.IntN(200), DiskMB: r.IntN(200)}
			g := guids[r.IntN(len(guids))]
			starting := r.IntN(2) == 0
			if err := w.st.AddLRP(c.ID, g, res, starting); err == nil {
				rc.Available = rc.Available.Sub(res)
				rc.lrps[g]++
				if starting {
					rc.StartingContainers++
				}
			}
		}
	}
	// evacuation toggles and a removal, to exercise the incremental paths
	if nCells > 2 && r.IntN(3) == 0 {
		id := fmt.Sprintf("cell-%d", r.IntN(nCells))
		w.st.RemoveCell(id)
		for i, c := range w.ref.cells {
			if c.ID == id {
				w.ref.cells = append(w.ref.cells[:i], w.ref.cells[i+1:]...)
				break
			}
		}
	}
	return w
}

func randomBatch(r *rand.Rand, round, nLRP, nTask int) Batch {
	var b Batch
	mems := []int{0, 1, 16, 64, 128, 256, 512, 1024, 2048}
	for i := 0; i < nLRP; i++ {
		l := LRP{ProcessGUID: fmt.Sprintf("g%d", r.IntN(7)), Index: r.IntN(4), LRPSpec: &LRPSpec{Domain: "d", Resource: model.Resource{MemoryMB: mems[r.IntN(len(mems))], DiskMB: mems[r.IntN(len(mems))]}, PlacementConstraint: model.PlacementConstraint{RootFS: testRootFS[r.IntN(len(testRootFS))], PlacementTags: pick(r, testTags, 0.2), VolumeDrivers: pick(r, testDrivers, 0.2)}}}
		if r.IntN(5) == 0 {
			l.MaxPerCell = 1 + r.IntN(2)
		}
		b.LRPs = append(b.LRPs, l)
	}
	for i := 0; i < nTask; i++ {
		b.Tasks = append(b.Tasks, Task{GUID: fmt.Sprintf("t%d-%d", round, r.IntN(nTask+2)), Domain: "d",
			Resource:            model.Resource{MemoryMB: mems[r.IntN(len(mems))], DiskMB: mems[r.IntN(len(mems))]},
			PlacementConstraint: model.PlacementConstraint{RootFS: testRootFS[r.IntN(len(testRootFS))], PlacementTags: pick(r, testTags, 0.2), VolumeDrivers: pick(r, testDrivers, 0.2)}})
	}
	return b
}

// TestDiegoMatchesReference: the indexed diego algorithm and the plain scan give the same
// winners and errors on thousands of random states, over several batches each (the State
// persists between batches, with containers starting in between).
func TestDiegoMatchesReference(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	for seed := uint64(0); seed < uint64(n); seed++ {
		r := rand.New(rand.NewPCG(seed, 42))
		set := randomSettings(r)
		w := newRandomWorld(t, r, set, 1+r.IntN(40))
		for round := 0; round < 3; round++ {
			b := randomBatch(r, round, r.IntN(60), r.IntN(15))
			got := w.st.Schedule(b, Diego{}, nil)
			want := w.ref.schedule(b)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("seed %d round %d settings %+v: diego != reference (-want +got):\n%s", seed, round, set, diff)
			}
			for _, c := range w.ref.cells { // some containers finish starting
				if c.StartingContainers > 0 && r.IntN(2) == 0 {
					if err := w.st.Started(c.ID); err != nil {
						t.Fatal(err)
					}
					c.StartingContainers--
				}
			}
		}
	}
}

// TestGenericDiegoMatchesReference: Diego.Choose over the enumerated candidates (the
// path every other algorithm takes) is the same rule.
func TestGenericDiegoMatchesReference(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		set := randomSettings(r)
		w := newRandomWorld(t, r, set, 1+r.IntN(30))
		b := randomBatch(r, 0, r.IntN(50), r.IntN(10))
		got := w.st.Schedule(b, genericDiego{}, nil)
		want := w.ref.schedule(b)
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("seed %d: generic diego != reference (-want +got):\n%s", seed, diff)
		}
	}
}

// genericDiego hides Diego's index so Schedule enumerates candidates.
type genericDiego struct{}

func (genericDiego) Name() string { return "generic-diego" }
func (genericDiego) Choose(req Request, c []Candidate, s Settings, r *rand.Rand) int {
	return Diego{}.Choose(req, c, s, r)
}
