package live

import (
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// testCluster is a test's running cluster and what the test drives it with.
type testCluster struct {
	Dir   string
	State *State
	Cfg   ClientConfig
	// Opts are the options it was started with (its timers).
	Opts Options
	// GoApp is the built Go example app (push it with Buildpack "binary").
	GoApp string
}

// upTest builds the binaries and starts a cluster in a temporary directory with
// e2eTimers, changed by set (nil: as they are), taken down when the test ends.
func upTest(t testing.TB, set func(o *Options)) *testCluster {
	t.Helper()
	requireHost(t)
	bin, goapp := buildBinaries(t)
	o := e2eTimers
	o.Dir, o.Binary = t.TempDir(), bin
	if set != nil {
		set(&o)
	}
	st := startCluster(t, o)
	cfg, err := LoadClientConfig(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return &testCluster{Dir: o.Dir, State: st, Cfg: cfg, Opts: o, GoApp: goapp}
}

// client is an API client of the cluster (with its TLS, if any).
func (c *testCluster) client(t testing.TB, timeout time.Duration) *api.Client {
	t.Helper()
	cl, err := c.Cfg.NewClient(timeout)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}
