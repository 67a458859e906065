package bbs_test

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
)

// The 10x Diego mix at the scale where cache misses dominate: 2,000,000 desired LRPs
// (every fourth one with 2 instances: 1.5 M x 1 + 0.5 M x 2 = 2.5 M instances) on
// 10,000 cells, all claimed and running; 200,000 of the instances crash.
const (
	scaleGUIDs    = 2_000_000
	scaleCells    = 10_000
	scaleCrashing = 200_000
	// scaleStep is how far the clock moves per crash cycle: each crashing instance comes
	// round every scaleCrashing cycles = 200,000 x 2 ms = 400 s, of which it has been
	// RUNNING 400 s - 2,450 x 2 ms = 395 s > 5 min, so its crash count resets to 1 and
	// the restart is immediate (DIEGO.md §5).
	scaleStep = 2 * time.Millisecond
	// scaleConvergeEvery is the number of crash cycles between convergence passes: the
	// steady state runs ~490 cycles/s of simulated time and converges every 30 s.
	scaleConvergeEvery = 14_000
	// scaleClaimLag and scaleStartLag are how many crash cycles later an instance is
	// claimed (an auction batch holds ~20 items at 10,000 cells) and started (5 s later,
	// at ~490 cycles per simulated second).
	scaleClaimLag = 20
	scaleStartLag = 2_450
)

// scaleWorld is the BBS of the scale benchmark with its crash schedule; built once per
// process (the setup takes most of a minute) and reused by every benchmark run.
type scaleWorld struct {
	b       *bbs.BBS
	cells   []string
	crash   []model.ActualLRPKey // the crashing instances, in a random order
	iks     []model.InstanceKey  // iks[i]: the instance of crash[i]
	names   []string             // instance guids for the restarts, used round robin
	now     time.Duration
	n       int // crash cycles so far
	heapB   float64
	setupNS float64
}

var (
	scaleOnce sync.Once
	scaleW    *scaleWorld
)

func newScaleWorld(b *testing.B) *scaleWorld {
	start := time.Now()
	before := liveHeap()
	// The store shares the run's process ids, with the guids laid out in one block, as
	// the simulation desires its apps (model.GUIDs).
	store, names := bbs.NewMemStore(), model.NewGUIDs()
	store.UseGUIDs(names)
	w := &scaleWorld{b: bbs.New(store, bbs.DefaultConfig())}
	guids := make([]string, scaleGUIDs)
	for g := range guids {
		guids[g] = "app-" + strconv.Itoa(g)
	}
	guids = names.Block(guids)
	w.cells = make([]string, scaleCells)
	for i := range w.cells {
		w.cells[i] = "cell-" + strconv.Itoa(i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	instances := 0
	var keys []model.ActualLRPKey
	iks := map[model.ActualLRPKey]model.InstanceKey{}
	for g := range scaleGUIDs {
		guid := guids[g]
		n := 1
		if g%4 == 0 {
			n = 2
		}
		if err := w.b.DesireLRP(0, benchDesired(guid, n)); err != nil {
			b.Fatal(err)
		}
		r := w.b.Ready()
		for _, s := range r.LRPStarts {
			ik := model.InstanceKey{InstanceGUID: "i-" + strconv.Itoa(instances), CellID: w.cells[rng.IntN(scaleCells)]}
			instances++
			if err := w.b.ClaimActualLRP(0, s.Key, ik); err != nil {
				b.Fatal(err)
			}
			if err := w.b.StartActualLRP(0, s.Key, ik, ""); err != nil {
				b.Fatal(err)
			}
			if g%10 == 0 && s.Key.Index == 0 { // 200,000 crashing instances, spread out
				keys = append(keys, s.Key)
				iks[s.Key] = ik
			}
		}
		w.b.Ready()
	}
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	w.crash = keys
	for _, k := range keys {
		w.iks = append(w.iks, iks[k])
	}
	w.names = make([]string, 4096)
	for i := range w.names {
		w.names[i] = "r-" + strconv.Itoa(i)
	}
	w.now = 10 * time.Minute
	w.b.Converge(w.now, w.cells)
	w.b.Ready()
	w.heapB = float64(int64(liveHeap())-int64(before)) / float64(instances)
	w.setupNS = float64(time.Since(start).Nanoseconds())
	return w
}

// cycle runs step n of the crash pipeline, in which three different instances move as in
// the simulation's steady state: instance n crashes (CrashActualLRP, its start request
// read from Ready()), instance n-scaleClaimLag is claimed on a random cell (the auction
// batch it went into has been placed) and instance n-scaleStartLag starts (its container
// took 5 s). So, as in the simulation, each operation finds its rows cold in the cache.
// Each Ready is read and released (ReleaseReady), as the simulation driver does.
func (w *scaleWorld) cycle(b *testing.B, rng *rand.Rand) {
	n := w.n
	w.n++
	w.now += scaleStep
	i := n % len(w.crash)
	key := w.crash[i]
	if err := w.b.CrashActualLRP(w.now, key, w.iks[i], "exited with status 1"); err != nil {
		b.Fatal(err)
	}
	r := w.b.Ready()
	if len(r.LRPStarts) != 1 || r.LRPStarts[0].Key != key {
		b.Fatalf("cycle %d: want one start of %v, got %v", n, key, r.LRPStarts)
	}
	w.b.ReleaseReady()
	if n >= scaleClaimLag {
		j := (n - scaleClaimLag) % len(w.crash)
		ik := model.InstanceKey{InstanceGUID: w.names[n%len(w.names)], CellID: w.cells[rng.IntN(scaleCells)]}
		if err := w.b.ClaimActualLRP(w.now, w.crash[j], ik); err != nil {
			b.Fatal(err)
		}
		w.iks[j] = ik
	}
	if n >= scaleStartLag {
		j := (n - scaleStartLag) % len(w.crash)
		if err := w.b.StartActualLRP(w.now, w.crash[j], w.iks[j], ""); err != nil {
			b.Fatal(err)
		}
	}
	if w.n%scaleConvergeEvery == 0 {
		w.b.Converge(w.now, w.cells)
	}
	w.b.Ready()
	// The simulation driver reads each batch's events at once and keeps none of them, so
	// it releases the outbox for reuse (BBS.ReleaseReady); so does the benchmark.
	w.b.ReleaseReady()
}

// BenchmarkBBSScaleCrashCycle measures one steady-state crash cycle (see cycle) on the
// 2 M-LRP BBS, with a convergence pass every scaleConvergeEvery cycles. It reports the
// live heap of the setup per instance (B/instance) and its wall time (setup-s). The
// world is shared between runs, so -count N measures N consecutive windows.
func BenchmarkBBSScaleCrashCycle(b *testing.B) {
	if testing.Short() {
		b.Skip("2.5 M instances")
	}
	scaleOnce.Do(func() { scaleW = newScaleWorld(b) })
	w := scaleW
	rng := rand.New(rand.NewPCG(3, uint64(w.n)))
	// CPU time is steadier than wall time on a shared machine: the thread's own (the
	// operations, allocation and GC assists) and the process's (plus background GC).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	thread0, proc0 := cpuTime(syscall.RUSAGE_THREAD), cpuTime(syscall.RUSAGE_SELF)
	for range b.N {
		w.cycle(b, rng)
	}
	thread, proc := cpuTime(syscall.RUSAGE_THREAD)-thread0, cpuTime(syscall.RUSAGE_SELF)-proc0
	b.StopTimer()
	b.ReportMetric(float64(thread.Nanoseconds())/float64(b.N), "thread-ns/op")
	b.ReportMetric(float64(proc.Nanoseconds())/float64(b.N), "cpu-ns/op")
	runtime.KeepAlive(w)
	b.ReportMetric(w.heapB, "B/instance")
	b.ReportMetric(w.setupNS/1e9, "setup-s")
}

// cpuTime returns the user+system CPU time of who (syscall.RUSAGE_THREAD or RUSAGE_SELF).
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
