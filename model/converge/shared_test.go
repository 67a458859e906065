package converge

import (
	"math"
	"slices"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"pgregory.net/rapid"

	"github.com/diegolab/diegolab/model"
)

// TestSortKeys: sortKeys gives exactly the order of slices.SortFunc(keys, compareKey) on
// lists of distinct keys whose guids share long prefixes, are prefixes of one another,
// hold zero bytes (which the window's padding must not confuse with an end) or are
// longer than the 8-byte window past the common prefix.
func TestSortKeys(t *testing.T) {
	t.Run("cases", func(t *testing.T) {
		tests := []struct {
			name  string
			guids []string
		}{
			// "crashing-10" < "crashing-2": string order, not numeric.
			{"numbered", []string{"crashing-2", "crashing-10", "crashing-1", "crashing-19999", "crashing-100"}},
			// "ab" < "ab\x00" < "ab\x00\x00": equal windows, decided by compareKey.
			{"zero bytes", []string{"ab\x00", "ab", "ab\x00\x00", "ab\x01", "a"}},
			// the windows of the long ones are equal ("x-000000"): compareKey decides.
			{"past the window", []string{"x-00000000b", "x-00000000a", "x-0000000", "x-00000000"}},
			{"no common prefix", []string{"b", "a", "ba", "", "c"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var keys []model.ActualLRPKey
				for i := range 4 { // 4 indices per guid: lists of 16 and more take the window path
					for _, g := range tc.guids {
						keys = append(keys, model.ActualLRPKey{ProcessGUID: g, Index: 3 - i})
					}
				}
				want := slices.Clone(keys)
				slices.SortFunc(want, compareKey)
				tr := NewTracker(DefaultConfig(), nullSource{})
				tr.sortKeys(keys)
				if !slices.Equal(keys, want) {
					t.Fatalf("sortKeys = %v\nwant      %v", keys, want)
				}
			})
		}
	})
	t.Run("random", func(t *testing.T) {
		rapid.Check(t, func(rt *rapid.T) {
			prefix := rapid.SampledFrom([]string{"", "crashing-", "a"}).Draw(rt, "prefix")
			seen := map[model.ActualLRPKey]bool{}
			var keys []model.ActualLRPKey
			for range rapid.IntRange(0, 60).Draw(rt, "n") {
				g := prefix + string(rapid.SliceOfN(rapid.ByteRange(0, 3), 0, 12).Draw(rt, "suffix"))
				k := model.ActualLRPKey{ProcessGUID: g, Index: rapid.IntRange(0, 2).Draw(rt, "index")}
				if !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
			want := slices.Clone(keys)
			slices.SortFunc(want, compareKey)
			tr := NewTracker(DefaultConfig(), nullSource{})
			tr.sortKeys(keys)
			if !slices.Equal(keys, want) {
				rt.Fatalf("sortKeys = %q\nwant      %q", keys, want)
			}
			for _, w := range tr.windows[:cap(tr.windows)] {
				if w.key.ProcessGUID != "" {
					rt.Fatalf("the scratch list still holds guid %q", w.key.ProcessGUID)
				}
			}
		})
	})
}

// TestSharedGUIDTable: with shared ids (UseGUIDs) a guid's record sits at its
// model.GUIDs id, is freed in place (the id is never given to another guid), and the
// tracker keeps no map; a tracker that holds a guid refuses to switch.
func TestSharedGUIDTable(t *testing.T) {
	names := model.NewGUIDs()
	names.ID("zero")
	block := names.Block([]string{"a", "b", "c"}) // ids 1, 2, 3
	tr := NewTracker(DefaultConfig(), nullSource{})
	if !tr.UseGUIDs(names) {
		t.Fatal("UseGUIDs on a new tracker refused")
	}
	if tr.UseGUIDs(model.NewGUIDs()) {
		t.Fatal("a second UseGUIDs was accepted")
	}
	g := &tr.guids
	if g.ids != nil {
		t.Fatalf("shared table keeps its own map %v", g.ids)
	}
	g.reserve(10) // room for ten more ids: no map, capacity only
	if cap(g.recs) < 10 || g.ids != nil {
		t.Fatalf("reserve(10): cap %d, map %v", cap(g.recs), g.ids)
	}
	d := model.DesiredLRP{ProcessGUID: block[1], Domain: "cf-apps", Instances: 1}
	tr.DesiredChanged(nil, &d)
	if id, ok := g.lookup("b"); !ok || id != 2 { // another string with b's bytes: found by the table's map
		t.Fatalf("lookup(b) = %d, %v; want 2, true", id, ok)
	}
	if _, ok := g.lookup(block[0]); ok {
		t.Fatal("a has a record before anything refers to it")
	}
	// a guid names has no id for yet gets the next one, as the store would give it.
	d2 := model.DesiredLRP{ProcessGUID: "new", Domain: "cf-apps", Instances: 1}
	tr.DesiredChanged(nil, &d2)
	if id, ok := g.lookup("new"); !ok || id != 4 || names.ID("new") != 4 {
		t.Fatalf("lookup(new) = %d, %v; want the next shared id 4", id, ok)
	}
	tr.DesiredChanged(&d, nil) // nothing refers to b any more: freed in place
	if _, ok := g.lookup(block[1]); ok || g.recs[2] != (guidRec{}) || g.live() != 1 {
		t.Fatalf("b's record not freed: %+v, live %d", g.recs[2], g.live())
	}
	var h GUIDHint = 3 // b's old record: freed, so the hint is stale for c
	a := model.ActualLRP{ActualLRPKey: model.ActualLRPKey{ProcessGUID: block[2]}, Domain: "cf-apps", State: model.Unclaimed}
	tr.ActualChangedHint(&h, nil, &a)
	if h != 4 { // c's id 3, + 1
		t.Fatalf("hint of c = %d, want 4", h)
	}
	tr2 := NewTracker(DefaultConfig(), nullSource{})
	tr2.DesiredChanged(nil, &d)
	if tr2.UseGUIDs(names) {
		t.Fatal("UseGUIDs on a tracker holding a guid was accepted")
	}
}

// desiredSource serves one desired LRP, for the saturated-count case of wantedKeys.
type desiredSource struct {
	nullSource
	d model.DesiredLRP
}

func (s desiredSource) DesiredLRP(g string) (model.DesiredLRP, bool) {
	return s.d, g == s.d.ProcessGUID
}

// TestWantedKeysSaturated: a desired count beyond int32 is kept saturated in the guid
// record, which cannot tell whether an index at or past 2^31-1 is wanted; wantedKeys
// then reads the desired LRP. Instances 2^31+4 want index 2^31 and not 2^31+4. (Plan
// itself cannot be run here: the guid's missing instances alone would be 2^31 keys.)
func TestWantedKeysSaturated(t *testing.T) {
	if math.MaxInt < math.MaxInt64 {
		t.Skip("needs 64-bit ints")
	}
	d := model.DesiredLRP{ProcessGUID: "big", Domain: "cf-apps", Instances: math.MaxInt32 + 5}
	tr := NewTracker(DefaultConfig(), desiredSource{d: d})
	tr.DesiredChanged(nil, &d)
	for _, i := range []int{5, math.MaxInt32 + 1, math.MaxInt32 + 5} {
		// crash count 3: 30 s back-off, due at 30 s.
		a := model.ActualLRP{ActualLRPKey: model.ActualLRPKey{ProcessGUID: "big", Index: i}, Domain: "cf-apps",
			State: model.Crashed, CrashCount: 3}
		tr.ActualChanged(nil, &a)
	}
	if due := tr.crashed.Due(29*time.Second, nil); len(due) != 0 {
		t.Fatalf("due at 29s: %v, want none (due at 30s)", due)
	}
	got := tr.wantedKeys(tr.crashed.Due(30*time.Second, nil))
	tr.sortKeys(got)
	want := []model.ActualLRPKey{{ProcessGUID: "big", Index: 5}, {ProcessGUID: "big", Index: math.MaxInt32 + 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("wantedKeys = %v, want %v", got, want)
	}
}

// TestReserveUnclaimed: Reserve(n) gives the unclaimed queue room for n keys, so the n
// UNCLAIMED rows of n new single-instance apps are queued without moving its array.
func TestReserveUnclaimed(t *testing.T) {
	const n = 5000
	tr := NewTracker(DefaultConfig(), nullSource{})
	tr.Reserve(n)
	if c := cap(tr.unclaimed.items); c < n {
		t.Fatalf("unclaimed queue capacity %d after Reserve(%d)", c, n)
	}
	base := unsafe.SliceData(tr.unclaimed.items[:1])
	for i := range n {
		g := "app-" + strconv.Itoa(i)
		d := model.DesiredLRP{ProcessGUID: g, Domain: "cf-apps", Instances: 1}
		tr.DesiredChanged(nil, &d)
		a := model.ActualLRP{ActualLRPKey: model.ActualLRPKey{ProcessGUID: g}, Domain: "cf-apps", State: model.Unclaimed}
		tr.ActualChanged(nil, &a)
	}
	if tr.unclaimed.Len() != n || unsafe.SliceData(tr.unclaimed.items) != base {
		t.Fatalf("%d keys queued, array moved: %v", tr.unclaimed.Len(), unsafe.SliceData(tr.unclaimed.items) != base)
	}
}

// live returns the number of records in use (the tests' view of the table).
func (g *guidTable) live() int {
	if g.names == nil {
		return len(g.recs) - len(g.free)
	}
	n := 0
	for i := range g.recs {
		if g.recs[i].flags&recLive != 0 {
			n++
		}
	}
	return n
}
