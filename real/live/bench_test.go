package live

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// BenchmarkRealMode measures, on a live 2-cell cluster with the e2e timers:
// push-to-running of the static example with 1 and 10 instances, and
// crash-to-running of the Go example after /crash (an immediate restart).
// Run: go test -run '^$' -bench RealMode -benchtime 1x ./real/live/ (as root).
func BenchmarkRealMode(b *testing.B) {
	requireHost(b)
	bin, goapp := buildBinaries(b)
	dir := b.TempDir()
	o := e2eTimers
	o.Dir, o.Binary = dir, bin
	ctx := context.Background()
	startCluster(b, o)
	cfg, _ := LoadClientConfig(dir)
	cl := api.NewClient(cfg.URL, cfg.Token, 10*time.Second)
	n := 0
	for _, inst := range []int{1, 10} {
		b.Run(fmt.Sprintf("push-static-%d", inst), func(b *testing.B) {
			for range b.N {
				n++
				start := time.Now()
				if _, err := Push(ctx, cl, fmt.Sprintf("s%d", n), "../../examples/static", PushOptions{Instances: inst, MemoryMB: 32, DiskMB: 32, Buildpack: "static"}); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(start).Seconds(), "s/push")
			}
		})
	}
	b.Run("crash-to-running", func(b *testing.B) {
		g, err := Push(ctx, cl, "goapp", goapp, PushOptions{Instances: 1, MemoryMB: 32, DiskMB: 32, Buildpack: "binary"})
		if err != nil {
			b.Fatal(err)
		}
		addr := g.InstancesDetail[0].Address
		for i := range b.N {
			start := time.Now()
			get(b, addr, "/crash")
			waitFor(b, "restart", 30*time.Second, func() bool {
				in := appDetail(b, cl, "goapp").InstancesDetail
				if len(in) == 1 && in[0].State == "RUNNING" && in[0].CrashCount == i+1 {
					addr = in[0].Address
					return true
				}
				return false
			})
			b.ReportMetric(time.Since(start).Seconds(), "s/restart")
		}
	})
}
