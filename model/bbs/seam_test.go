package bbs_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

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
			step := fmt.Sprintf("seed %d step %d (%s)", seed, i, opF)
			events += len(sameOutputs(t, step, "-in-memory +plain", fast.b, slow.b).Events)
			if i%20 == 19 {
				sameState(t, step, "-in-memory +plain", fast.b, slow.b, fast.now, slow.now, probes.randomCells())
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
