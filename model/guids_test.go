package model

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unsafe"
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

// TestGUIDsNumbered: Numbered gives the ids and strings Block gives for the same guids,
// keeps them out of the map, finds copies made elsewhere, and falls back to Block when
// one of its guids is known.
func TestGUIDsNumbered(t *testing.T) {
	g := NewGUIDs()
	g.ID("web-x") // a loose guid that is not "web-<n>"
	out := g.Numbered("web", 12)
	if len(g.ids) != 1 || len(g.blocks) != 1 || len(g.numbered) != 1 {
		t.Fatalf("map %d, blocks %d, numbered %d; want 1, 1, 1", len(g.ids), len(g.blocks), len(g.numbered))
	}
	for i, s := range out {
		want := "web-" + strconv.Itoa(i)
		if s != want || g.GUID(int32(i+1)) != want {
			t.Fatalf("guid %d = %q, GUID = %q; want %q", i, s, g.GUID(int32(i+1)), want)
		}
		for _, q := range []string{s, strings.Clone(s)} {
			if id, ok := g.Find(q); !ok || id != int32(i+1) {
				t.Fatalf("Find(%q) = %d, %v; want %d", q, id, ok, i+1)
			}
		}
	}
	for _, q := range []string{"web-12", "web-01", "web-", "web--1", "web-+1", "web", "we-1", "web-1x", "web-99999999999"} {
		if id, ok := g.Find(q); ok {
			t.Fatalf("Find(%q) = %d: not a guid of the table", q, id)
		}
	}
	if id := g.ID("web-12"); id != 13 {
		t.Fatalf("ID(web-12) = %d, want 13", id)
	}
	// "web" again, and a name whose guids are known: Block's way, same ids as Block.
	for _, tc := range []struct {
		name string
		n    int
		want []int32
	}{
		{"web", 14, []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
		{"api", 2, []int32{15, 16}},
		{"api", 3, []int32{15, 16, 17}},
	} {
		out := g.Numbered(tc.name, tc.n)
		for i, s := range out {
			if id, ok := g.Find(strings.Clone(s)); !ok || id != tc.want[i] || s != tc.name+"-"+strconv.Itoa(i) {
				t.Fatalf("Numbered(%q, %d)[%d] = %q with id %d, %v; want id %d", tc.name, tc.n, i, s, id, ok, tc.want[i])
			}
		}
	}
	if g.Len() != 18 {
		t.Fatalf("Len = %d, want 18", g.Len())
	}
	// Reserve rebuilds the map without the numbered guids.
	g.Reserve(1000)
	if id, ok := g.Find(strings.Clone("web-5")); !ok || id != 6 {
		t.Fatalf("after Reserve, Find(web-5) = %d, %v", id, ok)
	}
	if id, ok := g.Find("web-x"); !ok || id != 0 {
		t.Fatalf("after Reserve, Find(web-x) = %d, %v", id, ok)
	}
	if _, ok := g.ids["web-5"]; ok {
		t.Fatal("Reserve put a numbered guid in the map")
	}
	if out := g.Numbered("none", 0); len(out) != 0 {
		t.Fatalf("Numbered(none, 0) = %q", out)
	}
}

// TestGUIDsMatchesMap: random interleavings of ID, Block and Find (on the returned
// strings, on copies, on prefixes and suffixes) agree with a plain map.
func TestGUIDsMatchesMap(t *testing.T) {
	blocks, numbered, numberedBlocks := 0, 0, 0
	for seed := uint64(1); seed <= 50; seed++ {
		r := rand.New(rand.NewPCG(seed, 0))
		g := NewGUIDs()
		ref := map[string]int32{}
		var seen []string
		// Some names are those Numbered lays out ("q-7", "q-1-3"), or look like them
		// but are not ("q-07").
		name := func() string {
			switch r.IntN(4) {
			case 0:
				return "q-" + strconv.Itoa(r.IntN(40))
			case 1:
				return []string{"q-1-", "r-", "q-0", "p5-"}[r.IntN(4)] + strconv.Itoa(r.IntN(12))
			}
			return "p" + strconv.Itoa(r.IntN(300))
		}
		check := func(s string) {
			want, wok := ref[s]
			got, ok := g.Find(s)
			if ok != wok || got != want {
				t.Fatalf("seed %d: Find(%q) = %d, %v; want %d, %v", seed, s, got, ok, want, wok)
			}
		}
		for op := 0; op < 400; op++ {
			switch r.IntN(5) {
			case 4:
				base := []string{"q", "q-1", "r", "p5", "s"}[r.IntN(5)]
				n := 1 + r.IntN(30)
				in := make([]string, n)
				for i := range in {
					in[i] = base + "-" + strconv.Itoa(i)
				}
				out := g.Numbered(base, n)
				if len(out) != n {
					t.Fatalf("seed %d: Numbered(%q, %d) returned %d guids", seed, base, n, len(out))
				}
				for i, s := range in {
					if _, ok := ref[s]; !ok {
						ref[s] = int32(len(ref))
					}
					if out[i] != s {
						t.Fatalf("seed %d: Numbered returned %q for %q", seed, out[i], s)
					}
				}
				seen = append(seen, out...)
				numbered++
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
				seen = append(seen, blockInto(t, seed, g, ref, in)...)
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
		numberedBlocks += len(g.numbered)
	}
	if numbered == 0 || numberedBlocks == 0 {
		t.Fatalf("Numbered called %d times, %d numbered blocks: the parse path is not covered", numbered, numberedBlocks)
	}
	if blocks == 0 {
		t.Fatal("no block was ever used for lookups: the test does not cover the address path")
	}
}

// benchGUIDs is a table of 2,000 blocks of 1,000 guids (2 M ids) and 20,000 loose ids,
// built once for all the Find benchmarks (building it takes about a second).
var benchGUIDs struct {
	g      *GUIDs
	blocks []string // every block guid, as Block returned it
	loose  []string // the loose guids, as ID was given them
	copies []string // copies of block guids made elsewhere: found through the map
}

func benchTable(b *testing.B) {
	b.Helper()
	if benchGUIDs.g != nil {
		return
	}
	g := NewGUIDs()
	var all, loose []string
	for blk := 0; blk < 2000; blk++ {
		in := make([]string, 1000)
		for i := range in {
			in[i] = "app-" + strconv.Itoa(blk) + "-" + strconv.Itoa(i)
		}
		all = append(all, g.Block(in)...)
		if blk%100 == 0 { // loose ids in between, as a driver adds apps one by one
			for i := 0; i < 1000; i++ {
				s := "loose-" + strconv.Itoa(blk) + "-" + strconv.Itoa(i)
				g.ID(s)
				loose = append(loose, s)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	copies := make([]string, 20000)
	for i := range copies {
		copies[i] = strings.Clone(all[r.IntN(len(all))])
	}
	benchGUIDs.g, benchGUIDs.blocks, benchGUIDs.loose, benchGUIDs.copies = g, all, loose, copies
}

// BenchmarkGUIDsFind: ns per Find of guids drawn at random (from 2 M block guids, the
// loose guids, copies of block guids, unknown strings) in a table of 2,000 blocks.
func BenchmarkGUIDsFind(b *testing.B) {
	benchTable(b)
	g := benchGUIDs.g
	unknown := make([]string, 1<<12)
	for i := range unknown {
		unknown[i] = "nope-" + strconv.Itoa(i)
	}
	for _, bc := range []struct {
		name string
		from []string
		want bool
	}{
		{"block", benchGUIDs.blocks, true},
		{"loose", benchGUIDs.loose, true},
		{"copy", benchGUIDs.copies, true},
		{"unknown", unknown, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(3, 4))
			pick := make([]string, 1<<16)
			for i := range pick {
				pick[i] = bc.from[r.IntN(len(bc.from))]
			}
			b.ReportAllocs()
			b.ResetTimer()
			found := 0
			for i := 0; i < b.N; i++ {
				if _, ok := g.Find(pick[i&(len(pick)-1)]); ok {
					found++
				}
			}
			if bc.want && found != b.N || !bc.want && found != 0 {
				b.Fatalf("found %d of %d", found, b.N)
			}
		})
	}
	// EntryID of block guids: the lookup without the read of the entry's length (a miss
	// per cold guid at 2 M guids). The caller's confirmation reads its own copy of the
	// id's string, a line it reads anyway (the in-memory store's slot: the proc's
	// guid), so it is not timed here; TestGUIDsFindMatchesSearch checks the ids.
	b.Run("block-entry", func(b *testing.B) {
		r := rand.New(rand.NewPCG(3, 4))
		pick := make([]string, 1<<16)
		for i := range pick {
			pick[i] = benchGUIDs.blocks[r.IntN(len(benchGUIDs.blocks))]
		}
		b.ReportAllocs()
		b.ResetTimer()
		found := 0
		for i := 0; i < b.N; i++ {
			if _, ok := g.EntryID(pick[i&(len(pick)-1)]); ok {
				found++
			}
		}
		if found != b.N {
			b.Fatalf("found %d of %d", found, b.N)
		}
	})
}

// searchBlockID is blockID as it was before the address directory: a binary search over
// the blocks by base and a division. The differential test holds the directory to it.
func searchBlockID(t *GUIDs, guid string) (int32, bool) {
	b, k, ok := searchEntry(t, guid)
	if !ok || int(b.lens[k]) != len(guid) {
		return 0, false
	}
	return b.first + int32(k), true
}

// searchEntryID is EntryID by the same search: the entry guid starts at, whatever its
// length.
func searchEntryID(t *GUIDs, guid string) (int32, bool) {
	b, k, ok := searchEntry(t, guid)
	if !ok {
		return 0, false
	}
	return b.first + int32(k), true
}

// searchEntry finds, by binary search, the block and entry index guid starts at.
func searchEntry(t *GUIDs, guid string) (*guidBlock, uintptr, bool) {
	if len(t.blocks) == 0 || len(guid) == 0 {
		return nil, 0, false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(guid)))
	i := sort.Search(len(t.blocks), func(i int) bool { return t.blocks[i].base > p }) - 1
	if i < 0 {
		return nil, 0, false
	}
	b := &t.blocks[i]
	off := p - b.base
	if off >= uintptr(len(b.s)) || off%b.stride != 0 {
		return nil, 0, false
	}
	return b, off / b.stride, true
}

// TestGUIDsFindMatchesSearch: Find agrees with the binary search over blocks plus the
// map, for strings at every kind of address: block entries, substrings starting at any
// byte of a block (inside an entry, in its padding, at an entry with another length),
// copies made elsewhere, loose guids, empty strings. The tables mix big and tiny blocks,
// strides of 1 (divided) and more (multiplied by the reciprocal), and many tiny blocks
// far from a big one, so that granules holding several blocks are searched.
func TestGUIDsFindMatchesSearch(t *testing.T) {
	var crowded, divided, multiplied bool
	entries, confirmed := 0, 0 // strings EntryID placed at an entry; of them, the entry's own string
	for seed := uint64(1); seed <= 12; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		g := NewGUIDs()
		ref := map[string]int32{}
		var probes []string
		name := func(width int) string {
			b := make([]byte, width)
			for i := range b {
				b[i] = "abc\x00-"[r.IntN(5)] // NUL bytes too: guids are any bytes
			}
			return string(b)
		}
		check := func(s string) {
			t.Helper()
			want, wok := searchBlockID(g, s)
			// The address path alone agrees too (Find would hide a miss behind the map).
			if id, ok := g.blockID(s); ok != wok || id != want {
				t.Fatalf("seed %d: blockID(%q) = %d, %v; the search gives %d, %v", seed, s, id, ok, want, wok)
			}
			if !wok {
				want, wok = g.ids[s]
			}
			if rid, rok := ref[s]; rok != wok || rid != want {
				t.Fatalf("seed %d: reference search says %d, %v for %q; the plain map %d, %v", seed, want, wok, s, rid, rok)
			}
			got, ok := g.Find(s)
			if ok != wok || got != want {
				t.Fatalf("seed %d: Find(%q) = %d, %v; the search gives %d, %v", seed, s, got, ok, want, wok)
			}
			// EntryID: the entry s starts at, whatever its length; and the caller's
			// confirmation (s is the very string GUID(id) returns) gives Find's answer.
			eid, eok := g.EntryID(s)
			if sid, sok := searchEntryID(g, s); eok != sok || eid != sid {
				t.Fatalf("seed %d: EntryID(%q) = %d, %v; the search gives %d, %v", seed, s, eid, eok, sid, sok)
			}
			if eok {
				entries++
				if sameBytes(s, g.GUID(eid)) {
					confirmed++
					if !ok || got != eid {
						t.Fatalf("seed %d: EntryID(%q) = %d confirmed by GUID's address, but Find gives %d, %v", seed, s, eid, got, ok)
					}
				} else if ok && got == eid && len(s) == len(g.GUID(eid)) {
					t.Fatalf("seed %d: %q has id %d and its entry's length, but is not GUID(%d)'s string", seed, s, eid, eid)
				}
			}
		}
		for op := 0; op < 60; op++ {
			switch k := r.IntN(6); {
			case k == 0: // loose guids
				for range 1 + r.IntN(20) {
					s := name(1 + r.IntN(12))
					if _, ok := ref[s]; !ok {
						ref[s] = int32(len(ref))
					}
					g.ID(s)
					probes = append(probes, s)
				}
			case k == 1: // a burst of tiny blocks (one short guid each)
				for range 20 + r.IntN(40) {
					s := name(1 + r.IntN(3))
					if _, ok := ref[s]; !ok {
						ref[s] = int32(len(ref))
					}
					probes = append(probes, g.Block([]string{s})...)
				}
			case k == 2 && op%20 == 2: // now and then a big block, far from the rest
				in := make([]string, 20000+r.IntN(20000))
				for i := range in {
					in[i] = "big-" + strconv.Itoa(int(seed)) + "-" + strconv.Itoa(op) + "-" + strconv.Itoa(i) + strings.Repeat("x", r.IntN(100))
				}
				for _, s := range in {
					if _, ok := ref[s]; !ok {
						ref[s] = int32(len(ref))
					}
				}
				probes = append(probes, g.Block(in)...)
			default: // a block of random width, single bytes sometimes (stride 1)
				w := 1
				if r.IntN(3) > 0 {
					w = 1 + r.IntN(40)
				}
				in := make([]string, 1+r.IntN(300))
				for i := range in {
					in[i] = name(1 + r.IntN(w))
				}
				probes = append(probes, blockInto(t, seed, g, ref, in)...)
			}
			check("")
			for range 200 {
				s := probes[r.IntN(len(probes))]
				check(s)
				check(strings.Clone(s))
				check(s[:r.IntN(len(s)+1)])
				check(s[r.IntN(len(s)+1):])
				if len(g.created) > 0 {
					b := &g.created[r.IntN(len(g.created))]
					off := r.IntN(len(b.s))
					check(b.s[off : off+r.IntN(min(300, len(b.s)-off)+1)])
				}
			}
		}
		// Every byte of a few blocks, at its entry's length and one byte longer.
		for _, b := range g.created[:min(len(g.created), 40)] {
			for off := range len(b.s) {
				l := int(b.lens[off/int(b.stride)])
				check(b.s[off:min(off+l, len(b.s))])
				check(b.s[off:min(off+l+1, len(b.s))])
			}
		}
		g.blockID("") // the directory is built
		for gi := 0; gi+1 < len(g.dir.upTo); gi++ {
			crowded = crowded || g.dir.upTo[gi+1]-g.dir.upTo[gi] > 8
		}
		for _, b := range g.blocks {
			divided = divided || b.recip == 0
			multiplied = multiplied || b.recip != 0
		}
	}
	if confirmed == 0 || confirmed == entries {
		t.Fatalf("coverage: %d of %d EntryID hits were the entry's own string; want some of each", confirmed, entries)
	}
	if !crowded || !divided || !multiplied {
		t.Fatalf("coverage: a granule with > 8 blocks %v, a divided block %v, a multiplied one %v; want all", crowded, divided, multiplied)
	}
}

// blockInto gives in ids through Block, records the ids the reference model expects (the
// next one on first sight) in ref, checks Block returned equal strings, and returns them.
func blockInto(t *testing.T, seed uint64, g *GUIDs, ref map[string]int32, in []string) []string {
	t.Helper()
	out := g.Block(in)
	for i, s := range in {
		if _, ok := ref[s]; !ok {
			ref[s] = int32(len(ref))
		}
		if out[i] != s {
			t.Fatalf("seed %d: Block returned %q for %q", seed, out[i], s)
		}
	}
	return out
}

// BenchmarkGUIDsBlock: one Block of 2,000,000 new guids ("app-0000000" ...), as the
// first minute of the 10,000-cell day lays its apps out, in a table reserved for them
// (Reserve, as the driver does). ns/guid per guid.
func BenchmarkGUIDsBlock(b *testing.B) {
	const n = 2_000_000
	in := make([]string, n)
	for i := range in {
		in[i] = "app-" + strconv.Itoa(10_000_000 + i)[1:] // "app-0000000" ...
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		g := NewGUIDs()
		g.Reserve(n)
		b.StartTimer()
		if out := g.Block(in); len(g.blocks) != 1 || len(out) != n {
			b.Fatal("the guids were not laid out as one block")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/guid")
}

// sameBytes reports whether a and b are the very same bytes (address and length).
func sameBytes(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

// TestGUIDsNumberedList: the list NumberedList returns reads, by position and by
// range, the strings Numbered would (a block laid out, or Block's strings when a guid
// of the range has an id already), with the same ids.
func TestGUIDsNumberedList(t *testing.T) {
	g := NewGUIDs()
	g.ID("old-3") // "old" cannot be laid out as a numbered block
	for _, tc := range []struct {
		name string
		n    int
	}{{"web", 12}, {"old", 5}, {"none", 0}} {
		l := g.NumberedList(tc.name, tc.n)
		if l.Len() != tc.n {
			t.Fatalf("NumberedList(%q, %d).Len() = %d", tc.name, tc.n, l.Len())
		}
		for i := range tc.n {
			s := l.At(i)
			id, ok := g.Find(s)
			if want := tc.name + "-" + strconv.Itoa(i); s != want || !ok || g.GUID(id) != s || l.ID(i) != id {
				t.Fatalf("%s: At(%d) = %q (id %d, %v), want %q with its id", tc.name, i, s, id, ok, want)
			}
		}
		if tc.n > 3 {
			got := l.Append([]string{"x"}, 1, 3)
			if len(got) != 3 || got[0] != "x" || got[1] != l.At(1) || got[2] != l.At(2) {
				t.Fatalf("%s: Append(x, 1, 3) = %q", tc.name, got)
			}
		}
	}
}
