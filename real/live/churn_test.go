package live

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// upCells starts a cluster of n cells for the churn and drain tests.
func upCells(t *testing.T, n int) (*State, ClientConfig, *api.Client, string, string) {
	t.Helper()
	requireHost(t)
	bin, goapp := buildBinaries(t)
	dir := t.TempDir()
	o := aroundTimers(dir, bin)
	o.Cells, o.EvacuationTimeout = n, time.Minute
	st := startCluster(t, o)
	cfg, err := LoadClientConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st, cfg, api.NewClient(cfg.URL, cfg.Token, 30*time.Second), goapp, dir
}

// noPanics fails if any component's log holds a panic or a fatal error.
func noPanics(t *testing.T, st *State) {
	t.Helper()
	for _, p := range append([]Proc{st.BBS, st.Router}, st.Reps...) {
		if p.Dir == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(p.Dir, "log"))
		if err != nil {
			t.Errorf("%s: %v", p.Name, err)
			continue
		}
		for _, bad := range []string{"panic:", "fatal error:", "nil pointer dereference"} {
			if i := strings.Index(string(b), bad); i >= 0 {
				t.Errorf("%s's log holds %q:\n%s", p.Name, bad, string(b[i:min(len(b), i+2000)]))
			}
		}
	}
}

// TestChurnScale is the churn: 20 clients x 50 scale calls between 1 and 16
// instances on a live 3-cell cluster. No component panics, every rep stays alive,
// and the app converges to the last count asked for.
func TestChurnScale(t *testing.T) {
	st, _, cl, goapp, _ := upCells(t, 3)
	ctx := context.Background()
	if _, err := Push(ctx, cl, "churn", goapp, PushOptions{Instances: 1, MemoryMB: 48, DiskMB: 32, Buildpack: "binary",
		Timeout: 90 * time.Second}); err != nil {
		t.Fatal(err)
	}
	const clients, calls = 20, 50
	var wg sync.WaitGroup
	errs := make(chan error, clients*calls)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 17)) // each client's own sequence
			for range calls {
				n := 1 + rng.IntN(16)
				if err := cl.Do(ctx, http.MethodPost, "/v1/apps/churn/scale", api.ScaleRequest{Instances: new(n)}, nil); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("scale: %v", err)
	}
	const final = 7
	if err := cl.Do(ctx, http.MethodPost, "/v1/apps/churn/scale", api.ScaleRequest{Instances: new(final)}, nil); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, "the app back at its last count", 3*time.Minute, func() bool {
		a := appDetail(t, cl, "churn")
		return a.Instances == final && a.Running == final && len(a.InstancesDetail) == final
	})
	t.Logf("%d scale calls, then %d instances running after %v", clients*calls, final, took)
	for _, p := range st.Reps {
		if !alive(p.Pid) {
			t.Errorf("%s (pid %d) died during the churn", p.Name, p.Pid)
		}
	}
	noPanics(t, st)
}

// TestDrainUnderLoad drains a cell holding instances while requests flow through the
// router: not one request fails, the instances run elsewhere, and the rep exits.
func TestDrainUnderLoad(t *testing.T) {
	st, cfg, cl, goapp, dir := upCells(t, 3)
	ctx := context.Background()
	if _, err := Push(ctx, cl, "drainy", goapp, PushOptions{Instances: 3, MemoryMB: 64, DiskMB: 64, Buildpack: "binary",
		Timeout: 90 * time.Second}); err != nil {
		t.Fatal(err)
	}
	host := "drainy.localhost"
	waitRouted(t, cfg.RouterURL, host, 3, 15*time.Second)
	// Drain the cell that holds the most instances.
	per := map[string]int{}
	for _, in := range appDetail(t, cl, "drainy").InstancesDetail {
		per[in.CellID]++
	}
	victim := ""
	for _, p := range st.Reps {
		if victim == "" || per[p.Name] > per[victim] {
			victim = p.Name
		}
	}
	if per[victim] == 0 {
		t.Fatalf("no instance on any cell: %v", per)
	}
	h := startHammer(cfg.RouterURL, host)
	start := time.Now()
	if err := Drain(ctx, dir, victim, 2*time.Minute); err != nil {
		close(h.stop)
		<-h.done
		t.Fatal(err)
	}
	took := time.Since(start)
	// Keep the load on a little after the rep left, then count.
	time.Sleep(2 * time.Second)
	h.finish(t, "requests during the drain of "+victim)
	a := appDetail(t, cl, "drainy")
	if a.Running != 3 {
		t.Fatalf("after the drain: %d running, want 3 (%+v)", a.Running, a.InstancesDetail)
	}
	for _, in := range a.InstancesDetail {
		if in.CellID == victim {
			t.Errorf("instance %d still on the drained cell %s (%s, %s)", in.Index, victim, in.State, in.Presence)
		}
	}
	t.Logf("drained %s (%d instances) in %v", victim, per[victim], took)
	noPanics(t, st)
}

// waitRouted waits until requests for host through the router reach n instances.
func waitRouted(t testing.TB, routerURL, host string, n int, timeout time.Duration) {
	t.Helper()
	waitFor(t, fmt.Sprintf("router knows %d instances of %s", n, host), timeout, func() bool {
		seen := map[string]bool{}
		for range 3 * n {
			if code, body, err := viaRouter(routerURL, host, "/"); err == nil && code == 200 {
				seen[body] = true
			}
		}
		return len(seen) == n
	})
}
