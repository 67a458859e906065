package sim_test

import (
	"flag"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diegolab/diegolab/engine/sim"
	"github.com/diegolab/diegolab/internal/hugepages"
	"github.com/diegolab/diegolab/scenarios"
)

// setupHugePages has BenchmarkSetup advise the heap it is about to build for
// transparent huge pages first, as `diegolab bench scale` does by default
// (hugepages.Prefault, 1 KB per instance): go test -bench Setup -args -setup.hugepages
var setupHugePages = flag.Bool("setup.hugepages", false, "BenchmarkSetup: prefault the heap for transparent huge pages as bench scale does")

// setupScenario is Diego's 250k-test mix (scenarios/diego-250k-mix.toml) scaled to
// cells cells and perCell instances per cell: the shape `bench scale` runs.
func setupScenario(tb testing.TB, cells, perCell int) *scenarios.Scenario {
	tb.Helper()
	// name, apps in the 250k test, instances per app, memory and disk (MB)
	mix := []struct {
		name             string
		count, instances int
		mem, disk        int
	}{
		{"light-group", 10000, 4, 32, 128}, {"light", 90000, 1, 32, 128},
		{"medium-group", 10000, 3, 128, 256}, {"medium", 60000, 1, 128, 256},
		{"heavy", 10000, 1, 1024, 1024}, {"crashing", 20000, 1, 128, 256},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[run]\nduration = \"1h\"\n[[cells]]\ncount = %d\nzones = [\"z1\", \"z2\", \"z3\"]\nmemory_mb = 32768\ndisk_mb = 65536\ncontainers = 256\n", cells)
	for _, a := range mix {
		n := max(a.count*cells*perCell/250_000, 1)
		fmt.Fprintf(&b, "[[apps]]\nname = %q\ncount = %d\ninstances = %d\nmemory_mb = %d\ndisk_mb = %d\n", a.name, n, a.instances, a.mem, a.disk)
	}
	sc, err := scenarios.Parse("setup.toml", []byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return sc
}

// BenchmarkSetup builds the simulated world: sim.New (cells, the control plane) and
// Start (every app desired at instant 0), up to the first auction. The set-up must grow
// as n log n at most: 100,000 cells and 10,000,000 instances is the goal
// (< 10 s), run with -bench 'Setup/cells=100000' (about 10 GB of heap).
func BenchmarkSetup(b *testing.B) {
	for _, size := range []struct{ cells, perCell int }{{1000, 100}, {10000, 100}, {100000, 100}} {
		b.Run(fmt.Sprintf("cells=%d/instances=%d", size.cells, size.cells*size.perCell), func(b *testing.B) {
			sc := setupScenario(b, size.cells, size.perCell)
			if *setupHugePages && hugepages.Supported() {
				if err := hugepages.Prefault(size.cells * size.perCell * 1024); err != nil {
					b.Fatal(err)
				}
				runtime.GC() // the advised block is free again: the build's heap reuses it
			}
			b.ReportAllocs()
			var build, cpu, gcCPU time.Duration
			for b.Loop() {
				cpu0 := processCPU()
				s, err := sim.New(sc, sim.Options{NoEvents: true})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Start(); err != nil {
					b.Fatal(err)
				}
				build += s.Phases().Build
				cpu += processCPU() - cpu0
				b.StopTimer()
				// The collection after the build marks the world once (a run's first cycle
				// would): its CPU is reported apart, gc-cpu-s/op, so that a build that defers
				// marking (a higher GOGC while building) is not credited with the deferral.
				cpu0 = processCPU()
				runtime.GC()
				gcCPU += processCPU() - cpu0
				runtime.KeepAlive(s)
				s = nil
				runtime.GC() // the next world is built with this one's memory free
				b.StartTimer()
			}
			b.ReportMetric(build.Seconds()/float64(b.N), "build-s/op")
			// CPU time of the whole process (the collector's threads too): on a shared
			// machine it says more than the wall time.
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(gcCPU.Seconds()/float64(b.N), "gc-cpu-s/op")
			b.ReportMetric(float64(size.cells*size.perCell)/(build.Seconds()/float64(b.N)), "instances/s")
		})
	}
}

// processCPU is the CPU time the process has used so far (user + system, every thread).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
