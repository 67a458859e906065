package engine

import (
	"testing"
	"time"
)

// TestSetPrefetchAnnouncesTheNextEvent: before each event of the handler runs, next has
// been given the payload of exactly that event (announced before the previous one ran),
// unless the previous event scheduled it (it overtook the announced one) or no event was
// announced (the near tier was empty: the next event comes from the ring); after only
// ever sees payloads of pending events of the handler; and the run (order, hash) is the
// same as without the hooks.
func TestSetPrefetchAnnouncesTheNextEvent(t *testing.T) {
	run := func(hooks bool) (order []int64, hash uint64, nexts, afters, checked int) {
		k := New(7)
		announced := map[uint64]int64{} // by k.Processed() when announced
		pending := map[int64]bool{}
		var fresh int64 = -1 // the event the previous event scheduled
		h := &funcHandler{}
		h.f = func(k *Kernel, p Payload) {
			delete(pending, p.A)
			// Announced at the pop of the previous event, when k.Processed() was 2 less.
			if a, ok := announced[k.Processed()-2]; hooks && ok && p.A != fresh {
				checked++
				if a != p.A {
					t.Errorf("event %d runs, but next announced %d before it", p.A, a)
				}
			}
			order = append(order, p.A)
			fresh = -1
			if p.A < 200 { // each early event schedules one more, some of them soon
				id := p.A + 1000
				pending[id] = true
				fresh = id
				k.After(time.Duration(p.A%7)*time.Millisecond, h, Payload{Kind: 1, A: id})
			}
		}
		other := HandlerFunc(func(k *Kernel, p Payload) {
			order = append(order, -p.A)
			fresh = -1
		})
		if hooks {
			k.SetPrefetch(h, func(p Payload) {
				nexts++
				announced[k.Processed()] = p.A
			}, func(p Payload) {
				afters++
				if !pending[p.A] {
					t.Errorf("after announced %d, which is not pending", p.A)
				}
			})
		}
		for i := int64(0); i < 500; i++ {
			pending[i] = true
			k.After(time.Duration(i*7919%1000)*time.Millisecond, h, Payload{Kind: 1, A: i})
			if i%10 == 0 {
				k.After(time.Duration(i*31%1000)*time.Millisecond, other, Payload{Kind: 2, A: i + 1})
			}
		}
		k.RunUntilIdle()
		return order, k.Hash(), nexts, afters, checked
	}
	o1, h1, _, _, _ := run(false)
	o2, h2, nexts, afters, checked := run(true)
	if h1 != h2 || len(o1) != len(o2) {
		t.Fatalf("hooks changed the run: hash %x vs %x, %d vs %d events", h1, h2, len(o1), len(o2))
	}
	for i := range o1 {
		if o1[i] != o2[i] {
			t.Fatalf("event %d: %d without hooks, %d with", i, o1[i], o2[i])
		}
	}
	if nexts < 500 || afters < 500 || checked < 500 {
		t.Errorf("next called %d times, after %d times, %d announcements checked; want most of the 750 events", nexts, afters, checked)
	}
}

// funcHandler is a comparable Handler around a function (SetPrefetch compares handlers).
type funcHandler struct{ f func(*Kernel, Payload) }

func (h *funcHandler) Fire(k *Kernel, p Payload) { h.f(k, p) }

func TestSetPrefetchRejectsUncomparableHandlers(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("SetPrefetch accepted a HandlerFunc, which cannot be compared")
		}
	}()
	New(1).SetPrefetch(HandlerFunc(func(*Kernel, Payload) {}), nil, nil)
}
