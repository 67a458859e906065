package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// The property test drives the kernel and a deliberately simple model with the same random
// sequence of operations and compares every observable after each one.
//
// Event payloads: A is the event's id; B > 0 means "when run, schedule a child B-1 ns
// later"; Kind 1 means "when run, call Stop".

type modelEvent struct {
	at   time.Duration
	seq  uint64
	id   int64
	kind uint32
	b    int64
}

// model is the reference: pending events in a slice kept sorted by (at, seq).
type model struct {
	now       time.Duration
	seq       uint64
	nextID    int64
	pending   []modelEvent
	log       []fired
	processed uint64
}

func (m *model) schedule(at time.Duration, kind uint32, b int64) int64 {
	id := m.nextID
	m.nextID++
	e := modelEvent{at: at, seq: m.seq, id: id, kind: kind, b: b}
	m.seq++
	i, _ := slices.BinarySearchFunc(m.pending, e, func(x, y modelEvent) int {
		if x.at != y.at {
			if x.at < y.at {
				return -1
			}
			return 1
		}
		if x.seq < y.seq {
			return -1
		}
		return 1
	})
	m.pending = slices.Insert(m.pending, i, e)
	return id
}

func (m *model) cancel(id int64) bool {
	for i, e := range m.pending {
		if e.id == id {
			m.pending = slices.Delete(m.pending, i, i+1)
			return true
		}
	}
	return false
}

// step runs the earliest event and reports whether it asked to stop.
func (m *model) step() (stop bool) {
	e := m.pending[0]
	m.pending = m.pending[1:]
	m.now = e.at
	m.processed++
	m.log = append(m.log, fired{e.at, e.id})
	if e.b > 0 {
		m.schedule(m.now+time.Duration(e.b-1), 0, 0)
	}
	return e.kind == 1
}

func (m *model) runUntil(t time.Duration) {
	for len(m.pending) > 0 && m.pending[0].at <= t {
		if m.step() {
			return
		}
	}
	if t > m.now {
		m.now = t
	}
}

func (m *model) runUntilIdle() {
	for len(m.pending) > 0 {
		if m.step() {
			return
		}
	}
}

// subject is the kernel side: a handler that mirrors the model's event semantics.
type subject struct {
	k       *Kernel
	nextID  int64
	handles []Handle // by event id
	log     []fired
}

func (s *subject) schedule(at time.Duration, kind uint32, b int64) {
	id := s.nextID
	s.nextID++
	s.handles = append(s.handles, s.k.Schedule(at, s, Payload{Kind: kind, A: id, B: b}))
}

func (s *subject) Fire(k *Kernel, p Payload) {
	s.log = append(s.log, fired{k.Now(), p.A})
	if p.B > 0 {
		s.schedule(k.Now()+time.Duration(p.B-1), 0, 0)
	}
	if p.Kind == 1 {
		k.Stop()
	}
}

func TestKernelMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := &subject{k: New(1)}
		// Sometimes force sequence renumbering every few schedules to exercise it.
		s.k.seqLimit = rapid.SampledFrom([]uint64{1 << seqBits, 3, 16}).Draw(t, "seqLimit")
		// Spread coarse buckets over the fine ones always, from a few events up, or as by default.
		s.k.spreadMin = rapid.SampledFrom([]int{0, 3, spreadMin}).Draw(t, "spreadMin")
		// Radix-sort every fine bucket taken into the run, or as by default.
		s.k.radixMin = rapid.SampledFrom([]int{0, radixMin}).Draw(t, "radixMin")
		m := &model{}

		check := func(op string) {
			if s.k.Now() != m.now {
				t.Fatalf("after %s: Now %v, model %v", op, s.k.Now(), m.now)
			}
			if s.k.Pending() != len(m.pending) || s.k.Processed() != m.processed {
				t.Fatalf("after %s: Pending %d Processed %d, model %d and %d", op, s.k.Pending(), s.k.Processed(), len(m.pending), m.processed)
			}
			at, ok := s.k.NextAt()
			if ok != (len(m.pending) > 0) || (ok && at != m.pending[0].at) {
				t.Fatalf("after %s: NextAt %v %v, model %v", op, at, ok, m.pending)
			}
			if diff := cmp.Diff(m.log, s.log); diff != "" {
				t.Fatalf("after %s: run log (-model +kernel):\n%s", op, diff)
			}
		}

		// Delays and horizons come in units of 1 ns up to 2^41 ns (~37 min), so that events
		// fall in the near heap, the fine and coarse buckets and beyond them (queue.go), and the
		// window slides and jumps.
		unit := func(t *rapid.T) time.Duration {
			return time.Duration(1) << rapid.SampledFrom([]int{0, 0, fineShift - 1, fineShift, fineShift + 5, 20, bucketShift - 1, bucketShift, bucketShift + 6, bucketShift + 12, bucketShift + 13}).Draw(t, "unit")
		}
		t.Repeat(map[string]func(*rapid.T){
			"schedule": func(t *rapid.T) {
				at := s.k.Now() + time.Duration(rapid.IntRange(0, 20).Draw(t, "delay"))*unit(t)
				kind := uint32(0)
				if rapid.IntRange(0, 9).Draw(t, "stopper") == 0 {
					kind = 1
				}
				b := int64(0)
				if rapid.Bool().Draw(t, "spawns") {
					b = int64(rapid.IntRange(1, 10).Draw(t, "childDelay+1")) * int64(unit(t))
				}
				s.schedule(at, kind, b)
				m.schedule(at, kind, b)
				check("schedule")
			},
			"cancel": func(t *rapid.T) {
				if len(s.handles) == 0 {
					if s.k.Cancel(Handle{}) {
						t.Fatal("Cancel(Handle{}) returned true")
					}
					return
				}
				id := rapid.IntRange(0, len(s.handles)-1).Draw(t, "id")
				got, want := s.k.Cancel(s.handles[id]), m.cancel(int64(id))
				if got != want {
					t.Fatalf("Cancel(event %d) = %v, model %v", id, got, want)
				}
				check("cancel")
			},
			"step": func(t *rapid.T) {
				got := s.k.Step()
				want := len(m.pending) > 0
				if want {
					m.step()
				}
				if got != want {
					t.Fatalf("Step = %v, model %v", got, want)
				}
				check("step")
			},
			"runUntil": func(t *rapid.T) {
				until := s.k.Now() + time.Duration(rapid.IntRange(-5, 30).Draw(t, "horizon"))*unit(t)
				s.k.RunUntil(until)
				m.runUntil(until)
				check("runUntil")
			},
			"runUntilIdle": func(t *rapid.T) {
				s.k.RunUntilIdle()
				m.runUntilIdle()
				check("runUntilIdle")
			},
		})
	})
}

// TestTiersKeepOrderAtScale drives thousands of events whose delays span the near heap,
// the ring (2^40 ns) and beyond, with cancellations and children, against the model: the
// window slides and jumps while far events wait and new events land next to them.
func TestTiersKeepOrderAtScale(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		s := &subject{k: New(seed)}
		s.k.spreadMin = []int{0, 2, 30, spreadMin}[seed-1] // every tier in use, or as by default
		s.k.radixMin = []int{0, 1, radixMin, 0}[seed-1]
		m := &model{}
		x := seed * 0x9e3779b97f4a7c15
		rnd := func(n uint64) uint64 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			return x % n
		}
		delay := func() time.Duration {
			// 0 .. 2^42 ns, log-uniform-ish: every tier gets its share.
			return time.Duration(rnd(1 << rnd(43)))
		}
		for op := 0; op < 20_000; op++ {
			switch r := rnd(10); {
			case r < 5:
				at := s.k.Now() + delay()
				b := int64(0)
				if rnd(3) == 0 {
					b = int64(delay()) + 1
				}
				s.schedule(at, 0, b)
				m.schedule(at, 0, b)
			case r < 7 && len(s.handles) > 0:
				id := int(rnd(uint64(len(s.handles))))
				if got, want := s.k.Cancel(s.handles[id]), m.cancel(int64(id)); got != want {
					t.Fatalf("seed %d op %d: Cancel(event %d) = %v, model %v", seed, op, id, got, want)
				}
			default:
				until := s.k.Now() + delay()
				s.k.RunUntil(until)
				m.runUntil(until)
			}
			if s.k.Pending() != len(m.pending) || s.k.Now() != m.now {
				t.Fatalf("seed %d op %d: pending %d now %v, model %d %v", seed, op, s.k.Pending(), s.k.Now(), len(m.pending), m.now)
			}
		}
		s.k.RunUntilIdle()
		m.runUntilIdle()
		if diff := cmp.Diff(m.log, s.log); diff != "" {
			t.Fatalf("seed %d: run log (-model +kernel):\n%s", seed, diff)
		}
		if len(s.log) < 5_000 {
			t.Fatalf("seed %d: only %d events ran: the test does not exercise the queue", seed, len(s.log))
		}
	}
}
