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
// schedules more into the fine window, and checks that the rest run in (time, scheduling)
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
	if !k.Step() { // spreads the coarse bucket and tops up the heap
		t.Fatal("nothing to run")
	}
	first := r.log[0].ID
	inFine := 0
	cancelled := map[int64]bool{first: true}
	for i := range hs {
		s := hs[i].slot
		if k.pos[s] <= posRing && k.slots[s].rb < fineBuckets {
			inFine++
		}
		if i%3 == 0 && int64(i) != first {
			if !k.Cancel(hs[i]) {
				t.Fatalf("Cancel(event %d) = false, want true", i)
			}
			cancelled[int64(i)] = true
		}
	}
	if inFine < spreadMin {
		t.Fatalf("only %d events waited in fine buckets: the test does not exercise them", inFine)
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
}
