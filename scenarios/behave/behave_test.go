package behave

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/diegolab/diegolab/scenarios"
)

// The stream functions take exactly the draws the simulator took before they existed
// (shipped records depend on it): start time one draw (none for const), each non-zero
// probability one draw, the second skipped after a failure.
func TestDrawCounts(t *testing.T) {
	g := &scenarios.AppGroup{StartTime: scenarios.Dist{Kind: scenarios.DistUniform, Min: time.Second, Max: 2 * time.Second},
		StartFailureProbability: 0.5, CrashProbabilityAtStart: 0.5}
	for seed := uint64(0); seed < 50; seed++ {
		a, b := rand.New(rand.NewPCG(seed, 1)), rand.New(rand.NewPCG(seed, 1))
		got := StartTime(g, a)
		want := g.StartTime.Sample(b) // one draw of the distribution itself
		if got != want {
			t.Fatalf("seed %d: start %v, want %v", seed, got, want)
		}
		fails := StartFails(g, a)
		f1 := b.Float64() < 0.5
		wantFails := f1 || b.Float64() < 0.5
		if fails != wantFails || a.Uint64() != b.Uint64() {
			t.Fatalf("seed %d: start failure draws differ from the simulator's order", seed)
		}
	}
	if StartTime(nil, nil) != scenarios.DefaultStartTime || StartFails(nil, nil) {
		t.Fatal("nil group: want the default start time and no failure, without drawing")
	}
	if _, crashes := CrashAfter(&scenarios.AppGroup{}, nil); crashes {
		t.Fatal("a group without crash must not crash")
	}
}

// An instance's plan depends only on the seed and its identity.
func TestInstancePlanIsItsOwn(t *testing.T) {
	crash := scenarios.Dist{Kind: scenarios.DistExp, Mean: time.Minute}
	w := Workload{Seed: 9, ProcessGUID: "web-0", StartTime: scenarios.Dist{Kind: scenarios.DistExp, Mean: 5 * time.Second},
		StartFailureProbability: 0.2, CrashAfter: &crash}
	a, b := w.Plan(1, "i-3"), w.Plan(1, "i-3")
	if a != b {
		t.Fatalf("same identity, different plans: %+v %+v", a, b)
	}
	if a != PlanInstance(w.Group(), Instance(9, "web-0", 1, "i-3")) {
		t.Fatal("Workload.Plan differs from PlanInstance over Instance")
	}
	differ := 0
	for i := range 20 {
		if w.Plan(i, "i-3") != a {
			differ++
		}
	}
	if differ < 15 {
		t.Fatalf("only %d of 20 indices drew a different plan", differ)
	}
	w2 := w
	w2.Seed = 10
	if w2.Plan(1, "i-3") == a {
		t.Fatal("another seed drew the same plan")
	}
}
