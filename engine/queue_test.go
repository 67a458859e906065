package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestFineBucketsCancelAndOrder spreads a dense coarse bucket over the fine buckets (more
// than spreadMin events in one quarter second, some at equal times), cancels a third of
// the events while many of them wait in fine buckets (emptying some buckets entirely),
// schedules more into the fine window and the sorted run, and checks that the rest run in (time, scheduling)
// order.
func TestFineBucketsCancelAndOrder(t *testing.T) {
	k := New(1)
	r := &recorder{}
	type ev struct {
		at time.Duration
		id int64
	}
	var evs []ev
	var hs []Handle
	x := uint64(0x9e3779b97f4a7c15)
	rnd := func(n uint64) uint64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x % n
	}
	const base = time.Second
	for i := int64(0); i < 3*spreadMin; i++ {
		at := base + time.Duration(rnd(200))*time.Millisecond/100 // 200 distinct times in 2 ms
		evs = append(evs, ev{at, i})
		hs = append(hs, k.Schedule(at, r, Payload{A: i}))
	}
	if !k.Step() { // spreads the coarse bucket and tops up the run
		t.Fatal("nothing to run")
	}
	first := r.log[0].ID
	inFine, inRun := 0, 0
	cancelled := map[int64]bool{first: true}
	for i := range hs {
		s := hs[i].slot
		switch pos := k.pos[s]; {
		case pos <= posRun:
			inRun++
		case pos <= posRing && k.slots[s].rb < fineBuckets:
			inFine++
		}
		if i%3 == 0 && int64(i) != first {
			if !k.Cancel(hs[i]) {
				t.Fatalf("Cancel(event %d) = false, want true", i)
			}
			cancelled[int64(i)] = true
		}
	}
	if inFine < spreadMin || inRun < nearLow {
		t.Fatalf("only %d events waited in fine buckets and %d in the sorted run: the test does not exercise them", inFine, inRun)
	}
	for i := int64(0); i < 100; i++ { // into the fine window, between and on the earlier times
		id := 10_000 + i
		at := base + time.Duration(rnd(200))*time.Millisecond/100
		evs = append(evs, ev{at, id})
		k.Schedule(at, r, Payload{A: id})
	}
	k.RunUntilIdle()
	slices.SortStableFunc(evs, func(a, b ev) int { return int(a.at - b.at) })
	var want []int64
	for _, e := range evs {
		if !cancelled[e.id] {
			want = append(want, e.id)
		}
	}
	if diff := cmp.Diff(want, ids(r.log[1:])); diff != "" {
		t.Errorf("run order after cancellations (-want +got):\n%s", diff)
	}
	if k.fineN != 0 || k.ringN != 0 || k.Pending() != 0 {
		t.Errorf("after the run: fineN %d ringN %d pending %d, want 0", k.fineN, k.ringN, k.Pending())
	}
	for i, w := range k.fineUsed {
		if w != 0 {
			t.Errorf("fineUsed[%d] = %x after the run, want 0 (no fine bucket in use)", i, w)
		}
	}
	for i, w := range k.ringUsed {
		if w != 0 {
			t.Errorf("ringUsed[%d] = %x after the run, want 0 (no coarse bucket in use)", i, w)
		}
	}
}

// TestRunSortsTiesBySchedulingOrder fills fine buckets with events of a few instants (ties
// in groups of a few to hundreds), cancels some of them while they wait in their bucket
// (Cancel moves the bucket's last entry into the hole, so equal times are no longer in
// scheduling order there), cancels more once they are in the sorted run (its front
// among them), and checks that the rest run in (time, scheduling) order, whether the
// buckets are sorted by radix or by insertion.
func TestRunSortsTiesBySchedulingOrder(t *testing.T) {
	for _, tc := range []struct{ n, instants, radixMin int }{
		{10, 2, radixMin}, {10, 2, 0}, {200, 3, radixMin}, {200, 3, 0}, {3000, 5, radixMin}, {3000, 1, 0},
	} {
		k := New(1)
		k.spreadMin = 0
		k.radixMin = tc.radixMin
		r := &recorder{}
		const base = time.Second
		at := func(i int) time.Duration { // a few instants in each of two fine buckets
			return base + time.Duration(i%2)<<fineShift + time.Duration(i%tc.instants)*7
		}
		hs := make([]Handle, tc.n)
		for i := range hs {
			hs[i] = k.Schedule(at(i), r, Payload{A: int64(i)})
		}
		cancelled := map[int]bool{}
		for i := 0; i < tc.n; i += 3 { // in their fine bucket
			if !k.Cancel(hs[i]) {
				t.Fatalf("n=%d: Cancel(event %d) = false, want true", tc.n, i)
			}
			cancelled[i] = true
		}
		if !k.Step() { // takes the first fine bucket into the run
			t.Fatalf("n=%d: nothing to run", tc.n)
		}
		inRun := 0
		for i := range hs {
			if cancelled[i] || k.pos[hs[i].slot] > posRun {
				continue
			}
			inRun++
			if i%5 == 1 || int(k.posRunIndex(hs[i].slot)) == k.rh { // in the run, its front too
				if !k.Cancel(hs[i]) {
					t.Fatalf("n=%d: Cancel(event %d in the run) = false, want true", tc.n, i)
				}
				cancelled[i] = true
			}
		}
		if inRun == 0 {
			t.Fatalf("n=%d: no event waited in the sorted run", tc.n)
		}
		k.RunUntilIdle()
		want := []int64{}
		for i := range hs {
			if !cancelled[i] {
				want = append(want, int64(i))
			}
		}
		slices.SortStableFunc(want, func(a, b int64) int { return int(at(int(a)) - at(int(b))) })
		if diff := cmp.Diff(want, ids(r.log)); diff != "" {
			t.Errorf("n=%d instants=%d radixMin=%d: run order (-want +got):\n%s", tc.n, tc.instants, tc.radixMin, diff)
		}
		if k.Pending() != 0 || k.runLen() != 0 {
			t.Errorf("n=%d: after the run: pending %d, run %d, want 0", tc.n, k.Pending(), k.runLen())
		}
	}
}

// posRunIndex is the run index of a slot in the run (test helper).
func (k *Kernel) posRunIndex(s uint32) int32 { return posRun - k.pos[s] }

// TestRenumberKeepsRunOrder renumbers the sequence while events wait in the sorted run and
// more events of the same instant are scheduled into the near heap: the run's events were
// scheduled first and must still run first (renumber must renumber the run too: its old
// numbers are larger than the fresh ones).
func TestRenumberKeepsRunOrder(t *testing.T) {
	k := New(1)
	r := &recorder{}
	for i := 0; i < 100; i++ { // the sequence grows, nothing stays pending
		k.Cancel(k.Schedule(time.Hour, r, Payload{A: -1}))
	}
	k.Schedule(5, r, Payload{A: 0})
	var inRun []Handle
	for i := int64(1); i <= 5; i++ {
		inRun = append(inRun, k.Schedule(10, r, Payload{A: i}))
	}
	k.Step() // runs event 0 and takes the bucket of time 10 into the run
	for _, h := range inRun {
		if k.pos[h.slot] > posRun {
			t.Fatalf("%v is not in the sorted run (pos %d): test premise broken", h, k.pos[h.slot])
		}
	}
	k.seqLimit = k.seq // every Schedule from now on renumbers first
	for i := int64(6); i <= 10; i++ {
		h := k.Schedule(10, r, Payload{A: i})
		if k.pos[h.slot] < 0 {
			t.Fatalf("%v is not in the near heap (pos %d): test premise broken", h, k.pos[h.slot])
		}
	}
	k.RunUntilIdle()
	if diff := cmp.Diff([]int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, ids(r.log)); diff != "" {
		t.Errorf("run order (-want +got):\n%s", diff)
	}
}

// TestRunCompactionKeepsHandles runs through fine buckets of 40 events each far enough
// that the run is compacted (its live entries move to the start when the next bucket is
// appended), then cancels every other waiting event by its handle and checks that
// exactly the others run, in order.
func TestRunCompactionKeepsHandles(t *testing.T) {
	k := New(1)
	k.spreadMin = 0
	r := &recorder{}
	const base, buckets, per = time.Second, 4, 40
	var hs []Handle
	for b := 0; b < buckets; b++ {
		for i := 0; i < per; i++ {
			id := int64(b*per + i)
			hs = append(hs, k.Schedule(base+time.Duration(b)<<fineShift+time.Duration(i), r, Payload{A: id}))
		}
	}
	const ran = 60 // past the first compaction (at about 50 events)
	for i := 0; i < ran; i++ {
		k.Step()
	}
	var want []int64
	for i := ran; i < len(hs); i++ {
		if i%2 == 0 {
			if !k.Cancel(hs[i]) {
				t.Fatalf("Cancel(event %d) = false, want true", i)
			}
			continue
		}
		want = append(want, int64(i))
	}
	k.RunUntilIdle()
	if diff := cmp.Diff(want, ids(r.log[ran:])); diff != "" {
		t.Errorf("run order after cancellations (-want +got):\n%s", diff)
	}
}
