package engine

import (
	"fmt"
	"hash/fnv"
	"testing"
	"time"
)

// script schedules a fixed set of events and mixes in a decision, returning the kernel after
// running it. Variants perturb one thing each.
func traceOf(events []struct {
	at time.Duration
	p  Payload
}, mix func(k *Kernel)) *Kernel {
	k := New(7)
	noop := HandlerFunc(func(*Kernel, Payload) {})
	for _, e := range events {
		k.Schedule(e.at, noop, e.p)
	}
	k.RunUntil(5)
	if mix != nil {
		mix(k)
	}
	k.RunUntilIdle()
	return k
}

type ev = struct {
	at time.Duration
	p  Payload
}

func TestHashMatchesReference(t *testing.T) {
	// The trace hash starts at the FNV-64a offset basis and folds, in order, each event's
	// time, Kind, A and B as words (FNV-1a step on the word, then h ^= h >> 32), and the
	// mixed-in values: Mix as one word, MixString as its length (a word) and then its
	// bytes with FNV-1a. Recompute it independently from that layout.
	events := []ev{{1, Payload{Kind: 1, A: 2, B: 3}}, {9, Payload{Kind: 0xdead, A: -1, B: 1 << 40}}}
	k := traceOf(events, func(k *Kernel) { k.Mix(0x0102030405060708); k.MixString("cell-3") })

	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	word := func(v uint64) {
		h = (h ^ v) * prime
		h ^= h >> 32
	}
	putEvent := func(e ev) {
		word(uint64(e.at))
		word(uint64(e.p.Kind))
		word(uint64(e.p.A))
		word(uint64(e.p.B))
	}
	putEvent(events[0]) // runs before RunUntil(5) returns
	word(0x0102030405060708)
	word(uint64(len("cell-3")))
	for _, b := range []byte("cell-3") {
		h = (h ^ uint64(b)) * prime
	}
	putEvent(events[1]) // runs in RunUntilIdle
	if got := k.Hash(); got != h {
		t.Fatalf("Hash = %#x, reference = %#x", got, h)
	}
	if got, want := k.HashHex(), fmt.Sprintf("%016x", h); got != want {
		t.Errorf("HashHex = %q, want %q", got, want)
	}
	if New(1).Hash() != fnv.New64a().Sum64() {
		t.Errorf("a fresh kernel's hash is not the FNV-64a offset basis")
	}
}

func TestHashHexPadsToSixteenDigits(t *testing.T) {
	k := New(1)
	k.hash = 0xabc
	if got := k.HashHex(); got != "0000000000000abc" {
		t.Errorf("HashHex = %q, want 0000000000000abc", got)
	}
}

func TestHashDeterministicAndSensitive(t *testing.T) {
	base := []ev{
		{1, Payload{Kind: 1, A: 10, B: 0}},
		{2, Payload{Kind: 2, A: 20, B: 0}},
		{2, Payload{Kind: 3, A: 30, B: 0}},
		{8, Payload{Kind: 1, A: 40, B: 1}},
	}
	mixDecision := func(k *Kernel) { k.Mix(42) }
	ref := traceOf(base, mixDecision).Hash()
	if again := traceOf(base, mixDecision).Hash(); again != ref {
		t.Fatalf("same sequence gave hashes %#x and %#x", ref, again)
	}

	with := func(f func(e []ev)) []ev {
		c := append([]ev(nil), base...)
		f(c)
		return c
	}
	variants := []struct {
		name   string
		events []ev
		mix    func(k *Kernel)
	}{
		{"different time", with(func(e []ev) { e[3].at = 9 }), mixDecision},
		{"different kind", with(func(e []ev) { e[0].p.Kind = 5 }), mixDecision},
		{"different A", with(func(e []ev) { e[1].p.A = 21 }), mixDecision},
		{"different B", with(func(e []ev) { e[3].p.B = 2 }), mixDecision},
		{"tie order swapped", with(func(e []ev) { e[1], e[2] = e[2], e[1] }), mixDecision},
		{"extra event", append(with(func([]ev) {}), ev{9, Payload{}}), mixDecision},
		{"missing event", base[:3], mixDecision},
		{"different decision", base, func(k *Kernel) { k.Mix(43) }},
		{"no decision", base, nil},
		{"decision as string", base, func(k *Kernel) { k.MixString("42") }},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			if got := traceOf(v.events, v.mix).Hash(); got == ref {
				t.Errorf("hash %#x equals the base run's", got)
			}
		})
	}
}

func TestMixStringBoundaries(t *testing.T) {
	a, b := New(1), New(1)
	a.MixString("ab")
	a.MixString("c")
	b.MixString("a")
	b.MixString("bc")
	if a.Hash() == b.Hash() {
		t.Errorf(`MixString("ab","c") and ("a","bc") collide: %#x`, a.Hash())
	}
}

func TestCancelledEventsAreNotHashed(t *testing.T) {
	noop := HandlerFunc(func(*Kernel, Payload) {})
	a := New(1)
	a.Schedule(1, noop, Payload{A: 1})
	a.RunUntilIdle()

	b := New(1)
	b.Schedule(1, noop, Payload{A: 1})
	b.Cancel(b.Schedule(2, noop, Payload{A: 2}))
	b.RunUntilIdle()
	if a.Hash() != b.Hash() {
		t.Errorf("a cancelled event changed the hash: %#x vs %#x", a.Hash(), b.Hash())
	}
}
