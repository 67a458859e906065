package model

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestGUIDsBlock(t *testing.T) {
	g := NewGUIDs()
	if id := g.ID("before"); id != 0 {
		t.Fatalf("first id = %d, want 0", id)
	}
	in := []string{"app-0", "app-1", "app-10", "app-2"}
	out := g.Block(in)
	for i, s := range out {
		if s != in[i] {
			t.Fatalf("Block returned %q for %q", s, in[i])
		}
		// Ids follow "before" (0) in order.
		if id, ok := g.Find(s); !ok || id != int32(i+1) {
			t.Fatalf("Find(block %q) = %d, %v; want %d", s, id, ok, i+1)
		}
		// The same bytes built elsewhere take the map and agree.
		copyOf := strings.Clone(in[i])
		if id, ok := g.Find(copyOf); !ok || id != int32(i+1) {
			t.Fatalf("Find(copy %q) = %d, %v; want %d", copyOf, id, ok, i+1)
		}
	}
	if len(g.blocks) != 1 {
		t.Fatalf("blocks = %d, want 1 (a fresh block is used for lookups)", len(g.blocks))
	}
	// A prefix of a block entry starts at the entry but is another guid.
	prefix := out[2][:5] // "app-1" from "app-10"'s bytes
	if id, ok := g.Find(prefix); !ok || id != 2 {
		t.Fatalf("Find(prefix %q) = %d, %v; want app-1's id 2", prefix, id, ok)
	}
	inner := out[2][1:] // "pp-10": starts inside an entry
	if _, ok := g.Find(inner); ok {
		t.Fatalf("Find(%q) found an id for an unknown guid", inner)
	}
	if id := g.ID(inner); id != 5 {
		t.Fatalf("ID(%q) = %d, want the next id 5", inner, id)
	}
	if g.Len() != 6 || g.GUID(3) != "app-10" {
		t.Fatalf("Len = %d, GUID(3) = %q", g.Len(), g.GUID(3))
	}
}

func TestGUIDsBlockNotFresh(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []int32
	}{
		// "b" is known (id 1), so the block is not used for lookups; "c" gets 2.
		{"known guid", []string{"c", "b"}, []int32{2, 1}},
		// A repeated guid gets the id of its first occurrence.
		{"repeated guid", []string{"c", "c", "d"}, []int32{2, 2, 3}},
		{"empty guid", []string{"", "c"}, []int32{2, 3}},
		{"too long", []string{strings.Repeat("x", 256), "c"}, []int32{2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGUIDs()
			g.ID("a")
			g.ID("b")
			out := g.Block(tt.in)
			for i, s := range out {
				if s != tt.in[i] {
					t.Fatalf("Block returned %q for %q", s, tt.in[i])
				}
				if id, ok := g.Find(s); !ok || id != tt.want[i] {
					t.Fatalf("Find(%q) = %d, %v; want %d", s, id, ok, tt.want[i])
				}
			}
			if tt.name == "repeated guid" {
				if len(g.blocks) != 0 {
					t.Fatalf("a block with a repeated guid is used for lookups")
				}
			}
		})
	}
}

// TestGUIDsMatchesMap: random interleavings of ID, Block and Find (on the returned
// strings, on copies, on prefixes and suffixes) agree with a plain map.
func TestGUIDsMatchesMap(t *testing.T) {
	blocks := 0
	for seed := uint64(1); seed <= 50; seed++ {
		r := rand.New(rand.NewPCG(seed, 0))
		g := NewGUIDs()
		ref := map[string]int32{}
		var seen []string
		name := func() string { return "p" + strconv.Itoa(r.IntN(300)) }
		check := func(s string) {
			want, wok := ref[s]
			got, ok := g.Find(s)
			if ok != wok || got != want {
				t.Fatalf("seed %d: Find(%q) = %d, %v; want %d, %v", seed, s, got, ok, want, wok)
			}
		}
		for op := 0; op < 400; op++ {
			switch r.IntN(4) {
			case 0:
				s := name()
				if _, ok := ref[s]; !ok {
					ref[s] = int32(len(ref))
				}
				if id := g.ID(s); id != ref[s] {
					t.Fatalf("seed %d: ID(%q) = %d, want %d", seed, s, id, ref[s])
				}
				seen = append(seen, s)
			case 1:
				in := make([]string, 1+r.IntN(20))
				for i := range in {
					in[i] = name()
				}
				out := g.Block(in)
				for i, s := range in {
					if _, ok := ref[s]; !ok {
						ref[s] = int32(len(ref))
					}
					if out[i] != s {
						t.Fatalf("seed %d: Block returned %q for %q", seed, out[i], s)
					}
				}
				seen = append(seen, out...)
			default:
				if len(seen) == 0 {
					continue
				}
				s := seen[r.IntN(len(seen))]
				check(s)
				check(strings.Clone(s))
				check(s[:r.IntN(len(s)+1)])
				check(s[r.IntN(len(s)+1):])
			}
		}
		if g.Len() != len(ref) {
			t.Fatalf("seed %d: Len = %d, want %d", seed, g.Len(), len(ref))
		}
		for s, id := range ref {
			if got := g.GUID(id); got != s {
				t.Fatalf("seed %d: GUID(%d) = %q, want %q", seed, id, got, s)
			}
		}
		blocks += len(g.blocks)
	}
	if blocks == 0 {
		t.Fatal("no block was ever used for lookups: the test does not cover the address path")
	}
}
