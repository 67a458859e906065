package auction

import (
	"slices"

	"github.com/diegolab/diegolab/model"
)

// Specs hands out shared LRPSpecs to the LRPs of a queue or a batch: a spec equal to
// the one handed out last (the next instance of the same app, or of the same group of
// apps) gets that one's pointer, any other a new spec. Specs are allocated in chunks, so
// a queue of apps that each differ costs an allocation per specChunk apps, not per app.
// The zero Specs is ready to use.
type Specs struct {
	last  *LRPSpec
	chunk []LRPSpec
}

// specChunk is the number of LRPSpecs per chunk (~100 bytes each).
const specChunk = 64

// Share returns a pointer to a spec equal to s (the caller's s is copied, never kept).
func (t *Specs) Share(s *LRPSpec) *LRPSpec {
	if t.last != nil && t.last.Equal(s) {
		return t.last
	}
	if len(t.chunk) == cap(t.chunk) {
		t.chunk = make([]LRPSpec, 0, specChunk)
	}
	t.chunk = append(t.chunk, *s)
	t.last = &t.chunk[len(t.chunk)-1]
	return t.last
}

// Equal reports whether s and o ask for the same: domain, resources, constraint, cap
// and compute, lists compared by their elements.
func (s *LRPSpec) Equal(o *LRPSpec) bool {
	return s.Domain == o.Domain && s.Resource == o.Resource && s.MaxPerCell == o.MaxPerCell &&
		s.RootFS == o.RootFS && sameStrings(s.PlacementTags, o.PlacementTags) &&
		sameStrings(s.VolumeDrivers, o.VolumeDrivers) && sameCompute(s.Compute, o.Compute)
}

// sameStrings reports whether a and b hold the same strings and are both nil or both
// not (an empty list and no list stay apart, as they may be written apart).
func sameStrings(a, b []string) bool {
	return (a == nil) == (b == nil) && slices.Equal(a, b)
}

// sameCompute reports whether a and b ask for the same CPU and GPUs (nil only equals
// nil, so a spec keeps whether its instance declared a compute at all).
func sameCompute(a, b *model.Compute) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	return a.MilliCPU == b.MilliCPU && a.GPUs == b.GPUs && a.GPUMilli == b.GPUMilli &&
		sameStrings(a.GPUModels, b.GPUModels)
}
