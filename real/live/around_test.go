package live

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/diegolab/diegolab/real/api"
)

// aroundTimers: the e2e timers plus a 127.0.0.1:0 router, a 2 s route sync, a 300 ms
// liveness check period and a 500-line log buffer.
func aroundTimers(dir, bin string) Options {
	o := e2eTimers
	o.Dir, o.Binary = dir, bin
	o.RouterListen, o.RouteSync, o.CheckInterval, o.LogBound = "127.0.0.1:0", 2*time.Second, 300*time.Millisecond, 500
	return o
}

// upAround starts a cluster for the around tests and returns its client config.
func upAround(t testing.TB) (*State, ClientConfig, *api.Client, string, string) {
	t.Helper()
	requireHost(t)
	bin, goapp := buildBinaries(t)
	dir := t.TempDir()
	st := startCluster(t, aroundTimers(dir, bin))
	cfg, err := LoadClientConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.RouterURL, "http://127.0.0.1:") {
		t.Fatalf("router url %q", cfg.RouterURL)
	}
	return st, cfg, api.NewClient(cfg.URL, cfg.Token, 10*time.Second), goapp, dir
}

var routed = &http.Client{Timeout: 5 * time.Second}

// viaRouter sends GET path with Host: host to the router.
func viaRouter(routerURL, host, path string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodGet, routerURL+path, nil)
	req.Host = host
	resp, err := routed.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func recent(t testing.TB, cl *api.Client, app string) []api.LogLine {
	t.Helper()
	var out []api.LogLine
	if err := StreamLogs(context.Background(), cl, app, LogOptions{Recent: true}, nil, func(l api.LogLine) { out = append(out, l) }); err != nil {
		t.Fatal(err)
	}
	return out
}

// hammer sends requests through the router until stop is closed and counts failures.
type hammer struct {
	mu       sync.Mutex
	ok, fail int
	lastErr  string
	bodies   map[string]int
	stop     chan struct{}
	done     chan struct{}
}

func startHammer(routerURL, host string) *hammer {
	h := &hammer{bodies: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for {
			select {
			case <-h.stop:
				return
			default:
			}
			code, body, err := viaRouter(routerURL, host, "/")
			h.mu.Lock()
			if err != nil || code != 200 {
				h.fail++
				h.lastErr = fmt.Sprintf("%d %q %v", code, body, err)
			} else {
				h.ok++
				h.bodies[strings.TrimSpace(body)]++
			}
			h.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return h
}

func (h *hammer) finish(t testing.TB, what string) map[string]int {
	return h.finishAllowing(t, what, 0)
}

// finishAllowing is finish with up to allowed failed requests.
func (h *hammer) finishAllowing(t testing.TB, what string, allowed int) map[string]int {
	t.Helper()
	close(h.stop)
	<-h.done
	if h.fail > allowed || h.ok == 0 {
		t.Fatalf("%s: %d of %d requests failed (last: %s)", what, h.fail, h.ok+h.fail, h.lastErr)
	}
	t.Logf("%s: %d requests, all 200: %v", what, h.ok, h.bodies)
	return h.bodies
}

func metricsOf(t testing.TB, url, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := routed.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s/metrics: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("%s/metrics is not Prometheus text: %v", url, err)
	}
	return fams
}

func gauge(t testing.TB, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok || len(f.Metric) == 0 {
		t.Fatalf("metric %s missing", name)
	}
	return f.Metric[0].GetGauge().GetValue()
}

// TestAroundRouting is the routing scenario on a live cluster: 3 instances
// behind the router, logs that name the instances, metrics that match `app`, a
// crash, a killed rep, and a scale-down, with every request succeeding throughout.
func TestAroundRouting(t *testing.T) {
	st, cfg, cl, goapp, dir := upAround(t)
	ctx := context.Background()
	var progress bytes.Buffer
	_, err := Push(ctx, cl, "goapp", goapp, PushOptions{Instances: 3, MemoryMB: 64, DiskMB: 64, Buildpack: "binary", Timeout: 60 * time.Second,
		Progress: &progress, Routes: []string{"www.goapp.test"}})
	if err != nil {
		t.Fatal(err)
	}
	// Staging output streamed during the push.
	if !strings.Contains(progress.String(), "[STG/0] OUT binary buildpack: droplet ready") {
		t.Fatalf("push output has no staging line:\n%s", progress.String())
	}

	// 30 requests reach all 3 instances (round robin: 10 each once the emitter has them).
	host := "goapp.localhost"
	waitFor(t, "router knows 3 instances", 10*time.Second, func() bool {
		seen := map[string]bool{}
		for range 6 {
			if code, body, err := viaRouter(cfg.RouterURL, host, "/"); err == nil && code == 200 {
				seen[body] = true
			}
		}
		return len(seen) == 3
	})
	count := map[int]int{}
	for i := range 30 {
		code, body, err := viaRouter(cfg.RouterURL, host, "/")
		if err != nil || code != 200 {
			t.Fatalf("request %d: %d %q %v", i, code, body, err)
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(body), "Hello from diegolab instance "))
		count[n]++
	}
	if count[0] != 10 || count[1] != 10 || count[2] != 10 {
		t.Fatalf("30 requests over 3 instances: %v, want 10 each", count)
	}
	if code, _, _ := viaRouter(cfg.RouterURL, "www.goapp.test", "/"); code != 200 {
		t.Fatalf("pushed route: %d", code)
	}
	if code, body, _ := viaRouter(cfg.RouterURL, "nope.localhost", "/"); code != 404 || !strings.Contains(body, "does not exist") {
		t.Fatalf("unknown route: %d %q", code, body)
	}
	// Their log lines say so: each instance logged its requests under its own index,
	// and the router logged one RTR line per request with the index it chose.
	waitFor(t, "request lines in the logs", 5*time.Second, func() bool {
		app, rtr := map[int]int{}, map[int]int{}
		for _, l := range recent(t, cl, "goapp") {
			if l.Source == api.SourceApp && l.Text == fmt.Sprintf("GET / from instance %d", l.Index) {
				app[l.Index]++
			}
			if l.Source == api.SourceRouter && strings.Contains(l.Text, fmt.Sprintf(`app_index:"%d"`, l.Index)) {
				rtr[l.Index]++
			}
		}
		return app[0] >= 10 && app[1] >= 10 && app[2] >= 10 && rtr[0] >= 10 && rtr[1] >= 10 && rtr[2] >= 10
	})
	lines := recent(t, cl, "goapp")
	hasCell := false
	for _, l := range lines {
		if l.Source == api.SourceCell && strings.Contains(l.Text, "creating container for instance") {
			hasCell = true
		}
	}
	if !hasCell {
		t.Fatal("no CELL line about container creation")
	}

	// Metrics: Prometheus text; the LRP gauges match `app`.
	fams := metricsOf(t, cfg.URL, cfg.Token)
	a := appDetail(t, cl, "goapp")
	if got := gauge(t, fams, "diegolab_lrps_running"); int(got) != a.Running || a.Running != 3 {
		t.Fatalf("diegolab_lrps_running %v, app says %d running", got, a.Running)
	}
	if got := gauge(t, fams, "diegolab_lrps_desired"); int(got) != a.Instances {
		t.Fatalf("diegolab_lrps_desired %v, app says %d", got, a.Instances)
	}
	for _, n := range []string{"diegolab_lrps_missing", "diegolab_lrps_extra", "diegolab_lrps_crashed"} {
		if got := gauge(t, fams, n); got != 0 {
			t.Fatalf("%s = %v, want 0", n, got)
		}
	}
	for _, n := range []string{"diegolab_auction_duration_seconds", "diegolab_auction_fetch_states_duration_seconds", "diegolab_request_latency_seconds", "diegolab_convergence_lrp_duration_seconds"} {
		if _, ok := fams[n]; !ok {
			t.Fatalf("metric %s missing", n)
		}
	}
	repTok, _ := readToken(filepath.Join(filepath.Dir(st.Stack), "rep.token"))
	var cells []api.CellInfo
	if err := cl.Do(ctx, http.MethodGet, "/v1/cells", nil, &cells); err != nil {
		t.Fatal(err)
	}
	containers := 0.0
	for _, c := range cells {
		rf := metricsOf(t, c.RepURL, repTok)
		for _, m := range rf["diegolab_rep_containers"].GetMetric() {
			containers += m.GetGauge().GetValue()
		}
		if _, ok := rf["diegolab_rep_bulk_sync_duration_seconds"]; !ok {
			t.Fatal("rep bulk sync metric missing")
		}
	}
	if containers != 3 {
		t.Fatalf("containers over the reps: %v, want 3", containers)
	}

	// /crash on one instance: requests keep succeeding through the others.
	h := startHammer(cfg.RouterURL, host)
	victim := a.InstancesDetail[0]
	get(t, victim.Address, "/crash")
	waitFor(t, "crashed instance back", 20*time.Second, func() bool {
		for _, in := range appDetail(t, cl, "goapp").InstancesDetail {
			if in.Index == victim.Index && in.State == "RUNNING" && in.CrashCount == 1 {
				return true
			}
		}
		return false
	})
	// The one request that was inside the instance when it died is not sent
	// to another instance (it reached one: the router never multiplies a
	// request); later ones find its port closed and go to the others.
	h.finishAllowing(t, "during /crash", 1)

	// kill -9 a rep: its instances' ports are served by their port proxies,
	// which outlive it, and the restarted rep re-adopts them: the same instances
	// stay RUNNING (none crashed, none replaced) and every request succeeds.
	killed := st.Reps[0]
	running := func() []string {
		var guids []string
		for _, in := range appDetail(t, cl, "goapp").InstancesDetail {
			if in.Presence == "ORDINARY" && in.State == "RUNNING" {
				guids = append(guids, in.InstanceGUID)
			}
		}
		slices.Sort(guids)
		return guids
	}
	before := running()
	h = startHammer(cfg.RouterURL, host)
	if err := syscall.Kill(killed.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, "the killed cell's rep restarted", 25*time.Second, func() bool {
		st, err := ReadState(dir)
		return err == nil && st.Reps[0].Pid != killed.Pid && same(st.Reps[0])
	})
	time.Sleep(2 * time.Second) // a bulk sync of the restarted rep
	h.finishAllowing(t, "during the rep kill and restart", 0)
	if after := running(); !slices.Equal(after, before) {
		t.Errorf("RUNNING instances %v after the rep's restart, want the same %v (re-adopted)", after, before)
	}
	t.Logf("rep kill-to-restarted %v", took)

	// Scale to 1: every request succeeds, and once the emitter caught up, none
	// reaches a stopped instance.
	h = startHammer(cfg.RouterURL, host)
	if err := cl.Do(ctx, http.MethodPost, "/v1/apps/goapp/scale", api.ScaleRequest{Instances: new(1)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := WaitRunning(ctx, cl, "goapp", 0, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the removal events reach the emitter
	// The stopped instances refuse new connections (drained before SIGTERM),
	// so the router sends requests elsewhere; one may still fail when the
	// router's table, which lags the BBS by an event, knows only a stopping
	// instance at that moment.
	h.finishAllowing(t, "during scale to 1", 1)
	for i := range 20 {
		code, body, err := viaRouter(cfg.RouterURL, host, "/")
		if err != nil || code != 200 || strings.TrimSpace(body) != "Hello from diegolab instance 0" {
			t.Fatalf("after scale to 1, request %d: %d %q %v", i, code, body, err)
		}
	}
	// Stopped: 502 with a clear body.
	if err := cl.Do(ctx, http.MethodPost, "/v1/apps/goapp/stop", nil, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "502 once stopped", 15*time.Second, func() bool {
		code, body, _ := viaRouter(cfg.RouterURL, host, "/")
		return code == 502 && strings.Contains(body, "no instance of app goapp is running")
	})
}

// TestAroundHealthAndLogs: health check failures (start timeout, http 500) with
// their reasons; the log buffer bound and dropped counter under a flood; a syslog drain.
func TestAroundHealthAndLogs(t *testing.T) {
	_, _, cl, goapp, _ := upAround(t)
	ctx := context.Background()

	// A syslog drain on a loopback listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	frames := make(chan string, 1000)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		rd := bufio.NewReader(c)
		for {
			n, err := rd.ReadString(' ')
			if err != nil {
				return
			}
			size, err := strconv.Atoi(strings.TrimSpace(n))
			if err != nil {
				frames <- "bad frame length " + n
				return
			}
			b := make([]byte, size)
			if _, err := io.ReadFull(rd, b); err != nil {
				return
			}
			frames <- string(b)
		}
	}()

	// Never opens its port: fails to start with the start-timeout reason.
	_, err = Push(ctx, cl, "mute", goapp, PushOptions{Instances: 1, MemoryMB: 32, DiskMB: 32, Buildpack: "binary", Command: "sleep 1000",
		HealthCheck: api.HealthCheck{StartTimeout: 2 * time.Second}, Timeout: 3 * time.Second, Drains: []string{"syslog://" + ln.Addr().String()}})
	if err == nil {
		t.Fatal("an app that never listens was reported RUNNING")
	}
	waitFor(t, "start-timeout crash", 15*time.Second, func() bool {
		in := appDetail(t, cl, "mute").InstancesDetail
		return len(in) == 1 && in[0].CrashCount >= 1 &&
			in[0].CrashReason == "Instance never healthy after 2s: Failed to make TCP connection to port 8080: connection refused"
	})
	sawDrain := false
	for !sawDrain {
		select {
		case f := <-frames:
			sawDrain = strings.Contains(f, " mute diegolab [STG/0] - - binary buildpack: droplet ready")
		case <-time.After(10 * time.Second):
			t.Fatal("the drain received no staging line")
		}
	}
	if err := cl.Do(ctx, http.MethodDelete, "/v1/apps/mute", nil, nil); err != nil {
		t.Fatal(err)
	}

	// http check on /health: healthy, then /sicken makes it answer 500: crashed with
	// the check's reason, and a HEALTH line says so.
	d, err := Push(ctx, cl, "checked", goapp, PushOptions{Instances: 1, MemoryMB: 32, DiskMB: 32, Buildpack: "binary",
		HealthCheck: api.HealthCheck{Type: api.HealthHTTP, Path: "/health", Interval: 300 * time.Millisecond}, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	get(t, d.InstancesDetail[0].Address, "/sicken")
	want := "Instance became unhealthy: Failed to make HTTP request to '/health' on port 8080: received status code 500"
	waitFor(t, "http check crash", 15*time.Second, func() bool {
		in := appDetail(t, cl, "checked").InstancesDetail
		return len(in) == 1 && in[0].CrashCount >= 1 && in[0].CrashReason == want
	})
	waitFor(t, "a HEALTH line about the failing check", 5*time.Second, func() bool {
		for _, l := range recent(t, cl, "checked") {
			if l.Source == api.SourceHealth && l.Stream == api.StreamErr && strings.Contains(l.Text, "received status code 500") {
				return true
			}
		}
		return false
	})

	// Flood: 3000 lines into a 500-line buffer.
	chatty, _ := os.Getwd()
	chatty = filepath.Join(chatty, "../../examples/chatty")
	const n = 3000
	if _, err := Push(ctx, cl, "chatty", chatty, PushOptions{Instances: 1, MemoryMB: 32, DiskMB: 32, Buildpack: "binary",
		Command: fmt.Sprintf("sh ./chatty.sh %d", n), HealthCheck: api.HealthCheck{Type: api.HealthProcess}, Timeout: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the flood's last line", 20*time.Second, func() bool {
		for _, l := range recent(t, cl, "chatty") {
			if l.Text == fmt.Sprintf("chatty line %d", n-1) {
				return true
			}
		}
		return false
	})
	time.Sleep(300 * time.Millisecond)
	stats, err := LogStats(ctx, cl, "chatty")
	if err != nil {
		t.Fatal(err)
	}
	buf := recent(t, cl, "chatty")
	// Bound 500: the buffer is full, and dropped = received - 500 exactly.
	if stats.Bound != 500 || stats.Buffered != 500 || len(buf) != 500 || stats.Dropped != stats.Received-500 || stats.Received < n {
		t.Fatalf("stats %+v, %d buffered lines; want 500 buffered, dropped = received - 500, received >= %d", stats, len(buf), n)
	}
	// The APP lines kept are the newest ones, consecutive: nothing lost below the bound.
	prev := -1
	for _, l := range buf {
		var k int
		if _, err := fmt.Sscanf(l.Text, "chatty line %d", &k); err != nil || l.Source != api.SourceApp {
			continue
		}
		if prev >= 0 && k != prev+1 {
			t.Fatalf("APP lines in the buffer jump from %d to %d", prev, k)
		}
		prev = k
	}
	if prev != n-1 {
		t.Fatalf("last APP line %d, want %d", prev, n-1)
	}
}
