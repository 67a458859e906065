package live

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// BenchmarkRouter measures the router on loopback to 3 instances of the Go example:
// 16 or 64 concurrent keep-alive clients send 20,000 GET / per iteration through the
// router; reported: requests/s and the p50/p99 latency in ms. Every request must
// answer 200. Run: go test -run '^$' -bench Router -benchtime 1x ./real/live/ (root).
func BenchmarkRouter(b *testing.B) {
	_, cfg, cl, goapp, _ := upAround(b)
	ctx := context.Background()
	if _, err := Push(ctx, cl, "goapp", goapp, PushOptions{Instances: 3, MemoryMB: 128, DiskMB: 64, Buildpack: "binary", Timeout: 60 * time.Second}); err != nil {
		b.Fatal(err)
	}
	waitFor(b, "router knows 3 instances", 10*time.Second, func() bool {
		seen := map[string]bool{}
		for range 6 {
			if code, body, err := viaRouter(cfg.RouterURL, "goapp.localhost", "/"); err == nil && code == 200 {
				seen[body] = true
			}
		}
		return len(seen) == 3
	})
	for _, workers := range []int{16, 64} {
		b.Run(fmt.Sprintf("clients-%d", workers), func(b *testing.B) { loadRouter(b, cfg.RouterURL, workers) })
	}
}

func loadRouter(b *testing.B, routerURL string, workers int) {
	const perIter = 20000
	tr := &http.Transport{MaxIdleConns: workers, MaxIdleConnsPerHost: workers}
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	cfg := ClientConfig{RouterURL: routerURL}
	for range b.N {
		lat := make([][]time.Duration, workers)
		var failures int
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := time.Now()
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perIter / workers {
					req, _ := http.NewRequest(http.MethodGet, cfg.RouterURL+"/", nil)
					req.Host = "goapp.localhost"
					t0 := time.Now()
					resp, err := hc.Do(req)
					if err == nil {
						_, _ = drain(resp)
					}
					lat[w] = append(lat[w], time.Since(t0))
					if err != nil || resp.StatusCode != 200 {
						mu.Lock()
						failures++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		took := time.Since(start)
		var all []time.Duration
		for _, l := range lat {
			all = append(all, l...)
		}
		slices.Sort(all)
		if failures > 0 {
			b.Fatalf("%d of %d requests failed", failures, len(all))
		}
		b.ReportMetric(float64(len(all))/took.Seconds(), "req/s")
		b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
}

func drain(resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	var buf [512]byte
	var n int64
	for {
		k, err := resp.Body.Read(buf[:])
		n += int64(k)
		if err != nil {
			return n, nil
		}
	}
}

// BenchmarkLogPipeline measures lines/s from one chatty instance (10,000 lines as
// fast as busybox sh prints them) through the rep's shipper and the log service to a
// follower, with a 20,000-line buffer: the follower must see every line, in order.
func BenchmarkLogPipeline(b *testing.B) {
	requireHost(b)
	bin, _ := buildBinaries(b)
	dir := b.TempDir()
	o := aroundTimers(dir, bin)
	o.LogBound = 20000
	startCluster(b, o)
	cfg, _ := LoadClientConfig(dir)
	cl := api.NewClient(cfg.URL, cfg.Token, 10*time.Second)
	wd, _ := os.Getwd()
	chatty := filepath.Join(wd, "../../examples/chatty")
	const n = 10000
	for i := range b.N {
		name := fmt.Sprintf("chatty%d", i)
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan struct{})
		var first, last time.Time
		got := 0
		inOrder := true
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = StreamLogs(ctx, cl, name, LogOptions{Follow: true}, ready, func(l api.LogLine) {
				var k int
				if l.Source != api.SourceApp || l.Stream != api.StreamOut {
					return
				}
				if _, err := fmt.Sscanf(l.Text, "chatty line %d", &k); err != nil {
					return
				}
				if got == 0 {
					first = time.Now()
				}
				if k != got {
					inOrder = false
				}
				got++
				last = time.Now()
				if got == n {
					cancel()
				}
			})
		}()
		<-ready
		if _, err := Push(context.Background(), cl, name, chatty, PushOptions{Instances: 1, MemoryMB: 32, DiskMB: 32, Buildpack: "binary",
			Command: fmt.Sprintf("sh ./chatty.sh %d", n), HealthCheck: api.HealthCheck{Type: api.HealthProcess}, Timeout: 30 * time.Second}); err != nil {
			b.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cancel()
			<-done
		}
		if got != n || !inOrder {
			b.Fatalf("follower saw %d of %d lines (in order: %v)", got, n, inOrder)
		}
		b.ReportMetric(float64(n-1)/last.Sub(first).Seconds(), "lines/s")
		_ = cl.Do(context.Background(), http.MethodDelete, "/v1/apps/"+name, nil, nil)
	}
}
