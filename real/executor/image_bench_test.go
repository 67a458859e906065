package executor

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/image"
	"github.com/diegolab/diegolab/real/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BenchmarkImageWarmStart measures an instance start of a 10-layer Docker image
// whose layers the cell already holds: from the work received (the pull: one
// manifest request to the loopback cache, every layer found in the layer cache)
// through Create and Start to the app listening on its port (the port health
// check the rep runs, polled every 2 ms here). Reports p50/p99 in ms. Goal:
// p50 < 300 ms.
func BenchmarkImageWarmStart(b *testing.B) {
	ex, state := newTestExecutor(b, RootfsAuto)
	reg, err := registry.Start(registry.Options{Name: "cache"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = reg.Close() })
	base, err := registry.LayerFromDir(sharedStack.dir)
	if err != nil {
		b.Fatal(err)
	}
	ls := []v1.Layer{base}
	for i := 1; i < 10; i++ {
		l, err := registry.LayerFromEntries([]registry.Entry{{Path: "srv/", Dir: true}, {Path: fmt.Sprintf("srv/layer-%d", i), Data: []byte(strings.Repeat("x", 64<<10))}})
		if err != nil {
			b.Fatal(err)
		}
		ls = append(ls, l)
	}
	img, err := registry.Build(ls, v1.Config{Entrypoint: []string{"httpd", "-f", "-h", "/srv"}, Cmd: []string{"-p", "8081"},
		Env: []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin"}, ExposedPorts: map[string]struct{}{"8081/tcp": {}}})
	if err != nil {
		b.Fatal(err)
	}
	ref := reg.Addr() + "/bench/ten:1"
	digest, err := registry.Push(context.Background(), img, ref, "", "")
	if err != nil {
		b.Fatal(err)
	}
	ref = reg.Addr() + "/bench/ten@" + digest
	store, err := image.New(image.Config{Dir: filepath.Join(state, "layers"), Shift: ex.HostID(0)})
	if err != nil {
		b.Fatal(err)
	}
	warm, err := store.Pull(context.Background(), ref, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Release(warm)
	if len(warm.Layers) != 10 {
		b.Fatalf("%d layers, want 10", len(warm.Layers))
	}
	var ms, pullMs, createMs []float64
	i := 0
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t0 := time.Now()
		p, err := store.Pull(ctx, ref, nil)
		if err != nil {
			b.Fatal(err)
		}
		if p.PulledBytes != 0 {
			b.Fatalf("warm pull downloaded %d bytes", p.PulledBytes)
		}
		tPull := time.Now()
		c, err := ex.Create(ctx, ContainerSpec{ID: fmt.Sprintf("warm-%d", i), MemoryMB: 64, Layers: p.Layers, WorkingDir: "/srv",
			Env: p.Config.Env, Ports: p.Config.Ports, Command: "exec httpd -f -h /srv -p 8081"})
		if err != nil {
			b.Fatal(err)
		}
		tCreate := time.Now()
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		for !listening(c.Info().Pid, 8081) {
			if ctx.Err() != nil {
				b.Fatal("the app never listened")
			}
			time.Sleep(2 * time.Millisecond)
		}
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		pullMs = append(pullMs, float64(tPull.Sub(t0).Microseconds())/1000)
		createMs = append(createMs, float64(tCreate.Sub(tPull).Microseconds())/1000)
		b.StopTimer()
		if err := c.Destroy(ctx); err != nil {
			b.Fatal(err)
		}
		store.Release(p)
		cancel()
		i++
		b.StartTimer()
	}
	b.ReportMetric(percentile(ms, 50), "start-p50-ms")
	b.ReportMetric(percentile(ms, 99), "start-p99-ms")
	b.ReportMetric(percentile(pullMs, 50), "pull-p50-ms")
	b.ReportMetric(percentile(createMs, 50), "create-p50-ms")
}

// listening reports a LISTEN socket on port in pid's network namespace (IPv4
// or IPv6, as the rep's port check).
func listening(pid, port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, n := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, n))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) > 3 && strings.HasSuffix(fs[1], want) && fs[3] == "0A" {
				f.Close()
				return true
			}
		}
		f.Close()
	}
	return false
}
