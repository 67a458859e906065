package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// The seed's three claims about the private registry cache (docs/staging.md),
// shown on a live cluster: runc containers from images pulled over loopback from
// real OCI registries.

var dockerBin struct {
	sync.Once
	path string
	err  error
}

// diegolabBinary builds cmd/diegolab once per test binary.
func diegolabBinary(t testing.TB) string {
	t.Helper()
	dockerBin.Do(func() {
		dir, err := os.MkdirTemp("", "diegolab-docker-e2e-")
		if err != nil {
			dockerBin.err = err
			return
		}
		dockerBin.path = filepath.Join(dir, "diegolab")
		cmd := exec.Command("go", "build", "-o", dockerBin.path, "./cmd/diegolab")
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			dockerBin.err = fmt.Errorf("go build ./cmd/diegolab: %v\n%s", err, out)
		}
	})
	if dockerBin.err != nil {
		t.Fatal(dockerBin.err)
	}
	return dockerBin.path
}

type dockerCluster struct {
	st  *State
	dir string
	cl  *api.Client
	reg *api.Client
}

// upDocker starts a 2-cell cluster with the registries (each app chooses the
// cache).
func upDocker(t *testing.T, cache bool) *dockerCluster {
	t.Helper()
	requireHost(t)
	o := e2eTimers
	o.Dir, o.Binary, o.Registries, o.RegistryCache = t.TempDir(), diegolabBinary(t), true, cache
	o.StartTimeout = 30 * time.Second
	st := startCluster(t, o)
	cfg, err := LoadClientConfig(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	reg, _, err := RegistryClient(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Registries == nil || st.Registries.Upstream == "" || st.Registries.Cache == "" {
		t.Fatalf("live.json registries = %+v", st.Registries)
	}
	return &dockerCluster{st: st, dir: o.Dir, cl: api.NewClient(cfg.URL, cfg.Token, 30*time.Second), reg: reg}
}

func (c *dockerCluster) push(t *testing.T, name, image string, n int, cache bool, user, pass string) (*api.AppDetail, error) {
	t.Helper()
	return Push(context.Background(), c.cl, name, "", PushOptions{Instances: n, MemoryMB: 64, DiskMB: 64, Timeout: 90 * time.Second,
		Docker: &api.DockerPush{Image: image, Username: user, Password: pass, Cache: &cache}})
}

func (c *dockerCluster) scale(t *testing.T, name string, n int) {
	t.Helper()
	if err := c.cl.Do(context.Background(), http.MethodPost, "/v1/apps/"+name+"/scale", api.ScaleRequest{Instances: &n}, nil); err != nil {
		t.Fatal(err)
	}
}

func (c *dockerCluster) moveTag(t *testing.T, image, content string) string {
	t.Helper()
	var out map[string]string
	if err := c.reg.Do(context.Background(), http.MethodPost, "/tag", TagRequest{Image: image, Content: content}, &out); err != nil {
		t.Fatal(err)
	}
	return out["digest"]
}

func (c *dockerCluster) outage(t *testing.T, on bool) {
	t.Helper()
	if err := c.reg.Do(context.Background(), http.MethodPost, fmt.Sprintf("/outage?registry=upstream&on=%v", on), nil, nil); err != nil {
		t.Fatal(err)
	}
}

func (c *dockerCluster) stats(t *testing.T) RegistryStats {
	t.Helper()
	var st RegistryStats
	if err := c.reg.Do(context.Background(), http.MethodGet, "/stats", nil, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// versions asks every RUNNING instance what it serves ("hello v1", ...).
func (c *dockerCluster) versions(t *testing.T, name string) (running int, by map[string]int) {
	t.Helper()
	by = map[string]int{}
	var d api.AppDetail
	if err := c.cl.Do(context.Background(), http.MethodGet, "/v1/apps/"+name, nil, &d); err != nil {
		t.Fatal(err)
	}
	for _, in := range d.InstancesDetail {
		if in.State != "RUNNING" || in.Presence != "ORDINARY" || in.Address == "" {
			continue
		}
		running++
		code, body := get(t, in.Address, "/")
		if code == 200 {
			by[strings.TrimSpace(body)]++
		}
	}
	return running, by
}

// pullFailures counts the CELL lines of failed image pulls in the app's logs.
func (c *dockerCluster) pullFailures(t *testing.T, name string) int {
	n := 0
	for _, l := range recent(t, c.cl, name) {
		if l.Source == api.SourceCell && strings.Contains(l.Text, "failed to pull image") {
			n++
		}
	}
	return n
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s x%d", k, v))
	}
	sort.Strings(out)
	return out
}

// cacheName names the app of a claim with the cache off or on.
func cacheName(app string, cache bool) string {
	if cache {
		return app + "-on"
	}
	return app + "-off"
}

// TestDockerClaims shows the seed's three claims on one live cluster, each app
// with the cache off and the same app with it on, under the same conditions:
//
//  1. a private image: credentials reach the upstream once per staging with the
//     cache, and once per pull as well without it;
//  2. a tag moved between push and scale-up: without the cache the new instances
//     run the new digest next to the old one; with it every instance runs the
//     digest staged;
//  3. the upstream goes down during a scale-up in which a cell also crashes:
//     without the cache the starts that need the upstream fail; with it none do.
func TestDockerClaims(t *testing.T) {
	c := upDocker(t, false)
	caches := []bool{false, true}

	// 1. Private image.
	pass, err := PrivatePassword(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.push(t, "wrong", PrivateHelloImage, 1, false, PrivateUser, "not-the-password")
	if err == nil || d == nil || !strings.HasPrefix(d.StagingError, "STAGING_ERROR") || !strings.Contains(err.Error(), "unauthorized") {
		t.Errorf("wrong credentials: %v (%+v), want STAGING_ERROR naming unauthorized", err, d)
	}
	for _, cache := range caches {
		name := cacheName("secret", cache)
		before := c.stats(t).Upstream.CredentialUses
		if _, err := c.push(t, name, PrivateHelloImage, 1, cache, PrivateUser, pass); err != nil {
			t.Fatal(err)
		}
		c.scale(t, name, 3)
		waitFor(t, "3 instances of "+name+" running", 60*time.Second, func() bool {
			n, by := c.versions(t, name)
			return n == 3 && by["hello v1"] == 3
		})
		uses := c.stats(t).Upstream.CredentialUses - before
		t.Logf("LIVE private cache=%v: credentials presented %d times for 1 staging + 3 instance starts", cache, uses)
		want := int64(4)
		if cache {
			want = 1
		}
		if uses != want {
			t.Errorf("%s: credentials presented %d times, want %d", name, uses, want)
		}
		var app api.AppDetail
		if err := c.cl.Do(context.Background(), http.MethodGet, "/v1/apps/"+name, nil, &app); err != nil {
			t.Fatal(err)
		}
		if app.Docker == nil || app.Docker.Cache != cache || !strings.HasPrefix(app.Docker.Digest, "sha256:") {
			t.Errorf("%s: app docker = %+v", name, app.Docker)
		}
	}

	// 2. Tag moved between push and scale-up.
	for _, cache := range caches {
		if _, err := c.push(t, cacheName("hello", cache), HelloImage, 2, cache, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, cache := range caches {
		if _, by := c.versions(t, cacheName("hello", cache)); by["hello v1"] != 2 {
			t.Fatalf("after push: %v, want 2 instances of v1", keys(by))
		}
	}
	c.moveTag(t, HelloImage, "v2")
	start := time.Now()
	for _, cache := range caches {
		c.scale(t, cacheName("hello", cache), 4)
	}
	// Observe from the scale-up until 3 s after every instance of both apps runs:
	// mixed seconds is the time two versions of one app served at once.
	mixed := map[bool]time.Duration{}
	last := map[bool]map[string]int{}
	var scaleUp time.Duration
	tick := 250 * time.Millisecond
	for {
		all := true
		for _, cache := range caches {
			n, by := c.versions(t, cacheName("hello", cache))
			last[cache] = by
			if len(by) > 1 {
				mixed[cache] += tick
			}
			all = all && n == 4
		}
		if all && scaleUp == 0 {
			scaleUp = time.Since(start)
		}
		if scaleUp > 0 && time.Since(start) > scaleUp+3*time.Second {
			break
		}
		if time.Since(start) > 90*time.Second {
			t.Fatalf("scale-up to 4 not done in 90 s: off %v, on %v", keys(last[false]), keys(last[true]))
		}
		time.Sleep(tick)
	}
	for _, cache := range caches {
		t.Logf("LIVE tag-moved cache=%v: versions at end %v, mixed seconds %.2f (both apps scaled up in %.2f s)",
			cache, keys(last[cache]), mixed[cache].Seconds(), scaleUp.Seconds())
	}
	if last[true]["hello v1"] != 4 || mixed[true] != 0 {
		t.Errorf("cache on: %v, mixed %v; want 4 instances of the staged v1 and never mixed", keys(last[true]), mixed[true])
	}
	if last[false]["hello v1"] != 2 || last[false]["hello v2"] != 2 || mixed[false] <= 0 {
		t.Errorf("cache off: %v, mixed %v; want 2 on v1 and 2 on v2, mixed > 0", keys(last[false]), mixed[false])
	}
	// The run record's docker.json: bytes pulled by source, digests per cell.
	out := filepath.Join(c.dir, "rec")
	if err := Record(context.Background(), c.dir, out); err != nil {
		t.Fatal(err)
	}
	var rec DockerRecord
	b, err := os.ReadFile(filepath.Join(out, DockerRecordFile))
	if err != nil || json.Unmarshal(b, &rec) != nil {
		t.Fatalf("docker.json: %v: %s", err, b)
	}
	digests := map[string]int64{}
	for _, cell := range rec.Cells {
		for d, n := range cell.Digests {
			digests[d] += n
		}
	}
	t.Logf("LIVE record: bytes_pulled %v, pulls %v from %v, containers by digest %v", rec.BytesPulled, rec.Pulls, rec.PullsFrom, digests)
	// v1 (one digest, whether pulled from the upstream or the cache): secret-off 3,
	// secret-on 3, hello-off 2, hello-on 4; v2: hello-off 2.
	var counts []int64
	for _, n := range digests {
		counts = append(counts, n)
	}
	sort.Slice(counts, func(i, j int) bool { return counts[i] < counts[j] })
	// Each app with the cache off pulled from the upstream, each with it on from
	// the cache (7 starts each); the layers are content-addressed, so a cell that
	// had them from one source did not download them again from the other.
	if len(counts) != 2 || counts[0] != 2 || counts[1] != 12 || rec.BytesPulled["public"] == 0 || rec.BytesPulled["cell_cache"] == 0 ||
		rec.Pulls["failed"] != 0 || rec.PullsFrom["public"] != 7 || rec.PullsFrom["private"] != 7 {
		t.Errorf("docker.json: containers by digest %v (want 12 and 2), bytes pulled %v, pulls %v from %v (want 7 public, 7 private)",
			digests, rec.BytesPulled, rec.Pulls, rec.PullsFrom)
	}

	// 3. Upstream outage during a scale-up, with a cell crash.
	c.outage(t, true)
	start = time.Now()
	for _, cache := range caches {
		c.scale(t, cacheName("hello", cache), 6)
	}
	if err := syscall.Kill(c.st.Reps[0].Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	window := 25 * time.Second
	running := map[bool]int{}
	var onUp time.Duration
	for time.Since(start) < window {
		for _, cache := range caches {
			running[cache], _ = c.versions(t, cacheName("hello", cache))
		}
		if running[true] == 6 && onUp == 0 {
			onUp = time.Since(start)
		}
		time.Sleep(250 * time.Millisecond)
	}
	refused := c.stats(t).Upstream.Refused
	for _, cache := range caches {
		fails := c.pullFailures(t, cacheName("hello", cache))
		t.Logf("LIVE outage cache=%v: start failures %d, running %d of 6 after %v (upstream refused %d requests in all)", cache, fails, running[cache], window, refused)
		if cache && (fails != 0 || running[cache] != 6) {
			t.Errorf("cache on: %d failed pulls, %d of 6 running; want none failed, all running", fails, running[cache])
		}
		if !cache && (fails == 0 || running[cache] == 6) {
			t.Errorf("cache off: %d failed pulls, %d of 6 running; want failed starts while the upstream is down", fails, running[cache])
		}
	}
	t.Logf("LIVE outage cache=true: all 6 running %.2f s after the scale-up", onUp.Seconds())
	c.outage(t, false)
}
