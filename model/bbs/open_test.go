package bbs_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
)

// TestOpenRebuildsTracker: a BBS opened over a store that another BBS filled (through
// desires, claims, starts, crashes, suspects, tasks) computes the same convergence plan
// and the same counts as the BBS that wrote the rows, at several times and cell sets.
func TestOpenRebuildsTracker(t *testing.T) {
	for seed := range 10 {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(seed), 7))
			store := bbs.NewMemStore()
			b := bbs.New(store, bbs.DefaultConfig())
			cells := []string{"c0", "c1", "c2"}
			for i := range 4 {
				g := fmt.Sprint("app", i)
				if err := b.DesireLRP(0, model.DesiredLRP{ProcessGUID: g, Domain: "cf-apps", Instances: 1 + r.IntN(4), MemoryMB: 1, RootFS: "preloaded:x"}); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 3 {
				if err := b.DesireTask(0, model.Task{GUID: fmt.Sprint("t", i), Domain: "d", RootFS: "preloaded:x", MemoryMB: 1}); err != nil {
					t.Fatal(err)
				}
			}
			n := 0
			now := time.Duration(0)
			for round := range 6 {
				now += 30 * time.Second
				rd := b.Ready()
				for _, st := range rd.LRPStarts {
					n++
					ik := model.InstanceKey{InstanceGUID: fmt.Sprint("i", n), CellID: cells[r.IntN(len(cells))]}
					if b.ClaimActualLRP(now, st.Key, ik) != nil || r.IntN(4) == 0 {
						continue // some stay CLAIMED
					}
					_ = b.StartActualLRP(now+time.Second, st.Key, ik, "127.0.0.1:1")
					if r.IntN(3) == 0 {
						_ = b.CrashActualLRP(now+2*time.Second, st.Key, ik, "crash")
					}
				}
				for _, ts := range rd.TaskStarts {
					if ok, _ := b.StartTask(now, ts.GUID, cells[r.IntN(len(cells))]); ok && r.IntN(2) == 0 {
						task, _ := b.Task(ts.GUID)
						_ = b.CompleteTask(now+time.Second, ts.GUID, task.CellID, false, "", "")
					}
				}
				live := cells
				if round == 2 {
					live = cells[1:] // c0 lost: suspects and replacements
				}
				b.Converge(now+3*time.Second, live)
			}
			b.Ready()
			o, err := bbs.Open(store, bbs.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			for _, at := range []time.Duration{now, now + 31*time.Second, now + 10*time.Minute, now + time.Hour} {
				for _, live := range [][]string{cells, cells[1:], nil} {
					want, got := b.ConvergePlan(at, live), o.ConvergePlan(at, live)
					if diff := cmp.Diff(want, got); diff != "" {
						t.Fatalf("plan at %v cells %v (-writer +opened):\n%s", at, live, diff)
					}
				}
			}
			for p := model.Ordinary; p <= model.Suspect; p++ {
				for s := model.Unclaimed; s <= model.Crashed; s++ {
					if b.Counts(p, s) != o.Counts(p, s) {
						t.Fatalf("counts %v/%v: writer %d, opened %d", p, s, b.Counts(p, s), o.Counts(p, s))
					}
				}
			}
		})
	}
}

// TestOpenEmptyStore: Open over an empty store behaves like New (an empty plan).
func TestOpenEmptyStore(t *testing.T) {
	o, err := bbs.Open(bbs.NewMemStore(), bbs.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if p := o.ConvergePlan(time.Hour, []string{"c"}); !p.Empty() {
		t.Fatalf("plan over an empty store = %+v, want empty", p)
	}
}
