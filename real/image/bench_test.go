package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BenchmarkColdPull pulls a generated 200 MB image (4 layers of 50 MB of
// incompressible data) from a loopback registry (the private cache's role) into
// an empty layer cache: resolve, download, verify, gunzip and unpack. It
// reports the rate in MB/s of compressed bytes pulled (wall clock) and MB per
// CPU second of this process (the registry serving and the cell pulling: what the
// transfer costs, whatever else the machine runs). Goal: >= 300 MB/s.
func BenchmarkColdPull(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Fatal("run as root (the layer cache unpacks owners and overlay whiteouts)")
	}
	reg, err := registry.Start(registry.Options{Name: "cache", BlobDir: filepath.Join(b.TempDir(), "blobs")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = reg.Close() })
	const layers, layerMB = 4, 50
	var ls []v1.Layer
	for i := range layers {
		l, err := registry.RandomLayer(fmt.Sprintf("data/part-%d", i), layerMB<<20, uint64(i+1))
		if err != nil {
			b.Fatal(err)
		}
		ls = append(ls, l)
	}
	img, err := registry.Build(ls, v1.Config{Cmd: []string{"true"}})
	if err != nil {
		b.Fatal(err)
	}
	ref := reg.Addr() + "/bench/big:1"
	if _, err := registry.Push(context.Background(), img, ref, "", ""); err != nil {
		b.Fatal(err)
	}
	var bytes int64
	var secs, cpu float64
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "layers")
		s, err := New(Config{Dir: dir, MaxBytes: 1 << 40})
		if err != nil {
			b.Fatal(err)
		}
		c0 := cpuSeconds()
		b.StartTimer()
		p, err := s.Pull(context.Background(), ref, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuSeconds() - c0
		bytes += p.PulledBytes
		secs += p.Elapsed.Seconds()
		s.Release(p)
		_ = os.RemoveAll(dir)
		b.StartTimer()
	}
	b.ReportMetric(float64(bytes)/(1<<20)/secs, "MB/s")
	b.ReportMetric(float64(bytes)/float64(b.N)/(1<<20), "MB/pull")
	b.ReportMetric(float64(bytes)/(1<<20)/cpu, "MB/cpu-s")
}

// cpuSeconds is this process's user + system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
