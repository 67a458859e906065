package engine

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fired is one event as a handler saw it run.
type fired struct {
	At time.Duration
	ID int64 // Payload.A
}

// recorder logs every event it runs.
type recorder struct{ log []fired }

func (r *recorder) Fire(k *Kernel, p Payload) { r.log = append(r.log, fired{k.Now(), p.A}) }

func ids(log []fired) []int64 {
	out := make([]int64, len(log))
	for i, f := range log {
		out[i] = f.ID
	}
	return out
}

func TestOrdering(t *testing.T) {
	type ev struct {
		at time.Duration
		id int64
	}
	tests := []struct {
		name   string
		events []ev // scheduled in this order
		want   []int64
	}{
		{"by time", []ev{{30, 1}, {10, 2}, {20, 3}}, []int64{2, 3, 1}},
		{"FIFO among equal times", []ev{{5, 1}, {5, 2}, {5, 3}, {5, 4}}, []int64{1, 2, 3, 4}},
		{"ties broken by scheduling order, not id", []ev{{7, 9}, {3, 8}, {7, 1}, {3, 2}, {0, 5}}, []int64{5, 8, 2, 9, 1}},
		{"at time zero", []ev{{0, 1}, {0, 2}}, []int64{1, 2}},
		{"none", nil, []int64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := New(1)
			r := &recorder{}
			for _, e := range tc.events {
				k.Schedule(e.at, r, Payload{A: e.id})
			}
			k.RunUntilIdle()
			if diff := cmp.Diff(tc.want, ids(r.log)); diff != "" {
				t.Errorf("run order (-want +got):\n%s", diff)
			}
			if k.Processed() != uint64(len(tc.events)) || k.Pending() != 0 {
				t.Errorf("Processed %d Pending %d, want %d and 0", k.Processed(), k.Pending(), len(tc.events))
			}
		})
	}
}

// Many events at few distinct times, scheduled in a scrambled order: the run order must be
// (time, scheduling order). Exercises the heap beyond a handful of entries.
func TestOrderingLarge(t *testing.T) {
	k := New(1)
	r := &recorder{}
	const n = 5000
	for i := 0; i < n; i++ {
		at := time.Duration((i * 7919) % 97) // 97 distinct times, ~52 events each
		k.Schedule(at, r, Payload{A: int64(i)})
	}
	k.RunUntilIdle()
	if len(r.log) != n {
		t.Fatalf("ran %d events, want %d", len(r.log), n)
	}
	for i := 1; i < n; i++ {
		a, b := r.log[i-1], r.log[i]
		if a.At > b.At || (a.At == b.At && a.ID >= b.ID) {
			t.Fatalf("event %d (%v, id %d) ran before event %d (%v, id %d)", i-1, a.At, a.ID, i, b.At, b.ID)
		}
	}
}

func TestHandlerSchedulesAtNowRunsAfterQueuedTies(t *testing.T) {
	// An event scheduled by a handler for the current instant runs after the events already
	// queued for that instant (its sequence number is larger), and in the same RunUntil.
	k := New(1)
	var order []string
	mk := func(name string, then func()) Handler {
		return HandlerFunc(func(k *Kernel, p Payload) {
			order = append(order, name)
			if then != nil {
				then()
			}
		})
	}
	c := mk("c", nil)
	k.Schedule(10, mk("a", func() { k.After(0, c, Payload{}) }), Payload{})
	k.Schedule(10, mk("b", nil), Payload{})
	k.RunUntil(10)
	if diff := cmp.Diff([]string{"a", "b", "c"}, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestRunUntilBoundaries(t *testing.T) {
	k := New(1)
	r := &recorder{}
	for _, at := range []time.Duration{5, 10, 10, 15} {
		k.Schedule(at, r, Payload{A: int64(at)})
	}
	k.RunUntil(4) // nothing due; clock moves to 4
	if len(r.log) != 0 || k.Now() != 4 {
		t.Fatalf("RunUntil(4): ran %v, Now %v; want nothing and 4", r.log, k.Now())
	}
	k.RunUntil(10) // events exactly at 10 run
	if diff := cmp.Diff([]fired{{5, 5}, {10, 10}, {10, 10}}, r.log); diff != "" {
		t.Errorf("RunUntil(10) (-want +got):\n%s", diff)
	}
	if k.Now() != 10 {
		t.Errorf("Now after RunUntil(10) = %v, want 10", k.Now())
	}
	if at, ok := k.NextAt(); !ok || at != 15 {
		t.Errorf("NextAt = %v, %v; want 15, true", at, ok)
	}
	k.RunUntil(12) // nothing due; Now() == 12 although the last event ran at 10
	if k.Now() != 12 || k.Pending() != 1 {
		t.Errorf("after RunUntil(12): Now %v Pending %d, want 12 and 1", k.Now(), k.Pending())
	}
	k.RunUntil(3) // earlier than Now: runs nothing, clock unchanged
	if k.Now() != 12 {
		t.Errorf("RunUntil(3) moved the clock to %v", k.Now())
	}
	k.RunUntil(100)
	if k.Now() != 100 || k.Pending() != 0 || k.Processed() != 4 {
		t.Errorf("after RunUntil(100): Now %v Pending %d Processed %d; want 100, 0, 4", k.Now(), k.Pending(), k.Processed())
	}
	if _, ok := k.NextAt(); ok {
		t.Errorf("NextAt reports an event on an empty queue")
	}
}

func TestRunUntilIncludesEventsScheduledDuringTheRun(t *testing.T) {
	// A handler reschedules itself every 3 ns; RunUntil(10) must run the ones at 0,3,6,9
	// and leave the one at 12 pending.
	k := New(1)
	var times []time.Duration
	var tick HandlerFunc
	tick = func(k *Kernel, p Payload) {
		times = append(times, k.Now())
		k.After(3, tick, p)
	}
	k.Schedule(0, tick, Payload{})
	k.RunUntil(10)
	if diff := cmp.Diff([]time.Duration{0, 3, 6, 9}, times); diff != "" {
		t.Errorf("ticks (-want +got):\n%s", diff)
	}
	if at, _ := k.NextAt(); at != 12 || k.Now() != 10 {
		t.Errorf("NextAt %v Now %v, want 12 and 10", at, k.Now())
	}
}

func TestStepAndRunUntilIdle(t *testing.T) {
	k := New(1)
	if k.Step() {
		t.Fatal("Step on an empty kernel returned true")
	}
	r := &recorder{}
	k.Schedule(20, r, Payload{A: 2})
	k.Schedule(10, r, Payload{A: 1})
	if !k.Step() || k.Now() != 10 || k.Pending() != 1 || k.Processed() != 1 {
		t.Fatalf("first Step: Now %v Pending %d Processed %d; want 10, 1, 1", k.Now(), k.Pending(), k.Processed())
	}
	k.Schedule(30, r, Payload{A: 3})
	k.RunUntilIdle()
	if diff := cmp.Diff([]fired{{10, 1}, {20, 2}, {30, 3}}, r.log); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if k.Now() != 30 || k.Pending() != 0 || k.Step() {
		t.Errorf("after RunUntilIdle: Now %v Pending %d; want 30, 0, no further step", k.Now(), k.Pending())
	}
}

func TestStop(t *testing.T) {
	run := map[string]func(k *Kernel){
		"RunUntil":     func(k *Kernel) { k.RunUntil(100) },
		"RunUntilIdle": func(k *Kernel) { k.RunUntilIdle() },
	}
	for _, name := range []string{"RunUntil", "RunUntilIdle"} {
		t.Run(name, func(t *testing.T) {
			k := New(1)
			r := &recorder{}
			stopper := HandlerFunc(func(k *Kernel, p Payload) {
				r.Fire(k, p)
				k.Stop()
			})
			k.Schedule(1, r, Payload{A: 1})
			k.Schedule(2, stopper, Payload{A: 2})
			k.Schedule(2, r, Payload{A: 3}) // same time as the stopper, but not run
			k.Schedule(50, r, Payload{A: 4})
			run[name](k)
			if diff := cmp.Diff([]fired{{1, 1}, {2, 2}}, r.log); diff != "" {
				t.Errorf("ran (-want +got):\n%s", diff)
			}
			// A stopped run leaves the clock at the last event, not at the run's horizon.
			if k.Now() != 2 || k.Pending() != 2 {
				t.Errorf("Now %v Pending %d, want 2 and 2", k.Now(), k.Pending())
			}
			// The stop is spent: the next run continues normally.
			run[name](k)
			if diff := cmp.Diff([]int64{1, 2, 3, 4}, ids(r.log)); diff != "" {
				t.Errorf("after resuming (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("outside a run has no effect", func(t *testing.T) {
		k := New(1)
		r := &recorder{}
		k.Schedule(1, r, Payload{A: 1})
		k.Schedule(2, r, Payload{A: 2})
		k.Stop()
		k.RunUntilIdle()
		if len(r.log) != 2 {
			t.Errorf("ran %d events, want 2", len(r.log))
		}
	})
	t.Run("during Step has no lasting effect", func(t *testing.T) {
		k := New(1)
		r := &recorder{}
		k.Schedule(1, HandlerFunc(func(k *Kernel, p Payload) { k.Stop() }), Payload{})
		k.Schedule(2, r, Payload{A: 2})
		k.Step()
		k.RunUntilIdle()
		if len(r.log) != 1 {
			t.Errorf("ran %d events after the Step, want 1", len(r.log))
		}
	})
}

func TestCancel(t *testing.T) {
	t.Run("pending event is removed and never runs", func(t *testing.T) {
		k := New(1)
		r := &recorder{}
		k.Schedule(1, r, Payload{A: 1})
		h := k.Schedule(2, r, Payload{A: 2})
		k.Schedule(3, r, Payload{A: 3})
		if !k.Cancel(h) {
			t.Fatal("Cancel of a pending event returned false")
		}
		if k.Pending() != 2 {
			t.Errorf("Pending %d after Cancel, want 2", k.Pending())
		}
		if k.Cancel(h) {
			t.Error("second Cancel of the same handle returned true")
		}
		k.RunUntilIdle()
		if diff := cmp.Diff([]int64{1, 3}, ids(r.log)); diff != "" {
			t.Errorf("ran (-want +got):\n%s", diff)
		}
		if k.Processed() != 2 {
			t.Errorf("Processed %d, want 2 (cancelled events do not count)", k.Processed())
		}
	})
	t.Run("after it ran", func(t *testing.T) {
		k := New(1)
		h := k.Schedule(1, &recorder{}, Payload{})
		k.RunUntilIdle()
		if k.Cancel(h) {
			t.Error("Cancel of an event that already ran returned true")
		}
	})
	t.Run("own handle inside its handler", func(t *testing.T) {
		k := New(1)
		var self Handle
		var got bool
		self = k.Schedule(1, HandlerFunc(func(k *Kernel, p Payload) { got = k.Cancel(self) }), Payload{})
		k.RunUntilIdle()
		if got {
			t.Error("an event cancelled itself while running")
		}
	})
	t.Run("stale handle after slot reuse", func(t *testing.T) {
		k := New(1)
		r := &recorder{}
		// Run one event first: the clock's bucket is then in the near heap, where a
		// cancelled event's slot is freed at once (queue.go).
		k.Schedule(0, HandlerFunc(func(*Kernel, Payload) {}), Payload{})
		k.Step()
		old := k.Schedule(1, r, Payload{A: 1})
		if !k.Cancel(old) {
			t.Fatal("Cancel of pending event returned false")
		}
		// With a single freed slot, the next Schedule must reuse it.
		reused := k.Schedule(2, r, Payload{A: 2})
		if reused.slot != old.slot {
			t.Fatalf("slot not reused (old %v, new %v): test premise broken", old, reused)
		}
		if k.Cancel(old) {
			t.Error("stale handle cancelled the event that reused its slot")
		}
		ran := New(1)
		other := &recorder{}
		first := ran.Schedule(1, other, Payload{})
		ran.Step()
		second := ran.Schedule(5, other, Payload{})
		if second.slot != first.slot || ran.Cancel(first) || ran.Pending() != 1 {
			t.Error("handle of an event that ran cancelled the event that reused its slot")
		}
		k.RunUntilIdle()
		if diff := cmp.Diff([]int64{2}, ids(r.log)); diff != "" {
			t.Errorf("ran (-want +got):\n%s", diff)
		}
	})
	t.Run("stale handle of a cancelled far event", func(t *testing.T) {
		// An event minutes ahead waits in the ring (or beyond it, hours ahead): Cancel
		// marks it and its slot is freed only when the queue reaches its bucket. The
		// handle must be dead from the Cancel on, and stay dead once the slot is reused.
		for _, at := range []time.Duration{time.Minute, 5 * time.Hour} {
			k := New(1)
			r := &recorder{}
			old := k.Schedule(at, r, Payload{A: 1})
			if !k.Cancel(old) || k.Pending() != 0 {
				t.Fatalf("at %v: Cancel of a pending event: pending %d", at, k.Pending())
			}
			if k.Cancel(old) {
				t.Errorf("at %v: a second Cancel returned true", at)
			}
			k.Schedule(at+time.Second, r, Payload{A: 2})
			k.RunUntilIdle() // passes the cancelled event's bucket: its slot is freed
			// Both slots are free now: two new events take them both.
			a := k.Schedule(k.Now()+time.Minute, r, Payload{A: 3})
			b := k.Schedule(k.Now()+time.Minute, r, Payload{A: 4})
			if a.slot != old.slot && b.slot != old.slot {
				t.Fatalf("at %v: slot not reused (old %v, new %v and %v): test premise broken", at, old, a, b)
			}
			if k.Cancel(old) {
				t.Errorf("at %v: stale handle cancelled the event that reused its slot", at)
			}
			k.RunUntilIdle()
			if diff := cmp.Diff([]int64{2, 3, 4}, ids(r.log)); diff != "" {
				t.Errorf("at %v: ran (-want +got):\n%s", at, diff)
			}
		}
	})
	t.Run("zero and foreign handles", func(t *testing.T) {
		k := New(1)
		k.Schedule(1, &recorder{}, Payload{})
		if k.Cancel(Handle{}) {
			t.Error("Cancel(Handle{}) returned true")
		}
		if !(Handle{}).IsZero() {
			t.Error("Handle{}.IsZero() is false")
		}
		if k.Cancel(Handle{slot: 1000, gen: 1}) {
			t.Error("Cancel of an out-of-range slot returned true")
		}
		if k.Pending() != 1 {
			t.Errorf("Pending %d, want 1", k.Pending())
		}
	})
	t.Run("cancel the earliest, a middle and the last event", func(t *testing.T) {
		k := New(1)
		r := &recorder{}
		var hs []Handle
		for i := 0; i < 40; i++ {
			hs = append(hs, k.Schedule(time.Duration(i), r, Payload{A: int64(i)}))
		}
		for _, i := range []int{0, 17, 39} {
			if !k.Cancel(hs[i]) {
				t.Fatalf("Cancel(%d) returned false", i)
			}
		}
		if at, _ := k.NextAt(); at != 1 {
			t.Errorf("NextAt %v after cancelling the earliest, want 1", at)
		}
		k.RunUntilIdle()
		var want []int64
		for i := 0; i < 40; i++ {
			if i != 0 && i != 17 && i != 39 {
				want = append(want, int64(i))
			}
		}
		if diff := cmp.Diff(want, ids(r.log)); diff != "" {
			t.Errorf("ran (-want +got):\n%s", diff)
		}
	})
}

// mustPanic runs f and returns the panic message, failing the test if f does not panic.
func mustPanic(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("expected a panic")
		}
		msg = fmt.Sprint(r)
	}()
	f()
	return ""
}

func TestSchedulingInThePastPanics(t *testing.T) {
	k := New(1)
	r := &recorder{}
	k.Schedule(10, r, Payload{})
	k.RunUntil(10)

	msg := mustPanic(t, func() { k.Schedule(9, r, Payload{}) })
	if !strings.Contains(msg, "before Now()") || !strings.Contains(msg, "9ns") || !strings.Contains(msg, "10ns") {
		t.Errorf("panic message %q does not name the time and Now()", msg)
	}
	msg = mustPanic(t, func() { k.After(-1, r, Payload{}) })
	if !strings.Contains(msg, "negative delay") {
		t.Errorf("panic message %q does not say the delay is negative", msg)
	}
	mustPanic(t, func() { k.Schedule(20, nil, Payload{}) })
	msg = mustPanic(t, func() { k.After(math.MaxInt64, r, Payload{}) })
	if !strings.Contains(msg, "overflows") {
		t.Errorf("panic message %q does not say the clock overflows", msg)
	}

	// Scheduling at exactly Now() is allowed.
	k.Schedule(10, r, Payload{A: 1})
	if k.Pending() != 1 {
		t.Errorf("Pending %d, want 1 (the failed Schedules must not leave events behind)", k.Pending())
	}

	// A panic inside a handler propagates, and the kernel stays usable afterwards.
	k.Schedule(11, HandlerFunc(func(k *Kernel, p Payload) { k.Schedule(0, r, Payload{}) }), Payload{})
	mustPanic(t, func() { k.RunUntilIdle() })
	k.RunUntilIdle() // must not report reentrancy
	if k.Now() != 11 {
		t.Errorf("Now %v, want 11", k.Now())
	}
}

func TestReentrantRunPanics(t *testing.T) {
	k := New(1)
	for name, f := range map[string]func(k *Kernel){
		"Step":         func(k *Kernel) { k.Step() },
		"RunUntil":     func(k *Kernel) { k.RunUntil(5) },
		"RunUntilIdle": func(k *Kernel) { k.RunUntilIdle() },
	} {
		k.Schedule(k.Now(), HandlerFunc(func(k *Kernel, p Payload) { f(k) }), Payload{})
		msg := mustPanic(t, func() { k.Step() })
		if !strings.Contains(msg, name+" called from inside an event handler") {
			t.Errorf("%s: panic message %q", name, msg)
		}
	}
}

func TestClockNeverGoesBackwards(t *testing.T) {
	// Handlers schedule follow-ups at pseudo-random delays (including 0); every handler
	// must observe a Now() no earlier than the previous one.
	k := New(1)
	rng := k.Stream("delays")
	last := time.Duration(-1)
	var h HandlerFunc
	h = func(k *Kernel, p Payload) {
		if k.Now() < last {
			t.Fatalf("clock went back from %v to %v", last, k.Now())
		}
		last = k.Now()
		if p.A > 0 {
			k.After(time.Duration(rng.IntN(5)), h, Payload{A: p.A - 1})
		}
	}
	for i := 0; i < 100; i++ {
		k.Schedule(time.Duration(rng.IntN(50)), h, Payload{A: 20})
	}
	prev := k.Now()
	for k.Step() {
		if k.Now() < prev {
			t.Fatalf("clock went back from %v to %v", prev, k.Now())
		}
		prev = k.Now()
	}
	if k.Processed() != 100*21 {
		t.Errorf("Processed %d, want %d (100 chains of 21 events)", k.Processed(), 100*21)
	}
}

func TestReserveKeepsState(t *testing.T) {
	k := New(1)
	r := &recorder{}
	k.Schedule(3, r, Payload{A: 3})
	h := k.Schedule(1, r, Payload{A: 1})
	k.Schedule(2, r, Payload{A: 2})
	k.Reserve(1000)
	if cap(k.heap) < 1000 || cap(k.slots) < 1000 || cap(k.pos) < 1000 || cap(k.free) < 1000 {
		t.Errorf("Reserve(1000) left capacities heap %d slots %d pos %d free %d", cap(k.heap), cap(k.slots), cap(k.pos), cap(k.free))
	}
	if !k.Cancel(h) {
		t.Fatal("handle lost by Reserve")
	}
	k.RunUntilIdle()
	if diff := cmp.Diff([]int64{2, 3}, ids(r.log)); diff != "" {
		t.Errorf("ran (-want +got):\n%s", diff)
	}
}

func TestSeedAccessor(t *testing.T) {
	if got := New(42).Seed(); got != 42 {
		t.Errorf("Seed() = %d, want 42", got)
	}
}

func TestNoAllocationPerEvent(t *testing.T) {
	// Steady state: each event schedules one follow-up, and every other one also arms and
	// cancels a timeout. Once the tables have grown, nothing may allocate.
	h := &benchHandler{x: 12345, maxDelay: 1000}
	k := fillKernel(1000, h)
	var timeout Handle
	churn := HandlerFunc(func(k *Kernel, p Payload) {
		k.Cancel(timeout)
		timeout = k.After(time.Hour, h, p)
	})
	for i := 0; i < 2000; i++ { // warm up: grow every table to its peak
		k.Step()
		churn(k, Payload{})
	}
	allocs := testing.AllocsPerRun(5000, func() {
		k.Step()
		churn(k, Payload{A: 1})
		k.Mix(uint64(k.Now()))
	})
	if allocs != 0 {
		t.Errorf("%v allocations per event in steady state, want 0", allocs)
	}
}

func TestRenumberKeepsFIFO(t *testing.T) {
	// Force a renumbering every 4 schedules: 30 events at one instant and 30 spread over
	// others must still run in (time, scheduling order).
	k := New(1)
	k.seqLimit = 4
	r := &recorder{}
	var want []int64
	for i := 0; i < 60; i++ {
		at := time.Duration(0)
		if i%2 == 1 {
			at = time.Duration(60 - i) // odd ids at distinct times 59, 57, ..., 1
		}
		k.Schedule(at, r, Payload{A: int64(i)})
		if i%2 == 0 {
			want = append(want, int64(i)) // even ids all at time 0, FIFO
		}
	}
	for i := 59; i >= 1; i -= 2 {
		want = append(want, int64(i)) // time 1 is id 59, time 3 is id 57, ...
	}
	k.RunUntilIdle()
	if diff := cmp.Diff(want, ids(r.log)); diff != "" {
		t.Errorf("run order (-want +got):\n%s", diff)
	}
}
