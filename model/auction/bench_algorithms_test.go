package auction

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// clockThreadCPUTime is Linux's CLOCK_THREAD_CPUTIME_ID (precise to the scheduler's
// accounting, unlike getrusage's per-thread figures, which advance by whole ticks).
const clockThreadCPUTime = 3

// threadCPUTime is the calling thread's CPU time (0 if unavailable).
func threadCPUTime() time.Duration {
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

// viaChoose hides an algorithm's index (an embedded interface promotes only Name and
// Choose), so Schedule enumerates candidates and calls Choose, as for a user's algorithm.
type viaChoose struct{ Algorithm }

// BenchmarkAlgorithms1000 is the auction part of `diegolab bench algorithms-1000` per
// algorithm: 1,000 cells (3 zones, 64 GB each) pre-filled by the algorithm itself with
// 25,000 instances (5,000 apps x 5, in batches of 500, every container started), then
// one op = one batch of 10 instances of a new app, as the simulator's small batches are.
// The batch is undone (timer stopped) so the state stays stationary. Reported:
// ns/op and allocs per batch, placements/s, and cpu-ns/op: the CPU time of the
// benchmark's thread in the Schedule calls per batch (clock_gettime around each call):
// steadier than wall time on a shared machine, and without the GC's work on the other
// threads.
func BenchmarkAlgorithms1000(b *testing.B) {
	cells := bigCells(1000)
	fill := bigBatch(5000, 5, 21)
	batches := make([]Batch, 1000)
	for i := range batches {
		batches[i] = bigBatch(1, 10, uint64(1000+i))
		for j := range batches[i].LRPs {
			batches[i].LRPs[j].ProcessGUID = fmt.Sprintf("new-%d", i)
		}
	}
	// viaChoose=NAME is the built-in behind a wrapper that hides its index: the
	// candidate scan every user-registered algorithm takes (State.choose).
	names := append(slices.Clone(builtins), "viaChoose=balanced", "viaChoose=first-fit")
	for _, name := range names {
		b.Run("alg="+name, func(b *testing.B) {
			base, wrap := strings.CutPrefix(name, "viaChoose=")
			alg, err := New(base)
			if err != nil {
				b.Fatal(err)
			}
			if wrap {
				alg = viaChoose{alg}
			}
			s := newBigState(b, cells)
			r := rand.New(rand.NewPCG(1, 2))
			for lo := 0; lo < len(fill.LRPs); lo += 500 {
				s.Schedule(Batch{LRPs: fill.LRPs[lo : lo+500]}, alg, r)
			}
			for _, c := range s.Cells() {
				for k := c.StartingContainers; k > 0; k-- {
					_ = s.Started(c.ID)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			placed := 0
			runtime.LockOSThread() // so that the thread's CPU time is the Schedule calls'
			defer runtime.UnlockOSThread()
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				c0 := threadCPUTime()
				res := s.Schedule(batches[i%len(batches)], alg, r)
				cpu += threadCPUTime() - c0
				b.StopTimer()
				for _, l := range res.LRPs {
					if l.CellID != "" {
						placed++
						if err := s.RemoveLRP(l.CellID, l.ProcessGUID, l.Resource, true); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StartTimer()
			}
			if placed == 0 {
				b.Fatal("nothing placed")
			}
			b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
