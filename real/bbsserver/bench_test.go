package bbsserver

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
)

// BenchmarkAPIMix measures the BBS's API over loopback on each store: 16 concurrent
// clients send a realistic mix — half reads (a cell's actual LRPs, the task list,
// health), a fifth heartbeats, the rest claims and starts of instances — through
// the full path (HTTP, auth, the lock's lease check and fence, the plane, one
// transaction). It reports requests/s and the p50/p99 latency of a request.
//
//	go test -run '^$' -bench APIMix -benchtime 5000x ./real/bbsserver/
func BenchmarkAPIMix(b *testing.B) {
	for _, store := range []string{"sqlite", "postgres"} {
		b.Run(store, func(b *testing.B) {
			cfg := Config{Dir: b.TempDir(), Listen: "127.0.0.1:0", Token: "client-token", RepToken: "rep-token",
				Limits: Limits{RequestRate: 1e9, RequestBurst: 1 << 30, MaxCells: 1000, MaxCellMemoryMB: 1 << 20, MaxCellDiskMB: 1 << 20}}
			if store == "postgres" {
				srv := pg.Get(b)
				pgDBs.Lock()
				pgDBs.n++
				name := fmt.Sprintf("bench_%d", pgDBs.n)
				pgDBs.Unlock()
				cfg.DB = srv.CreateDB(b, name)
			}
			benchMix(b, cfg)
		})
	}
}

func benchMix(b *testing.B, cfg Config) {
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() { cancel(); <-done }()

	const workers, cells = 16, 16
	// One LRP per worker, with an instance for every claim/start pair it may send.
	perWorker := b.N/workers + 1
	for w := range workers {
		d := model.DesiredLRP{ProcessGUID: fmt.Sprintf("app-%d", w), Domain: "cf-apps", Instances: perWorker, MemoryMB: 1, DiskMB: 1, RootFS: "preloaded:busybox"}
		if err := s.do(func(now time.Duration) error { return s.plane.DesireLRP(now, d) }); err != nil {
			b.Fatal(err)
		}
	}
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 30 * time.Second}
	rep := &api.Client{URL: s.URL(), Token: "rep-token", HTTP: httpc}
	cl := &api.Client{URL: s.URL(), Token: "client-token", HTTP: httpc}
	presence := func(c int) api.Presence {
		return api.Presence{CellID: fmt.Sprintf("cell-%d", c), Zone: "z0", RepURL: "http://127.0.0.1:1",
			Capacity: model.Resources{MemoryMB: 1 << 16, DiskMB: 1 << 16, Containers: 1024}, RootFSProviders: []string{"preloaded"}}
	}
	for c := range cells {
		if err := rep.Do(ctx, "POST", "/v1/presence", presence(c), nil); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	lat := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			guid := fmt.Sprintf("app-%d", w)
			cell := fmt.Sprintf("cell-%d", w%cells)
			claimed, started := 0, 0
			for i := 0; next.Add(1) <= int64(b.N); i++ {
				var err error
				t0 := time.Now()
				switch k := i % 10; {
				case k < 3:
					err = rep.Do(ctx, "GET", "/v1/cells/"+cell+"/actual", nil, nil)
				case k == 3:
					err = cl.Do(ctx, "GET", "/v1/tasks", nil, nil)
				case k == 4:
					err = cl.Do(ctx, "GET", "/v1/health", nil, nil)
				case k < 7:
					err = rep.Do(ctx, "POST", "/v1/presence", presence(w%cells), nil)
				case k < 9 || started >= claimed:
					if claimed < perWorker {
						err = rep.Do(ctx, "POST", "/v1/actual/claim", api.LRPReport{Key: model.ActualLRPKey{ProcessGUID: guid, Index: claimed},
							Instance: model.InstanceKey{InstanceGUID: fmt.Sprintf("%s-%d", guid, claimed), CellID: cell}}, nil)
						claimed++
					}
				default:
					err = rep.Do(ctx, "POST", "/v1/actual/start", api.LRPReport{Key: model.ActualLRPKey{ProcessGUID: guid, Index: started},
						Instance: model.InstanceKey{InstanceGUID: fmt.Sprintf("%s-%d", guid, started), CellID: cell},
						Address:  fmt.Sprintf("127.0.0.1:%d", 20000+started%40000)}, nil)
					started++
				}
				if err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	q := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
