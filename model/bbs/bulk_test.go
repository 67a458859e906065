package bbs_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
)

// group draws a group desire: a template (sometimes invalid) and guids mixing the
// world's guids (which may have rows, desired or orphaned), new ones, repeats and
// blanks.
func (w *world) group(fresh *int) (model.DesiredLRP, []string) {
	tmpl := w.desired("")
	switch w.r.IntN(12) {
	case 0:
		tmpl.RootFS = "nocolon"
	case 1:
		tmpl.Instances = -1
	case 2:
		tmpl.PlacementTags = []string{"gpu"}
		tmpl.Routes = []string{"a.example"}
	}
	guids := make([]string, w.r.IntN(6))
	for i := range guids {
		switch k := w.r.IntN(20); {
		case k < 4:
			guids[i] = w.guid()
		case k == 4 && i > 0:
			guids[i] = guids[w.r.IntN(i)]
		case k == 5:
			guids[i] = []string{"", " "}[w.r.IntN(2)]
		default:
			*fresh++
			guids[i] = fmt.Sprintf("n%d", *fresh)
		}
	}
	return tmpl, guids
}

// perApp desires the group as a driver without DesireLRPs does: DesireLRP for each
// app, stopping at the first refused.
func perApp(b *bbs.BBS, now time.Duration, tmpl model.DesiredLRP, guids []string) (int, error) {
	for i, g := range guids {
		d := tmpl
		d.ProcessGUID = g
		if err := b.DesireLRP(now, d); err != nil {
			return i, err
		}
	}
	return len(guids), nil
}

// TestDesireLRPsSameAsPerApp: the bulk path builds exactly the world of the per-app
// path. On random histories (every BBS operation, and group desires of valid and
// invalid templates whose guids may exist, repeat, be blank or have orphaned rows), a
// BBS desiring each group with DesireLRPs and one desiring it app by app give the same
// count and error, the same Ready (events, start requests, in order), stats and row
// counts, and periodically the same convergence plans (the tracker's records) and
// stored rows. Seeds take turns at the in-memory store, with the run's shared ids, and
// a store seen only through the Store interface.
func TestDesireLRPsSameAsPerApp(t *testing.T) {
	seeds, steps := 30, 300
	if testing.Short() {
		seeds = 8
	}
	var groups, desired, refused int
	for seed := range seeds {
		newStore := func() bbs.Store {
			m := bbs.NewMemStore()
			switch seed % 3 {
			case 1:
				m.UseGUIDs(model.NewGUIDs())
			case 2:
				return &plainStore{Store: m}
			}
			return m
		}
		bulk := &world{r: rand.New(rand.NewPCG(uint64(seed), 31)), b: bbs.New(newStore(), bbs.DefaultConfig())}
		each := &world{r: rand.New(rand.NewPCG(uint64(seed), 31)), b: bbs.New(newStore(), bbs.DefaultConfig())}
		var freshB, freshE int
		probes := &world{r: rand.New(rand.NewPCG(uint64(seed), 32))}
		for i := range steps {
			for _, w := range []*world{bulk, each} {
				w.now += time.Duration(w.r.IntN(90)) * time.Second
			}
			var op string
			if pb, pe := bulk.r.IntN(3), each.r.IntN(3); pb == 0 && pe == 0 { // the rngs stay in step
				tb, gb := bulk.group(&freshB)
				te, ge := each.group(&freshE)
				nb, errB := bulk.b.DesireLRPs(bulk.now, tb, gb)
				ne, errE := perApp(each.b, each.now, te, ge)
				if nb != ne || !sameError(errB, errE) {
					t.Fatalf("seed %d step %d: group %q: DesireLRPs gave %d, %v; per app %d, %v", seed, i, gb, nb, errB, ne, errE)
				}
				op = fmt.Sprintf("group %q", gb)
				groups++
				desired += nb
				if errB != nil {
					refused++
				}
			} else {
				opB, errB := bulk.step()
				opE, errE := each.step()
				if opB != opE || !sameError(errB, errE) {
					t.Fatalf("seed %d step %d: %s (%v) vs %s (%v): the worlds diverged", seed, i, opB, errB, opE, errE)
				}
				op = opB
			}
			step := fmt.Sprintf("seed %d step %d (%s)", seed, i, op)
			sameOutputs(t, step, "-per app +bulk", each.b, bulk.b)
			if i%10 == 9 {
				sameState(t, step, "-per app +bulk", each.b, bulk.b, each.now, bulk.now, probes.randomCells())
			}
		}
	}
	if groups < 1000 || desired < 1000 || refused < 200 {
		t.Fatalf("%d groups, %d apps desired, %d refused: want >= 1000, 1000, 200 (the histories must exercise both)", groups, desired, refused)
	}
	t.Logf("%d groups: %d apps desired, %d groups refused part-way", groups, desired, refused)
}
