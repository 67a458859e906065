package bbsserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/tlsconf"
)

func tlsServer(t testing.TB) (*Server, string) {
	t.Helper()
	dir := t.TempDir()
	if err := tlsconf.Generate(dir, tlsconf.Options{}); err != nil {
		t.Fatal(err)
	}
	srvTLS, err := tlsconf.Server(dir, "bbs")
	if err != nil {
		t.Fatal(err)
	}
	repTLS, err := tlsconf.Client(dir, "bbs")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := serveTB(t, Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", Token: "client-token", RepToken: "rep-token",
		TLS: srvTLS, RepTLS: repTLS, Limits: Limits{RequestRate: 1e9, RequestBurst: 1 << 30}})
	return s, dir
}

func serveTB(t testing.TB, cfg Config) (*Server, func()) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return s, stop
}

func presenceFor(repURL string) api.Presence {
	return api.Presence{CellID: "cell-0", Zone: "z0", RepURL: repURL,
		Capacity: model.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: 10}, RootFSProviders: []string{"preloaded"}}
}

// TestBBSMutualTLS: a BBS with --tls-dir serves a rep presenting the cluster's
// certificate, refuses plain HTTP and a client without a certificate (the full
// table of refusals is real/tlsconf's TestRefused), and wants https rep URLs.
func TestBBSMutualTLS(t *testing.T) {
	s, dir := tlsServer(t)
	if s.URL()[:8] != "https://" {
		t.Fatalf("URL %s", s.URL())
	}
	ctx := context.Background()
	cfg, err := tlsconf.Client(dir, "rep")
	if err != nil {
		t.Fatal(err)
	}
	rep := api.NewClient(s.URL(), "rep-token", 5*time.Second).WithTLS(cfg)
	if err := rep.Do(ctx, "POST", "/v1/presence", presenceFor("https://127.0.0.1:1"), nil); err != nil {
		t.Fatalf("heartbeat over mutual TLS: %v", err)
	}
	if err := rep.Do(ctx, "POST", "/v1/presence", presenceFor("http://127.0.0.1:1"), nil); api.StatusOf(err) != 422 {
		t.Fatalf("plain-HTTP rep URL under TLS: %v, want 422", err)
	}
	plain := api.NewClient("http://"+s.Addr(), "rep-token", 5*time.Second)
	if err := plain.Do(ctx, "GET", "/v1/health", nil, nil); err == nil || api.StatusOf(err) == 200 {
		t.Fatalf("plain HTTP served: %v", err)
	}
	noCert := cfg.Clone()
	noCert.Certificates = nil
	if err := api.NewClient(s.URL(), "rep-token", 5*time.Second).WithTLS(noCert).Do(ctx, "GET", "/v1/health", nil, nil); err == nil {
		t.Fatal("a client without a certificate was served")
	}
}

// BenchmarkTLSOverhead: p99 of a rep's heartbeat to the BBS and of the BBS's /state
// fetch from a rep, plain and over mutual TLS (kept-alive connections, as the
// components use them). Goal: TLS adds < 2 ms at p99 to each.
//
//	go test -run '^$' -bench TLSOverhead -benchtime 2000x ./real/bbsserver/
func BenchmarkTLSOverhead(b *testing.B) {
	for _, mode := range []string{"plain", "tls"} {
		b.Run("heartbeat/"+mode, func(b *testing.B) {
			var s *Server
			var cl *api.Client
			repURL := "http://127.0.0.1:1"
			if mode == "tls" {
				var dir string
				s, dir = tlsServer(b)
				cfg, err := tlsconf.Client(dir, "rep")
				if err != nil {
					b.Fatal(err)
				}
				cl = api.NewClient(s.URL(), "rep-token", 5*time.Second).WithTLS(cfg)
				repURL = "https://127.0.0.1:1"
			} else {
				s, _ = serveTB(b, Config{Dir: b.TempDir(), Listen: "127.0.0.1:0", Token: "client-token", RepToken: "rep-token",
					Limits: Limits{RequestRate: 1e9, RequestBurst: 1 << 30}})
				cl = api.NewClient(s.URL(), "rep-token", 5*time.Second)
			}
			p := presenceFor(repURL)
			lat := timeEach(b, func() error { return cl.Do(context.Background(), "POST", "/v1/presence", p, nil) })
			reportQuantiles(b, lat)
		})
		b.Run("state/"+mode, func(b *testing.B) {
			// A rep's /state endpoint (a canned reply of a cell with 50 containers).
			st := api.CellState{CellID: "cell-0", Zone: "z0", Total: model.Resources{MemoryMB: 1024, DiskMB: 1024, Containers: 250}}
			for i := range 50 {
				st.LRPs = append(st.LRPs, api.CellLRP{ProcessGUID: fmt.Sprintf("app-%d", i), InstanceGUID: fmt.Sprintf("i-%d", i),
					State: "RUNNING", Resource: model.Resource{MemoryMB: 16, DiskMB: 16}})
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			url := "http://" + ln.Addr().String()
			cl := api.NewClient(url, "rep-token", 5*time.Second)
			if mode == "tls" {
				dir := b.TempDir()
				if err := tlsconf.Generate(dir, tlsconf.Options{}); err != nil {
					b.Fatal(err)
				}
				srvCfg, _ := tlsconf.Server(dir, "rep")
				cliCfg, _ := tlsconf.Client(dir, "bbs")
				ln = tls.NewListener(ln, srvCfg)
				url = "https://" + ln.Addr().String()
				cl = api.NewClient(url, "rep-token", 5*time.Second).WithTLS(cliCfg)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { api.WriteJSON(w, 200, st) })}
			go srv.Serve(ln)
			defer srv.Close()
			lat := timeEach(b, func() error {
				var got api.CellState
				return cl.Do(context.Background(), "GET", "/state", nil, &got)
			})
			reportQuantiles(b, lat)
		})
	}
}

func timeEach(b *testing.B, fn func() error) []time.Duration {
	if err := fn(); err != nil { // the connection (and handshake) before timing
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	return lat
}

func reportQuantiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
