package converge

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestDelayQueues drives delayQueues with random Set/Remove calls: keys moving between
// delays (a crash count going up), since mostly in order but sometimes earlier, Remove
// with the right delay hint or a wrong one (the other queues are searched). After each
// call: every key is held by exactly the queue of its delay (and by no other, though all
// share one position slot), sorted there by due; keys outside have no position; each
// record counts its keys; Len and Due answer exactly.
func TestDelayQueues(t *testing.T) {
	guids := []string{"g0", "g1", "g2"}
	indices := []int{0, 1, 4, denseIndexLimit, -1}
	delays := []time.Duration{0, 30, 60, 120}
	rapid.Check(t, func(rt *rapid.T) {
		tab := newGuidTable()
		ids := make([]uint32, len(guids))
		for i, g := range guids {
			ids[i] = tab.intern(g)
		}
		d := newDelayQueues(&tab, heapCrashed)
		type key struct {
			id    uint32
			index int
		}
		type entry struct{ delay, due time.Duration }
		want := map[key]entry{}
		now := time.Duration(0)
		for range rapid.IntRange(1, 400).Draw(rt, "ops") {
			k := key{ids[rapid.IntRange(0, len(ids)-1).Draw(rt, "guid")], rapid.SampledFrom(indices).Draw(rt, "index")}
			if rapid.IntRange(0, 2).Draw(rt, "remove") == 0 {
				hint := rapid.SampledFrom(delays).Draw(rt, "hint")
				if e, ok := want[k]; ok && rapid.Bool().Draw(rt, "right hint") {
					hint = e.delay
				}
				d.Remove(k.id, k.index, hint)
				delete(want, k)
			} else {
				delay := rapid.SampledFrom(delays).Draw(rt, "delay")
				since := now
				if rapid.IntRange(0, 9).Draw(rt, "earlier") == 0 {
					since = now - time.Duration(rapid.IntRange(1, 50).Draw(rt, "back"))
				} else {
					now += time.Duration(rapid.IntRange(0, 3).Draw(rt, "step"))
					since = now
				}
				d.Set(k.id, k.index, delay, since)
				want[k] = entry{delay, since + delay}
			}

			n := 0
			for qi := range d.queues {
				q := &d.queues[qi]
				for i := q.head; i < len(q.items); i++ {
					it := q.items[i]
					if i > q.head && q.items[i-1].due > it.due {
						rt.Fatalf("queue of %v: items %d and %d out of order", d.delays[qi], i-1, i)
					}
					if it.id == holeID {
						continue
					}
					n++
					e, ok := want[key{it.id, it.index}]
					if !ok || e.delay != d.delays[qi] || e.due != it.due {
						rt.Fatalf("key %d/%d in the queue of %v due %v, want %+v (present %v)", it.id, it.index, d.delays[qi], it.due, e, ok)
					}
				}
			}
			if n != len(want) || d.Len() != len(want) {
				rt.Fatalf("%d keys in the queues, Len %d, want %d", n, d.Len(), len(want))
			}
			for _, id := range ids {
				in := 0
				for _, index := range indices {
					e, ok := want[key{id, index}]
					if p := tab.pos(id, index, heapCrashed); (p != 0) != ok {
						rt.Fatalf("key %d/%d: position %d, present %v", id, index, p, ok)
					}
					for qi := range d.queues {
						if h := d.queues[qi].holds(id, index); h != (ok && d.delays[qi] == e.delay) {
							rt.Fatalf("key %d/%d (%+v, present %v): queue of %v holds it = %v", id, index, e, ok, d.delays[qi], h)
						}
					}
					if ok {
						in++
					}
				}
				if tab.recs[id].inHeap != int32(in) {
					rt.Fatalf("record %d counts %d keys, has %d", id, tab.recs[id].inHeap, in)
				}
			}
			limit := now + time.Duration(rapid.IntRange(-20, 130).Draw(rt, "limit"))
			got := map[key]int{}
			for _, it := range d.Due(limit, nil) {
				got[key{it.id, it.index}]++
			}
			for k, e := range want {
				if (got[k] == 1) != (e.due <= limit) || got[k] > 1 {
					rt.Fatalf("key %d/%d due %v: %d times in Due(%v)", k.id, k.index, e.due, got[k], limit)
				}
			}
			if len(got) > len(want) {
				rt.Fatalf("Due(%v) returned %d keys, %d exist", limit, len(got), len(want))
			}
		}
	})
}
