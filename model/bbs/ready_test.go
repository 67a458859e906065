package bbs_test

import (
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
)

// TestReadyBatchesDoNotAlias checks the outbox carving of Ready: over 600 operations (more
// than two chunks of events, of start requests and of row copies) each batch is kept as
// returned and appended to by the caller, as a consumer may; afterwards every batch still
// holds exactly what it held when returned (no later operation or caller append wrote into
// it), every event has its own row copy, and empty lists are nil.
func TestReadyBatchesDoNotAlias(t *testing.T) {
	b := bbs.New(bbs.NewMemStore(), bbs.DefaultConfig())
	type kept struct {
		r      bbs.Ready
		events []bbs.Event
		rows   []model.ActualLRP
		starts []bbs.LRPStart
	}
	var batches []kept
	keep := func() {
		r := b.Ready()
		k := kept{r: r, events: append([]bbs.Event(nil), r.Events...), starts: append([]bbs.LRPStart(nil), r.LRPStarts...)}
		for _, e := range r.Events {
			if e.Actual != nil {
				k.rows = append(k.rows, *e.Actual)
			}
		}
		// the caller appends to the batch it got before (whose arrays may continue into
		// this one's): that must not land in the BBS's arrays.
		if n := len(batches); n > 0 {
			_ = append(batches[n-1].r.Events, bbs.Event{Type: bbs.TaskRemoved})
			_ = append(batches[n-1].r.LRPStarts, bbs.LRPStart{Domain: "caller"})
		}
		batches = append(batches, k)
	}
	ik := model.InstanceKey{InstanceGUID: "i", CellID: "c"}
	for i := range 200 {
		g := "g" + strconv.Itoa(i)
		key := model.ActualLRPKey{ProcessGUID: g}
		must(t, b.DesireLRP(0, model.DesiredLRP{ProcessGUID: g, Domain: "d", Instances: 1, MemoryMB: 1, DiskMB: 1, RootFS: "x:y"}))
		keep()
		must(t, b.ClaimActualLRP(1, key, ik))
		keep()
		must(t, b.CrashActualLRP(2, key, ik, "boom"))
		keep()
		keep() // nothing happened: empty lists are nil
	}
	seen := map[*model.ActualLRP]bool{}
	for n, k := range batches {
		if diff := cmp.Diff(k.events, k.r.Events); diff != "" {
			t.Fatalf("batch %d events changed (-then +now):\n%s", n, diff)
		}
		if diff := cmp.Diff(k.starts, k.r.LRPStarts); diff != "" {
			t.Fatalf("batch %d starts changed (-then +now):\n%s", n, diff)
		}
		var rows []model.ActualLRP
		for _, e := range k.r.Events {
			if e.Actual != nil {
				if seen[e.Actual] {
					t.Fatalf("batch %d: an event shares its row copy with an earlier one", n)
				}
				seen[e.Actual] = true
				rows = append(rows, *e.Actual)
			}
		}
		if diff := cmp.Diff(k.rows, rows); diff != "" {
			t.Fatalf("batch %d row copies changed (-then +now):\n%s", n, diff)
		}
		if n%4 == 3 && (k.r.Events != nil || k.r.LRPStarts != nil) {
			t.Fatalf("batch %d: empty Ready has non-nil lists %v %v", n, k.r.Events, k.r.LRPStarts)
		}
	}
	if len(seen) != 3*200 { // created, claimed, crashed per app
		t.Fatalf("%d actual events, want 600", len(seen))
	}
}
