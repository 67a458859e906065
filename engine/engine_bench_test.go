package engine

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// benchHandler reschedules one event a pseudo-random delay ahead each time it fires. The
// delay comes from an xorshift64 state: cheap, deterministic, and uniform enough to keep the
// heap's shape realistic (new events land all over the queue, not only at its end).
type benchHandler struct {
	x        uint64
	maxDelay uint64 // delays are uniform in [1, maxDelay] ns
}

func (h *benchHandler) next() time.Duration {
	h.x ^= h.x << 13
	h.x ^= h.x >> 7
	h.x ^= h.x << 17
	return time.Duration(h.x%h.maxDelay + 1)
}

func (h *benchHandler) Fire(k *Kernel, p Payload) {
	p.A++
	k.After(h.next(), h, p)
}

// fillKernel returns a kernel with n pending events of h, spread over [1, maxDelay] ns.
func fillKernel(n int, h *benchHandler) *Kernel {
	k := New(1)
	k.Reserve(n + n/8)
	for i := 0; i < n; i++ {
		k.Schedule(h.next(), h, Payload{Kind: 1, A: int64(i), B: int64(i)})
	}
	return k
}

// BenchmarkEngine keeps 10^5 events pending; every fired event schedules one new event
// (steady state: one pop and one push per op). Goal: >= 5e6 events/s, 0 allocs/op.
func BenchmarkEngine(b *testing.B) {
	benchSteady(b, 100_000)
}

// BenchmarkEngineSizes runs the same steady state over a grid of queue sizes, to show how
// the cost grows with log(pending) and cache pressure.
func BenchmarkEngineSizes(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("pending=%d", n), func(b *testing.B) { benchSteady(b, n) })
	}
}

func benchSteady(b *testing.B, pending int) {
	h := &benchHandler{x: 0x9e3779b97f4a7c15, maxDelay: 1_000_000}
	runSteady(b, fillKernel(pending, h), pending)
}

// runSteady warms k up (pending events, so that the initial spread settles into the
// steady-state distribution), then times b.N steps; every fired event must schedule one.
func runSteady(b *testing.B, k *Kernel, pending int) {
	for i := 0; i < pending; i++ {
		k.Step()
	}
	start := k.Processed()
	cpu := startCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k.Step()
	}
	b.StopTimer()
	if k.Pending() != pending || k.Processed()-start != uint64(b.N) {
		b.Fatalf("pending %d processed %d, want %d and %d", k.Pending(), k.Processed()-start, pending, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	cpu.report(b, float64(b.N), "events/cpu-s")
}

// cpuClock measures the benchmark goroutine's thread CPU time, where the OS offers it.
type cpuClock struct {
	start time.Duration
	ok    bool
}

// startCPU pins the goroutine to its thread (until the benchmark function returns, when
// the testing package's goroutine ends) and reads the thread's CPU time.
func startCPU() cpuClock {
	runtime.LockOSThread()
	t, ok := threadCPU()
	return cpuClock{t, ok}
}

// report adds n per CPU-second as a metric. On a shared machine this is the figure to read:
// events/s (wall clock) also counts the time other processes held the core.
func (c cpuClock) report(b *testing.B, n float64, unit string) {
	if !c.ok {
		return
	}
	if t, ok := threadCPU(); ok && t > c.start {
		b.ReportMetric(n/(t-c.start).Seconds(), unit)
	}
}

// timeoutHandler models the common "work plus timeout" pattern: each fired event schedules
// the next piece of work and a far-off timeout, and cancels the timeout it armed `ring`
// events ago (the work finished in time). About 10^5 work events and len(ring) timeouts are
// pending; the cancelled timeouts sit anywhere in the heap.
type timeoutHandler struct {
	benchHandler
	ring      []Handle
	i         int
	cancelled uint64
}

const benchTimeout = time.Second // far beyond the queue's horizon (~1 ms), so timeouts never fire

func (h *timeoutHandler) Fire(k *Kernel, p Payload) {
	if p.Kind == 2 {
		return // a timeout that fired (not expected in this benchmark)
	}
	k.After(h.next(), h, p)
	slot := &h.ring[h.i]
	if k.Cancel(*slot) {
		h.cancelled++
	}
	*slot = k.After(benchTimeout+h.next(), h, Payload{Kind: 2, A: p.A})
	h.i++
	if h.i == len(h.ring) {
		h.i = 0
	}
}

// BenchmarkEngineCancel: per op one work event fires, schedules two events and cancels one.
func BenchmarkEngineCancel(b *testing.B) {
	const pending, ringSize = 100_000, 10_000
	h := &timeoutHandler{benchHandler: benchHandler{x: 0x2545f4914f6cdd1d, maxDelay: 1_000_000}, ring: make([]Handle, ringSize)}
	k := New(1)
	k.Reserve(pending + 2*ringSize)
	for i := 0; i < pending; i++ {
		k.Schedule(h.next(), h, Payload{Kind: 1, A: int64(i)})
	}
	// Warm up until the ring is full, so every timed op cancels a pending timeout.
	for i := 0; i < ringSize; i++ {
		k.Step()
	}
	h.cancelled = 0
	start := k.Processed()
	cpu := startCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k.Step()
	}
	b.StopTimer()
	if got := k.Processed() - start; got != uint64(b.N) {
		b.Fatalf("processed %d events, want %d", got, b.N)
	}
	if h.cancelled != uint64(b.N) {
		b.Fatalf("cancelled %d timeouts, want %d (one per op)", h.cancelled, b.N)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "events/s")
	b.ReportMetric(float64(h.cancelled)/sec, "cancels/s")
	cpu.report(b, float64(b.N), "events/cpu-s")
}

// BenchmarkEngineTimers is the event mix of a large simulation's steady state: timers
// seconds to minutes ahead (uniform in [5 s, 6 min], like crash timers), with 10^4 to 10^6
// pending. A fired event reschedules itself.
func BenchmarkEngineTimers(b *testing.B) {
	for _, n := range []int{10_000, 200_000, 1_000_000} {
		b.Run(fmt.Sprintf("pending=%d", n), func(b *testing.B) {
			h := &timerHandler{benchHandler{x: 0x9e3779b97f4a7c15, maxDelay: uint64(355 * time.Second)}}
			k := New(1)
			k.Reserve(n + n/8)
			for i := 0; i < n; i++ {
				k.Schedule(h.delay(), h, Payload{Kind: 1, A: int64(i)})
			}
			runSteady(b, k, n)
		})
	}
}

type timerHandler struct{ benchHandler }

func (h *timerHandler) delay() time.Duration { return 5*time.Second + h.next() }

func (h *timerHandler) Fire(k *Kernel, p Payload) { k.After(h.delay(), h, p) }
