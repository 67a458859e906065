package bbs

import (
	"testing"

	"github.com/diegolab/diegolab/model"
)

// TestStrictlyIncreasing: Converge skips its deduplication map only for start lists in
// strictly increasing (guid, index) order; any repeat or step back needs the map.
func TestStrictlyIncreasing(t *testing.T) {
	k := func(g string, i int) model.ActualLRPKey { return model.ActualLRPKey{ProcessGUID: g, Index: i} }
	tests := []struct {
		name string
		keys []model.ActualLRPKey
		want bool
	}{
		{"empty", nil, true},
		{"one", []model.ActualLRPKey{k("a", 0)}, true},
		{"increasing", []model.ActualLRPKey{k("a", 0), k("a", 3), k("b", 0), k("ba", 1)}, true},
		{"repeat", []model.ActualLRPKey{k("a", 0), k("b", 1), k("b", 1)}, false},
		{"index back", []model.ActualLRPKey{k("a", 2), k("a", 1)}, false},
		{"guid back", []model.ActualLRPKey{k("b", 0), k("a", 5)}, false},
		{"two sorted lists", []model.ActualLRPKey{k("a", 0), k("c", 0), k("b", 0), k("c", 0)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := strictlyIncreasing(tc.keys); got != tc.want {
				t.Fatalf("strictlyIncreasing(%v) = %v, want %v", tc.keys, got, tc.want)
			}
		})
	}
}
