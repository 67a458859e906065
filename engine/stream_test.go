package engine

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func draws(r *rand.Rand, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = r.Uint64()
	}
	return out
}

func TestStreamSameSeedAndName(t *testing.T) {
	a := draws(NewStream(1, "auction"), 100)
	b := draws(NewStream(1, "auction"), 100)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed and name differ (-a +b):\n%s", diff)
	}
	c := draws(New(1).Stream("auction"), 100)
	if diff := cmp.Diff(a, c); diff != "" {
		t.Errorf("Kernel.Stream differs from NewStream (-NewStream +Stream):\n%s", diff)
	}
}

func TestStreamsDiffer(t *testing.T) {
	// Any two of these must give different first draws (64-bit: a collision by chance has
	// probability ~n^2/2^65).
	cases := []struct {
		seed uint64
		name string
	}{
		{1, "auction"}, {1, "auctio"}, {1, "auction2"}, {1, "cells"}, {1, ""},
		{2, "auction"}, {0, "auction"}, {1 << 63, "auction"}, {0, ""},
	}
	seen := map[uint64]int{}
	for i, c := range cases {
		v := NewStream(c.seed, c.name).Uint64()
		if j, dup := seen[v]; dup {
			t.Errorf("stream (%d, %q) and (%d, %q) start with the same value %#x", c.seed, c.name, cases[j].seed, cases[j].name, v)
		}
		seen[v] = i
	}
	// Whole sequences, too: different seeds must not be shifted copies of each other.
	a, b := draws(NewStream(1, "x"), 50), draws(NewStream(2, "x"), 50)
	inA := map[uint64]bool{}
	for _, v := range a {
		inA[v] = true
	}
	for _, v := range b {
		if inA[v] {
			t.Fatalf("seeds 1 and 2 share the draw %#x", v)
		}
	}
}

func TestStreamIndependence(t *testing.T) {
	// Stream "a" must draw the same whether "b" is created before, in between, or never.
	want := draws(New(9).Stream("a"), 20)

	k1 := New(9)
	b1 := k1.Stream("b")
	b1.Uint64()
	got1 := draws(k1.Stream("a"), 20)

	k2 := New(9)
	a2 := k2.Stream("a")
	first := draws(a2, 10)
	b2 := k2.Stream("b")
	draws(b2, 7)
	got2 := append(first, draws(a2, 10)...)

	if diff := cmp.Diff(want, got1); diff != "" {
		t.Errorf("b created before a changed a (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got2); diff != "" {
		t.Errorf("b created between a's draws changed a (-want +got):\n%s", diff)
	}
}

func TestStreamIsCached(t *testing.T) {
	k := New(3)
	a := k.Stream("a")
	first := a.Uint64()
	if k.Stream("a") != a {
		t.Fatal("Stream returned a new *rand.Rand for the same name")
	}
	// Continuing from the cached stream gives the second value of a fresh one.
	fresh := NewStream(3, "a")
	fresh.Uint64()
	if got, want := k.Stream("a").Uint64(), fresh.Uint64(); got != want || first == got {
		t.Errorf("second draw %#x, want %#x", got, want)
	}
}

func TestStreamsDoNotAffectTraceHash(t *testing.T) {
	a, b := New(5), New(5)
	b.Stream("x").Uint64()
	if a.Hash() != b.Hash() {
		t.Error("drawing from a stream changed the trace hash")
	}
}
