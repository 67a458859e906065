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

// upDocker starts a 2-cell cluster with the registries, the cache on or off by
// default.
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

func (c *dockerCluster) push(t *testing.T, name, image string, n int, user, pass string) (*api.AppDetail, error) {
	t.Helper()
	return Push(context.Background(), c.cl, name, "", PushOptions{Instances: n, MemoryMB: 64, DiskMB: 64, Timeout: 90 * time.Second,
		Docker: &api.DockerPush{Image: image, Username: user, Password: pass}})
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

// Claim 1: a tag moved between push and scale-up. Without the cache the new
// instances resolve the tag again and run the new digest next to the old one;
// with it every instance runs the digest staged.
func TestDockerClaimTagMoved(t *testing.T) {
	for _, cache := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cache), func(t *testing.T) {
			c := upDocker(t, cache)
			if _, err := c.push(t, "hello", HelloImage, 2, "", ""); err != nil {
				t.Fatal(err)
			}
			if _, by := c.versions(t, "hello"); by["hello v1"] != 2 {
				t.Fatalf("after push: %v, want 2 instances of v1", keys(by))
			}
			c.moveTag(t, HelloImage, "v2")
			start := time.Now()
			c.scale(t, "hello", 4)
			// Observe from the scale-up until 3 s after every instance runs: mixed
			// seconds is the time two versions served at once.
			var mixed time.Duration
			var scaleUp time.Duration
			var last map[string]int
			tick := 250 * time.Millisecond
			for {
				n, by := c.versions(t, "hello")
				last = by
				if len(by) > 1 {
					mixed += tick
				}
				if n == 4 && scaleUp == 0 {
					scaleUp = time.Since(start)
				}
				if scaleUp > 0 && time.Since(start) > scaleUp+3*time.Second {
					break
				}
				if time.Since(start) > 90*time.Second {
					t.Fatalf("scale-up to 4 not done in 90 s: %v", keys(by))
				}
				time.Sleep(tick)
			}
			t.Logf("LIVE tag-moved cache=%v: digests at end %v, mixed seconds %.2f, scale-up %.2f s", cache, keys(last), mixed.Seconds(), scaleUp.Seconds())
			if cache {
				if last["hello v1"] != 4 || mixed != 0 {
					t.Errorf("cache on: %v, mixed %v; want 4 instances of the staged v1 and never mixed", keys(last), mixed)
				}
			} else if last["hello v1"] != 2 || last["hello v2"] != 2 || mixed <= 0 {
				t.Errorf("cache off: %v, mixed %v; want 2 on v1 and 2 on v2, mixed > 0", keys(last), mixed)
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
			t.Logf("LIVE tag-moved cache=%v record: bytes_pulled %v, pulls %v, digests %v", cache, rec.BytesPulled, rec.Pulls, digests)
			wantDigests, from, notFrom := 2, "public", "private"
			if cache {
				wantDigests, from, notFrom = 1, "private", "public"
			}
			if len(digests) != wantDigests || rec.BytesPulled[from] == 0 || rec.BytesPulled[notFrom] != 0 || rec.Pulls["ok"] != 4 {
				t.Errorf("docker.json: %d digests (want %d), bytes pulled %v (want all %s), pulls %v (want 4 ok)", len(digests), wantDigests, rec.BytesPulled, from, rec.Pulls)
			}
		})
	}
}

// Claim 2: the upstream goes down during a scale-up in which a cell also
// crashes. Without the cache the starts that need the upstream fail; with it
// none do.
func TestDockerClaimOutage(t *testing.T) {
	for _, cache := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cache), func(t *testing.T) {
			c := upDocker(t, cache)
			if _, err := c.push(t, "hello", HelloImage, 2, "", ""); err != nil {
				t.Fatal(err)
			}
			c.outage(t, true)
			start := time.Now()
			c.scale(t, "hello", 4)
			// A cell crashes: its instances must start elsewhere.
			if err := syscall.Kill(c.st.Reps[0].Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			window := 25 * time.Second
			var running int
			var allUp time.Duration
			for time.Since(start) < window {
				running, _ = c.versions(t, "hello")
				if running == 4 && allUp == 0 {
					allUp = time.Since(start)
					if cache {
						break
					}
				}
				time.Sleep(250 * time.Millisecond)
			}
			fails := c.pullFailures(t, "hello")
			refused := c.stats(t).Upstream.Refused
			t.Logf("LIVE outage cache=%v: start failures %d (upstream refused %d requests), running %d of 4, all running after %.2f s (0: not within %v)",
				cache, fails, refused, running, allUp.Seconds(), window)
			if cache {
				if fails != 0 || running != 4 {
					t.Errorf("cache on: %d failed pulls, %d of 4 running; want none failed, all running", fails, running)
				}
			} else if fails == 0 || running == 4 {
				t.Errorf("cache off: %d failed pulls, %d of 4 running; want failed starts while the upstream is down", fails, running)
			}
			c.outage(t, false)
		})
	}
}

// Claim 3: a private image. With the cache the credentials reach the upstream
// once, at staging; without it once per pull as well.
func TestDockerClaimPrivateImage(t *testing.T) {
	for _, cache := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cache), func(t *testing.T) {
			c := upDocker(t, cache)
			pass, err := PrivatePassword(c.dir)
			if err != nil {
				t.Fatal(err)
			}
			d, err := c.push(t, "wrong", PrivateHelloImage, 1, PrivateUser, "not-the-password")
			if err == nil || d == nil || !strings.HasPrefix(d.StagingError, "STAGING_ERROR") || !strings.Contains(err.Error(), "unauthorized") {
				t.Errorf("wrong credentials: %v (%+v), want STAGING_ERROR naming unauthorized", err, d)
			}
			before := c.stats(t).Upstream.CredentialUses
			if _, err := c.push(t, "secret", PrivateHelloImage, 1, PrivateUser, pass); err != nil {
				t.Fatal(err)
			}
			c.scale(t, "secret", 3)
			waitFor(t, "3 instances of the private image running", 60*time.Second, func() bool {
				n, by := c.versions(t, "secret")
				return n == 3 && by["hello v1"] == 3
			})
			uses := c.stats(t).Upstream.CredentialUses - before
			t.Logf("LIVE private cache=%v: credentials presented %d times for 1 staging + 3 instance starts", cache, uses)
			want := int64(4)
			if cache {
				want = 1
			}
			if uses != want {
				t.Errorf("credentials presented %d times, want %d", uses, want)
			}
			var app api.AppDetail
			if err := c.cl.Do(context.Background(), http.MethodGet, "/v1/apps/secret", nil, &app); err != nil {
				t.Fatal(err)
			}
			if app.Docker == nil || app.Docker.Cache != cache || !strings.HasPrefix(app.Docker.Digest, "sha256:") {
				t.Errorf("app docker = %+v", app.Docker)
			}
		})
	}
}
