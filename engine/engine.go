package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"time"
	"unsafe"

	"github.com/diegolab/diegolab/internal/prefetch"
)

// Payload is the small fixed-size data an event carries. The driver dispatches on Kind and
// uses A and B as indexes into its own tables. Every field is hashed into the trace hash
// when the event runs.
type Payload struct {
	Kind uint32
	A, B int64
}

// Handler runs an event. Implement it on pointer types (or use HandlerFunc) so that storing
// it in the kernel does not allocate.
type Handler interface {
	Fire(k *Kernel, p Payload)
}

// Prefetcher is an optional interface of a Handler whose events touch memory that is
// likely cold (a large simulation's). The kernel announces such a handler's upcoming
// events before it runs the current one, so the handler can start loading what they
// will touch (internal/prefetch) while the current event runs: PrefetchNext gets the
// payload of the event that runs next, PrefetchAfter the payload of the (likely) one
// after it, one step earlier, so PrefetchNext can follow pointers that PrefetchAfter had
// prefetched. Both must only read: they may not schedule, cancel or change state, and
// they may see an event that is later cancelled or overtaken. They change no result.
//
// The kernel finds the interface by itself: the first handler given to Schedule (or
// After) that implements it and is comparable (a pointer; each event's handler is
// compared with it) is the one whose events are announced, for the kernel's life.
type Prefetcher interface {
	Handler
	PrefetchNext(p Payload)
	PrefetchAfter(p Payload)
}

// HandlerFunc adapts a function to Handler. A func value is pointer-shaped, so converting it
// to Handler does not allocate; only creating a closure does.
type HandlerFunc func(k *Kernel, p Payload)

// Fire calls f(k, p).
func (f HandlerFunc) Fire(k *Kernel, p Payload) { f(k, p) }

// Handle identifies a scheduled event for Cancel. The zero Handle is never valid. A Handle
// carries the generation of its slot, so a Handle of an event that already ran or was
// cancelled never matches a later event that reuses the slot.
type Handle struct {
	slot uint32
	gen  uint32 // never 0 for an issued handle
}

// IsZero reports whether h is the zero Handle (never issued by Schedule).
func (h Handle) IsZero() bool { return h.gen == 0 }

// String renders the handle for logs and test failures.
func (h Handle) String() string { return fmt.Sprintf("event#%d.%d", h.slot, h.gen) }

// slot holds what an event needs to run; its time and sequence live in the heap entry.
type slot struct {
	h   Handler
	p   Payload
	gen uint32 // current generation; bumped whenever the slot is freed, never 0
	rb  uint32 // while in a bucket (queue.go): the bucket's index in k.ring
}

// Kernel is a single-threaded discrete-event simulator: a virtual clock, a (time, sequence)
// ordered queue of cancellable events, a running trace hash and seeded random streams.
// It is not safe for concurrent use; it starts no goroutines.
type Kernel struct {
	now       time.Duration
	seq       uint64 // next sequence number
	seqLimit  uint64 // renumber when seq reaches this (1<<seqBits; lowered by tests)
	spreadMin int    // coarse buckets of more events are spread over the fine ones (queue.go; lowered by tests)
	radixMin  int    // buckets of more events are radix-sorted into the run (run.go; lowered by tests)
	processed uint64
	hash      uint64
	seed      uint64

	run   []entry // the sorted run (run.go): the taken buckets' events, popped from rh
	rh    int
	heap  []entry // the near heap (queue.go): events scheduled into fine buckets already taken
	slots []slot
	// pos[s] is slot s's index in heap while pending there, -1 while free (other tiers:
	// queue.go). It is kept apart from slots because the heap updates it at every level it
	// moves an entry: a dense 4-byte array stays in cache where 48-byte slots would not.
	pos  []int32
	free []uint32 // indexes of free slots (a stack)

	// pf is the handler whose upcoming events are announced before the current event
	// runs (Prefetcher), pfH the same value as a Handler (compared with each event's),
	// both nil until one is scheduled; pfNot is the type word (typeWord) of the last
	// handler found not to be one, so scheduling more of its events skips the check.
	pf    Prefetcher
	pfH   Handler
	pfNot uintptr

	// ring holds the fine buckets (indexes 0 .. fineBuckets-1) and then the coarse ones
	// (allocated on first use; queue.go).
	ring  [][]entry
	fineN int       // entries in the fine buckets
	ringN int       // entries in the coarse buckets
	spare [][]entry // emptied big bucket arrays, for buckets that fill up
	// fineUsed has bit i set while fine bucket i is not empty, so that refill skips
	// empty fine buckets by words, not one by one.
	fineUsed [fineBuckets / 64]uint64
	ringUsed [ringBuckets / 64]uint64 // the same for the coarse buckets
	far      []entry                  // binary min-heap of the events beyond the coarse ring
	hf       int64                    // first fine bucket not taken (into the run)
	hb       int64                    // first coarse bucket not taken (spread or into the run)
	pending  int                      // events scheduled and neither run nor cancelled

	running bool // inside Step / RunUntil / RunUntilIdle (guards reentrancy)
	stop    bool // Stop was called during the current run

	streams map[string]*rand.Rand // named random streams, created on first use
}

// New returns a kernel at virtual time 0 with no pending event. seed is the run seed from
// which every random stream is derived (see Stream).
func New(seed uint64) *Kernel {
	return &Kernel{seed: seed, hash: fnvOffset, seqLimit: 1 << seqBits, spreadMin: spreadMin, radixMin: radixMin}
}

// Reserve makes room for n pending events, so that a run which never has more than n events
// pending does not grow the kernel's slot tables afterwards. The run and the near heap
// only ever hold the next events (at most a quarter second's; queue.go): they get room for
// at most nearReserve of them and grow if a burst needs more.
func (k *Kernel) Reserve(n int) {
	k.growHeap(min(n, nearReserve))
	if r := min(n, nearReserve); r > cap(k.run) {
		k.run = append(make([]entry, 0, r), k.run...)
	}
	if n > cap(k.slots) {
		k.slots = append(make([]slot, 0, n), k.slots...)
	}
	if n > cap(k.pos) {
		k.pos = append(make([]int32, 0, n), k.pos...)
	}
	if n > cap(k.free) {
		k.free = append(make([]uint32, 0, n), k.free...)
	}
}

// Now is the virtual time since the run started. It never decreases.
func (k *Kernel) Now() time.Duration { return k.now }

// Seed is the run seed the kernel was created with.
func (k *Kernel) Seed() uint64 { return k.seed }

// Pending is the number of scheduled events that have neither run nor been cancelled.
func (k *Kernel) Pending() int { return k.pending }

// Processed is the number of events run so far (cancelled events do not count).
func (k *Kernel) Processed() uint64 { return k.processed }

// NextAt is the time of the next pending event; ok is false when none is pending.
func (k *Kernel) NextAt() (at time.Duration, ok bool) {
	k.refill()
	if k.idle() {
		return 0, false
	}
	return k.next().at, true
}

// idle reports whether the run and the near heap are empty (refill fills them while
// events are pending).
func (k *Kernel) idle() bool { return k.rh == len(k.run) && len(k.heap) == 0 }

// fromRun reports whether the next event is the run's front rather than the near heap's
// root (not idle).
func (k *Kernel) fromRun() bool {
	return k.rh < len(k.run) && (len(k.heap) == 0 || less(&k.run[k.rh], &k.heap[0]))
}

// next returns the next pending event's entry (not idle).
func (k *Kernel) next() *entry {
	if k.fromRun() {
		return &k.run[k.rh]
	}
	return &k.heap[0]
}

// Schedule arranges for h.Fire(k, p) to run at virtual time at. Events at the same time run
// in the order they were scheduled. Scheduling in the past (at < Now()) or a nil handler is
// a driver bug and panics.
func (k *Kernel) Schedule(at time.Duration, h Handler, p Payload) Handle {
	if at < k.now {
		panic(fmt.Sprintf("engine: Schedule at %v is before Now() = %v (events cannot run in the past)", at, k.now))
	}
	if h == nil {
		panic("engine: Schedule with a nil Handler")
	}
	var s uint32
	if n := len(k.free); n > 0 {
		s = k.free[n-1]
		k.free = k.free[:n-1]
	} else {
		if len(k.slots) >= maxSlots {
			panic(fmt.Sprintf("engine: more than %d events pending at once", maxSlots))
		}
		s = uint32(len(k.slots))
		k.slots = append(k.slots, slot{gen: 1})
		k.pos = append(k.pos, posFree)
	}
	if k.pf == nil {
		if w := typeWord(h); w != k.pfNot {
			k.findPrefetcher(h, w)
		}
	}
	sl := &k.slots[s]
	sl.h = h
	sl.p = p
	if k.seq >= k.seqLimit {
		k.renumber()
	}
	k.enqueue(entry{at: at, key: k.seq<<slotBits | uint64(s)}, s)
	k.seq++
	k.pending++
	return Handle{slot: s, gen: sl.gen}
}

// After schedules h.Fire(k, p) at Now()+d. A negative d panics (a driver bug).
func (k *Kernel) After(d time.Duration, h Handler, p Payload) Handle {
	if d < 0 {
		panic(fmt.Sprintf("engine: After with negative delay %v at Now() = %v", d, k.now))
	}
	if d > math.MaxInt64-k.now {
		panic(fmt.Sprintf("engine: After(%v) at Now() = %v overflows the clock", d, k.now))
	}
	return k.Schedule(k.now+d, h, p)
}

// Cancel removes a pending event. It reports true if the event was pending and now will
// never run; false for the zero Handle, an event that already ran or was already cancelled,
// or a handle whose slot has been reused since. O(log n).
func (k *Kernel) Cancel(h Handle) bool {
	if h.gen == 0 || int(h.slot) >= len(k.slots) {
		return false
	}
	if k.slots[h.slot].gen != h.gen {
		return false
	}
	switch i := k.pos[h.slot]; {
	case i >= 0:
		k.removeAt(int(i))
		k.release(h.slot)
	case i <= posRun:
		k.runCancel(int(posRun - i))
		k.release(h.slot)
	case i <= posRing:
		k.ringRemove(h.slot, int(posRing-i))
		k.release(h.slot)
	case i == posFar:
		// Beyond the ring: marked, freed when the queue reaches it.
		k.pos[h.slot] = posFarCancelled
		k.slots[h.slot].h = nil
	default:
		return false
	}
	k.pending--
	return true
}

// release frees a slot: its generation moves on (so outstanding handles go stale), the
// handler reference is dropped for the garbage collector, and the slot joins the free list.
func (k *Kernel) release(s uint32) {
	sl := &k.slots[s]
	sl.gen++
	if sl.gen == 0 {
		sl.gen = 1
	}
	sl.h = nil
	k.pos[s] = posFree
	k.free = append(k.free, s)
}

// Step runs the next pending event (advancing the clock to its time) and reports whether
// there was one. It panics if called from inside an event handler.
func (k *Kernel) Step() bool {
	if k.running {
		panic("engine: Step called from inside an event handler")
	}
	k.refill()
	if k.idle() {
		return false
	}
	k.running = true
	defer k.leave()
	k.fireNext()
	return true
}

// fireNext pops the earliest event (the caller has refilled: not idle), frees its slot,
// mixes it into the trace hash and runs it.
// The slot is freed before the handler runs, so the handler may reuse it and the event's own
// Handle is already stale (Cancel returns false) while it runs.
func (k *Kernel) fireNext() {
	var top entry
	var h Handler
	var p Payload
	if k.fromRun() {
		top = k.run[k.rh]
		k.rh++
		k.skipDead()
		sl := &k.slots[top.slot()] // prefetched runAhead events ago
		h, p = sl.h, sl.p
	} else {
		top = k.heap[0]
		// Read the slot (likely a cache miss) before reordering the heap, so the two overlap.
		sl := &k.slots[top.slot()]
		h, p = sl.h, sl.p
		k.removeAt(0)
	}
	k.release(top.slot())
	k.pending--
	if k.fineN > 0 && k.runLen() < nearLow {
		k.topUp()
	}
	if k.pfH != nil {
		k.lookahead()
	} else {
		k.prefetchNext()
	}

	k.now = top.at
	k.processed++
	x := mixWord(k.hash, uint64(top.at))
	x = mixWord(x, uint64(p.Kind))
	x = mixWord(x, uint64(p.A))
	k.hash = mixWord(x, uint64(p.B))

	h.Fire(k, p)
}

// prefetchNext starts loading (likely cache misses) the slots of the run's event
// runAhead places ahead and of the near heap's root while the current event runs. The
// run's next events were prefetched as they came within runAhead.
func (k *Kernel) prefetchNext() {
	if i := k.rh + runAhead; i < len(k.run) {
		prefetchSlot(&k.slots[k.run[i].slot()]) // a dead entry's slot: a wasted prefetch only
	}
	if len(k.heap) > 0 {
		prefetchSlot(&k.slots[k.heap[0].slot()])
	}
}

// prefetchSlot starts loading slot sl: both of its ends, since a 48-byte slot may cross a
// cache line.
func prefetchSlot(sl *slot) {
	prefetch.Line(unsafe.Pointer(sl))
	prefetch.Line(unsafe.Add(unsafe.Pointer(sl), unsafe.Sizeof(*sl)-1))
}

// findPrefetcher makes h the kernel's Prefetcher when it is one and comparable (called
// while there is none). A handler found not to be one has its type word w remembered,
// so that scheduling while there is none costs one comparison per event, not a type
// check (which took ~15 % off BenchmarkEngine's events/cpu-s).
func (k *Kernel) findPrefetcher(h Handler, w uintptr) {
	if pf, ok := h.(Prefetcher); ok && reflect.TypeOf(h).Comparable() {
		k.pf, k.pfH = pf, h
		return
	}
	k.pfNot = w
}

// typeWord returns the word of the interface value h that names its dynamic type (the
// itab): one word for all handlers of one type. It only serves as findPrefetcher's
// memo, so were two words ever to name one type, a handler would merely be checked
// again.
func typeWord(h Handler) uintptr { return *(*uintptr)(unsafe.Pointer(&h)) }

// lookahead announces the next pending event to the Prefetcher's PrefetchNext and the
// likely event after it to its PrefetchAfter: the smaller of the run's next live entry
// and the near heap's smallest child of the root, when the next event is the heap's root;
// the smaller of the run's second live entry and the heap's root, when it is the run's
// front. It starts loading the slots of the root's other children and the run's event
// runAhead places ahead, so the event after next is usually in cache by the time it is
// announced.
func (k *Kernel) lookahead() {
	k.prefetchNext()
	if k.idle() {
		return
	}
	h := k.heap
	var nx, af *entry
	m := 0 // the heap's smallest child of the root, if any
	if k.fromRun() {
		nx = &k.run[k.rh]
		if len(h) > 0 {
			af = &h[0]
		}
		if i := k.nextLive(k.rh + 1); i < len(k.run) && (af == nil || less(&k.run[i], af)) {
			af = &k.run[i]
		}
	} else {
		nx = &h[0]
		if n := min(len(h), arity+1); n > 1 {
			m = 1
			for c := 2; c < n; c++ {
				if less(&h[c], &h[m]) {
					m = c
				}
			}
			af = &h[m]
		}
		if k.rh < len(k.run) && (af == nil || less(&k.run[k.rh], af)) {
			af = &k.run[k.rh]
		}
	}
	if sl := &k.slots[nx.slot()]; sl.h == k.pfH {
		k.pf.PrefetchNext(sl.p)
	}
	if af != nil {
		if sl := &k.slots[af.slot()]; sl.h == k.pfH {
			k.pf.PrefetchAfter(sl.p)
		}
	}
	for c := 1; c < min(len(h), arity+1); c++ {
		if c != m {
			prefetch.Line(unsafe.Pointer(&k.slots[h[c].slot()]))
		}
	}
}

// nextLive returns the index of the first live entry of the run at or after i (or
// len(k.run)).
func (k *Kernel) nextLive(i int) int {
	for i < len(k.run) && k.run[i].at < 0 {
		i++
	}
	return i
}

// leave ends a run (Step, RunUntil, RunUntilIdle). Deferred once per run rather than per
// event: if a handler panics, the flags are cleared on the way out (without recovering),
// so a caller that recovers can keep using the kernel.
func (k *Kernel) leave() {
	k.running = false
	k.stop = false
}

// RunUntil runs every pending event with time <= t, in order, including events that
// handlers schedule at or before t, then sets Now() to t if t is later. If Stop is called
// during the run it returns after the current event and leaves the clock at that event's
// time. A t before Now() runs nothing.
func (k *Kernel) RunUntil(t time.Duration) {
	if k.running {
		panic("engine: RunUntil called from inside an event handler")
	}
	k.running = true
	k.stop = false
	defer k.leave()
	for !k.stop {
		if k.idle() {
			if k.refill(); k.idle() {
				break
			}
		}
		if k.next().at > t {
			break
		}
		k.fireNext()
	}
	if !k.stop && t > k.now {
		k.now = t
	}
}

// RunUntilIdle runs events until none is pending or Stop is called. The clock stays at the
// time of the last event run.
func (k *Kernel) RunUntilIdle() {
	if k.running {
		panic("engine: RunUntilIdle called from inside an event handler")
	}
	k.running = true
	k.stop = false
	defer k.leave()
	for !k.stop {
		if k.idle() {
			if k.refill(); k.idle() {
				break
			}
		}
		k.fireNext()
	}
}

// Stop makes a running RunUntil or RunUntilIdle return after the current event. It only
// affects a run in progress: outside one (or during a single Step) it has no lasting effect.
func (k *Kernel) Stop() {
	if k.running {
		k.stop = true
	}
}
