package live

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
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

// requestLoop sends GET / for an app through the router at a fixed period and
// records every answer that is not a 200.
type requestLoop struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	requests int
	failures []string
}

// startRequests starts a request loop for app (stopped at cleanup if not before).
func startRequests(t testing.TB, routerURL, app string, every time.Duration) *requestLoop {
	l := &requestLoop{stop: make(chan struct{})}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			select {
			case <-l.stop:
				return
			case <-time.After(every):
			}
			code, text := routerGet(routerURL, app)
			l.mu.Lock()
			l.requests++
			if code != http.StatusOK {
				l.failures = append(l.failures, fmt.Sprintf("%s %d %q", time.Now().Format("15:04:05.000"), code, text))
			}
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { l.Stop() })
	return l
}

// Stop ends the loop (once) and returns the count of requests and the failures.
func (l *requestLoop) Stop() (int, []string) {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests, slices.Clone(l.failures)
}
