package bbs_test

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
)

// TestReleaseReadySameEvents checks the contract of ReleaseReady on random histories:
// two BBSs run the same operations, one never releases (the plain contract) and one
// calls ReleaseReady at random points, both right after reading a Ready (as the driver
// does) and while events are pending (produced but not yet returned by Ready); Ready is
// sometimes skipped so that batches span several operations. A consumer that reads each
// batch when it gets it and releases afterwards must see exactly what the plain BBS
// returns: the same events in the same order with the same row data, and the same start
// requests. The recycling BBS must also really reuse its row copies (far fewer distinct
// copies than events), so the test exercises what it checks.
func TestReleaseReadySameEvents(t *testing.T) {
	seeds, steps := 40, 400
	if testing.Short() {
		seeds = 10
	}
	var events, distinct, desiredEvents, desiredDistinct int
	for seed := range seeds {
		plain := &world{r: rand.New(rand.NewPCG(uint64(seed), 11)), b: bbs.New(bbs.NewMemStore(), bbs.DefaultConfig())}
		recy := &world{r: rand.New(rand.NewPCG(uint64(seed), 11)), b: bbs.New(bbs.NewMemStore(), bbs.DefaultConfig())}
		pick := rand.New(rand.NewPCG(uint64(seed), 12)) // the consumer's choices, apart from the worlds' rngs
		seen := map[*model.ActualLRP]bool{}
		seenDesired := map[*model.DesiredLRP]bool{}
		for i := range steps {
			for _, w := range []*world{plain, recy} {
				w.now += time.Duration(w.r.IntN(90)) * time.Second
			}
			opP, errP := plain.step()
			opR, errR := recy.step()
			if opP != opR || (errP == nil) != (errR == nil) {
				t.Fatalf("seed %d step %d: %s (%v) vs %s (%v): the worlds diverged", seed, i, opP, errP, opR, errR)
			}
			if pick.IntN(4) == 0 {
				recy.b.ReleaseReady() // events of this step are pending
			}
			if pick.IntN(3) == 0 {
				continue // no Ready: the next batch holds several operations
			}
			want, got := plain.b.Ready(), recy.b.Ready()
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("seed %d step %d (%s): recycling BBS's Ready differs (-plain +recycling):\n%s", seed, i, opP, diff)
			}
			for _, e := range got.Events {
				if e.Actual != nil {
					events++
					seen[e.Actual] = true
				}
				if e.Desired != nil {
					desiredEvents++
					seenDesired[e.Desired] = true
				}
			}
			if pick.IntN(2) == 0 {
				recy.b.ReleaseReady() // done with the batch
			}
		}
		distinct += len(seen)
		desiredDistinct += len(seenDesired)
	}
	if events < 1000 || distinct*4 > events {
		t.Fatalf("%d actual events used %d distinct row copies: want >= 1000 events and copies reused (<= 1/4 distinct)", events, distinct)
	}
	if desiredEvents < 500 || desiredDistinct*4 > desiredEvents {
		t.Fatalf("%d desired events used %d distinct copies: want >= 500 events and copies reused (<= 1/4 distinct)", desiredEvents, desiredDistinct)
	}
	t.Logf("%d actual events, %d distinct row copies; %d desired events, %d distinct copies", events, distinct, desiredEvents, desiredDistinct)
}

// TestReleaseReadyAllocates checks that a steady crash cycle (crash with its immediate
// start request, claim, start; Ready read and released after each operation as the
// driver does) allocates almost nothing once ReleaseReady recycles the outbox, where the
// plain BBS allocates a row copy (160 bytes), an event (32) and a start request per
// cycle: over 2,000 cycles the recycling BBS must allocate under 1/10 of the plain one.
func TestReleaseReadyAllocates(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count")
	}
	perCycle := func(release bool) float64 {
		b := bbs.New(bbs.NewMemStore(), bbs.DefaultConfig())
		const apps = 512
		keys := make([]model.ActualLRPKey, apps)
		iks := make([]model.InstanceKey, apps)
		for i := range keys {
			g := "app-" + strconv.Itoa(i)
			must(t, b.DesireLRP(0, benchDesired(g, 1)))
			keys[i] = model.ActualLRPKey{ProcessGUID: g}
			iks[i] = model.InstanceKey{InstanceGUID: "i-" + strconv.Itoa(i), CellID: "cell-" + strconv.Itoa(i%16)}
			must(t, b.ClaimActualLRP(0, keys[i], iks[i]))
			must(t, b.StartActualLRP(0, keys[i], iks[i], ""))
		}
		drain := func() {
			b.Ready()
			if release {
				b.ReleaseReady()
			}
		}
		drain()
		now := time.Duration(0)
		cycle := func(n int) {
			// each app crashes every 512 cycles, 512 x 1 s later: RUNNING > 5 min, so the
			// crash count resets to 1 and the restart is immediate.
			now += time.Second
			i := n % apps
			must(t, b.CrashActualLRP(now, keys[i], iks[i], "exited"))
			drain()
			must(t, b.ClaimActualLRP(now, keys[i], iks[i]))
			drain()
			must(t, b.StartActualLRP(now, keys[i], iks[i], ""))
			drain()
		}
		for n := range 2 * apps { // warm up: queues and pools at their steady size
			cycle(n)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const cycles = 2000
		for n := range cycles {
			cycle(2*apps + n)
		}
		runtime.ReadMemStats(&after)
		return float64(after.TotalAlloc-before.TotalAlloc) / cycles
	}
	// TotalAlloc counts the whole process: the least of three runs discounts an
	// allocation of the runtime or test framework that happens to fall in one.
	plain, recy := perCycle(false), min(perCycle(true), perCycle(true), perCycle(true))
	t.Logf("bytes allocated per cycle: plain %.0f, recycling %.0f", plain, recy)
	if plain < 200 || recy*10 > plain {
		t.Fatalf("bytes per cycle: plain %.0f, recycling %.0f: want plain >= 200 (a row copy per event) and recycling < 1/10 of it", plain, recy)
	}
}
