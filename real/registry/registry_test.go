package registry

import (
	"context"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func start(t *testing.T, name string) *Server {
	t.Helper()
	s, err := Start(Options{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func image(t *testing.T, content string, cfg v1.Config) v1.Image {
	t.Helper()
	l, err := LayerFromEntries([]Entry{{Path: "etc/", Dir: true}, {Path: "etc/version", Data: []byte(content)}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := Build([]v1.Layer{l}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "10.1.2.3:5000", "nonsense"} {
		if _, err := Start(Options{Name: "x", Listen: addr}); err == nil || !strings.Contains(err.Error(), "loopback") && !strings.Contains(err.Error(), "host:port") {
			t.Errorf("Start(%q) = %v, want a loopback error", addr, err)
		}
	}
}

// A moved tag resolves to the new digest at the next staging; the cache keeps
// the digest staged before and serves it while the upstream is down.
func TestStageTagMoveCacheAndOutage(t *testing.T) {
	ctx := context.Background()
	up, cache := start(t, "upstream"), start(t, "cache")
	ref := up.Addr() + "/library/app:latest"
	cfg := v1.Config{Entrypoint: []string{"/bin/app"}, Cmd: []string{"-v"}, Env: []string{"A=1"}, WorkingDir: "/srv", User: "nobody",
		ExposedPorts: map[string]struct{}{"9090/tcp": {}, "53/udp": {}, "8081": {}}}
	d1, err := Push(ctx, image(t, "v1", cfg), ref, "", "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Stage(ctx, StageRequest{Image: ref, CacheRepo: cache.Addr() + "/cache/app-1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != d1 || !res.Cached || res.RunImage != cache.Addr()+"/cache/app-1@"+d1 || res.CopiedBytes <= 0 {
		t.Fatalf("staging with the cache = %+v, want digest %s copied into the cache", res, d1)
	}
	c := res.Config
	if strings.Join(c.Entrypoint, " ") != "/bin/app" || strings.Join(c.Cmd, " ") != "-v" || c.WorkingDir != "/srv" || c.User != "nobody" ||
		len(c.Env) != 1 || len(c.Ports) != 2 || c.Ports[0] != 8081 || c.Ports[1] != 9090 {
		t.Errorf("config = %+v, want entrypoint, cmd, env, workdir, user and the tcp ports 8081, 9090", c)
	}
	d2, err := Push(ctx, image(t, "v2", cfg), ref, "", "")
	if err != nil || d2 == d1 {
		t.Fatalf("moving the tag: %v (digest %s, before %s)", err, d2, d1)
	}
	res2, err := Stage(ctx, StageRequest{Image: ref})
	if err != nil || res2.Digest != d2 || res2.Cached || res2.RunImage != ref {
		t.Fatalf("staging without the cache after the move = %+v, %v; want %s run by tag", res2, err, d2)
	}
	up.SetOutage(true)
	if _, err := Stage(ctx, StageRequest{Image: ref}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("staging during the outage: %v, want ErrUnavailable", err)
	}
	if up.Stats().Refused == 0 {
		t.Error("the outage refused nothing")
	}
	// The cached copy is unaffected.
	if _, err := Stage(ctx, StageRequest{Image: res.RunImage}); err != nil {
		t.Errorf("resolving the cached digest during the outage: %v", err)
	}
	if cache.Stats().BlobBytes == 0 {
		t.Error("the cache served no blob bytes")
	}
}

// A private repository needs its credentials; each resolve presents them once.
func TestPrivateRepositoryCredentials(t *testing.T) {
	ctx := context.Background()
	up := start(t, "upstream")
	if err := up.AddPrivate("team/secret", "alice", "s3cret"); err != nil {
		t.Fatal(err)
	}
	ref := up.Addr() + "/team/secret:1"
	if _, err := Push(ctx, image(t, "x", v1.Config{}), ref, "", ""); err == nil {
		t.Fatal("an anonymous push into a private repository succeeded")
	}
	if _, err := Push(ctx, image(t, "x", v1.Config{}), ref, "alice", "s3cret"); err != nil {
		t.Fatal(err)
	}
	before := up.Stats().CredentialUses
	for _, c := range []struct{ user, pass string }{{"", ""}, {"alice", "wrong"}} {
		if _, err := Stage(ctx, StageRequest{Image: ref, User: c.user, Password: c.pass}); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("staging as %q/%q: %v, want ErrUnauthorized", c.user, c.pass, err)
		}
	}
	for range 3 {
		if _, err := Stage(ctx, StageRequest{Image: ref, User: "alice", Password: "s3cret"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := up.Stats().CredentialUses - before; got != 3 {
		t.Errorf("3 resolves presented the credentials %d times, want 3", got)
	}
}
