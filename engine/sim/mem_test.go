package sim

import (
	"runtime"
	"testing"
)

// keep holds what TestHeapGauge allocates, so that the live heap changes between GCs.
var keep [][]byte

// TestHeapGauge: the gauge gives the live heap liveHeap reads, before and after GC
// cycles that change it, and reads it again only after a cycle.
func TestHeapGauge(t *testing.T) {
	var g heapGauge
	for round := range 4 {
		runtime.GC()
		want := liveHeap()
		for range 3 {
			if got := g.liveHeap(); got != want {
				t.Fatalf("round %d: gauge %d, liveHeap %d", round, got, want)
			}
		}
		keep = append(keep, make([]byte, 8<<20)) // changes the live heap of the next cycle
	}
	keep = nil
	if !g.read || g.cycles == 0 {
		t.Fatalf("gauge read %v at cycle %d: the cycle count was not read", g.read, g.cycles)
	}
}
