package engine

import (
	"testing"
	"time"
)

// TestPrefetcherAnnouncesTheNextEvent: before each event of the Prefetcher handler runs,
// PrefetchNext has
// been given the payload of exactly that event (announced before the previous one ran),
// unless the previous event scheduled it (it overtook the announced one) or no event was
// announced (the near tier was empty: the next event comes from the ring); PrefetchAfter
// only ever sees payloads of pending events of the handler; and the run (order, hash) is
// the same as with a handler that is no Prefetcher.
func TestPrefetcherAnnouncesTheNextEvent(t *testing.T) {
	run := func(hooks bool) (order []int64, hash uint64, nexts, afters, checked int) {
		k := New(7)
		announced := map[uint64]int64{} // by k.Processed() when announced
		pending := map[int64]bool{}
		var fresh int64 = -1 // the event the previous event scheduled
		fh := &funcHandler{}
		var h Handler = fh
		fh.f = func(k *Kernel, p Payload) {
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
			h = &prefetchHandler{funcHandler: fh, next: func(p Payload) {
				nexts++
				announced[k.Processed()] = p.A
			}, after: func(p Payload) {
				afters++
				if !pending[p.A] {
					t.Errorf("after announced %d, which is not pending", p.A)
				}
			}}
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

// funcHandler is a comparable Handler around a function (a Prefetcher is compared with
// each event's handler).
type funcHandler struct{ f func(*Kernel, Payload) }

func (h *funcHandler) Fire(k *Kernel, p Payload) { h.f(k, p) }

// prefetchHandler is a funcHandler that is also a Prefetcher.
type prefetchHandler struct {
	*funcHandler
	next, after func(Payload)
}

func (h *prefetchHandler) PrefetchNext(p Payload)  { h.next(p) }
func (h *prefetchHandler) PrefetchAfter(p Payload) { h.after(p) }

// uncomparablePrefetcher is a Prefetcher by value that cannot be compared (it holds a
// slice), so the kernel must not use it.
type uncomparablePrefetcher struct{ calls []int }

func (uncomparablePrefetcher) Fire(*Kernel, Payload) {}
func (uncomparablePrefetcher) PrefetchNext(Payload)  { panic("announced to an uncomparable handler") }
func (uncomparablePrefetcher) PrefetchAfter(Payload) { panic("announced to an uncomparable handler") }

// TestKernelFindsItsPrefetcher: the kernel announces the events of the first comparable
// Prefetcher scheduled and of no other handler: not of one scheduled before it that is no
// Prefetcher or cannot be compared (scheduling that one must not panic either), nor of a
// second Prefetcher scheduled after it.
func TestKernelFindsItsPrefetcher(t *testing.T) {
	k := New(3)
	var firstSaw, secondSaw []int64
	plain := HandlerFunc(func(*Kernel, Payload) {})
	first := &prefetchHandler{funcHandler: &funcHandler{f: func(*Kernel, Payload) {}},
		next: func(p Payload) { firstSaw = append(firstSaw, p.A) }, after: func(Payload) {}}
	second := &prefetchHandler{funcHandler: &funcHandler{f: func(*Kernel, Payload) {}},
		next: func(p Payload) { secondSaw = append(secondSaw, p.A) }, after: func(Payload) {}}
	for i := int64(0); i < 40; i++ {
		k.After(time.Duration(i)*time.Millisecond, plain, Payload{Kind: 1, A: i})
		k.After(time.Duration(i)*time.Millisecond, uncomparablePrefetcher{}, Payload{Kind: 2, A: i})
	}
	for i := int64(0); i < 40; i++ {
		k.After(time.Duration(i)*time.Millisecond, first, Payload{Kind: 3, A: 100 + i})
		k.After(time.Duration(i)*time.Millisecond, second, Payload{Kind: 4, A: 200 + i})
	}
	k.RunUntilIdle()
	if len(firstSaw) < 30 {
		t.Errorf("the first Prefetcher was told of %d of its 40 events, want most of them", len(firstSaw))
	}
	for _, a := range firstSaw {
		if a < 100 || a >= 140 {
			t.Errorf("the first Prefetcher was told of event %d, not one of its own", a)
		}
	}
	if len(secondSaw) > 0 {
		t.Errorf("the second Prefetcher was told of %d events, want none (the kernel has one)", len(secondSaw))
	}
}
