package live

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/internal/pgtest"
	"github.com/diegolab/diegolab/real/api"
)

// TestLiveTLSOnPostgres: `live up --tls --db postgres://...`: every component talks
// mutual TLS (the CLI's config names the certificates), the BBS keeps its state in
// PostgreSQL, a pushed app runs and serves through the router, and the BBS refuses
// plain HTTP.
func TestLiveTLSOnPostgres(t *testing.T) {
	requireHost(t)
	srv := pgtest.Start(t)
	db := srv.CreateDB(t, "live")
	tc := upTest(t, func(o *Options) { o.Cells, o.TLS, o.DB = 1, true, db })
	st, cfg := tc.State, tc.Cfg
	if !strings.HasPrefix(st.URL, "https://") {
		t.Fatalf("BBS URL %s, want https", st.URL)
	}
	if cfg.TLSDir == "" {
		t.Fatal("client config names no certificates")
	}
	cl := tc.client(t, 10*time.Second)
	ctx := context.Background()
	d, err := Push(ctx, cl, "web", "../../examples/static", PushOptions{Instances: 2, MemoryMB: 64, DiskMB: 64, Buildpack: "static", Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.InstancesDetail) != 2 {
		t.Fatalf("instances = %+v", d.InstancesDetail)
	}
	// Through the router, which follows the BBS's events over mutual TLS.
	waitFor(t, "the router serves web", 20*time.Second, func() bool {
		req, _ := http.NewRequest("GET", st.RouterURL+"/", nil)
		req.Host = "web.localhost"
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	plain := api.NewClient("http://"+strings.TrimPrefix(st.URL, "https://"), cfg.Token, 5*time.Second)
	if err := plain.Do(ctx, "GET", "/v1/apps", nil, nil); err == nil {
		t.Fatal("the BBS answered plain HTTP")
	}
	noCert := api.NewClient(st.URL, cfg.Token, 5*time.Second)
	if err := noCert.Do(ctx, "GET", "/v1/apps", nil, nil); err == nil {
		t.Fatal("the BBS answered a client without the cluster's certificates")
	}
}
