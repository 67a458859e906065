package bbs_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
)

// plainStore hides everything of its Store but the Store interface (the optional
// capabilities of the in-memory store included), as a store written elsewhere (real
// mode's SQL store) offers it; reads counts the actual LRP reads that reach it.
type plainStore struct {
	bbs.Store
	reads int
}

func (s *plainStore) GetActualLRP(key model.ActualLRPKey, p model.Presence) (model.ActualLRP, bool, error) {
	s.reads++
	return s.Store.GetActualLRP(key, p)
}

// TestPlainStoreSameOutcomes: the BBS runs one set of rules over any Store. On random
// histories, a BBS over the in-memory store (with its row and prefetch capabilities;
// with the run's shared process ids for odd seeds) and a BBS over the same kind of
// store seen only through the Store interface give the same result for every
// operation, the same Ready (events, start and stop requests, callbacks, in order), the
// same counts, stats and convergence plans, and the same stored rows.
func TestPlainStoreSameOutcomes(t *testing.T) {
	seeds, steps := 30, 400
	if testing.Short() {
		seeds = 8
	}
	var reads, events int
	for seed := range seeds {
		mem := bbs.NewMemStore()
		if seed%2 == 1 {
			mem.UseGUIDs(model.NewGUIDs())
		}
		plain := &plainStore{Store: bbs.NewMemStore()}
		fast := &world{r: rand.New(rand.NewPCG(uint64(seed), 21)), b: bbs.New(mem, bbs.DefaultConfig())}
		slow := &world{r: rand.New(rand.NewPCG(uint64(seed), 21)), b: bbs.New(plain, bbs.DefaultConfig())}
		probes := &world{r: rand.New(rand.NewPCG(uint64(seed), 22))} // apart from the worlds' rngs
		for i := range steps {
			for _, w := range []*world{fast, slow} {
				w.now += time.Duration(w.r.IntN(90)) * time.Second
				if w.r.IntN(5) == 0 {
					w.now += time.Duration(w.r.IntN(20)) * time.Minute
				}
			}
			opF, errF := fast.step()
			opS, errS := slow.step()
			if opF != opS || !sameError(errF, errS) {
				t.Fatalf("seed %d step %d: %s gave %v over the in-memory store, %s gave %v over the plain one", seed, i, opF, errF, opS, errS)
			}
			want, got := fast.b.Ready(), slow.b.Ready()
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("seed %d step %d (%s): Ready differs (-in-memory +plain):\n%s", seed, i, opF, diff)
			}
			events += len(got.Events)
			if diff := cmp.Diff(fast.b.Stats(), slow.b.Stats()); diff != "" {
				t.Fatalf("seed %d step %d (%s): stats differ (-in-memory +plain):\n%s", seed, i, opF, diff)
			}
			for p := model.Ordinary; p <= model.Suspect; p++ {
				for s := model.Unclaimed; s <= model.Crashed; s++ {
					if a, b := fast.b.Counts(p, s), slow.b.Counts(p, s); a != b {
						t.Fatalf("seed %d step %d (%s): %d rows %v %v over the in-memory store, %d over the plain one", seed, i, opF, a, p, s, b)
					}
				}
			}
			if i%20 == 19 {
				probe := probes.randomCells()
				if diff := cmp.Diff(fast.b.ConvergePlan(fast.now, probe), slow.b.ConvergePlan(slow.now, probe), planOpts); diff != "" {
					t.Fatalf("seed %d step %d: convergence plans differ (-in-memory +plain):\n%s", seed, i, diff)
				}
				if diff := cmp.Diff(snapshot(t, fast.b), snapshot(t, slow.b), planOpts); diff != "" {
					t.Fatalf("seed %d step %d: stores differ (-in-memory +plain):\n%s", seed, i, diff)
				}
			}
		}
		reads += plain.reads
	}
	if events < 5000 || reads < 5000 {
		t.Fatalf("%d events, %d actual LRP reads through the plain Store: want >= 5000 of each (the histories must exercise the rows)", events, reads)
	}
	t.Logf("%d events; %d actual LRP reads through the plain Store", events, reads)
}

// sameError reports whether two operations failed alike (both succeeded, or both
// failed with the same message).
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error()
}
