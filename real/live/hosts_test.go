package live

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/hostnet"
)

// requireHosts: real mode plus what the hosts need (ip, nsenter).
func requireHosts(t testing.TB) {
	t.Helper()
	requireHost(t)
	for _, b := range []string{"ip", "nsenter"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("skipping: no %s on PATH (.ci/run installs iproute2 and util-linux)", b)
		}
	}
}

// cellsOf maps each cell id to its rep's address (host part of its URL).
func cellsOf(t testing.TB, cl *api.Client) map[string]api.CellInfo {
	t.Helper()
	var cells []api.CellInfo
	if err := cl.Do(context.Background(), http.MethodGet, "/v1/cells", nil, &cells); err != nil {
		t.Fatal(err)
	}
	out := map[string]api.CellInfo{}
	for _, c := range cells {
		out[c.CellID] = c
	}
	return out
}

func hostOfURL(t testing.TB, raw string) netip.Addr {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("rep url %q: %v", raw, err)
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		t.Fatalf("rep url %q: %v", raw, err)
	}
	return a
}

// TestHostLoss: `live up --hosts 3 --tls` spreads 3 cells over 3 hosts (network
// namespaces); the reps and the instances listen on their host's address, the
// CLI and the router's users stay on 127.0.0.1. Host 0's link cut in the hub: its
// instances run on the other hosts within presence TTL + one convergence interval
// + the start timeout (+ one BBS tick), and the app keeps serving through the
// router. After kill -9 of the supervisor, Down removes every namespace.
func TestHostLoss(t *testing.T) {
	requireHosts(t)
	// With mutual TLS: the BBS verifies the reps' certificates at their hosts'
	// addresses and they verify the BBS's at the hub's (the SANs live up adds).
	tc := upTest(t, func(o *Options) { o.Cells, o.Hosts, o.RouteSync, o.TLS = 3, 3, 2*time.Second, true })
	o, st, cfg := tc.Opts, tc.State, tc.Cfg
	if st.Net == nil || st.Net.Hosts != 3 {
		t.Fatalf("state names no hosts: %+v", st.Net)
	}
	if !strings.HasPrefix(st.URL, "https://") || !strings.HasPrefix(st.InnerURL, "https://") {
		t.Fatalf("BBS URLs %s, %s: want https", st.URL, st.InnerURL)
	}
	for _, u := range []string{st.URL, st.RouterURL} {
		if !strings.Contains(u, "://127.0.0.1:") {
			t.Fatalf("CLI-facing URL %s: want 127.0.0.1", u)
		}
	}
	if !strings.Contains(st.InnerURL, "://"+hostnet.HubAddr.String()+":") {
		t.Fatalf("components' BBS URL %s: want the hub's address", st.InnerURL)
	}
	cl := tc.client(t, 5*time.Second)
	var status strings.Builder
	if err := Status(context.Background(), tc.Dir, &status); err != nil || !strings.Contains(status.String(), "hosts: 3 (namespaces "+st.Net.HubNS()) {
		t.Fatalf("live status: %v\n%s", err, status.String())
	}
	// Each cell's rep on its host's address, zoned by its host.
	cellHost := map[string]int{}
	for id, c := range cellsOf(t, cl) {
		a := hostOfURL(t, c.RepURL)
		h := -1
		for i := range st.Net.Hosts {
			if st.Net.HostAddr(i) == a {
				h = i
			}
		}
		if h < 0 {
			t.Fatalf("cell %s: rep at %s, not a host's address", id, c.RepURL)
		}
		if want := "z" + string(rune('0'+h)); c.Zone != want {
			t.Errorf("cell %s on host %d: zone %s, want %s", id, h, c.Zone, want)
		}
		cellHost[id] = h
	}
	if len(cellHost) != 3 {
		t.Fatalf("cells: %v", cellHost)
	}
	ctx := context.Background()
	if _, err := Push(ctx, cl, "goapp", tc.GoApp, PushOptions{Instances: 3, MemoryMB: 64, DiskMB: 64, Buildpack: "binary", Timeout: 120 * time.Second}); err != nil {
		t.Fatal(err)
	}
	running := func() []api.Instance {
		var out []api.Instance
		for _, in := range appDetail(t, cl, "goapp").InstancesDetail {
			if in.State == "RUNNING" && in.Presence == "ORDINARY" {
				out = append(out, in)
			}
		}
		return out
	}
	waitFor(t, "3 instances RUNNING and routed", 60*time.Second, func() bool {
		code, _ := routerGet(cfg.RouterURL, "goapp")
		return len(running()) == 3 && code == http.StatusOK
	})
	// Instances listen on their cell's host address.
	onHost0 := 0
	for _, in := range running() {
		a, err := netip.ParseAddrPort(in.Address)
		if err != nil || a.Addr() != st.Net.HostAddr(cellHost[in.CellID]) {
			t.Fatalf("instance %d on %s: address %s, want host %d's", in.Index, in.CellID, in.Address, cellHost[in.CellID])
		}
		if cellHost[in.CellID] == 0 {
			onHost0++
		}
	}
	if onHost0 == 0 {
		t.Fatalf("no instance on host 0 to lose: %+v", running())
	}

	// Lose host 0.
	if err := CutHost(tc.Dir, 0); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	tick := time.Second // the BBS's default tick
	bound := o.PresenceTTL + o.ConvergenceInterval + o.StartTimeout + tick
	deadline := cut.Add(bound)
	for {
		ok := 0
		var where []string
		for _, in := range running() {
			where = append(where, in.CellID+"@"+in.Address)
			if cellHost[in.CellID] != 0 {
				ok++
			}
		}
		if ok == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host 0 lost %v ago: %d of 3 instances running on the other hosts (%v); bound = presence TTL %v + convergence %v + start timeout %v + tick %v = %v",
				time.Since(cut).Round(time.Millisecond), ok, where, o.PresenceTTL, o.ConvergenceInterval, o.StartTimeout, tick, bound)
		}
		time.Sleep(100 * time.Millisecond)
	}
	moved := time.Since(cut)
	t.Logf("host loss: %d instance(s) of host 0 running on the other hosts %v after the cut (bound %v = TTL %v + convergence %v + start timeout %v + tick %v)",
		onHost0, moved.Round(time.Millisecond), bound, o.PresenceTTL, o.ConvergenceInterval, o.StartTimeout, tick)
	waitFor(t, "the router serves goapp from the other hosts", 10*time.Second, func() bool {
		code, _ := routerGet(cfg.RouterURL, "goapp")
		return code == http.StatusOK
	})
	// Host 0 comes back: its cell is present again, and the app keeps 3 instances.
	if err := RestoreHost(tc.Dir, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "host 0's cell present again", 30*time.Second, func() bool {
		n := 0
		for _, c := range cellsOf(t, cl) {
			if c.Present {
				n++
			}
		}
		return n == 3
	})
	waitFor(t, "3 instances RUNNING after host 0 is back", 30*time.Second, func() bool { return len(running()) == 3 })

	// A supervisor killed with -9 cannot remove its namespaces; Down does (and
	// startCluster's clean-up checks that Down leaves nothing).
	if err := syscall.Kill(st.Supervisor.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the supervisor gone", 10*time.Second, func() bool { return !same(st.Supervisor) })
	if left, err := st.Net.Leftovers(); err != nil || len(left) != 4 {
		t.Fatalf("namespaces after kill -9 of the supervisor: %v %v, want the hub and 3 hosts", left, err)
	}
	if err := Down(ctx, tc.Dir, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if left, err := st.Net.Leftovers(); err != nil || len(left) > 0 {
		t.Fatalf("namespaces left after down: %v %v", left, err)
	}
}

// TestUpRefusesBadHostsOptions: Up checks the hosts' and the pair's options before
// it makes anything (no root needed).
func TestUpRefusesBadHostsOptions(t *testing.T) {
	base := e2eTimers
	base.Cells = 3
	for _, c := range []struct {
		name string
		set  func(o *Options)
		want string
	}{
		{"negative hosts", func(o *Options) { o.Hosts = -1 }, "hosts: want 0"},
		{"too many hosts", func(o *Options) { o.Cells, o.Hosts = hostnet.MaxHosts+1, hostnet.MaxHosts+1 }, "hosts: want 0"},
		{"more hosts than cells", func(o *Options) { o.Hosts = 4 }, "at most one host per cell"},
		{"hosts with registries", func(o *Options) { o.Hosts, o.Registries = 2, true }, "registries"},
		{"hosts with a TCP database", func(o *Options) { o.Hosts, o.DB = 2, "postgres://u@127.0.0.1:5432/d" }, "unix socket"},
		{"pair without a database", func(o *Options) { o.BBSPair = true }, "bbs-pair"},
		{"lock TTL too short", func(o *Options) { o.LockTTL = 100 * time.Millisecond }, "lock-ttl"},
		{"lock TTL too long", func(o *Options) { o.LockTTL = time.Hour }, "lock-ttl"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := base
			o.Dir = t.TempDir()
			c.set(&o)
			_, err := Up(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Up: %v, want an error with %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(o.Dir, "supervisor")); err == nil {
				t.Fatal("Up made the cluster directory before refusing")
			}
		})
	}
	// A unix-socket database is fine with hosts (checked without starting anything).
	ok := base
	ok.Hosts, ok.DB = 3, "postgres://u@/d?host=/tmp/pg"
	if err := ok.checkHosts(); err != nil {
		t.Fatalf("unix socket database: %v", err)
	}
}
