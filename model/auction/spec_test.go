package auction

import (
	"testing"

	"github.com/diegolab/diegolab/model"
)

// Specs shares a spec only with an equal neighbour: every field and list element
// counts, and an empty list is not the same as none.
func TestSpecsShare(t *testing.T) {
	base := LRPSpec{Domain: "cf-apps", Resource: model.Resource{MemoryMB: 64, DiskMB: 128, MaxPids: 10},
		PlacementConstraint: model.PlacementConstraint{RootFS: "preloaded:cflinuxfs4",
			PlacementTags: []string{"a"}, VolumeDrivers: []string{"nfs"}},
		MaxPerCell: 2, Compute: &model.Compute{MilliCPU: 500, GPUs: 1, GPUModels: []string{"A100"}}}
	variants := map[string]func(s *LRPSpec){
		"domain":         func(s *LRPSpec) { s.Domain = "other" },
		"memory":         func(s *LRPSpec) { s.MemoryMB++ },
		"disk":           func(s *LRPSpec) { s.DiskMB++ },
		"pids":           func(s *LRPSpec) { s.MaxPids++ },
		"rootfs":         func(s *LRPSpec) { s.RootFS = "docker:///x" },
		"tags":           func(s *LRPSpec) { s.PlacementTags = []string{"b"} },
		"more tags":      func(s *LRPSpec) { s.PlacementTags = []string{"a", "b"} },
		"no tags":        func(s *LRPSpec) { s.PlacementTags = nil },
		"empty drivers":  func(s *LRPSpec) { s.VolumeDrivers = []string{} },
		"max per cell":   func(s *LRPSpec) { s.MaxPerCell = 0 },
		"no compute":     func(s *LRPSpec) { s.Compute = nil },
		"cpu":            func(s *LRPSpec) { c := *s.Compute; c.MilliCPU = 1; s.Compute = &c },
		"gpus":           func(s *LRPSpec) { c := *s.Compute; c.GPUs = 2; s.Compute = &c },
		"gpu milli":      func(s *LRPSpec) { c := *s.Compute; c.GPUMilli = 500; s.Compute = &c },
		"gpu models":     func(s *LRPSpec) { c := *s.Compute; c.GPUModels = []string{"H100"}; s.Compute = &c },
		"no gpu models":  func(s *LRPSpec) { c := *s.Compute; c.GPUModels = nil; s.Compute = &c },
		"empty tag list": func(s *LRPSpec) { s.PlacementTags = []string{} },
	}
	for name, change := range variants {
		var specs Specs
		a := base
		first := specs.Share(&a)
		if !first.Equal(&base) || first == &a {
			t.Fatalf("%s: Share returned %+v at the caller's address, want a copy of %+v", name, first, base)
		}
		// equal by value, lists in other arrays: the same pointer
		same := base
		same.PlacementTags = append([]string(nil), base.PlacementTags...)
		c := *base.Compute
		same.Compute = &c
		if got := specs.Share(&same); got != first {
			t.Fatalf("%s: an equal spec got a new pointer", name)
		}
		b := base
		change(&b)
		second := specs.Share(&b)
		if second == first || !second.Equal(&b) || second.Equal(first) {
			t.Fatalf("%s: a different spec shared the first one's pointer (or is not its own)", name)
		}
		if !first.Equal(&base) {
			t.Fatalf("%s: the first spec changed to %+v", name, first)
		}
	}
	// many different specs: each pointer keeps its own value across chunks
	var specs Specs
	var got []*LRPSpec
	for i := range 3 * specChunk {
		s := base
		s.MemoryMB = i
		got = append(got, specs.Share(&s))
	}
	for i, p := range got {
		if p.MemoryMB != i {
			t.Fatalf("spec %d holds memory %d", i, p.MemoryMB)
		}
	}
}
