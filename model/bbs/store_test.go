package bbs_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/bbs/bbstest"
)

func TestMemStore(t *testing.T) {
	bbstest.RunStoreSuite(t, func(*testing.T) bbs.Store { return bbs.NewMemStore() })
}

// TestMemStoreSharedGUIDs: the store suite over a MemStore that finds its procs through
// a shared model.GUIDs (every guid of the suite takes the GUIDs map path).
func TestMemStoreSharedGUIDs(t *testing.T) {
	bbstest.RunStoreSuite(t, func(*testing.T) bbs.Store {
		s := bbs.NewMemStore()
		s.UseGUIDs(model.NewGUIDs())
		return s
	})
}

// TestMemStoreDesiredRoundTrip: the compact desired row gives back exactly what was put,
// including figures beyond int32 and nil versus empty slices.
func TestMemStoreDesiredRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		d    model.DesiredLRP
	}{
		{"compact", model.DesiredLRP{ProcessGUID: "a", Domain: "cf-apps", Instances: 3, MemoryMB: 256, DiskMB: 1024,
			MaxPids: 1024, RootFS: "preloaded:cflinuxfs4", StartTimeout: time.Minute, MaxPerCell: 2}},
		{"slices", model.DesiredLRP{ProcessGUID: "b", Domain: "d", RootFS: "docker:///x", PlacementTags: []string{"t1", "t2"},
			VolumeDrivers: []string{}, Routes: []string{"r"}}},
		{"wide figures", model.DesiredLRP{ProcessGUID: "c", Domain: "d", RootFS: "x:y", Instances: math.MaxInt32 + 1,
			MemoryMB: math.MaxInt64, DiskMB: 1 << 40, MaxPids: math.MaxInt32, MaxPerCell: math.MaxInt32 + 7}},
		{"wide and slices", model.DesiredLRP{ProcessGUID: "d", Domain: "d", RootFS: "x:y", Instances: 1 << 33,
			PlacementTags: []string{"t"}}},
		{"zero", model.DesiredLRP{ProcessGUID: "e"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := bbs.NewMemStore()
			must(t, s.PutDesiredLRP(tc.d))
			got, ok, err := s.GetDesiredLRP(tc.d.ProcessGUID)
			must(t, err)
			if !ok {
				t.Fatal("not found after put")
			}
			if diff := cmp.Diff(tc.d, got); diff != "" {
				t.Fatalf("round trip (-put +got):\n%s", diff)
			}
			if (got.VolumeDrivers == nil) != (tc.d.VolumeDrivers == nil) || (got.Routes == nil) != (tc.d.Routes == nil) {
				t.Fatalf("nil/empty slices changed: put %#v, got %#v", tc.d, got)
			}
			l, err := s.ListDesiredLRPs()
			must(t, err)
			if diff := cmp.Diff([]model.DesiredLRP{tc.d}, l); diff != "" {
				t.Fatalf("list (-want +got):\n%s", diff)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type rowID struct {
	guid     string
	index    int
	presence model.Presence
}

// TestMemStoreAgainstMap applies random puts and deletes to a MemStore and to a plain map
// over a small universe (rows inserted before, between and after others, moved between
// cells, desired rows sharing guids with actual rows) and checks every read after each
// step: the indexes (per-guid sorted rows, per-cell slices with swap-delete) must agree
// with the map.
//
// With shared GUIDs the guids come from a block (found by address), and every other
// operation names its guid by a copy of the bytes (found through the GUIDs map).
func TestMemStoreAgainstMap(t *testing.T) {
	cellIDs := []string{"", "c0", "c1", "c2"}
	for seed := uint64(1); seed <= 40; seed++ {
		shared := seed > 20
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			s := bbs.NewMemStore()
			guids := []string{"g0", "g1", "g2"}
			if shared {
				names := model.NewGUIDs()
				s.UseGUIDs(names)
				names.ID("other") // ids of the store's guids need not start at 0
				guids = names.Block(guids)
			}
			name := func(g string) string {
				if shared && r.IntN(2) == 0 {
					return strings.Clone(g)
				}
				return g
			}
			ref := map[rowID]model.ActualLRP{}
			desired := map[string]bool{}
			for step := range 400 {
				id := rowID{guids[r.IntN(len(guids))], r.IntN(6), model.Presence(r.IntN(3))}
				key := model.ActualLRPKey{ProcessGUID: name(id.guid), Index: id.index}
				switch op := r.IntN(10); {
				case op < 6:
					a := model.ActualLRP{ActualLRPKey: key, Domain: []string{"d1", "d2"}[r.IntN(2)], Presence: id.presence,
						State: model.ActualLRPState(r.IntN(4)), CrashCount: r.IntN(4), Since: time.Duration(step)}
					if c := cellIDs[r.IntN(len(cellIDs))]; c != "" {
						a.InstanceKey = model.InstanceKey{InstanceGUID: fmt.Sprint("i", step), CellID: c}
					}
					if r.IntN(3) == 0 {
						a.CrashReason = fmt.Sprint("reason ", r.IntN(2))
					}
					if r.IntN(5) == 0 {
						a.Address = "10.0.0.1:8080"
					}
					must(t, s.PutActualLRP(a))
					ref[id] = a
				case op < 9:
					must(t, s.DeleteActualLRP(key, id.presence))
					delete(ref, id)
				default:
					if desired[id.guid] {
						must(t, s.DeleteDesiredLRP(name(id.guid)))
					} else {
						must(t, s.PutDesiredLRP(model.DesiredLRP{ProcessGUID: name(id.guid), Domain: "d1", RootFS: "x:y", Instances: 2}))
					}
					desired[id.guid] = !desired[id.guid]
				}
				checkStore(t, step, s, ref, desired, guids, cellIDs)
			}
		})
	}
}

func checkStore(t *testing.T, step int, s *bbs.MemStore, ref map[rowID]model.ActualLRP, desired map[string]bool, guids, cellIDs []string) {
	t.Helper()
	var all []model.ActualLRP
	for _, a := range ref {
		all = append(all, a)
	}
	slices.SortFunc(all, bbs.CompareActualLRP)
	got, err := s.ListActualLRPs()
	must(t, err)
	if !slices.Equal(all, got) {
		diff := cmp.Diff(all, got)
		t.Fatalf("step %d: all rows (-want +got):\n%s", step, diff)
	}
	for _, g := range guids {
		var want []model.ActualLRP
		for _, a := range all {
			if a.ProcessGUID == g {
				want = append(want, a)
			}
		}
		got, err := s.ListActualLRPsByProcess(g)
		must(t, err)
		if !slices.Equal(want, got) {
			diff := cmp.Diff(want, got)
			t.Fatalf("step %d: rows of %s (-want +got):\n%s", step, g, diff)
		}
		for _, a := range want {
			one, ok, err := s.GetActualLRP(a.ActualLRPKey, a.Presence)
			must(t, err)
			if !ok || a != one {
				t.Fatalf("step %d: get %v/%v = %+v %v, want %+v", step, a.ActualLRPKey, a.Presence, one, ok, a)
			}
		}
		if _, ok, _ := s.GetDesiredLRP(g); ok != desired[g] {
			t.Fatalf("step %d: desired %s present = %v, want %v", step, g, ok, desired[g])
		}
	}
	for _, c := range cellIDs[1:] {
		want := []model.ActualLRP{}
		for _, a := range all {
			if a.CellID == c {
				want = append(want, a)
			}
		}
		got, err := s.ListActualLRPsByCell(c)
		must(t, err)
		if !slices.Equal(want, got) {
			diff := cmp.Diff(want, got)
			t.Fatalf("step %d: rows on %s (-want +got):\n%s", step, c, diff)
		}
	}
}
