package executor

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkCreateStart measures one container lifecycle on the busybox
// stack: Create (bundle, overlay, runc create), Start (runc start) and
// Destroy (SIGKILL, runc delete, unmount, remove). It reports p50/p99 of
// create+start and of the whole cycle, in milliseconds. Goal: create+start
// p50 < 200 ms.
//
// The sub-benchmarks run without a disk quota and with one (DiskMB 1024: a
// loop-mounted ext4 made per container); both under the seccomp profile and the
// parent pids ceiling.
func BenchmarkCreateStart(b *testing.B) {
	for _, userns := range []bool{true, false} {
		for _, disk := range []int{0, 1024} {
			b.Run(fmt.Sprintf("userns=%v/disk=%d", userns, disk), func(b *testing.B) { benchCreateStart(b, disk, userns) })
		}
	}
}

func benchCreateStart(b *testing.B, diskMB int, userns bool) {
	ex, _ := newTestExecutor(b, RootfsAuto)
	if !userns {
		var err error
		if ex, err = New(Config{StateDir: searchableTempDir(b), StackDir: ex.cfg.StackDir, NoUserNamespace: true}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = ex.Cleanup(context.Background()) })
	}
	ctx := context.Background()
	b.ReportAllocs()
	var startMs, cycleMs []float64
	i := 0
	for b.Loop() {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		t0 := time.Now()
		c, err := ex.Create(ctx, ContainerSpec{ID: fmt.Sprintf("bench-%d", i), MemoryMB: 64, DiskMB: diskMB, Command: "exec sleep 600"})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := c.Destroy(ctx); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		cancel()
		startMs = append(startMs, float64(t1.Sub(t0).Microseconds())/1000)
		cycleMs = append(cycleMs, float64(t2.Sub(t0).Microseconds())/1000)
		i++
	}
	b.ReportMetric(percentile(startMs, 50), "create-start-p50-ms")
	b.ReportMetric(percentile(startMs, 99), "create-start-p99-ms")
	b.ReportMetric(percentile(cycleMs, 50), "cycle-p50-ms")
	b.ReportMetric(percentile(cycleMs, 99), "cycle-p99-ms")
}

// percentile returns the nearest-rank p-th percentile of xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(p/100*float64(len(s))+0.999999) - 1
	return s[max(0, min(rank, len(s)-1))]
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for _, tc := range []struct{ p, want float64 }{
		{50, 3}, // rank ceil(0.5×5) = 3 → third smallest
		{99, 5}, // rank ceil(4.95) = 5
		{1, 1},  // rank ceil(0.05) = 1
	} {
		if got := percentile(xs, tc.p); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}
